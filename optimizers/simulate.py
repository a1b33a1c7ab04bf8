"""`simulate`: run one optimizer from N starts on a landscape, vectorized over the starts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from landscapes import DataLandscape, Landscape, get_landscape

from . import compiled
from .backend import float_ops, numpy_ops
from .registry import OPTIMIZERS, HyperparameterError, Optimizer, Rule
from .schedules import learning_rates

LIMIT = 1e8          # a coordinate beyond this magnitude counts as diverged
MAX_STEPS = 100_000
RECORD_MODES = ("full", "path", "final")
BACKENDS = ("auto", "numpy", "compiled")
# backend="auto" compiles only above this much work (starts × steps), and then only once the
# kernel is loaded or in the on-disk cache: below it the NumPy path is faster than a cache load.
# Measured (bench/run.py): NumPy ≈ 28 ns per trajectory-step, a cached load ≈ 0.1 s.
AUTO_MIN_WORK = 200_000
# With many distinct settings the NumPy path steps each setting on its own (≈ 10 µs per setting
# and step): from this many setting-steps on, `auto` compiles at once instead (a few seconds,
# once; the tracer handles all settings together in ≈ 0.1 s).
AUTO_COMPILE_NOW_SETTING_STEPS = 300_000
NON_FINITE, TOO_LARGE = 1, 2
REASONS = {NON_FINITE: "loss or coordinates became non-finite",
           TOO_LARGE: f"a coordinate exceeded {LIMIT:g} in magnitude"}


@dataclass(frozen=True, eq=False)
class Run:
    """The result of `simulate`. Shapes use N starts and T steps.

    Always: ``final_points (N, 2)``, ``final_losses (N,)``, ``lrs (T,)``, ``diverged (N,)``
    (the step at which each start diverged, or -1) and, if `tol` was given,
    ``converged_at (N,)`` (first step whose gradient norm is ≤ tol, or -1). With per-start
    hyperparameters `lrs` is ``(N, T)``, one row per start, made on first use from ``rates (R, T)``
    (each distinct base lr's schedule) and ``rate_of_start (N,)``: a sweep that keeps only final
    points never builds its 40 MB of rows.
    record="path" adds ``points (N, T+1, 2)`` and ``losses (N, T+1)`` (with ``every=k``: steps
    0, k, 2k, ... and T, listed in `path_steps`); record="full" adds
    ``grads (N, T, 2)`` (the gradient each step used, noise included) and ``states``
    (name -> (N, T, 2), the optimizer's state after each step).
    With `batch_size` (mini-batch SGD on a data landscape), `batches` is ``(N, T, B)``: the
    samples each start's step t used (−1 pads a short last batch); losses are the full loss.
    """

    landscape: Landscape
    optimizer: str
    hyperparameters: dict[str, Any]
    schedule: dict[str, Any] | None
    noise: float
    seed: int
    starts: np.ndarray
    rates: np.ndarray
    final_points: np.ndarray
    final_losses: np.ndarray
    diverged: np.ndarray
    divergence_codes: np.ndarray
    converged_at: np.ndarray | None = None
    points: np.ndarray | None = None
    losses: np.ndarray | None = None
    grads: np.ndarray | None = None
    states: dict[str, np.ndarray] = field(default_factory=dict)
    every: int = 1
    backend: str = "numpy"
    batch_size: int | None = None
    shuffle: bool = False
    batches: np.ndarray | None = None
    rate_of_start: np.ndarray | None = None  # None: every start at rates[0]

    @cached_property
    def lrs(self) -> np.ndarray:
        """The lr of every step: (T,), or (N, T) (start j's row) with per-start hyperparameters."""
        return self.rates[0] if self.rate_of_start is None else self.rates[self.rate_of_start]

    @property
    def steps(self) -> int:
        return self.rates.shape[-1]

    @property
    def path_steps(self) -> np.ndarray:
        """The step of each recorded point in `points`: 0, every, 2·every, ..., and T."""
        return _path_steps(self.steps, self.every)

    @property
    def reached(self) -> np.ndarray:
        """Index into ``landscape.minima`` of the minimum nearest each final point, (N,); -1 if none."""
        return self.landscape.nearest_minimum_index(self.final_points)

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


def simulate(landscape: Landscape | str, optimizer: str, starts, steps: int | None, *,
             schedule: dict[str, Any] | None = None, noise: float = 0.0, seed: int = 0,
             record: str = "full", tol: float | None = None, every: int = 1,
             backend: str = "auto", batch_size: int | None = None, shuffle: bool = False,
             epochs: int | None = None, **hyperparameters: Any) -> Run:
    """Run `optimizer` for `steps` steps from every start at once.

    Hyperparameters are torch.optim's keywords with torch's defaults (see
    `get_optimizer(name).hyperparameters`); `schedule` is a dict naming a
    torch.optim.lr_scheduler class and its arguments (plus the slides' schedules and
    ``"warmup"``), stepped after every step. ``noise=σ`` adds σ·N(0, I) to every gradient,
    drawn from ``numpy.random.default_rng(seed)``. A start whose loss or coordinates
    become non-finite, or exceed 1e8, is marked diverged and stops moving.

    Any float hyperparameter (or element of a pair such as `betas`) may be a NumPy array of
    shape (N,), one value per start (a pair also an (N, 2) array): a sweep is one call, equal
    to N calls bit for bit; the schedule then scales each start's base lr. ``every=k`` keeps
    every k-th point of the path (and the last).

    `backend`: "numpy" (the reference: NumPy arrays, or Python floats for one start);
    "compiled" (a native kernel generated from the same rule, bit-identical; compiled on first
    use, then loaded from a user cache directory); "auto" (the kernel when the work is large
    and the kernel is ready, else NumPy while the kernel compiles in the background).
    Coupled optimizers (Newton) always run on NumPy; `Run.backend` says which ran.

    Mini-batch SGD, on a data landscape only (`landscapes.data_landscape`): ``batch_size=B``
    steps each start on the mean gradient of B samples, visited as torch's
    ``DataLoader(batch_size=B, shuffle=shuffle)`` would (every sample once per epoch, the last
    batch shorter if B does not divide M; with `shuffle`, a fresh permutation per epoch and
    per start, drawn from an independent stream of `seed`). ``epochs=E`` runs E passes
    (steps = E·⌈M/B⌉; give `steps` as None or that number). Recorded losses are the full
    loss; `tol` tests the mini-batch gradient. NumPy path only.

    >>> run = simulate("rosenbrock", "adam", starts=[(-1.5, 2.0)], steps=300, lr=0.05)
    >>> run.points.shape
    (1, 301, 2)
    """
    land = get_landscape(landscape) if isinstance(landscape, str) else landscape
    spec = get_optimizer(optimizer)
    start_points = _check_starts(starts)
    groups, group_of_start, values = _per_start(spec, hyperparameters, len(start_points))
    minibatch = batch_size is not None or epochs is not None
    if minibatch:
        batch_size, steps = _check_batches(land, batch_size, shuffle, epochs, steps, backend)
    steps = _check_steps(steps)
    noise = _check_nonnegative("noise", noise)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise HyperparameterError(f"seed must be a whole number ≥ 0, got {seed!r}")
    if record not in RECORD_MODES:
        raise HyperparameterError(f"record must be one of {', '.join(RECORD_MODES)}, got {record!r}")
    if tol is not None:
        tol = _check_nonnegative("tol", tol)
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
        raise HyperparameterError(f"every must be a whole number ≥ 1, got {every!r}")
    every = int(every)
    if backend not in BACKENDS:
        raise HyperparameterError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    # Each base lr's schedule once: group g steps at rates[rate_of_group[g]] (a sweep's 10,000
    # settings may share 100 lrs: (G, T) rows would be 40 MB to gather and compare).
    base_lrs, rate_of_group = np.unique([g["lr"] for g in groups], return_inverse=True)
    rate_of_group = rate_of_group.reshape(-1)
    rates = np.stack([learning_rates(r, steps, schedule) for r in base_lrs.tolist()]).reshape(len(base_lrs), steps)
    rate_of_start = None if len(groups) == 1 else rate_of_group[group_of_start]
    rng = np.random.default_rng(seed)
    extra = {"landscape": land} if spec.needs_landscape else {}
    n = len(start_points)

    kernel = plan = None
    mixed = False
    batches = None
    if minibatch:  # the batch loop below, seeing the landscape through the batches
        batches = land.seeded_batch_order(batch_size, steps, n, bool(shuffle), seed)
    if backend != "numpy" and spec.elementwise and not minibatch:
        large = n * max(steps, 1) >= AUTO_MIN_WORK
        now = len(groups) * max(steps, 1) >= AUTO_COMPILE_NOW_SETTING_STEPS
        kernel, plan, mixed = _compiled_kernel(land, spec, groups, rates, rate_of_group, group_of_start, record,
                                               noise > 0, tol is not None, backend, large, now)
    if kernel is not None:
        trace = compiled.run_kernel(kernel, plan, start_points, group_of_start, steps, noise, rng,
                                    record, tol, every, mixed=mixed)
        used = "compiled"
    elif n == 1 and spec.elementwise and not minibatch:
        rule = spec.build(float_ops, **groups[0], **extra)
        trace = _run_single(land, rule, start_points[0], rates[0], noise, rng, record, tol)
        if every > 1 and record != "final":
            kept = _path_steps(steps, every)
            trace["points"], trace["losses"] = trace["points"][:, kept], trace["losses"][:, kept]
        used = "numpy"
    else:
        seen = land if batches is None else land.batch_view(batches)
        if spec.per_start_arrays and len(groups) > 1:  # one rule for every start, its values per start
            rule = spec.build(numpy_ops, **_setting_per_start(groups, group_of_start), **extra)
            trace = _run_batch(seen, [rule], np.zeros(n, dtype=np.int64), start_points, [rates[rate_of_start].T],
                               noise, rng, record, tol, every)
        else:
            rules = [spec.build(numpy_ops, **g, **extra) for g in groups]
            trace = _run_batch(seen, rules, group_of_start, start_points, rates[rate_of_group], noise, rng, record,
                               tol, every)
        used = "numpy"
    return Run(landscape=land, optimizer=spec.name, hyperparameters=values, schedule=schedule,
               noise=noise, seed=int(seed), starts=start_points, rates=rates, rate_of_start=rate_of_start,
               every=every, backend=used,
               batch_size=batch_size, shuffle=bool(shuffle) if minibatch else False, batches=batches, **trace)


def _compiled_kernel(land: Landscape, spec: Optimizer, groups: list[dict[str, Any]], rates: np.ndarray,
                     rate_of_group: np.ndarray, group_of_start: np.ndarray, record: str, noisy: bool,
                     converges: bool, backend: str, large: bool, now: bool = False):
    """(kernel, plan, mixed) for the compiled path, or (None, None, False) to take the NumPy path;
    `now`: `auto` compiles (if need be) before running, the NumPy path being slower than the
    compiler; `mixed`: the kernel's blocks hold several settings (`compiled.mixes`)."""
    if backend == "auto" and not large and not now:
        return None, None, False
    try:
        plan = compiled.plan_for(spec, groups, rates, rate_of_group)
        mixed = compiled.mixes(plan, group_of_start)
        source = compiled.kernel_source(land, plan, record, noisy, converges, mixed)
    except (compiled.NotTraceable, TypeError, ValueError, ArithmeticError):
        if backend == "compiled":
            raise
        return None, None, False
    if backend == "auto" and not now and not compiled.is_ready(source):
        compiled.compile_in_background(source)
        return None, None, False
    return compiled.load(source), plan, mixed


def _path_steps(steps: int, every: int) -> np.ndarray:
    kept = list(range(0, steps + 1, every))
    return np.array(kept + ([steps] if kept[-1] != steps else []))


def _per_start(spec: Optimizer, given: dict[str, Any], n: int):
    """(settings, group of each start (N,), values for the Run) from hyperparameters that may
    hold one value per start. Each distinct setting is validated and built once."""
    kinds = {h.name: h.kind for h in spec.hyperparameters}
    varying: dict[tuple[str, int], np.ndarray] = {}  # (name, element or -1) -> (N,)
    for name, value in given.items():
        kind = kinds.get(name)
        if kind == "float" and _is_per_start(value):
            varying[(name, -1)] = _column(name, value, n)
        elif kind == "pair" and not isinstance(value, (str, bytes)):
            array = value if isinstance(value, np.ndarray) else None
            if array is not None and array.ndim == 2:
                value = (array[:, 0], array[:, 1])
            try:
                parts = list(value)
            except TypeError:
                continue
            if len(parts) == 2 and any(_is_per_start(p) for p in parts):
                for element, part in enumerate(parts):
                    varying[(name, element)] = (_column(name, part, n) if _is_per_start(part)
                                                else np.full(n, _number(name, part)))
    if not varying:
        return [spec.validate(**given)], np.zeros(n, dtype=np.int64), spec.validate(**given)
    unique, group_of_start = _unique_rows(np.stack(list(varying.values()), axis=1))
    settings = spec.validate_rows(given, list(varying), unique.tolist())
    values = dict(settings[0])
    for (name, element), column in varying.items():
        values[name] = column if element < 0 else np.stack(
            [varying.get((name, 0), np.full(n, settings[0][name][0])),
             varying.get((name, 1), np.full(n, settings[0][name][1]))], axis=1)
    return settings, group_of_start.reshape(-1).astype(np.int64), values


def _setting_per_start(groups: list[dict[str, Any]], group_of_start: np.ndarray) -> dict[str, Any]:
    """One setting for every start: a value the groups share as is, an (N,) array (each start's
    own group's value) where they differ (`Optimizer.per_start_arrays`)."""
    def per_start(value):
        return value.values[group_of_start] if type(value) is compiled.Many else value

    return {name: tuple(map(per_start, value)) if type(value) is tuple else per_start(value)
            for name, value in compiled.shared_setting(groups).items()}


def _unique_rows(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of `columns` (N, K) and each row's index among them, rows told apart by
    their bits: a start given −0.0 runs with −0.0, not with a 0.0 it was grouped with (as
    `np.unique(axis=0)`, which compares floats, would do). One lexsort: 0.7 ms for 10,000 rows
    where `np.unique(axis=0)` takes 8."""
    bits = np.ascontiguousarray(columns, dtype=float).view(np.int64)
    order = np.lexsort(bits.T[::-1])
    ranked = bits[order]
    new = np.ones(len(bits), dtype=bool)
    new[1:] = (ranked[1:] != ranked[:-1]).any(axis=1)
    group_of_start = np.empty(len(bits), dtype=np.int64)
    group_of_start[order] = np.cumsum(new) - 1
    return ranked[new].view(float), group_of_start


def _is_per_start(value: Any) -> bool:
    """Only a NumPy array is one value per start: a list stays an invalid number, as in torch."""
    return isinstance(value, np.ndarray) and value.ndim == 1


def _column(name: str, value: Any, n: int) -> np.ndarray:
    try:
        column = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise HyperparameterError(f"{name} must be a number or one number per start") from None
    if column.shape != (n,):
        raise HyperparameterError(f"{name} per start must have shape ({n},), one value per start, "
                                  f"got {column.shape}")
    return column


def _number(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise HyperparameterError(f"{name} must be a number, got {value!r}") from None


def _run_batch(land: Landscape, rules: list[Rule], group_of_start: np.ndarray, starts: np.ndarray,
               lrs: np.ndarray, noise: float, rng: np.random.Generator, record: str, tol: float | None,
               every: int = 1) -> dict[str, Any]:
    """Step all N starts together as (2, N) arrays; `rules[g]` steps the starts of group g at
    rates ``lrs[g]`` (one group unless hyperparameters are per start).

    Each step evaluates f and ∇f at θ_t in one pass: f checks θ_t (a start whose loss is
    not finite diverged at step t and goes back to θ_{t−1}), ∇f moves it on.
    """
    n = len(starts)
    steps = len(lrs[0])
    keep_path, keep_all = record != "final", record == "full"
    watch = _Watch(n, tol)
    param = previous = np.ascontiguousarray(starts.T)
    columns = [None] if len(rules) == 1 else [np.flatnonzero(group_of_start == g) for g in range(len(rules))]
    # a group's rates: floats (T,), or (T, N) rows of one lr per start (`per_start_arrays`)
    groups = [(rule, where, rates.tolist() if rates.ndim == 1 else list(rates))
              for rule, where, rates in zip(rules, columns, lrs, strict=True)]
    group_states = [rule.init(param if where is None else param[:, where]) for rule, where, _ in groups]
    path, grads, states, losses = [param], [], [], []

    with np.errstate(all="ignore"):
        for t in range(steps + 1):
            loss, gx, gy = land.value_and_gradient(param[0], param[1])
            loss = watch.loss(loss, t, param, previous)
            if watch.converged is not None:
                watch.convergence(gx, gy, t)
            if keep_path and (t % every == 0 or t == steps):
                losses.append(loss)
            if t == steps:  # θ_T: checked, not moved
                break
            if groups[0][0].lookahead is not None:
                points = [rule.lookahead(param if where is None else param[:, where], state)
                          for (rule, where, _), state in zip(groups, group_states, strict=True)]
                gx, gy = land.gradient(*_gather(points, columns, n))
            grad = np.stack((gx, gy))
            if noise:
                grad = grad + noise * rng.standard_normal((2, n))
            moved = []
            for g, (rule, where, rates) in enumerate(groups):
                sub_grad, sub_param = (grad, param) if where is None else (grad[:, where], param[:, where])
                new_param, group_states[g] = rule.update(sub_grad, sub_param, group_states[g], rates[t], t + 1)
                moved.append(new_param)
            new_param = _gather(moved, columns, n)
            watch.coordinates(new_param, t + 1, param)
            if keep_path and ((t + 1) % every == 0 or t + 1 == steps):
                path.append(new_param)
            if keep_all:
                grads.append(grad)
                states.append(_gather_states(group_states, columns, n))  # rules update in place: copies
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


def _gather(parts: list, columns: list, n: int):
    """One (2, N) array from each group's (2, N_g) part (the part itself for one group)."""
    if columns[0] is None:
        return parts[0]
    whole = np.empty((2, n))
    for part, where in zip(parts, columns, strict=True):
        whole[:, where] = part
    return whole


def _gather_states(group_states: list[dict], columns: list, n: int) -> dict[str, np.ndarray]:
    if columns[0] is None:
        return {key: np.array(value) for key, value in group_states[0].items()}
    keys = list(dict.fromkeys(key for state in group_states for key in state if not key.startswith("_")))
    whole = {key: np.zeros((2, n)) for key in keys}  # a group without this state: 0, as compiled
    for state, where in zip(group_states, columns, strict=True):
        for key in keys:
            if key in state:
                whole[key][:, where] = state[key]
    return whole


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


def _check_batches(land: Landscape, batch_size, shuffle, epochs, steps, backend: str) -> tuple[int, int]:
    """(batch size, steps) of a mini-batch run, or a HyperparameterError saying what is wrong."""
    if not isinstance(land, DataLandscape):
        raise HyperparameterError(f"batch_size and epochs need a data landscape (landscapes.data_landscape); "
                                  f"{land.title!r} is a formula with no samples to batch")
    if backend == "compiled":
        raise HyperparameterError("mini-batch runs use the NumPy path: pass backend='numpy' or 'auto'")
    m = land.samples
    if batch_size is None:
        batch_size = m
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or not 1 <= batch_size <= m:
        raise HyperparameterError(f"batch_size must be a whole number in [1, {m}] (the dataset's size), "
                                  f"got {batch_size!r}")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise HyperparameterError(f"shuffle must be True or False, got {shuffle!r}")
    if epochs is not None:
        per_epoch = math.ceil(m / batch_size)
        whole = not isinstance(epochs, bool) and isinstance(epochs, (int, np.integer))
        if not whole or not 0 <= epochs * per_epoch <= MAX_STEPS:
            raise HyperparameterError(f"epochs must be a whole number ≥ 0 with epochs·⌈{m}/{batch_size}⌉ ≤ "
                                      f"{MAX_STEPS} steps, got {epochs!r}")
        if steps is not None and steps != epochs * per_epoch:
            raise HyperparameterError(f"{epochs} epochs of {per_epoch} batches are {epochs * per_epoch} steps, "
                                      f"not steps={steps!r}: give one of them")
        steps = int(epochs) * per_epoch
    return int(batch_size), steps


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
