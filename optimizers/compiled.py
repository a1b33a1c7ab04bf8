"""The compiled backend: one native loop per (landscape, optimizer) that fuses gradient, update rule,
noise, divergence checks and recording, generated from the same `Rule` the NumPy path runs.

How the kernel is made, without writing any optimizer a second time:

1. **Trace.** Each step's `update` (and `init`, `lookahead`) is called with `traced_ops` as its
   array namespace and `Traced` stand-ins for its arrays. Every array operation is recorded, in
   the order the NumPy path performs it. Scalars stay Python floats, computed by the rule
   itself exactly as on the NumPy path (bias corrections `1 − βᵗ` included: Python's `β ** t`
   and a compiled power differ), so each step gives a program whose float constants are *slots*: the
   kernel reads them from a table filled by the trace. Steps whose program differs (torch's
   first SGD step, RAdam's warm-up) are separate *variants* of the kernel. Per-start
   hyperparameters are traced together: every setting's scalars at once (`Many`, one float
   per setting), the settings split only where a branch on them differs (SGD's
   ``momentum == 0``), so a 100 × 100 sweep costs one trace per step, not 10,000.
2. **Emit.** Each program is written out once per coordinate as scalar LLVM IR in the same
   operation order (`optimizers.native`); the landscape's gradient (`landscapes.autodiff`, math
   form: libm, like the single-start path) is inlined before it. llvmlite compiles the module for
   this CPU (≈ 0.1–0.2 s) and its object code is kept in a user cache directory: a fresh process
   links it in milliseconds. One kernel serves every record mode, noise and convergence check
   (chosen at run time, outside the vectorized loop).
3. **Run.** Starts are cut into blocks; each block steps through all steps in one loop, its
   state in cache. Threads (the kernel releases the GIL) take blocks in parallel.

No fastmath, no FMA contraction: IEEE operations in NumPy's order, so the compiled kernel is
bit-identical to the NumPy path wherever NumPy and libm round alike (+ − × ÷ √), and to the
single-start float path everywhere (both call libm's exp, tanh, pow).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from landscapes import Landscape

from . import native
from .native import BLOCK
from .registry import Rule

NOISE_CHUNK_BYTES = 16 * 2**20  # noise is drawn with NumPy, this much at a time
KERNEL_VERSION = "8"   # part of every kernel's hash: bump when the emitted code changes meaning


class NotTraceable(TypeError):
    """The rule does something the tracer cannot record (a branch on array values)."""


# -- tracing -----------------------------------------------------------------------------------

class Tracer:
    """Records one call of a rule: operations on traced arrays, and their float constants."""

    def __init__(self) -> None:
        self.ops: list[tuple] = []        # (kind, *operand refs)
        self.constants: list[float] = []  # slot -> value

    def ref(self, value: Any) -> tuple:
        kind = type(value)
        if kind is Traced:
            if value.tracer is not self:
                raise NotTraceable("a traced array from another trace")
            return value.ref
        if kind is float or kind is int or (isinstance(value, (np.integer, np.floating))):
            constants = self.constants
            constants.append(float(value))
            return ("c", len(constants) - 1)
        if kind is Many:  # one value per setting: a slot all the same
            constants = self.constants
            constants.append(value)
            return ("c", len(constants) - 1)
        if isinstance(value, (bool, np.bool_)):
            raise NotTraceable("a boolean operand")
        raise NotTraceable(f"cannot trace an operand of type {kind.__name__}")

    def op(self, kind: str, *operands: Any) -> Traced:
        ref = self.ref
        ops = self.ops
        ops.append((kind, *[ref(o) for o in operands]))
        return Traced(self, ("v", len(ops) - 1))

    def input(self, name: str) -> Traced:
        return Traced(self, ("i", name))


class Traced:
    """An array stand-in: arithmetic on it is recorded by its tracer, nothing is computed."""

    __slots__ = ("tracer", "ref")
    __array_priority__ = 1000

    def __init__(self, tracer: Tracer, ref: tuple) -> None:
        self.tracer, self.ref = tracer, ref

    def __add__(self, other):
        return self.tracer.op("+", self, other)

    def __radd__(self, other):
        return self.tracer.op("+", other, self)

    def __sub__(self, other):
        return self.tracer.op("-", self, other)

    def __rsub__(self, other):
        return self.tracer.op("-", other, self)

    def __mul__(self, other):
        return self.tracer.op("*", self, other)

    def __rmul__(self, other):
        return self.tracer.op("*", other, self)

    def __truediv__(self, other):
        return self.tracer.op("/", self, other)

    def __rtruediv__(self, other):
        return self.tracer.op("/", other, self)

    def __neg__(self):
        return self.tracer.op("neg", self)

    def __gt__(self, other):
        return self.tracer.op(">", self, other)

    def __lt__(self, other):
        return self.tracer.op("<", self, other)

    def __ge__(self, other):
        return self.tracer.op(">=", self, other)

    def __le__(self, other):
        return self.tracer.op("<=", self, other)

    def __bool__(self):
        raise NotTraceable("a branch on array values")

    __hash__ = None


traced_ops = SimpleNamespace(
    name="traced",
    sqrt=lambda a: a.tracer.op("sqrt", a),
    abs=lambda a: a.tracer.op("abs", a),
    sign=lambda a: a.tracer.op("sign", a),
    maximum=lambda a, b: _tracer_of(a, b).op("maximum", a, b),
    clip=lambda a, low, high: a.tracer.op("clip", a, low, high),
    where=lambda condition, a, b: condition.tracer.op("where", condition, a, b),
    zeros_like=lambda a: a.tracer.op("fill", 0.0),
    full_like=lambda a, fill: a.tracer.op("fill", fill),
    copy=lambda a: a,
)


def _tracer_of(*values: Any) -> Tracer:
    for value in values:
        if isinstance(value, Traced):
            return value.tracer
    raise NotTraceable("no traced operand")


def trace_init(rule: Rule) -> tuple[tuple, list[float], list[str], dict[str, float]]:
    """(program, constants, array-state keys, scalar state) of `rule.init`."""
    tracer = Tracer()
    state = rule.init(tracer.input("param"))
    array_keys = [k for k, v in state.items() if isinstance(v, Traced)]
    scalars = {k: v for k, v in state.items() if not isinstance(v, Traced)}
    outputs = tuple((k, state[k].ref) for k in array_keys)
    return (tuple(tracer.ops), outputs), tracer.constants, array_keys, scalars


def trace_step(rule: Rule, array_keys: list[str], scalars: dict[str, Any], lr: float, step: int):
    """(program, constants, scalar state after the step) of one call of `rule.update`
    (and `rule.lookahead`, whose outputs come first)."""
    tracer = Tracer()
    state = {key: tracer.input("s:" + key) for key in array_keys}
    state.update(scalars)
    param = tracer.input("param")
    outputs: list[tuple] = []
    if rule.lookahead is not None:  # its operations come first: ops[:split] run before the gradient
        point = rule.lookahead(param, state)
        outputs.append(("lookahead", tracer.ref(point)))
        outputs.append(("split", ("n", len(tracer.ops))))
    new_param, new_state = rule.update(tracer.input("grad"), param, state, lr, step)
    outputs.append(("param", tracer.ref(new_param)))
    carried = {}
    for key, value in new_state.items():
        if key in array_keys:
            if value is not state[key]:
                outputs.append(("s:" + key, tracer.ref(value)))
        elif isinstance(value, Traced):
            raise NotTraceable(f"state {key!r} became an array after init")
        else:
            carried[key] = value
    return (tuple(tracer.ops), tuple(outputs)), tracer.constants, carried


class Split(Exception):  # noqa: N818 - a signal inside the tracer, never seen outside it
    """A branch on a value that differs between settings: `mask` says which go which way."""

    def __init__(self, mask: np.ndarray) -> None:
        super().__init__("a branch that differs between settings")
        self.mask = mask


def _operand(value: Any):
    kind = type(value)
    if kind is Many:
        return value.values
    if kind is float or kind is int:
        return value
    return NotImplemented


def _arithmetic(function, reflected: bool = False, divides: bool = False):
    def method(self, other):
        other = _operand(other)
        if other is NotImplemented:
            return NotImplemented
        a, b = (other, self.values) if reflected else (self.values, other)
        if divides and np.any(np.asarray(b) == 0):
            raise ZeroDivisionError("float division by zero")  # as Python's float division
        return Many(function(a, b))
    return method


def _comparison(function):
    def method(self, other):
        other = _operand(other)
        if other is NotImplemented:
            return NotImplemented
        return _decided(function(self.values, other))
    return method


def _decided(outcome: np.ndarray) -> bool:
    if outcome.all():
        return True
    if not outcome.any():
        return False
    raise Split(outcome)


class Many:
    """A scalar of the rule (a hyperparameter, the lr, anything computed from them) that holds one
    float per setting: the tracer runs a rule's scalar arithmetic once for every setting at once.

    Each operation is the one Python's floats do, element by element (+ − × ÷ are IEEE in both;
    ``**`` calls Python's own ``float.__pow__`` on each distinct value, since NumPy's SIMD
    power may differ from libm's by an ulp); a branch on a comparison that differs between
    settings raises `Split`, and the tracer splits the settings into the two sides.
    """

    __slots__ = ("values", "_distinct")
    __array_ufunc__ = None  # NumPy defers to the reflected operations below

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self._distinct = None

    __add__ = _arithmetic(np.add)
    __radd__ = _arithmetic(np.add, reflected=True)
    __sub__ = _arithmetic(np.subtract)
    __rsub__ = _arithmetic(np.subtract, reflected=True)
    __mul__ = _arithmetic(np.multiply)
    __rmul__ = _arithmetic(np.multiply, reflected=True)
    __truediv__ = _arithmetic(np.divide, divides=True)
    __rtruediv__ = _arithmetic(np.divide, reflected=True, divides=True)
    __lt__ = _comparison(np.less)
    __le__ = _comparison(np.less_equal)
    __gt__ = _comparison(np.greater)
    __ge__ = _comparison(np.greater_equal)
    __eq__ = _comparison(np.equal)
    __ne__ = _comparison(np.not_equal)
    __hash__ = None

    def __neg__(self):
        return Many(-self.values)

    def __pos__(self):
        return self

    def __abs__(self):
        return Many(np.abs(self.values))

    def __bool__(self):
        return _decided(self.values != 0)

    def __float__(self):
        raise NotTraceable("a value that differs between settings used as one float")

    def __pow__(self, other):
        if type(other) is Many:
            return Many(_checked_powers([a ** b for a, b in zip(self.values.tolist(), other.values.tolist(),
                                                                 strict=True)]))
        if _operand(other) is NotImplemented:
            return NotImplemented
        distinct, inverse = self.distinct()
        return Many(_checked_powers([value ** other for value in distinct.tolist()])[inverse])

    def __rpow__(self, other):
        if _operand(other) is NotImplemented:
            return NotImplemented
        distinct, inverse = self.distinct()
        return Many(_checked_powers([other ** value for value in distinct.tolist()])[inverse])

    def square_root(self):
        """math.sqrt of each value (correctly rounded, as np.sqrt), ValueError below 0 as math's."""
        if (self.values < 0).any():
            raise ValueError("math domain error")
        return Many(np.sqrt(self.values))

    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        if self._distinct is None:
            self._distinct = np.unique(self.values, return_inverse=True)
        return self._distinct

    def subset(self, mask: np.ndarray):
        """The values of the settings in `mask`: a Python float when they all agree."""
        values = self.values[mask]
        first = values[0]
        if (values == first).all():
            return float(first)
        return Many(values)


