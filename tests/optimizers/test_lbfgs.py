"""L-BFGS against torch.optim.LBFGS, what it records for lecture mode, and GD with Armijo backtracking.

The references (tests/data/lbfgs_trajectories.json, written by bench/make_reference.py) are
torch.optim.LBFGS with one ``step(closure)`` per point, on torch's non-fused kernels. Where
the landscape's ∇f rounds as torch's autograd does (every function here but Himmelblau,
whose sums the parser reorders) the library reproduces them bit for bit; torch's √ (MKL's
vdSqrt) misrounds ~1% of inputs, so a case whose cubic interpolation met one is matched bit
for bit against its correctly rounded twin and to round-off against torch as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from landscapes import from_expression, get_landscape
from optimizers import HyperparameterError, get_optimizer, simulate
from optimizers.lbfgs import memory_pairs

DATA = Path(__file__).resolve().parents[1] / "data" / "lbfgs_trajectories.json"
REFERENCE = json.loads(DATA.read_text())
CASES = REFERENCE["cases"]
AUTOGRAD_ORDER = {"quadratic", "rosenbrock", "beale"}  # f and ∇f round exactly as torch's autograd
ROUND_OFF = 1e-12  # relative, where ∇f itself differs from autograd by an ulp (Himmelblau)
MKL_SQRT = 1e-7    # relative, against torch's own run after one misrounded √, amplified by the run


def run_case(case: dict, starts=None):
    land = from_expression(REFERENCE["functions"][case["function"]])
    return simulate(land, "lbfgs", starts or [case["start"]], case["steps"], record="full",
                    **case["hyperparameters"])


def relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    return float((np.abs(ours - reference) / np.maximum(np.abs(reference), 1e-300)).max())


def test_the_references_cover_every_variant():
    functions = {case["function"] for case in CASES}
    assert {"quadratic", "rosenbrock", "beale", "himmelblau"} <= functions
    settings = {(case["hyperparameters"].get("line_search_fn"), case["hyperparameters"].get("history_size", 100))
                for case in CASES}
    assert {None, "strong_wolfe"} == {search for search, _ in settings}
    assert len({size for _, size in settings}) >= 4
    assert any(case["hyperparameters"]["max_iter"] > 1 for case in CASES)
    assert any(case["trajectory_correct_sqrt"] is not None for case in CASES)  # the √ caveat is exercised


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_lbfgs_follows_torch(case):
    ours = run_case(case).points[0]
    exact = np.array(case["trajectory_correct_sqrt"] or case["trajectory"])
    if case["function"] in AUTOGRAD_ORDER:
        np.testing.assert_array_equal(ours, exact)
    else:
        assert relative_error(ours, exact) <= ROUND_OFF
    allowed = MKL_SQRT if case["misrounded_sqrt"] else ROUND_OFF
    assert relative_error(ours, np.array(case["trajectory"])) <= allowed


@pytest.mark.parametrize("case", [c for c in CASES if c["function"] in AUTOGRAD_ORDER][::3],
                         ids=lambda case: case["id"])
def test_each_start_keeps_its_own_memory_inside_a_batch(case):
    """Starts that converge, stall or search longer beside it do not change a start's path."""
    neighbours = [(0.3, -0.2), case["start"], (1.1, 0.7), (-2.0, 2.5)]
    batch = run_case(case, neighbours)
    np.testing.assert_array_equal(batch.points[1], run_case(case).points[0])


# -- what a step records -----------------------------------------------------------------------

@pytest.fixture(scope="module", params=["none", "strong_wolfe"])
def rosenbrock_run(request):
    return simulate("rosenbrock", "lbfgs", [(-1.5, 2.0), (0.5, -0.5)], 40, record="full",
                    history_size=4, line_search_fn=request.param)


def test_the_first_step_goes_down_the_gradient_scaled_to_unit_l1_length(rosenbrock_run):
    run = rosenbrock_run
    np.testing.assert_array_equal(run.states["direction"][:, 0], -run.grads[:, 0])
    if run.hyperparameters["line_search_fn"] == "none":
        np.testing.assert_array_equal(run.states["step_length"][:, 0, 0], 1 / np.abs(run.grads[:, 0]).sum(axis=1))


def test_each_step_moves_by_its_step_length_along_its_direction(rosenbrock_run):
    run = rosenbrock_run
    moved = run.states["step_length"][..., :1] * run.states["direction"]
    taken = ~np.isnan(run.states["direction"][..., 0])
    np.testing.assert_allclose(run.updates[taken], moved[taken], rtol=1e-12, atol=1e-14)  # θ + td − θ rounds


def test_the_memory_holds_the_last_pairs_with_positive_curvature(rosenbrock_run):
    run = rosenbrock_run
    size = run.hyperparameters["history_size"]
    held = run.states["memory"][..., 0]
    assert held.max() == size and (np.diff(held, axis=1) >= 0).all()
    for start in range(2):
        for step in range(2, run.steps + 1):
            s, y = memory_pairs(run, start, step)
            assert len(s) == held[start, step - 1] <= size
            assert ((s * y).sum(axis=1) > 1e-10).all()
        # The newest pair is the last move and the change of gradient it caused.
        step = int(np.flatnonzero(~np.isnan(run.states["s"][start, :, 0]))[-1])
        np.testing.assert_allclose(run.states["s"][start, step], run.updates[start, step - 1], rtol=1e-12,
                                   atol=1e-14)
        np.testing.assert_allclose(run.states["y"][start, step], run.grads[start, step] - run.grads[start, step - 1],
                                   rtol=1e-12)


