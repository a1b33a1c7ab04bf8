"""What the Lecture page shows of one run, step by step: the vectors behind each update, in step units.

Step k is the update from θ_k to θ_{k+1} (t = k + 1 in the equations). Every vector is in
parameter units ("step units"), so all of them share one scale on the contour:

- `gradient_step`: −η_t g_t, the step plain gradient descent would take with this rate;
- `momentum`: Δθ − (−η_t g_t), what the update does beyond that step: the velocity carried
  in (torch SGD: −η ρ b_{t−1}; classic form: ρ v_{t−1}; look-ahead Nesterov: −γ v_{t−1}).
  Only for optimizers whose velocity is not rescaled per coordinate;
- `first_moment`: −η_t m̂_t, the step the (bias-corrected) first moment points to before the
  adaptive denominator divides it (Adam and its family);
- `update`: Δθ = θ_{k+1} − θ_k, the step taken;
- `lookahead`: the point θ_k − γ v_{t−1} where look-ahead Nesterov takes its gradient;
- `root`: the adaptive denominator per coordinate (√G, √v, √v̂, u …) and `effective_step`,
  the rate each coordinate gets, η_t / (root + ε) (−Δθ/g for the others).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizers import Run, get_optimizer, optimizer_names
from optimizers.backend import numpy_ops

# State names that hold an accumulated (squared) gradient, and how each becomes the
# denominator of the step. Read from the run's own state names: a new optimizer that stores
# one of these is drawn with the glyph without being listed anywhere else.
ACCUMULATORS = ("max_second_moment", "second_moment", "sum_of_squares", "square_average", "belief",
                "infinity_norm")
ACCUMULATOR_SYMBOLS = {"max_second_moment": r"v^{\max}", "second_moment": "v", "sum_of_squares": "G",
                       "square_average": "v", "belief": "s", "infinity_norm": "u"}
FIRST_MOMENTS = ("first_moment",)


@dataclass(frozen=True)
class StepVectors:
    """One run's per-step vectors, each (N, T, 2) (None where the optimizer has no such thing)."""

    points: np.ndarray          # (N, T+1, 2): θ_0 … θ_T
    lrs: np.ndarray             # (T,): η_t
    grads: np.ndarray           # (N, T, 2): g_t as the update used it (noise and L2 decay included)
    gradient_step: np.ndarray   # −η_t g_t
    update: np.ndarray          # Δθ
    effective_step: np.ndarray  # per coordinate rate
    momentum: np.ndarray | None = None
    first_moment: np.ndarray | None = None
    lookahead: np.ndarray | None = None
    accumulator: str | None = None      # the state name of the accumulator
    root: np.ndarray | None = None      # the denominator it gives, per coordinate
    velocity_name: str | None = None    # the state name of the velocity, if any


def step_vectors(run: Run) -> StepVectors:
    """The vectors of `run` (simulated with record="full"), see the module docstring."""
    if run.grads is None or run.points is None:
        raise ValueError("the Lecture figures need runs simulated with record='full'")
    values = run.hyperparameters
    points = run.points
    steps = run.steps
    lrs = run.lrs
    grads = run.grads.copy()
    if values.get("weight_decay", 0) > 0 and not values.get("decoupled_weight_decay", False):
        grads = grads + values["weight_decay"] * points[:, :steps]  # L2: the update steps with g + λθ
    with np.errstate(all="ignore"):
        gradient_step = -lrs[None, :, None] * grads
        update = run.updates
        accumulator = next((name for name in ACCUMULATORS if name in run.states), None)
        root = accumulator_root(run, accumulator) if accumulator else None
        if root is not None and run.optimizer != "adadelta":  # Adadelta's rate is √(u+ε)/√(v+ε): −Δθ/g
            effective = decayed_lrs(run)[None, :, None] / (root + values.get("eps", 0.0))
        else:
            effective = run.effective_steps
        first = None
        if "first_moment" in run.states:
            first = -lrs[None, :, None] * run.states["first_moment"] / _first_correction(run)[None, :, None]
        # torch's SGD keeps a (zero) velocity even at momentum 0: no momentum to draw then.
        moving = "velocity" in run.states and values.get("momentum", 1) > 0
        velocity_name = "velocity" if moving else None
        momentum = update - gradient_step if velocity_name and root is None else None
        lookahead = None
        rule = _rule(run)
        if rule is not None and rule.lookahead is not None:
            lookahead = points[:, :steps] - values["momentum"] * previous_state(run, "velocity")
    return StepVectors(points=points, lrs=lrs, grads=grads, gradient_step=gradient_step, update=update,
                       effective_step=effective, momentum=momentum, first_moment=first, lookahead=lookahead,
                       accumulator=accumulator, root=root, velocity_name=velocity_name)


def previous_state(run: Run, name: str) -> np.ndarray:
    """The state `name` before each step, (N, T, 2): the initial state, then the state after step t−1."""
    after = run.states[name]
    return np.concatenate([initial_state(run, name)[:, None], after[:, :-1]], axis=1)


def initial_state(run: Run, name: str) -> np.ndarray:
    """The optimizer's state `name` before the first step, (N, 2), from its own `init`."""
    rule = _rule(run)
    if rule is None:  # a formulation with no registry record (a story's own): its state starts at 0
        return np.zeros((len(run.starts), 2))
    state = rule.init(np.ascontiguousarray(run.starts.T))
    return np.broadcast_to(np.asarray(state[name], dtype=float), (2, len(run.starts))).T.copy()


def _rule(run: Run):
    """The run's rule from its registry record; None for a rule the registry lacks."""
    if run.optimizer not in optimizer_names():
        return None
    spec = get_optimizer(run.optimizer)
    extra = {"landscape": run.landscape} if spec.needs_landscape else {}
    return spec.build(numpy_ops, **run.hyperparameters, **extra)


def decayed_lrs(run: Run) -> np.ndarray:
    """η_t as the update applies it: Adagrad's lr_decay η/(1 + (t−1)k) included, (T,)."""
    decay = run.hyperparameters.get("lr_decay", 0.0) if run.optimizer == "adagrad" else 0.0
    return run.lrs / (1 + np.arange(run.steps) * decay)


def bias_corrected(run: Run) -> bool:
    values = run.hyperparameters
    return "betas" in values and bool(values.get("bias_correction", True))


def _first_correction(run: Run) -> np.ndarray:
    t = np.arange(1, run.steps + 1)
    if not bias_corrected(run):
        return np.ones(run.steps)
    return 1 - values_beta(run, 0) ** t


def values_beta(run: Run, index: int) -> float:
    return float(run.hyperparameters["betas"][index])


def second_correction(run: Run) -> np.ndarray:
    """1 − β₂ᵗ per step where the optimizer divides its second moment by it, else 1, (T,)."""
    t = np.arange(1, run.steps + 1)
    if not bias_corrected(run) or run.optimizer == "adamax":
        return np.ones(run.steps)
    return 1 - values_beta(run, 1) ** t


def accumulator_root(run: Run, name: str) -> np.ndarray:
    """The per-coordinate denominator the accumulator `name` gives (before ε is added), (N, T, 2)."""
    values = run.hyperparameters
    accumulated = run.states[name]
    with np.errstate(all="ignore"):
        if name == "infinity_norm":
            return accumulated
        if name == "square_average" and "mean_gradient" in run.states:  # centered RMSProp
            return np.sqrt(accumulated - run.states["mean_gradient"] ** 2)
        if name == "square_average" and run.optimizer == "adadelta":
            return np.sqrt(accumulated + values["eps"])
        return np.sqrt(accumulated / second_correction(run)[None, :, None])