def _checked_powers(values: list) -> np.ndarray:
    result = np.array(values)
    if result.dtype != np.float64:  # a complex power (a negative base): the float path fails too
        raise NotTraceable("a power that is not a real number")
    return result


def _subset(value: Any, mask: np.ndarray) -> Any:
    if type(value) is Many:
        return value.subset(mask)
    if type(value) is tuple:
        return tuple(_subset(v, mask) for v in value)
    return value


class _Settings:
    """Some of the settings (`groups`, indices into all of them), traced together: one rule
    whose differing hyperparameters are `Many`, and what its trace carries from step to step."""

    def __init__(self, groups: np.ndarray, setting: dict[str, Any], build) -> None:
        self.groups, self.setting = groups, setting
        self.rule = build(traced_ops, **setting)
        self.keys: list[str] = []
        self.scalars: dict[str, Any] = {}
        self.variants: list[int] = []
        self.init_variant = 0
        self.lr_cache: tuple | None = None

    def split(self, mask: np.ndarray, build) -> list[_Settings]:
        parts = []
        for side in (mask, ~mask):
            part = _Settings(self.groups[side], {k: _subset(v, side) for k, v in self.setting.items()}, build)
            part.keys, part.variants, part.init_variant = self.keys, list(self.variants), self.init_variant
            part.scalars = {k: _subset(v, side) for k, v in self.scalars.items()}
            parts.append(part)
        return parts


