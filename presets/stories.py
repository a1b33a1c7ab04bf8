"""The stories: one phenomenon of the course each, with its stages and the numeric check of its claim.

Each check reads only the runs the story shows (`Preset.runs()`), so a story can never
silently stop showing what it says. Numbers quoted in the sentences come from
`optimizers.theory` where theory gives them.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from landscapes import Landscape, data_landscape, parse_formula
from landscapes.data import REDDI_C
from optimizers import Run
from optimizers.theory import quadratic_theory

from .core import Line, Preset, Stage, expect
from .landscapes import REDDI, REDDI_FORMULA, SYMMETRIC, SYMMETRIC_FORMULA

PRESETS: dict[str, Preset] = {}
QUADRATIC_START = ((-4.0, 2.0),)
QUADRATIC = quadratic_theory("quadratic")  # λ = 0.2, 4: κ = 20, 2/λmax = 0.5
HEAVY_BALL = QUADRATIC.heavy_ball


def _add(preset: Preset) -> Preset:
    if preset.name in PRESETS:
        raise ValueError(f"two stories named {preset.name!r}")
    PRESETS[preset.name] = preset
    return preset


# -- small measurements the checks share ------------------------------------------------------
def path(run: Run, start: int = 0) -> np.ndarray:
    return run.points[start]


def sign_flips(values: np.ndarray) -> int:
    signs = np.sign(values[values != 0])
    return int(np.count_nonzero(signs[1:] != signs[:-1]))


def distance(run: Run, point, start: int = 0) -> np.ndarray:
    """‖θ_t − point‖ for every step: (T+1,)."""
    return np.linalg.norm(path(run, start) - np.asarray(point, dtype=float), axis=1)


def steps_to(run: Run, point, tol: float, start: int = 0) -> int:
    """First step within `tol` of `point` and staying there, or the run's length + 1 if never."""
    inside = distance(run, point, start) <= tol
    if not inside[-1]:
        return run.steps + 1
    outside = np.flatnonzero(~inside)
    return int(outside[-1] + 1) if len(outside) else 0


def path_length(run: Run, first: int = 0, last: int | None = None, start: int = 0) -> float:
    steps = np.diff(path(run, start)[first:(None if last is None else last + 1)], axis=0)
    return float(np.linalg.norm(steps, axis=1).sum())


def nearest(land: Landscape, point) -> tuple[int, float]:
    """(index of the nearest known minimum, distance to it)."""
    point = np.asarray(point, dtype=float)
    return int(land.nearest_minimum_index(point)), float(land.nearest_minimum_distance(point))


# -- 1. SGD on the ill-conditioned quadratic ------------------------------------------------------
def _check_sgd_ill_conditioned(runs, land):
    p = path(runs["SGD"])
    y_factor = p[1:21, 1] / p[:20, 1]
    x_factor = p[1:, 0] / p[:-1, 0]
    expect(sign_flips(p[:21, 1]) == 20, f"y should flip sign at each of the first 20 steps, flipped "
                                        f"{sign_flips(p[:21, 1])} times")
    expect(np.allclose(y_factor, 1 - 0.4 * 4.0, rtol=1e-9), f"y factor per step {y_factor[:3]} ≠ 1 − lr·λ_y = −0.6")
    expect(np.allclose(x_factor, 1 - 0.4 * 0.2, rtol=1e-9), f"x factor per step {x_factor[:3]} ≠ 1 − lr·λ_x = 0.92")
    expect(abs(p[-1, 1]) < 1e-10 < 0.02 < abs(p[-1, 0]),
           f"after 60 steps y should be gone (|y| = {abs(p[-1, 1]):.3g}) while x still lags "
           f"(|x| = {abs(p[-1, 0]):.3g})")


_add(Preset(
    name="sgd_ill_conditioned", title="SGD on an ill-conditioned bowl",
    claim="On 0.1x² + 2y² (κ = 20) gradient descent jitters across the steep y direction while it "
          "crawls along the shallow x direction.",
    landscape="quadratic", lines=(Line("SGD", "sgd", {"lr": 0.4}),), starts=QUADRATIC_START, steps=60,
    stages=(
        Stage(0, 10, "Watch y: lr·λ_y = 0.4·4 = 1.6 > 1, so every step overshoots the valley floor and y "
                     "flips sign, shrinking by a factor 0.6."),
        Stage(10, 30, "Now watch x: lr·λ_x = 0.08, so each step removes only 8 % of the remaining distance."),
        Stage(30, 60, "y is long gone; x is still on its way. One learning rate cannot suit both curvatures: "
                      "the condition number λ_max/λ_min = 20 sets the pace."),
    ),
    checks=_check_sgd_ill_conditioned,
))


# -- 2. Momentum damps the oscillation and accelerates ---------------------------------------------
def _check_momentum_damps(runs, land):
    gd, momentum = runs["SGD"], runs["SGD + momentum 0.4"]
    y_gd, y_momentum = abs(path(gd)[10, 1]), abs(path(momentum)[10, 1])
    expect(y_momentum < y_gd / 5, f"|y| after 10 steps: momentum {y_momentum:.3g} should be < 1/5 of SGD's {y_gd:.3g}")
    x_gd, x_momentum = abs(path(gd)[20, 0]), abs(path(momentum)[20, 0])
    expect(x_momentum < x_gd / 2, f"|x| after 20 steps: momentum {x_momentum:.3g} should be < 1/2 of SGD's {x_gd:.3g}")
    reach_gd, reach_momentum = steps_to(gd, (0, 0), 1e-3), steps_to(momentum, (0, 0), 1e-3)
    expect(reach_momentum < 0.6 * reach_gd, f"steps to within 1e-3: momentum {reach_momentum} vs SGD {reach_gd}")
    rates = [QUADRATIC.gd_rate(0.45), QUADRATIC.momentum_rate(0.45, 0.4)]
    expect(rates[1] < rates[0], f"theory's rates: momentum {rates[1]:.3f} should beat GD's {rates[0]:.3f}")