def test_a_fixed_step_evaluates_nothing_more_and_the_strong_wolfe_search_meets_its_conditions(rosenbrock_run):
    run = rosenbrock_run
    evaluations = run.states["line_search_evaluations"][..., 0]
    if run.hyperparameters["line_search_fn"] == "none":
        assert (evaluations == 0).all()
        return
    land = get_landscape("rosenbrock")
    moved = run.states["step_length"][..., 0] > 0
    assert (evaluations[moved] >= 1).all() and evaluations.max() <= run.hyperparameters["max_eval"] - 1
    slopes = (run.grads * run.states["direction"]).sum(axis=-1)
    after = np.stack(land.gradient(run.points[:, 1:, 0], run.points[:, 1:, 1]), axis=-1)
    new_slopes = (after * run.states["direction"]).sum(axis=-1)
    decrease = run.losses[:, 1:] <= run.losses[:, :-1] + 1e-4 * run.states["step_length"][..., 0] * slopes
    curvature = np.abs(new_slopes) <= 0.9 * np.abs(slopes)
    converged = np.abs(run.grads).max(axis=-1) < 1e-5  # round-off decides there
    assert (decrease | ~moved | converged).all() and (curvature | ~moved | converged).mean() > 0.9


def test_lbfgs_solves_a_quadratic_in_a_few_iterations_then_stops_where_the_slope_is_below_tolerance():
    run = simulate("quadratic", "lbfgs", [(-4.0, 2.0), (3.0, -1.0)], 30, line_search_fn="strong_wolfe",
                   record="full")
    assert np.abs(run.points[:, 10]).max() < 1e-4
    assert np.abs(simulate("quadratic", "sgd", [(-4.0, 2.0), (3.0, -1.0)], 10, lr=0.4).final_points).max() > 1
    # torch stops moving once gᵀd > −tolerance_change (1e-9): there g is ~1e-6, not 1e-7
    still = run.states["step_length"][:, -5:, 0] == 0
    assert still.all() and (np.abs(run.grads[:, -1]).max(axis=-1) > 1e-7).all()


def test_torchs_none_means_no_line_search():
    with_none = simulate("beale", "lbfgs", [(1.0, 1.0)], 10, line_search_fn=None)
    assert with_none.hyperparameters["line_search_fn"] == "none"
    np.testing.assert_array_equal(with_none.points, simulate("beale", "lbfgs", [(1.0, 1.0)], 10).points)
    with pytest.raises(HyperparameterError, match="line_search_fn"):
        simulate("beale", "lbfgs", [(1.0, 1.0)], 10, line_search_fn="wolfe")


def test_every_variant_has_its_equations():
    record = get_optimizer("lbfgs")
    fixed, searched = record.equations_for({}), record.equations_for({"line_search_fn": "strong_wolfe"})
    assert fixed != searched and len(fixed) == len(searched)
    assert any("c_1" in line for line in searched) and not any("c_1" in line for line in fixed)


# -- gradient descent with Armijo backtracking (torch has none: checked against plain Python) ------

def armijo_gd(land, start, steps, lr, beta, c, max_backtracks):
    """Textbook backtracking on Python floats: t = lr, shrink by β until the Armijo condition holds."""
    f = land.scalar_loss
    x, y = start
    path, lengths = [(x, y)], []
    for _ in range(steps):
        gx, gy = land.scalar_gradient(x, y)
        fx, slope, t = f(x, y), -(gx * gx + gy * gy), lr
        for _ in range(max_backtracks):
            if f(x - t * gx, y - t * gy) <= fx + c * t * slope:
                break
            t *= beta
        x, y = x - t * gx, y - t * gy
        path.append((x, y))
        lengths.append(t)
    return np.array(path), np.array(lengths)


@pytest.mark.parametrize(("landscape", "start", "settings"), [
    ("rosenbrock", (-1.5, 2.0), {}),
    ("rosenbrock", (0.5, -0.5), {"lr": 0.1, "beta": 0.8, "c": 0.3}),
    ("quadratic", (-4.0, 2.0), {"lr": 2.0, "beta": 0.3, "max_backtracks": 5}),
    ("beale", (1.0, 1.0), {"c": 0.5, "max_backtracks": 8}),
    ("himmelblau", (0.5, -0.5), {"lr": 0.5}),
])
def test_gd_backtracking_follows_the_textbook_loop(landscape, start, settings):
    land = get_landscape(landscape)
    values = get_optimizer("gd_backtracking").validate(**settings)
    run = simulate(land, "gd_backtracking", [start, (0.1, 0.2)], 50, record="full", **settings)
    path, lengths = armijo_gd(land, start, 50, values["lr"], values["beta"], values["c"], values["max_backtracks"])
    np.testing.assert_allclose(run.points[0], path, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(run.states["step_length"][0, :, 0], lengths, rtol=1e-12)
    shrinks = np.round(np.log(lengths / values["lr"]) / np.log(values["beta"]))
    tries = np.minimum(shrinks + 1, values["max_backtracks"])  # the last step length goes unchecked
    np.testing.assert_array_equal(run.states["line_search_evaluations"][0, :, 0], tries)


def test_gd_backtracking_decreases_f_by_enough_at_every_accepted_step():
    run = simulate("rosenbrock", "gd_backtracking", [(-1.5, 2.0), (1.5, 1.5)], 100, record="full", c=0.2)
    t = run.states["step_length"][..., 0]
    bound = run.losses[:, :-1] - 0.2 * t * (run.grads**2).sum(axis=-1)
    assert (run.losses[:, 1:] <= bound).all() and (np.diff(run.losses, axis=1) <= 0).all()
    assert t.min() > 0 and len(np.unique(t)) > 3  # the step length adapts