def shared_setting(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """One setting for all groups: a value they share as is, a `Many` (one float per group) where
    floats differ; `NotTraceable` where anything else does."""
    first = groups[0]
    if len(groups) == 1:
        return dict(first)
    setting = {}
    for name, value in first.items():
        column = [g[name] for g in groups]
        if all(v == value for v in column):
            setting[name] = value
        elif type(value) is tuple:
            setting[name] = tuple(_many_or_float([v[i] for v in column]) for i in range(len(value)))
        else:
            setting[name] = _many_or_float(column)
    return setting


def _many_or_float(column: list) -> Any:
    if not all(type(v) is float for v in column):
        raise NotTraceable("only float hyperparameters may differ between starts")
    values = np.array(column)
    return float(values[0]) if (values == values[0]).all() else Many(values)


class Plan:
    """Everything the kernel needs from the rules: variants, constants, state layout.

    The rule is traced once per step for all settings together (`Many` scalars), split only
    where a branch differs between settings. A step's float constants are the kernel's
    *slots*; slot k of variant v for group g at step t is
    ``constants[base[v, k] + g * group_stride[v, k] + t * step_stride[v, k]]``: one number
    for a slot every setting and step shares, a row over steps, over groups, or over both.
    ``variant_rows[row_of_group[g], t]`` is the variant of group g's step t; row `steps`
    repeats the last step (the kernel's final check runs that program without applying it;
    with no steps, a step at lr 0 is traced for the purpose). ``init_table (G, slots)``,
    ``init_variant (G,)``. Group g steps at rates ``lrs[rate_of_group[g]]`` (R, T): each distinct
    base lr's schedule once (by default one row per group).
    """

    def __init__(self, spec, groups: list[dict[str, Any]], lrs: np.ndarray,
                 rate_of_group: np.ndarray | None = None) -> None:
        count, steps = len(groups), lrs.shape[1]
        self.rate_of_group = np.arange(count) if rate_of_group is None else np.asarray(rate_of_group)
        build = spec.build
        self.init_programs: list[tuple] = []
        self.programs: list[tuple] = []
        self.has_lookahead = False
        init_entries: list[tuple[np.ndarray, list]] = []
        pending = [_Settings(np.arange(count), shared_setting(groups), build)]
        active: list[_Settings] = []
        while pending:
            part = pending.pop()
            try:
                program, constants, part.keys, part.scalars = trace_init(part.rule)
            except Split as split:
                pending += part.split(split.mask, build)[::-1]
                continue
            part.init_variant = _index(self.init_programs, program)
            init_entries.append((part.groups, constants))
            self.has_lookahead |= part.rule.lookahead is not None
            active.append(part)

        uniform_lr = (lrs == lrs[:1]).all(axis=0) if steps else np.ones(0, dtype=bool)
        constant_lr = bool(steps) and bool((lrs == lrs[:, :1]).all())
        known: dict[tuple, int] = {}
        entries: dict[tuple[int, int], list] = {}
        traced = max(steps, 1)
        for t in range(traced):
            rows = (t, steps) if t == steps - 1 else (t,)
            pending, active = active[::-1], []
            while pending:
                part = pending.pop()
                lr = self._rate(part, lrs, t, uniform_lr, constant_lr) if steps else 0.0
                try:
                    program, constants, carried = trace_step(part.rule, part.keys, part.scalars, lr, t + 1)
                except Split as split:
                    pending += part.split(split.mask, build)[::-1]
                    continue
                part.scalars = carried
                index = known.get(program)
                if index is None:
                    index = known[program] = len(self.programs)
                    self.programs.append(program)
                part.variants.append(index)
                for k, value in enumerate(constants):
                    bucket = entries.setdefault((index, k), [])
                    for row in rows:
                        bucket.append((row, part, value))
                active.append(part)

        active.sort(key=lambda p: int(p.groups[0]))
        self.state_keys = list(dict.fromkeys(k for part in active for k in part.keys))
        self.row_of_group = np.zeros(count, dtype=np.int64)
        self.init_variant = np.zeros(count, dtype=np.int64)
        rows_seen: dict[tuple, int] = {}
        for part in active:
            row = tuple(part.variants + part.variants[-1:]) if steps else tuple(part.variants)
            self.row_of_group[part.groups] = rows_seen.setdefault(row, len(rows_seen))
            self.init_variant[part.groups] = part.init_variant
        self.variant_rows = np.array(list(rows_seen), dtype=np.int64).reshape(len(rows_seen), steps + 1)
        width = max((len(c) for _, c in init_entries), default=0)
        self.init_table = np.zeros((count, max(width, 1)))
        for where, constants in init_entries:
            for k, value in enumerate(constants):
                self.init_table[where, k] = value.values if type(value) is Many else value
        self._lay_out(entries, count, steps + 1)

    def _rate(self, part: _Settings, lrs: np.ndarray, t: int, uniform: np.ndarray, constant: bool):
        if uniform[t]:
            return float(lrs[0, t])
        if constant:  # one Many for every step: the constants table sees it is per group only
            if part.lr_cache is None:
                part.lr_cache = _subset(Many(lrs[self.rate_of_group, 0]), part.groups)
            return part.lr_cache
        return _subset(Many(lrs[self.rate_of_group, t]), part.groups)

    def _lay_out(self, entries: dict, count: int, rows: int) -> None:
        variants = max(len(self.programs), 1)
        width = max((k + 1 for _, k in entries), default=1)
        self.base = np.zeros((variants, width), dtype=np.int64)
        self.group_stride = np.zeros((variants, width), dtype=np.int64)
        self.step_stride = np.zeros((variants, width), dtype=np.int64)
        segments, offset = [], 0
        for (v, k), items in entries.items():
            segment, group_stride, step_stride = _segment(items, count, rows)
            self.base[v, k], self.group_stride[v, k], self.step_stride[v, k] = offset, group_stride, step_stride
            segments.append(segment.ravel())
            offset += segment.size
        self.constants = np.concatenate(segments) if segments else np.zeros(1)


def _segment(items: list, count: int, rows: int) -> tuple[np.ndarray, int, int]:
    """One slot's values laid out as compactly as they vary: (values, group stride, step stride)."""
    if all(type(value) is float for _, _, value in items):
        first = items[0][2]
        if all(value == first for _, _, value in items):
            return np.array([first]), 0, 0
        by_step: dict[int, float] = {}
        if all(by_step.setdefault(row, value) == value for row, _, value in items):
            segment = np.zeros(rows)
            for row, value in by_step.items():
                segment[row] = value
            return segment, 0, 1
    # per group (the same at every step), when each set of settings kept one value throughout
    by_part: dict[int, tuple] = {}
    steady = True
    for _, part, value in items:
        seen = by_part.setdefault(id(part), (part, value))[1]
        if seen is not value and not _same(seen, value):
            steady = False
            break
    if steady:
        segment = np.zeros(count)
        filled = np.zeros(count, dtype=bool)
        for part, value in by_part.values():
            numbers = value.values if type(value) is Many else value
            if filled[part.groups].any():  # a set and the sets split from it: compare them
                if not (segment[part.groups] == numbers).all():
                    steady = False
                    break
            segment[part.groups] = numbers
            filled[part.groups] = True
        if steady:
            return segment, 1, 0
    segment = np.zeros((count, rows))
    for row, part, value in items:
        segment[part.groups, row] = value.values if type(value) is Many else value
    return segment, rows, 1


def _same(a: Any, b: Any) -> bool:
    if type(a) is Many and type(b) is Many:
        return a.values.shape == b.values.shape and bool((a.values == b.values).all())
    return type(a) is float and type(b) is float and a == b


_PLANS: OrderedDict[tuple, Plan] = OrderedDict()
PLANS_KEPT = 32


def plan_for(spec, groups: list[dict[str, Any]], lrs: np.ndarray, rate_of_group: np.ndarray | None = None) -> Plan:
    """The Plan of `spec` with these settings and rates (`Plan`), traced once and kept (the last
    PLANS_KEPT): tracing costs ≈ 30 µs per step (all settings at once), the kernel ≈ 5 ns per
    start-step."""
    digest = hashlib.blake2b(repr(groups).encode() if len(groups) < 64 else _settings_bytes(groups))
    # rates constant over steps (no schedule) are all in the first column: hash only that
    steady = lrs.shape[1] > 0 and bool((lrs == lrs[:, :1]).all())
    digest.update(b"steady" if steady else b"all")
    digest.update(np.ascontiguousarray(lrs[:, 0] if steady else lrs).data)
    rows = np.arange(len(groups)) if rate_of_group is None else rate_of_group
    digest.update(np.ascontiguousarray(rows, dtype=np.int64).data)
    key = (spec.name, len(groups), lrs.shape, digest.hexdigest())
    with _LOCK:
        plan = _PLANS.get(key)
        if plan is not None:
            _PLANS.move_to_end(key)
            return plan
    plan = Plan(spec, groups, lrs, rate_of_group)
    with _LOCK:
        _PLANS[key] = plan
        while len(_PLANS) > PLANS_KEPT:
            _PLANS.popitem(last=False)
    return plan


def _settings_bytes(groups: list[dict[str, Any]]) -> bytes:
    """The settings of many groups, compactly: the shared values' text, the differing floats' bits."""
    first = groups[0]
    parts = []
    for name, value in first.items():
        column = [g[name] for g in groups]
        if all(v == value for v in column):
            parts.append(repr((name, value)).encode())
        else:
            parts.append(name.encode() + np.array(column, dtype=float).tobytes())
    return b"\0".join(parts)


def _index(programs: list, program) -> int:
    try:
        return programs.index(program)
    except ValueError:
        programs.append(program)
        return len(programs) - 1


# -- emitting, caching, loading ----------------------------------------------------------------

_SOURCES: OrderedDict[tuple, str] = OrderedDict()


def kernel_source(land: Landscape, plan: Plan, record: str = "final", noisy: bool = False,
                  converges: bool = False, mixed: bool = False) -> str:
    """The kernel's module (LLVM IR, `optimizers.native`) for this landscape and plan.

    One kernel serves every record mode, noise and convergence check (`record`, `noisy` and
    `converges` do not change it): the loop over a block's starts stays branch-free, so it
    vectorizes, and the choices are made once per block and step outside it. Noise is added from
    a block-local buffer that holds −0.0 when there is none (x + (−0.0) is x, bit for bit, −0.0
    included); the path, the full record and the convergence check are loops over the block after
    the step. Emitting costs ≈ 0.05–0.1 s, so a module is kept per landscape and set of programs.
    `mixed` (see `mixes`): the kernel whose blocks hold several settings."""
    key = (land.expression, tuple(plan.init_programs), tuple(plan.programs), tuple(plan.state_keys),
           plan.has_lookahead, mixed)
    with _LOCK:
        text = _SOURCES.get(key)
        if text is not None:
            _SOURCES.move_to_end(key)
            return text
    text = native.kernel_ir(land, plan, mixed=mixed)
    with _LOCK:
        _SOURCES[key] = text
        while len(_SOURCES) > PLANS_KEPT:
            _SOURCES.popitem(last=False)
    return text


def cache_directory() -> Path:
    """Where compiled kernels (object code) live (DESCENT_LAB_CACHE overrides)."""
    chosen = os.environ.get("DESCENT_LAB_CACHE")
    if chosen:
        return Path(chosen)
    try:
        import platformdirs
        return Path(platformdirs.user_cache_dir("descent-lab")) / "kernels"
    except ImportError:  # pragma: no cover
        return Path.home() / ".cache" / "descent-lab" / "kernels"


_LOADED: dict[str, Any] = {}
_LOCK = threading.Lock()
_COMPILING: set[str] = set()


@lru_cache(maxsize=64)  # a hit costs a dict lookup; hashing ≈ 60 kB of IR and asking LLVM the CPU, ≈ 0.6 ms
def _digest(source: str) -> str:
    text = f"{KERNEL_VERSION}\n{_llvmlite_version()}\n{native.target_name()}\n{source}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@lru_cache(maxsize=1)
def _llvmlite_version() -> str:
    return importlib.metadata.version("llvmlite")


def _object_path(digest: str) -> Path:
    return cache_directory() / f"k_{digest}.o"


def is_ready(source: str) -> bool:
    """True if this kernel is loaded in this process or its object code is in the disk cache."""
    digest = _digest(source)
    return digest in _LOADED or _object_path(digest).exists()


def load(source: str):
    """The kernel for `source`, compiled: from this process, from the object code in the disk
    cache, or compiled now (≈ 0.1–0.2 s) and its object code written there."""
    digest = _digest(source)
    with _LOCK:
        if digest in _LOADED:
            return _LOADED[digest]
    path = _object_path(digest)
    try:
        data = path.read_bytes()
    except OSError:
        data = native.compile_object(source)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, path)  # atomic: a concurrent process sees all or nothing
        except OSError:  # a read-only cache only costs the next process a compile
            pass
    with _LOCK:
        if digest not in _LOADED:
            _LOADED[digest] = native.load_object(data, "run")
        return _LOADED[digest]