_add(Preset(
    name="momentum_damps", title="Momentum damps the zig-zag and speeds up",
    claim="At the same learning rate, momentum 0.4 cancels most of SGD's y-oscillation and accelerates "
          "along x, reaching the minimum in fewer steps.",
    landscape="quadratic",
    lines=(Line("SGD", "sgd", {"lr": 0.45}), Line("SGD + momentum 0.4", "sgd", {"lr": 0.45, "momentum": 0.4})),
    starts=QUADRATIC_START, steps=120,
    stages=(
        Stage(0, 10, "SGD alone (lr 0.45): y flips sign every step and keeps 80 % of its size (1 − 0.45·4 = −0.8)."),
        Stage(0, 10, "Now switch on momentum: the velocity adds last step's move, so successive y-gradients of "
                     "opposite sign cancel while the x-gradients, always of one sign, add up."),
        Stage(10, 45, "Momentum's y is 10× smaller after 10 steps; its x is half of SGD's after 20. Theory: rate "
                      "0.83 per step against SGD's 0.91 (the slowest direction decides)."),
        Stage(45, 120, "Momentum stays within 1e-3 of the minimum from step 45 on; SGD needs 88 steps."),
    ),
    checks=_check_momentum_damps,
))


# -- 3. Nesterov overshoots less than classic momentum -----------------------------------------------
def _check_nesterov(runs, land):
    classic, nesterov = path(runs["momentum"]), path(runs["Nesterov"])
    expect(nesterov[:, 0].max() < 0.85 * classic[:, 0].max(),
           f"overshoot past x = 0: Nesterov {nesterov[:, 0].max():.3f} should be < 0.85 × momentum's "
           f"{classic[:, 0].max():.3f}")
    y_nesterov, y_classic = np.abs(nesterov[5:, 1]).max(), np.abs(classic[5:, 1]).max()
    expect(y_nesterov < 0.6 * y_classic,
           f"largest |y| after step 5: Nesterov {y_nesterov:.3f} vs momentum {y_classic:.3f}")
    reach = steps_to(runs["Nesterov"], (0, 0), 1e-2), steps_to(runs["momentum"], (0, 0), 1e-2)
    expect(reach[0] < reach[1], f"steps to within 1e-2: Nesterov {reach[0]} should beat momentum's {reach[1]}")


_add(Preset(
    name="nesterov_lookahead", title="Nesterov looks ahead",
    claim="With the same lr 0.05 and momentum 0.9, Nesterov's look-ahead gradient brakes before the "
          "valley wall, so it overshoots less than classic momentum and settles sooner.",
    landscape="quadratic",
    lines=(Line("momentum", "momentum", {"lr": 0.05, "momentum": 0.9}),
           Line("Nesterov", "nesterov", {"lr": 0.05, "momentum": 0.9})),
    starts=QUADRATIC_START, steps=150,
    stages=(
        Stage(0, 8, "Both build up speed downhill; Nesterov measures the gradient at θ − γv, where the velocity "
                    "is about to carry it."),
        Stage(8, 40, "Crossing y = 0: the look-ahead gradient already points back, so Nesterov's y-swings are "
                     "less than half of momentum's."),
        Stage(40, 150, "Along x, momentum overshoots past 0 by 0.61, Nesterov by 0.48; Nesterov is within 1e-2 "
                       "after about 60 steps, momentum after about 90."),
    ),
    checks=_check_nesterov,
))


# -- 4. Saddle point ---------------------------------------------------------------------------------
def _check_saddle(runs, land):
    stalled = path(runs["SGD"])[-1]
    expect(np.abs(stalled).max() < 0.1, f"SGD should still be beside the saddle, ended at {stalled}")
    gradient = np.hypot(*land.gradient(stalled[0], stalled[1]))
    expect(gradient < 0.2, f"SGD's gradient at the end {gradient:.3g} should be near 0 (stalled)")
    for label in ("momentum", "SGD + noise"):
        escaped = abs(path(runs[label])[-1, 1])
        expect(escaped > 10 * abs(stalled[1]),
               f"{label} |y| = {escaped:.3g} should be > 10× SGD's {abs(stalled[1]):.3g}")
        expect(runs[label].final_losses[0] < runs["SGD"].final_losses[0] - 0.1,
               f"{label} should end lower than SGD: {runs[label].final_losses[0]:.3g}")


_add(Preset(
    name="saddle_escape", title="Stalling at a saddle, and two ways out",
    claim="Near the saddle of x² − y² plain GD slows to a crawl beside the zero-gradient point, while "
          "momentum and gradient noise both escape down the −y² direction.",
    landscape="saddle",
    lines=(Line("SGD", "sgd", {"lr": 0.01}), Line("momentum", "momentum", {"lr": 0.01, "momentum": 0.9}),
           Line("SGD + noise", "sgd", {"lr": 0.01}, noise=1.0)),
    starts=((-1.8, 1e-3),), steps=150,
    stages=(
        Stage(0, 50, "All three roll towards the saddle at the origin: the gradient 2x shrinks as x does."),
        Stage(50, 150, "SGD's y starts at 0.001 and grows only 2 % a step: it sits beside the saddle where the "
                       "gradient is nearly 0."),
        Stage(50, 150, "Momentum keeps the speed it gathered and carries on past the saddle; noise kicks y off "
                       "the ridge, and −y² does the rest."),
    ),
    checks=_check_saddle,
    adapted="The noisy line has its own noise (σ = 1): the Compare page has one noise for all cards.",
))


# -- 5. Momentum overshoots in Rosenbrock's valley ----------------------------------------------------
def _check_rosenbrock(runs, land):
    momentum, sgd = runs["momentum"].losses[0], runs["SGD"].losses[0]
    rises = int((np.diff(momentum) > 0).sum())
    expect(rises >= 5, f"momentum's loss should go back up at least 5 times (overshoots), rose {rises} times")
    expect((np.diff(sgd) <= 1e-12).all(), "SGD's loss should never rise at this lr")
    crossings = sign_flips(path(runs["momentum"])[:, 1] - path(runs["momentum"])[:, 0] ** 2)
    expect(crossings >= 2, f"momentum should cross the valley floor y = x² at least twice, crossed {crossings}")


