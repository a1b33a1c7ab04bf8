"""`simulate`: run one optimizer from N starts on a landscape, vectorized over the starts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from landscapes import Landscape, get_landscape

from .backend import float_ops, numpy_ops
from .registry import OPTIMIZERS, HyperparameterError, Optimizer, Rule
from .schedules import learning_rates

LIMIT = 1e8          # a coordinate beyond this magnitude counts as diverged
MAX_STEPS = 100_000
RECORD_MODES = ("full", "path", "final")
NON_FINITE, TOO_LARGE = 1, 2
REASONS = {NON_FINITE: "loss or coordinates became non-finite",
           TOO_LARGE: f"a coordinate exceeded {LIMIT:g} in magnitude"}


@dataclass(frozen=True, eq=False)
class Run:
    """The result of `simulate`. Shapes use N starts and T steps.

    Always: ``final_points (N, 2)``, ``final_losses (N,)``, ``lrs (T,)``, ``diverged (N,)``
    (the step at which each start diverged, or -1) and, if `tol` was given,
    ``converged_at (N,)`` (first step whose gradient norm is ≤ tol, or -1).
    record="path" adds ``points (N, T+1, 2)`` and ``losses (N, T+1)``; record="full" adds
    ``grads (N, T, 2)`` (the gradient each step used, noise included) and ``states``
    (name -> (N, T, 2), the optimizer's state after each step).
    """

    landscape: Landscape
    optimizer: str
    hyperparameters: dict[str, Any]
    schedule: dict[str, Any] | None
    noise: float
    seed: int
    starts: np.ndarray
    lrs: np.ndarray
    final_points: np.ndarray
    final_losses: np.ndarray
    diverged: np.ndarray
    divergence_codes: np.ndarray
    converged_at: np.ndarray | None = None
    points: np.ndarray | None = None
    losses: np.ndarray | None = None
    grads: np.ndarray | None = None
    states: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return len(self.lrs)

    @property
    def updates(self) -> np.ndarray:
        """θ_{t+1} − θ_t for every step: (N, T, 2). Needs record="path" or "full"."""
        return np.diff(self._need("points"), axis=1)

    @property
    def effective_steps(self) -> np.ndarray:
        """The per-coordinate factor the step applied to the gradient, −Δθ / g: (N, T, 2).

        For Adagrad this is η/(√G + ε); NaN where the gradient is exactly 0.
        """
        grads = self._need("grads")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(grads != 0, -self.updates / grads, np.nan)

    @property
    def averaged_points(self) -> np.ndarray:
        """Polyak averaging: the running mean of the iterates, (N, T+1, 2)."""
        return polyak_average(self._need("points"))

    def divergence_reason(self, start: int) -> str | None:
        return REASONS.get(int(self.divergence_codes[start]))

    def _need(self, name: str) -> np.ndarray:
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"this run did not record {name}: simulate with record='full'"
                             + ("" if name == "grads" else " or 'path'"))
        return value


def polyak_average(points: np.ndarray) -> np.ndarray:
    """Running mean of the iterates along the step axis: (N, T+1, 2) -> (N, T+1, 2)."""
    counts = np.arange(1, points.shape[1] + 1, dtype=float)[None, :, None]
    return np.cumsum(points, axis=1) / counts


def optimizer_names() -> list[str]:
    """Names accepted by `simulate`: torch.optim class names in lower case, then the others."""
    return list(OPTIMIZERS)


def get_optimizer(name: str) -> Optimizer:
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise HyperparameterError(f"unknown optimizer {name!r}; choose one of: "
                                  f"{', '.join(OPTIMIZERS)}") from None


def simulate(landscape: Landscape | str, optimizer: str, starts, steps: int, *,
             schedule: dict[str, Any] | None = None, noise: float = 0.0, seed: int = 0,
             record: str = "full", tol: float | None = None, **hyperparameters: Any) -> Run:
    """Run `optimizer` for `steps` steps from every start at once.

    Hyperparameters are torch.optim's keywords with torch's defaults (see
    `get_optimizer(name).hyperparameters`); `schedule` is a dict naming a
    torch.optim.lr_scheduler class and its arguments (plus the slides' schedules and
    ``"warmup"``), stepped after every step. ``noise=σ`` adds σ·N(0, I) to every gradient,
    drawn from ``numpy.random.default_rng(seed)``. A start whose loss or coordinates
    become non-finite, or exceed 1e8, is marked diverged and stops moving.

    >>> run = simulate("rosenbrock", "adam", starts=[(-1.5, 2.0)], steps=300, lr=0.05)
    >>> run.points.shape
    (1, 301, 2)
    """
    land = get_landscape(landscape) if isinstance(landscape, str) else landscape
    spec = get_optimizer(optimizer)
    values = spec.validate(**hyperparameters)
    start_points = _check_starts(starts)
    steps = _check_steps(steps)
    noise = _check_nonnegative("noise", noise)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise HyperparameterError(f"seed must be a whole number ≥ 0, got {seed!r}")
    if record not in RECORD_MODES:
        raise HyperparameterError(f"record must be one of {', '.join(RECORD_MODES)}, got {record!r}")
    if tol is not None:
        tol = _check_nonnegative("tol", tol)
    lrs = learning_rates(values["lr"], steps, schedule)
    rng = np.random.default_rng(seed)
    extra = {"landscape": land} if spec.needs_landscape else {}

    if len(start_points) == 1 and spec.elementwise:
        rule = spec.build(float_ops, **values, **extra)
        trace = _run_single(land, rule, start_points[0], lrs, noise, rng, record, tol)
    else:
        rule = spec.build(numpy_ops, **values, **extra)
        trace = _run_batch(land, rule, start_points, lrs, noise, rng, record, tol)
    return Run(landscape=land, optimizer=spec.name, hyperparameters=values, schedule=schedule,
               noise=noise, seed=int(seed), starts=start_points, lrs=lrs, **trace)


def _run_batch(land: Landscape, rule: Rule, starts: np.ndarray, lrs: np.ndarray, noise: float,
               rng: np.random.Generator, record: str, tol: float | None) -> dict[str, Any]:
    """Step all N starts together as (2, N) arrays.

    Each step evaluates f and ∇f at θ_t in one pass: f checks θ_t (a start whose loss is
    not finite diverged at step t and goes back to θ_{t−1}), ∇f moves it on.
    """
    n = len(starts)
    keep_path, keep_all = record != "final", record == "full"
    watch = _Watch(n, tol)
    param = previous = np.ascontiguousarray(starts.T)
    state = rule.init(param)
    path, grads, states, losses = [param], [], [], []

    with np.errstate(all="ignore"):
        for t, lr in enumerate([*lrs.tolist(), None]):
            loss, gx, gy = land.value_and_gradient(param[0], param[1])
            loss = watch.loss(loss, t, param, previous)
            if watch.converged is not None:
                watch.convergence(gx, gy, t)
            if keep_path:
                losses.append(loss)
            if lr is None:  # θ_T: checked, not moved
                break
            if rule.lookahead is not None:
                gx, gy = land.gradient(*rule.lookahead(param, state))
            grad = np.stack((gx, gy))
            if noise:
                grad = grad + noise * rng.standard_normal((2, n))
            new_param, state = rule.update(grad, param, state, lr, t + 1)
            watch.coordinates(new_param, t + 1, param)
            if keep_path:
                path.append(new_param)
            if keep_all:
                grads.append(grad)
                states.append({key: np.array(value) for key, value in state.items()})  # rules update in place
            previous, param = param, new_param

    trace = {"final_points": param.T.copy(), "final_losses": np.asarray(loss, dtype=float),
             "diverged": watch.diverged, "divergence_codes": watch.codes, "converged_at": watch.converged}
    if keep_path:
        trace["points"] = np.stack(path, axis=1).transpose(2, 1, 0).copy()
        trace["losses"] = np.stack(losses, axis=1)
    if keep_all:
        trace["grads"] = np.stack(grads, axis=1).transpose(2, 1, 0).copy() if grads else np.empty((n, 0, 2))
        trace["states"] = {key: np.stack([np.broadcast_to(s[key], (2, n)) for s in states], axis=1)
                           .transpose(2, 1, 0).copy()
                           for key in (states[0] if states else {}) if not key.startswith("_")}
    return trace


class _Watch:
    """Divergence and convergence bookkeeping for a batch: which starts stopped, when, and why.

    A diverged start is held at its last good point: its later entries repeat it.
    """

    def __init__(self, n: int, tol: float | None) -> None:
        self.diverged = np.full(n, -1)
        self.codes = np.zeros(n, dtype=np.int8)
        self.frozen = np.zeros(n, dtype=bool)
        self.any_frozen = False
        self.converged = np.full(n, -1) if tol is not None else None
        self.tol_squared = None if tol is None else tol * tol
        self.last_loss = None

    def loss(self, loss: np.ndarray, step: int, param: np.ndarray, previous: np.ndarray) -> np.ndarray:
        """Check f(θ_step); freeze starts where it is not finite. Returns the loss to record."""
        if not math.isfinite(loss.sum()):  # one pass in the common case; inf/NaN make the sum so
            newly = ~np.isfinite(loss) & ~self.frozen
            if newly.any():
                self._freeze(newly, step, NON_FINITE, param, previous)
                loss = np.where(newly, self.last_loss if self.last_loss is not None else loss, loss)
        if self.any_frozen and self.last_loss is not None:
            loss = np.where(self.frozen, self.last_loss, loss)
        self.last_loss = loss
        return loss

    def coordinates(self, new_param: np.ndarray, step: int, param: np.ndarray) -> None:
        """Hold frozen starts still and freeze those whose coordinates left the finite/≤1e8 range."""
        if self.any_frozen:
            new_param[:, self.frozen] = param[:, self.frozen]
        # max/min propagate NaN, so two reductions cover NaN, inf and size in the common case.
        if new_param.max() <= LIMIT and new_param.min() >= -LIMIT:
            return
        newly = ~(np.abs(new_param) <= LIMIT).all(0) & ~self.frozen
        finite = np.isfinite(new_param).all(0)
        for code, which in ((TOO_LARGE, newly & finite), (NON_FINITE, newly & ~finite)):
            if which.any():
                self._freeze(which, step, code, new_param, param)

    def convergence(self, gx: np.ndarray, gy: np.ndarray, step: int) -> None:
        reached = (gx * gx + gy * gy <= self.tol_squared) & (self.converged < 0)
        self.converged[reached] = step

    def _freeze(self, which: np.ndarray, step: int, code: int, param: np.ndarray, previous: np.ndarray) -> None:
        self.diverged[which] = step
        self.codes[which] = code
        param[:, which] = previous[:, which]
        self.frozen |= which
        self.any_frozen = True


def _run_single(land: Landscape, rule: Rule, start: np.ndarray, lrs: np.ndarray, noise: float,
                rng: np.random.Generator, record: str, tol: float | None) -> dict[str, Any]:
    """Step one start on Python floats, coordinate by coordinate (the batch's arithmetic)."""
    value_and_gradient, gradient_at = land.scalar_value_and_gradient, land.scalar_gradient
    update, lookahead = rule.update, rule.lookahead
    rates = lrs.tolist()  # Python floats: NumPy scalars would warn on overflow
    # Drawn in the order the batch path draws them: (2, 1) per step.
    shocks = (noise * rng.standard_normal((len(rates), 2, 1))[:, :, 0]).tolist() if noise else None
    keep_path, keep_all = record != "final", record == "full"
    px, py = float(start[0]), float(start[1])
    previous = (px, py)
    state_x, state_y = rule.init(px), rule.init(py)
    xs, ys, losses, gxs, gys, states = [], [], [], [], [], []
    diverged, code, converged = -1, 0, -1
    loss = last_loss = math.nan

    for t, lr in enumerate([*rates, None]):
        loss, gx, gy = value_and_gradient(px, py)
        if not math.isfinite(loss):  # θ_t is undefined: diverged at step t, back to θ_{t−1}
            diverged, code = t, NON_FINITE
            px, py = previous
            loss = last_loss
            break
        last_loss = loss
        if tol is not None and converged < 0 and gx * gx + gy * gy <= tol * tol:
            converged = t
        if keep_path:
            xs.append(px)
            ys.append(py)
            losses.append(loss)
        if lr is None:
            break
        if lookahead is not None:
            gx, gy = gradient_at(lookahead(px, state_x), lookahead(py, state_y))
        if shocks is not None:
            gx, gy = gx + shocks[t][0], gy + shocks[t][1]
        try:
            new_x, state_x = update(gx, px, state_x, lr, t + 1)
            new_y, state_y = update(gy, py, state_y, lr, t + 1)
        except (ArithmeticError, ValueError):
            new_x = new_y = math.nan
        if not (abs(new_x) <= LIMIT and abs(new_y) <= LIMIT):
            finite = math.isfinite(new_x) and math.isfinite(new_y)
            diverged, code = t + 1, (TOO_LARGE if finite else NON_FINITE)
            break
        if keep_all:
            gxs.append(gx)
            gys.append(gy)
            states.append((state_x, state_y))
        previous, (px, py) = (px, py), (new_x, new_y)

    trace = {"final_points": np.array([[px, py]]), "final_losses": np.array([loss]),
             "diverged": np.array([diverged]), "divergence_codes": np.array([code], dtype=np.int8),
             "converged_at": np.array([converged]) if tol is not None else None}
    total = len(rates)
    if keep_path:  # a diverged start stays at its last good point for the remaining steps
        pad = total + 1 - len(xs)
        trace["points"] = np.array([xs + [px] * pad, ys + [py] * pad]).T[None]
        trace["losses"] = np.array([losses + [loss] * pad])
    if keep_all:
        pad = total - len(gxs)
        keys = [k for k in (states[0][0] if states else rule.init(0.0)) if not k.startswith("_")]
        trace["grads"] = np.concatenate((np.array([gxs, gys]).reshape(2, -1).T, np.full((pad, 2), np.nan)))[None]
        trace["states"] = {
            key: np.concatenate((np.array([[sx[key], sy[key]] for sx, sy in states]).reshape(-1, 2),
                                 np.full((pad, 2), np.nan)))[None]
            for key in keys}
    return trace


def _check_starts(starts) -> np.ndarray:
    try:
        points = np.array(starts, dtype=float)
    except (TypeError, ValueError):
        raise HyperparameterError("starts must be a list of (x, y) pairs") from None
    if points.ndim == 1 and points.shape == (2,):
        points = points[None]
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise HyperparameterError(f"starts must have shape (N, 2), got {points.shape}")
    if not np.isfinite(points).all():
        raise HyperparameterError("every start must be a finite (x, y)")
    return points


def _check_steps(steps) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 0 <= steps <= MAX_STEPS:
        raise HyperparameterError(f"steps must be a whole number in [0, {MAX_STEPS}], got {steps!r}")
    return int(steps)


def _check_nonnegative(name: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise HyperparameterError(f"{name} must be a number, got {value!r}") from None
    if not (0 <= number < math.inf):
        raise HyperparameterError(f"{name} = {value!r} is outside its valid range [0, ∞)")
    return number