def compile_in_background(source: str) -> None:
    """Start compiling `source` in a daemon thread (at most once); `auto` uses it once ready."""
    digest = _digest(source)
    with _LOCK:
        if digest in _LOADED or digest in _COMPILING:
            return
        _COMPILING.add(digest)

    def work() -> None:
        try:
            load(source)
        except Exception:  # noqa: BLE001 - a failed background compile only means no speed-up
            pass
        finally:
            with _LOCK:
                _COMPILING.discard(digest)

    threading.Thread(target=work, name="descent-lab-compile", daemon=True).start()



# -- running -----------------------------------------------------------------------------------

def threads_to_use() -> int:
    """Worker threads for the kernel: DESCENT_LAB_THREADS, else the cores this process may use."""
    chosen = os.environ.get("DESCENT_LAB_THREADS")
    if chosen:
        return max(1, int(chosen))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


_POOL: ThreadPoolExecutor | None = None


def _pool(threads: int) -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None or _POOL._max_workers < threads:
        _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="descent-lab-kernel")
    return _POOL


def mixes(plan: Plan, group_of_start: np.ndarray) -> bool:
    """Whether to run blocks that hold several settings (`native.kernel_ir`'s `mixed` kernel):
    when blocks of one setting each would be at least twice as many, as in a sweep's one or few
    starts per setting (blocks of one start step ≈ 10× slower per start than full ones)."""
    def blocks(keys):
        return int((-(-np.bincount(keys) // BLOCK)).sum())
    return blocks(group_of_start) >= 2 * blocks(_kinds(plan, group_of_start))


def _kinds(plan: Plan, group_of_start: np.ndarray) -> np.ndarray:
    """Per start, the settings it can share a block with in a mixed kernel: those stepping the
    same variants (`row_of_group`) from the same init program."""
    return (plan.row_of_group * len(plan.init_programs) + plan.init_variant)[group_of_start]


def _blocks(keys: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(lo, hi, group) per block over starts sorted by `keys`: at most BLOCK starts, never
    straddling two keys; `groups` (sorted alike) gives each block's first start's group."""
    edges = np.flatnonzero(np.diff(keys)) + 1
    bounds = []
    for lo, hi in zip([0, *edges.tolist()], [*edges.tolist(), len(keys)], strict=True):
        for b in range(lo, hi, BLOCK):
            bounds.append((b, min(b + BLOCK, hi), int(groups[b])))
    return np.array(bounds, dtype=np.int64).reshape(-1, 3)


def run_kernel(kernel, plan: Plan, starts: np.ndarray, group_of_start: np.ndarray, steps: int,
               noise: float, rng: np.random.Generator, record: str, tol: float | None,
               every: int = 1, threads: int | None = None, mixed: bool = False) -> dict[str, Any]:
    """Step every start with the compiled kernel; the same dictionary as the NumPy path returns.
    `mixed`: `kernel` is the mixed one (`mixes`), whose blocks hold starts of several settings."""
    n = len(starts)
    # Blocks run starts sorted by setting, or (mixed) by the settings that may share a block.
    keys = _kinds(plan, group_of_start) if mixed else group_of_start
    # Starts already in that order (a uniform run, a sweep in grid order): no permutation.
    identity = n < 2 or bool((keys[1:] >= keys[:-1]).all())
    order = None if identity else np.argsort(keys, kind="stable")
    sorted_keys = keys if identity else keys[order]
    sorted_groups = np.ascontiguousarray(group_of_start if identity else group_of_start[order], dtype=np.int64)
    keys = plan.state_keys
    S = np.empty((5 + 2 * len(keys), n))
    S[:2] = starts.T if identity else starts[order].T
    S[5:] = 0.0  # a start whose group lacks a state never reads it
    diverged = np.full(n, -1, dtype=np.int64)
    codes = np.zeros(n, dtype=np.int64)  # one width for every per-start array: simpler loops
    converged = np.full(n, -1, dtype=np.int64)
    keep_path, keep_all = record != "final", record == "full"
    recorded = len(range(0, steps + 1, every)) + (steps % every != 0)
    points = np.empty((n, recorded, 2)) if keep_path else np.zeros((0, 1, 2))
    losses = np.empty((n, recorded)) if keep_path else np.zeros((0, 1))
    grads = np.empty((n, steps, 2)) if keep_all else np.zeros((0, 1, 2))
    states = np.empty((len(keys), n, steps, 2)) if keep_all else np.zeros((0, 0, 1, 2))
    tol2 = -1.0 if tol is None else tol * tol

    # A block of one setting reads its table row once per step; a mixed one, each start's.
    blocks = _blocks(sorted_keys, sorted_groups)
    threads = threads or threads_to_use()
    parts = [np.ascontiguousarray(blocks[i::threads]) for i in range(min(threads, len(blocks)))] or [blocks]

    chunk = steps + 1 if not noise else max(1, NOISE_CHUNK_BYTES // (16 * n))
    t0 = 0
    while t0 <= steps:
        t1 = min(t0 + chunk, steps + 1)
        if noise:
            drawn = noise * rng.standard_normal((min(t1, steps) - t0, 2, n))
            if t1 > steps:  # the final check reads a row it does not apply
                drawn = np.concatenate((drawn, np.zeros((1, 2, n))))
            # (fancy indexing on the last axis may return a strided array: the kernel reads C order)
            shocks = drawn if identity else np.ascontiguousarray(drawn[:, :, order])
        else:
            shocks = np.zeros((0, 2, 0))

        def work(part, t0=t0, t1=t1, shocks=shocks):
            kernel(part, t0, t1, steps, plan.constants, plan.base, plan.group_stride,
                   plan.step_stride, plan.variant_rows, plan.row_of_group, plan.init_table, plan.init_variant,
                   shocks, S, sorted_groups, diverged, codes, converged, tol2, points, losses, every, grads, states)

        if len(parts) == 1:
            work(parts[0])
        else:
            for future in [_pool(threads).submit(work, part) for part in parts]:
                future.result()
        t0 = t1

    if not identity:
        inverse = np.empty(n, dtype=np.int64)
        inverse[order] = np.arange(n)

    def back(array):
        return array if identity else array[inverse]

    trace = {"final_points": back(S[:2].T).copy(), "final_losses": back(S[4]).copy(),
             "diverged": back(diverged).astype(int), "divergence_codes": back(codes).astype(np.int8),
             "converged_at": back(converged).astype(int) if tol is not None else None}
    if keep_path:
        trace["points"], trace["losses"] = back(points), back(losses)
    if keep_all:
        trace["grads"] = back(grads)
        trace["states"] = {key: back(states[i]) for i, key in enumerate(keys) if not key.startswith("_")}
    return trace


__all__ = ["NotTraceable", "Plan", "cache_directory", "compile_in_background", "is_ready", "kernel_source",
           "load", "mixes", "plan_for", "run_kernel", "shared_setting", "traced_ops"]