_add(Preset(
    name="rosenbrock_overshoot", title="Momentum overshoots the curved valley",
    claim="In Rosenbrock's narrow curved valley, momentum's velocity carries it across the floor and up "
          "the far wall (its loss rises again), while plain GD never overshoots.",
    landscape="rosenbrock",
    lines=(Line("SGD", "sgd", {"lr": 0.001}), Line("momentum", "momentum", {"lr": 0.0005, "momentum": 0.9})),
    starts=((-1.5, 2.0),), steps=500,
    stages=(
        Stage(0, 30, "Both drop down the steep wall into the valley y = x²."),
        Stage(30, 200, "Momentum's velocity does not turn with the valley: it swings across the floor and back, "
                       "and its loss goes up each time."),
        Stage(200, 500, "GD creeps along the floor, its loss falling every step, but slowly."),
    ),
    checks=_check_rosenbrock,
))


# -- 6. Local minima -----------------------------------------------------------------------------------
def _check_local_minimum(runs, land):
    shallow = next(i for i, m in enumerate(land.minima) if not m.is_global)
    deep = next(i for i, m in enumerate(land.minima) if m.is_global)
    for label, wanted in (("SGD", shallow), ("momentum", deep)):
        index, gap = nearest(land, path(runs[label])[-1])
        expect(index == wanted and gap < 1e-2, f"{label} should end in minimum {wanted}, ended {gap:.3g} from {index}")


_add(Preset(
    name="local_minimum", title="Trapped, and carried out",
    claim="From the right, plain GD settles in the shallow valley; momentum's speed carries it over the "
          "ridge into the deeper one.",
    landscape="local_minimum_trap",
    lines=(Line("SGD", "sgd", {"lr": 0.05}), Line("momentum", "momentum", {"lr": 0.02, "momentum": 0.9})),
    starts=((1.8, 1.0),), steps=150,
    stages=(
        Stage(0, 20, "Both slide into the right-hand valley."),
        Stage(20, 60, "GD stops where the gradient vanishes: the shallow minimum near x = 0.96."),
        Stage(20, 150, "Momentum arrives with speed, climbs the ridge near x = 0 and rolls into the deeper "
                       "valley at x = −1.04."),
    ),
    checks=_check_local_minimum,
))


# -- 7. Adagrad --------------------------------------------------------------------------------------
def _check_adagrad(runs, land):
    adagrad, sgd = runs["Adagrad"], runs["SGD"]
    effective = adagrad.effective_steps[0]
    growth = np.nanmax(np.diff(effective, axis=0))
    expect(growth <= 1e-15, f"Adagrad's effective step must never grow, grew by {growth:.3g}")
    expect((effective[:, 1] < effective[:, 0]).all(), "the steep y's effective step should stay below x's")
    first = effective[0]
    expect(math.isclose(first[0] / first[1], 10.0, rel_tol=1e-6),
           f"first effective steps x/y = {first[0] / first[1]:.6g} should be |g_y|/|g_x| = 10")
    ratio_adagrad = abs(adagrad.updates[0, 0, 0] / adagrad.updates[0, 0, 1])
    ratio_sgd = abs(sgd.updates[0, 0, 0] / sgd.updates[0, 0, 1])
    expect(math.isclose(ratio_adagrad, 1.0, rel_tol=1e-6) and math.isclose(ratio_sgd, 0.1, rel_tol=1e-9),
           f"first step |Δx|/|Δy|: Adagrad {ratio_adagrad:.6g} should be 1 (lr·sign g), SGD {ratio_sgd:.6g} "
           f"should be |g_x|/|g_y| = 0.1")
    expect(effective[-1, 0] < 0.5 * effective[0, 0], f"x's effective step should fall to under half: "
                                                     f"{effective[0, 0]:.3g} → {effective[-1, 0]:.3g}")
    last = np.linalg.norm(adagrad.updates[0, -1])
    expect(last < 1e-3, f"Adagrad's last step {last:.3g} should be near 0")


_add(Preset(
    name="adagrad", title="Adagrad: a learning rate per coordinate",
    claim="Adagrad divides each coordinate's step by its accumulated squared gradients, so it damps the "
          "steep y, moves the flat x as far as y, and its effective step only ever shrinks.",
    landscape="quadratic",
    lines=(Line("SGD", "sgd", {"lr": 0.4}), Line("Adagrad", "adagrad", {"lr": 0.5})),
    starts=QUADRATIC_START, steps=150,
    stages=(
        Stage(0, 1, "First step: Adagrad's step is η·g/√(g²) = η·sign(g): 0.5 in x and in y alike, where SGD "
                    "moves y ten times as far as x."),
        Stage(1, 20, "The y accumulator is 100× the x one (gradients 8 vs 0.8 at the start), so y's effective "
                     "step is 10× smaller: the steep direction is damped."),
        Stage(20, 150, "Each squared gradient only adds: both effective steps fall monotonically, and the steps "
                       "themselves fade towards zero."),
    ),
    checks=_check_adagrad,
))


# -- 8. RMSProp: leaky Adagrad -----------------------------------------------------------------------
SIGMA_8 = 1.0


def _check_rmsprop(runs, land):
    sums = runs["Adagrad"].states["sum_of_squares"][0]
    growth = (sums[-1] - sums[299]) / (len(sums) - 300)
    expect(np.all(np.abs(growth / SIGMA_8**2 - 1) < 0.15),
           f"Adagrad's sum of g² should keep growing by about σ² = {SIGMA_8**2:g} a step: {growth}")
    adagrad, rmsprop = runs["Adagrad"].effective_steps[0], runs["RMSProp"].effective_steps[0]
    early, late = slice(140, 160), slice(580, 600)  # around t = 150 and t = 590
    shrink = np.nanmean(adagrad[late], 0) / np.nanmean(adagrad[early], 0)
    expect(np.all(shrink < 0.7), f"Adagrad's effective step should keep falling: late/early = {shrink}")
    average = runs["RMSProp"].states["square_average"][0, 300:].mean(0)
    expect(np.all(np.abs(average / SIGMA_8**2 - 1) < 0.15),
           f"RMSProp's average of g² should hold near σ² = {SIGMA_8**2:g}: {average}")
    kept = np.nanmean(rmsprop[late], 0) / np.nanmean(rmsprop[early], 0)
    expect(np.all(np.abs(kept - 1) < 0.25), f"RMSProp's effective step should hold steady: late/early = {kept}")
    level = np.nanmean(rmsprop[late], 0)
    expect(np.all(np.abs(level / (0.05 / SIGMA_8) - 1) < 0.25),
           f"RMSProp's effective step {level} should sit near lr/σ = {0.05 / SIGMA_8:.3g}")


_add(Preset(
    name="rmsprop_leaky", title="RMSProp: leaky Adagrad",
    claim="Under noisy gradients Adagrad's sum of squared gradients grows by σ² every step, so its "
          "effective step keeps shrinking like 1/√t, while RMSProp's running average forgets old gradients "
          "and its effective step settles at lr/σ.",
    landscape="quadratic",
    lines=(Line("Adagrad", "adagrad", {"lr": 0.5}), Line("RMSProp", "rmsprop", {"lr": 0.05})),
    starts=QUADRATIC_START, steps=600, noise=SIGMA_8, seed=0,
    stages=(
        Stage(0, 50, "Both divide by the root of squared gradients; with noise σ = 1 every gradient adds about "
                     "1 to each accumulator."),
        Stage(50, 300, "Adagrad's sum grows like t, so its step falls like 1/√t: it moves less and less."),
        Stage(300, 600, "RMSProp's average (α = 0.99) remembers about 100 steps: its step stays near "
                        "0.05/σ, and it keeps exploring."),
    ),
    checks=_check_rmsprop,
    adapted="Gradient noise σ = 1 stands in for the mini-batch noise under which the slides' contrast shows.",
))


# -- 9. Adam's bias correction --------------------------------------------------------------------------
def _check_bias_correction(runs, land):
    corrected, raw = runs["Adam"], runs["Adam, no bias correction"]
    first = raw.updates[0, 0] / corrected.updates[0, 0]
    predicted = (1 - 0.9) / math.sqrt(1 - 0.999)
    expect(np.allclose(first, predicted, rtol=1e-6),
           f"first-step ratio {first} should be (1−β₁)/√(1−β₂) = {predicted:.6f}")
    expect(np.allclose(np.abs(corrected.updates[0, 0]), 0.1, rtol=1e-6),
           f"the corrected first step {corrected.updates[0, 0]} should be lr·sign(g) = ±0.1")
    lengths = path_length(raw, 0, 10), path_length(corrected, 0, 10)
    expect(lengths[0] > 3 * lengths[1],
           f"first 10 steps: uncorrected path {lengths[0]:.3g} should be > 3× {lengths[1]:.3g}")
    expect(path(raw)[:20, 1].min() < -0.5 < 0 < path(corrected)[:20, 1].min(),
           f"uncorrected y should overshoot below −0.5 ({path(raw)[:20, 1].min():.3g}); corrected y stays > 0")


_add(Preset(
    name="adam_bias_correction", title="Adam's bias correction",
    claim="Adam's moments start at 0; without dividing by 1 − βᵗ the first steps are 3–5× too long and "
          "overshoot, with the correction the first step is exactly lr·sign(g).",
    landscape="quadratic",
    lines=(Line("Adam", "adam", {"lr": 0.1}),
           Line("Adam, no bias correction", "adam", {"lr": 0.1, "bias_correction": False})),
    starts=QUADRATIC_START, steps=100,
    stages=(
        Stage(0, 1, "Step 1: m = 0.1·g, v = 0.001·g². Uncorrected, m/√v = 3.16·sign(g); corrected, m̂/√v̂ = sign(g)."),
        Stage(1, 10, "v's correction 1/√(1−0.999ᵗ) stays large much longer than m's: the uncorrected steps are "
                     "3 to 5 times too long and y shoots past 0."),
        Stage(10, 100, "Both corrections fade (1 − βᵗ → 1) and the two behave alike, but the uncorrected run "
                       "has already paid for its wild start."),
    ),
    checks=_check_bias_correction,
))


# -- 10. AMSGrad vs Adam on Reddi et al.'s counterexample ---------------------------------------------------
# The counterexample as data (landscapes.data): sample i's loss is c_i·x + y²/2, c = (C, −1, −1); its
# expression the formula the page loads (the same average, in exact rationals).
REDDI_DATA = replace(data_landscape("reddi"), expression=REDDI.expression)


def _reddi_gradient(t: int, points: np.ndarray) -> np.ndarray:
    """∇f_t, the gradient of sample (t − 1) mod 3 visited in order: C on every third step (t = 1, 4, 7, ...),
    −1 otherwise, in x; y²/2 gives y."""
    samples = np.full((points.shape[1], 1), (t - 1) % REDDI_DATA.samples)
    _, gx, gy = REDDI_DATA.batch_value_and_gradient(points[0], points[1], samples)
    return np.stack((gx, gy))


def _into_box(points: np.ndarray) -> np.ndarray:
    """Projection on the feasible set x ∈ [−1, 1] (for a box and a diagonal metric, clipping)."""
    projected = np.array(points)
    projected[0] = np.clip(projected[0], -1.0, 1.0)
    return projected


REDDI_SETTINGS = {"lr": 0.5, "betas": (0.0, 1 / (1 + REDDI_C**2)), "bias_correction": False}
REDDI_SCHEDULE = {"name": "InverseSqrtLR", "k": 1.0}  # η_t = η/√t, Reddi's α_t = α/√t


def _check_reddi(runs, land):
    adam, ams = path(runs["Adam"])[:, 0], path(runs["AMSGrad"])[:, 0]
    expect(adam[-50:].min() > 0.95, f"Adam's x should drift to +1 (the worst point): last 50 ≥ {adam[-50:].min():.3g}")
    expect(ams[-50:].max() < -0.95, f"AMSGrad's x should reach −1 (the optimum): last 50 ≤ {ams[-50:].max():.3g}")
    drop = runs["Adam"].states["second_moment"][0, 2, 0] / runs["Adam"].states["second_moment"][0, 0, 0]
    expect(drop < 0.15, f"two steps after the large gradient Adam's v should be below 15 % of it: {drop:.3g}")
    kept = runs["AMSGrad"].states["max_second_moment"][0, -1, 0]
    expect(kept >= runs["AMSGrad"].states["second_moment"][0, 0, 0],
           f"AMSGrad's max v {kept:.3g} should keep the first large gradient's")


_add(Preset(
    name="amsgrad_counterexample", title="AMSGrad: Adam forgets a rare large gradient",
    claim="On Reddi et al.'s online problem (gradient C = 3 every third step, −1 otherwise, optimum x = −1) "
          "Adam with β₁ = 0, β₂ = 1/(1+C²) drifts to x = +1, while AMSGrad, dividing by the largest v so far, "
          "reaches −1.",
    landscape=REDDI_DATA, formula=REDDI_FORMULA,
    lines=(Line("Adam", "adam", REDDI_SETTINGS, REDDI_SCHEDULE, gradient=_reddi_gradient, project=_into_box),
           Line("AMSGrad", "adam", {**REDDI_SETTINGS, "amsgrad": True}, REDDI_SCHEDULE,
                gradient=_reddi_gradient, project=_into_box)),
    starts=((0.5, 1.0),), steps=600,
    stages=(
        Stage(0, 3, "One period: a large gradient C = 3 (push left), then two of −1 (push right). On average "
                    "the push is to the left: the optimum is x = −1."),
        Stage(3, 60, "Adam's v jumps at the large gradient and decays by β₂ = 0.1 a step after it: the two "
                     "small gradients are divided by a small √v, and their steps win. Adam heads right."),
        Stage(60, 600, "AMSGrad divides by the largest v so far, so the large gradient is never forgotten: "
                       "it reaches −1. Adam sits at +1, the worst point, for good."),
    ),
    checks=_check_reddi,
    adapted="Reddi et al. 2018 (Thm 1) is an online problem on [−1, 1]; here x follows its gradients "
            "f_t′ = C (t = 1, 4, 7, …) or −1 exactly, projected back onto [−1, 1] after each step, with lr "
            "η/√t, no bias correction and β₁ = 0 as in the paper; a benign y²/2 makes it 2D. The contour is "
            "the average loss (C − 2)x/3 + y²/2; the gradients come from the online sequence, not from it.",
))


# -- 11. L2 regularization vs decoupled weight decay --------------------------------------------------------
def _check_weight_decay(runs, land):
    l2, decoupled = path(runs["SGD, L2"]), path(runs["SGD, decoupled"])
    gap = np.abs(l2 - decoupled).max()
    expect(gap < 1e-12, f"SGD with L2 and with decoupled decay should give the same points: max gap {gap:.3g}")
    hessian = np.array([[10.0, 8.0], [8.0, 10.0]])  # Booth: ∇f = Hθ − (34, 38)
    target = np.linalg.solve(hessian + 0.5 * np.eye(2), [34.0, 38.0])
    end = np.abs(l2[-1] - target).max()
    expect(end < 1e-6, f"SGD should reach the minimum of f + λ‖θ‖²/2 {target}: off by {end:.3g}")
    adam_gap = np.linalg.norm(path(runs["Adam, L2"])[-1] - path(runs["AdamW"])[-1])
    expect(adam_gap > 0.5, f"Adam with L2 and AdamW should end apart: {adam_gap:.3g}")


_add(Preset(
    name="weight_decay", title="L2 regularization vs decoupled weight decay",
    claim="For SGD, adding λθ to the gradient (L2) and shrinking θ by lr·λ (decoupled) are the same "
          "update; for Adam they are not, because Adam rescales the λθ it finds in the gradient.",
    landscape="booth",
    lines=(Line("SGD, L2", "sgd", {"lr": 0.02, "weight_decay": 0.5}),
           Line("SGD, decoupled", "sgd", {"lr": 0.02, "weight_decay": 0.5, "decoupled_weight_decay": True}),
           Line("Adam, L2", "adam", {"lr": 0.1, "weight_decay": 0.5}),
           Line("AdamW", "adamw", {"lr": 0.1, "weight_decay": 0.5})),
    starts=((-8.0, -8.0),), steps=300,
    stages=(
        Stage(0, 300, "The two SGD paths are one: θ − lr(g + λθ) = (1 − lr·λ)θ − lr·g. Both end at the minimum "
                      "of f + λ‖θ‖²/2."),
        Stage(0, 300, "Adam divides the whole gradient, λθ included, by √v: where gradients are large the decay "
                      "is damped. AdamW shrinks θ outside that division, so it ends elsewhere."),
    ),
    checks=_check_weight_decay,
    adapted="In the paper's notation θ ← (1 − λ′)θ the equivalence reads λ′ = lr·λ; torch's (and this "
            "library's) decoupled_weight_decay already multiplies by lr, so the same weight_decay value gives "
            "the same SGD path.",
))


# -- 12. Learning rate too high, too low, right ----------------------------------------------------------------
def _check_learning_rates(runs, land):
    expect(math.isclose(QUADRATIC.max_stable_lr, 0.5), f"2/λmax should be 0.5, is {QUADRATIC.max_stable_lr}")
    high = path(runs["lr 0.6 (too high)"])
    growth = np.abs(high[1:30, 1] / high[:29, 1])
    expect(np.allclose(growth, 1.4, rtol=1e-9), f"|y| should grow by |1 − 0.6·4| = 1.4 a step: {growth[:3]}")
    expect(runs["lr 0.6 (too high)"].diverged[0] > 0, "lr 0.6 should be marked diverged")
    low = distance(runs["lr 0.01 (too low)"], (0, 0))
    expect(low[-1] > 0.75 * low[0], f"lr 0.01 should crawl: {low[-1]:.3g} of {low[0]:.3g} left")
    right = distance(runs["lr 0.476 (optimal)"], (0, 0))
    expect(right[-1] < 1e-2 * right[0], f"the optimal lr should converge: {right[-1]:.3g} left")


_add(Preset(
    name="learning_rate", title="Too high explodes, too low crawls",
    claim="On 0.1x² + 2y², GD diverges above 2/λmax = 0.5 (at lr 0.6, |y| grows 1.4× a step), crawls at "
          "lr 0.01, and converges fastest at 2/(λmin+λmax) ≈ 0.476.",
    landscape="quadratic",
    lines=(Line("lr 0.6 (too high)", "sgd", {"lr": 0.6}), Line("lr 0.01 (too low)", "sgd", {"lr": 0.01}),
           Line("lr 0.476 (optimal)", "sgd", {"lr": QUADRATIC.optimal_lr})),
    starts=QUADRATIC_START, steps=60,
    stages=(
        Stage(0, 15, "lr 0.6: the y factor is 1 − 0.6·4 = −1.4, so each step overshoots by more than it corrects."),
        Stage(0, 60, "lr = 2/(λmin+λmax) = 0.476 balances the two directions: both shrink by 0.905 a step."),
        Stage(15, 60, "lr 0.6 leaves the view and is marked diverged at step 53; lr 0.01 has barely moved (x keeps "
                      "99.8 % a step)."),
    ),
    checks=_check_learning_rates,
))


# -- 13. Learning-rate decay and warmup --------------------------------------------------------------------------
STEP_DECAY = {"name": "StepLR", "step_size": 100, "gamma": 0.1}


def _check_decay(runs, land):
    def jitter(label):
        return float(np.sqrt(np.mean(path(runs[label])[-50:, 1] ** 2)))
    constant, decayed = jitter("constant lr"), jitter("step decay")
    expect(decayed < constant / 4,
           f"RMS y over the last 50 steps: decayed {decayed:.3g} should be < 1/4 of {constant:.3g}")
    warm = runs["warmup + step decay"]
    expect(np.allclose(warm.lrs[:20], 0.4 * np.arange(1, 21) / 20),
           "warmup should ramp lr linearly to 0.4 over 20 steps")
    lengths = path_length(warm, 0, 10), path_length(runs["step decay"], 0, 10)
    expect(lengths[0] < lengths[1] / 2,
           f"the first 10 warmup steps should travel < half: {lengths[0]:.3g} vs {lengths[1]:.3g}")
    expect(jitter("warmup + step decay") < constant / 4, "warmup + decay should end as quiet as decay alone")


_add(Preset(
    name="lr_decay", title="Decay damps the late jitter; warmup eases the start",
    claim="With noisy gradients a constant lr keeps jittering around the minimum; dividing lr by 10 at steps "
          "100 and 200 damps the jitter, and a linear warmup makes the first steps gentle.",
    landscape="quadratic",
    lines=(Line("constant lr", "sgd", {"lr": 0.4}), Line("step decay", "sgd", {"lr": 0.4}, STEP_DECAY),
           Line("warmup + step decay", "sgd", {"lr": 0.4}, {**STEP_DECAY, "warmup": 20})),
    starts=QUADRATIC_START, steps=300, noise=1.0, seed=0,
    stages=(
        Stage(0, 20, "Warmup: lr climbs from 0.02 to 0.4 over 20 steps, so the first steps are short."),
        Stage(20, 100, "At lr 0.4 all three hover near the minimum, kicked by the noise: the stationary spread "
                       "grows with lr."),
        Stage(100, 300, "At step 100 lr drops to 0.04, at 200 to 0.004: the decayed paths calm down, the constant "
                        "one keeps jittering."),
    ),
    checks=_check_decay,
    adapted="Gradient noise σ = 1 stands in for mini-batch noise.",
))


# -- 14. Mini-batch noise ---------------------------------------------------------------------------------------
BATCHES = (1, 4, 16)
MINIBATCH_LR, MINIBATCH_STEPS, MINIBATCH_SEED = 0.1, 600, 0
# Least squares on 32 samples (landscapes.data); the Compare page gets its mean loss as formula text.
_LINEAR_DATA = data_landscape("linear", seed=0)
MINIBATCH_FORMULA = str(_LINEAR_DATA.expression)
MINIBATCH_DATA = replace(_LINEAR_DATA, expression=parse_formula(MINIBATCH_FORMULA))


def _batch_label(batch: int) -> str:
    return f"batch {batch}" if batch < MINIBATCH_DATA.samples else f"full batch ({batch})"


def _minibatch_gradient(batch: int):
    """The mean gradient of batch t of one seeded shuffle per epoch: `simulate(batch_size=batch,
    shuffle=True, seed=MINIBATCH_SEED)`'s batches, as a story line's gradient (tested equal)."""
    order = MINIBATCH_DATA.seeded_batch_order(batch, MINIBATCH_STEPS, 1, True, MINIBATCH_SEED)

    def gradient(t: int, points: np.ndarray) -> np.ndarray:
        _, gx, gy = MINIBATCH_DATA.batch_value_and_gradient(points[0], points[1], order[:, t - 1])
        return np.stack((gx, gy))

    return gradient


def batch_noise(run: Run, land, batch: int) -> tuple[float, float]:
    """(measured, predicted) mean of ‖g_t − ∇f(θ_t)‖² over the run: a batch of B of M samples drawn
    without replacement has (M − B)/(B(M − 1)) times one sample's variance about ∇f."""
    points = path(run)[:-1]
    gx, gy = land.sample_gradients(points[:, 0], points[:, 1])
    fx, fy = gx.mean(-1), gy.mean(-1)
    one_sample = ((gx - fx[:, None]) ** 2 + (gy - fy[:, None]) ** 2).mean(-1)
    m = land.samples
    predicted = one_sample * (m - batch) / (batch * (m - 1))
    measured = (run.grads[0, :, 0] - fx) ** 2 + (run.grads[0, :, 1] - fy) ** 2
    return float(measured.mean()), float(predicted.mean())


def _check_batches(runs, land):
    for batch in BATCHES:
        measured, predicted = batch_noise(runs[_batch_label(batch)], land, batch)
        expect(abs(measured / predicted - 1) < 0.25,
               f"batch {batch}: mean ‖g − ∇f‖² {measured:.3g} vs (M − B)/(B(M − 1)) theory {predicted:.3g}")
    best = land.minima[0].value
    excess = {b: float(np.mean(runs[_batch_label(b)].losses[0, 200:] - best)) for b in BATCHES}
    expect(excess[1] > excess[4] > excess[16], f"loss above the minimum should fall with the batch: {excess}")
    expect(excess[1] / excess[16] > 31, f"batch 16's noise variance is 31× smaller, its excess loss should be "
                                        f"too: {excess[1] / excess[16]:.3g}×")
    ratio = path_length(runs[_batch_label(1)]) / path_length(runs[_batch_label(16)])
    expect(ratio > 3, f"batch 1's path should be over 3× as long as batch 16's: {ratio:.3g}")
    full = runs[_batch_label(land.samples)]
    gap = np.linalg.norm(path(runs[_batch_label(16)])[:100] - path(full)[:100], axis=1).max()
    expect(gap < 0.15, f"batch 16 should stay within 0.15 of the full-batch path for 100 steps: {gap:.3g}")


_add(Preset(
    name="minibatch_noise", title="Mini-batch noise: bigger batches, smoother paths",
    claim="On least squares over 32 samples, a batch of B samples drawn without replacement has (M − B)/(B(M − 1)) "
          "times one sample's gradient variance, 31× less at B = 16 than at B = 1: batch 1 meanders, batch 16 "
          "hugs the full-batch path and sits over 31× closer to the minimum in loss.",
    landscape=MINIBATCH_DATA, formula=MINIBATCH_FORMULA,
    lines=(*(Line(_batch_label(b), "sgd", {"lr": MINIBATCH_LR}, gradient=_minibatch_gradient(b)) for b in BATCHES),
           Line(_batch_label(MINIBATCH_DATA.samples), "sgd", {"lr": MINIBATCH_LR})),
    starts=MINIBATCH_DATA.starts, steps=MINIBATCH_STEPS, seed=MINIBATCH_SEED,
    stages=(
        Stage(0, 30, "Far from the minimum every sample's gradient points roughly the same way: all batch sizes "
                     "head down the valley together, beside the full batch."),
        Stage(30, 600, "Near the minimum the samples disagree: one sample's gradient is mostly noise and batch 1 "
                       "meanders; 16 of 32 samples cut the variance 31× and batch 16 hugs the full-batch path."),
    ),
    checks=_check_batches,
    adapted="Real mini-batches on a data landscape (landscapes.data: linear regression, 32 samples, seed 0): each "
            "batch line reshuffles the samples every epoch and steps on the mean gradient of B of them, exactly "
            "as simulate(batch_size=B, shuffle=True) does. The Compare page gets the mean loss as a formula and "
            "runs full-batch SGD there.",
))


# -- 15. Three formulations of momentum ---------------------------------------------------------------------------
FORMULATION_LR, FORMULATION_MOMENTUM = 0.0005, 0.9


def _average_form(xp):
    """Momentum as an average of gradients: b ← βb + (1 − β)g (b₀ = 0), θ ← θ − η′b.

    The registry has no such record: torch's dampening starts its buffer at g₁ undamped, so
    ``sgd(dampening=β)`` differs from this form at the first step.
    """
    from optimizers import Rule

    def init(param):
        return {"velocity": xp.zeros_like(param)}

    def update(grad, param, state, lr, step):
        velocity = FORMULATION_MOMENTUM * state["velocity"] + (1 - FORMULATION_MOMENTUM) * grad
        return param - lr * velocity, {"velocity": velocity}

    return Rule(init, update)


def _check_formulations(runs, land):
    torch_form = path(runs["PyTorch form"])
    for label in ("classic form", "(1 − β) form, lr/(1 − β)"):
        gap = np.abs(path(runs[label]) - torch_form).max()
        expect(gap < 1e-12, f"{label}: max gap to the PyTorch form's points {gap:.3g} should be < 1e-12")
    velocity_ratio = runs["classic form"].states["velocity"][0, 5:] / runs["PyTorch form"].states["velocity"][0, 5:]
    expect(np.allclose(velocity_ratio, -FORMULATION_LR, rtol=1e-9), "classic v should be −η × torch's b")


_add(Preset(
    name="momentum_formulations", title="Three ways to write momentum, one path",
    claim="PyTorch's b ← βb + g, θ ← θ − ηb, the classic v ← βv − η∇f, θ ← θ + v, and the average "
          "b ← βb + (1−β)g with lr η/(1−β) give the same points to 1e-12.",
    landscape="rosenbrock",
    lines=(Line("PyTorch form", "sgd", {"lr": FORMULATION_LR, "momentum": FORMULATION_MOMENTUM}),
           Line("classic form", "momentum", {"lr": FORMULATION_LR, "momentum": FORMULATION_MOMENTUM}),
           Line("(1 − β) form, lr/(1 − β)", "momentum_average",
                {"lr": FORMULATION_LR / (1 - FORMULATION_MOMENTUM)}, rule=_average_form)),
    starts=((-1.5, 2.0),), steps=300,
    stages=(
        Stage(0, 1, "Three update rules; PyTorch applies lr to the velocity b (gradient units), the classic form "
                    "keeps v in parameter units: v = −η·b."),
        Stage(1, 300, "The paths lie on top of each other: scaling the velocity, or averaging with (1 − β) and "
                      "dividing lr by (1 − β), changes the bookkeeping, not the points."),
    ),
    checks=_check_formulations,
    adapted="The (1 − β) form is written here (the registry lacks it; torch's dampening=β starts its buffer at "
            "g₁ undamped, which is a different path), so it has no card on the Compare page.",
))


# -- 16. Newton --------------------------------------------------------------------------------------------
def _check_newton_one_step(runs, land):
    first = path(runs["Newton"])[1]
    expect(np.abs(first).max() < 1e-12, f"Newton's first step should land on (0, 0): {first}")
    expect(steps_to(runs["SGD"], (0, 0), 1e-3) > 50, "SGD at its optimal lr needs many steps for the same")


_add(Preset(
    name="newton_one_step", title="Newton: one step to a quadratic's minimum",
    claim="Newton's step −H⁻¹∇f is exact for a quadratic: from any start it lands on the minimum of "
          "0.1x² + 2y² in one step (to 1e-12), where GD at its best lr needs 84 steps to get within 1e-3.",
    landscape="quadratic",
    lines=(Line("Newton", "newton"), Line("SGD", "sgd", {"lr": QUADRATIC.optimal_lr})),
    starts=QUADRATIC_START, steps=100,
    stages=(
        Stage(0, 1, "H = diag(0.2, 4): Newton divides the x-gradient by 0.2 and the y-gradient by 4, undoing "
                    "the ill-conditioning in one step."),
        Stage(1, 100, "GD at its optimal rate 2/(λmin+λmax) still shrinks the error only by 0.905 a step."),
    ),
    checks=_check_newton_one_step,
))


def _check_damped_newton(runs, land):
    plain, damped = path(runs["Newton"])[-1], path(runs["damped Newton"])[-1]
    at_plain = quadratic_theory(land, plain)
    expect(not at_plain.convex, f"plain Newton should end on a non-minimum, Hessian eigenvalues {at_plain.eigenvalues}")
    gradient = np.hypot(*land.gradient(plain[0], plain[1]))
    expect(gradient < 1e-8, f"plain Newton should have converged onto a stationary point: |∇f| = {gradient:.3g}")
    index, gap = nearest(land, damped)
    expect(gap < 1e-3, f"damped Newton should end on a minimum: {gap:.3g} from minimum {index}")
    rises = int((np.diff(runs["damped Newton"].losses[0]) > 1e-12).sum())
    expect(rises == 0, f"damped Newton's loss should never rise, rose {rises} times")


_add(Preset(
    name="damped_newton", title="Newton heads for any stationary point; damping fixes it",
    claim="Where the curvature is negative, Newton's step goes uphill to the saddle between the two "
          "valleys; adding δ = 5 to the Hessian's diagonal makes it a descent step that reaches a minimum.",
    landscape="local_minimum_trap",
    lines=(Line("Newton", "newton"), Line("damped Newton", "newton", {"damping": 5.0})),
    starts=((0.3, 0.5),), steps=30,
    stages=(
        Stage(0, 3, "At x = 0.3, f_xx = 12x² − 4 < 0: the Hessian is not positive definite and H⁻¹∇f points "
                    "towards the ridge."),
        Stage(3, 30, "Plain Newton converges (fast!) onto the saddle between the valleys: zero gradient, not a "
                     "minimum. With H + 5I positive definite, damped Newton walks downhill into a valley."),
    ),
    checks=_check_damped_newton,
    adapted="Story 16 of the course is told as two presets: one landscape each.",
))


# -- 17. Polyak averaging ------------------------------------------------------------------------------------------
def _check_polyak(runs, land):
    run = runs["SGD + Polyak averaging"]
    raw = np.linalg.norm(run.points[0, -100:], axis=1).mean()
    averaged = np.linalg.norm(run.averaged_points[0, -100:], axis=1).mean()
    expect(averaged < raw / 3, f"last 100 steps: averaged distance {averaged:.3g} should be < 1/3 of raw {raw:.3g}")
    wobble = np.linalg.norm(np.diff(run.averaged_points[0, -100:], axis=0), axis=1).mean()
    jumps = np.linalg.norm(run.updates[0, -100:], axis=1).mean()
    expect(wobble < jumps / 50, f"the average's steps {wobble:.3g} should be < 1/50 of the iterates' {jumps:.3g}")


_add(Preset(
    name="polyak_averaging", title="Polyak averaging smooths a noisy path",
    claim="Noisy SGD at a constant lr keeps bouncing around the minimum; the running mean of its iterates "
          "sits much closer to it and barely moves.",
    landscape="quadratic",
    lines=(Line("SGD + Polyak averaging", "sgd", {"lr": 0.4}, polyak=True),),
    starts=QUADRATIC_START, steps=1000, noise=1.0, seed=0,
    stages=(
        Stage(0, 50, "SGD reaches the minimum's neighbourhood and starts bouncing, kicked by the noise."),
        Stage(50, 1000, "The average θ̄_t = (θ₀ + … + θ_t)/(t+1) (second path) cancels the kicks: its distance "
                        "shrinks like 1/√t while the iterates keep their spread."),
    ),
    checks=_check_polyak,
    adapted="Gradient noise σ = 1 stands in for mini-batch noise.",
))


# -- 18. Adaptive methods break symmetry -------------------------------------------------------------------------
def _check_symmetry(runs, land):
    stuck = path(runs["SGD"])[-1]
    expect(abs(stuck[1]) < 0.01, f"SGD's y should still be near the mirror line: {stuck[1]:.3g}")
    for label in ("Adam", "RMSProp", "Adagrad"):
        index, gap = nearest(land, path(runs[label])[-1])
        expect(gap < 0.05, f"{label} should have picked a minimum: {gap:.3g} from minimum {index}")
        left = int(np.argmax(np.abs(path(runs[label])[:, 1]) > 0.5))
        expect(0 < left < 100, f"{label} should leave the mirror line within 100 steps, left at {left}")


_add(Preset(
    name="symmetry_breaking", title="Adaptive methods break symmetry",
    claim="Starting 10⁻⁶ off the mirror line of a symmetric double well, SGD stays on the ridge (its "
          "y-gradient is 10⁻⁶-small), while Adam, RMSProp and Adagrad rescale that tiny gradient to a full "
          "step and fall into a minimum.",
    landscape=SYMMETRIC, formula=SYMMETRIC_FORMULA,
    lines=(Line("SGD", "sgd", {"lr": 0.01}), Line("Adam", "adam", {"lr": 0.05}),
           Line("RMSProp", "rmsprop", {"lr": 0.01}), Line("Adagrad", "adagrad", {"lr": 0.5})),
    starts=((-1.5, 1e-6),), steps=200,
    stages=(
        Stage(0, 30, "All start at y = 10⁻⁶: f = x² + (y² − 1)² is the same on both sides of y = 0."),
        Stage(0, 60, "SGD's y-step is lr·4y ≈ 4·10⁻⁸; the adaptive methods divide by √v ≈ |g_y| and move y by "
                     "about lr from the first step: the tiny asymmetry becomes a choice."),
        Stage(60, 200, "The adaptive methods sit in a minimum; SGD has slid down x to the saddle between the "
                       "wells and waits there (|y| still below 0.01 after 200 steps)."),
    ),
    checks=_check_symmetry,
    adapted="A symmetric landscape defined for the story (the catalog's saddle is unbounded below).",
))
