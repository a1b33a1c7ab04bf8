"""The compiled backend: one numba loop per (landscape, optimizer) that fuses gradient, update rule,
noise, divergence checks and recording, generated from the same `Rule` the NumPy path runs.

How the kernel is made, without writing any optimizer a second time:

1. **Trace.** Each step's `update` (and `init`, `lookahead`) is called with `traced_ops` as its
   array namespace and `Traced` stand-ins for its arrays. Every array operation is recorded, in
   the order the NumPy path performs it. Scalars stay Python floats, computed by the rule
   itself exactly as on the NumPy path (bias corrections `1 − βᵗ` included: Python's `β ** t`
   and numba's differ), so each step gives a program whose float constants are *slots*: the
   kernel reads them from a table filled by the trace. Steps whose program differs (torch's
   first SGD step, RAdam's warm-up) are separate *variants* of the kernel. Per-start
   hyperparameters are traced together: every setting's scalars at once (`Many`, one float
   per setting), the settings split only where a branch on them differs (SGD's
   ``momentum == 0``), so a 100 × 100 sweep costs one trace per step, not 10,000.
2. **Emit.** Each program is written out once per coordinate as scalar Python in the same
   operation order; the landscape's gradient (`landscapes.autodiff`, math form: libm, like
   the single-start path) is inlined before it. The source is a module file in a user cache
   directory, compiled by numba with ``cache=True``: a fresh process loads it from disk. One
   kernel serves every record mode, noise and convergence check (chosen at run time, outside
   the vectorized loop).
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
import re
import sys
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from landscapes import Landscape
from landscapes.autodiff import kernel_gradient_lines, kernel_preamble

from .registry import Rule

LIMIT = 1e8
NON_FINITE, TOO_LARGE = 1, 2
BLOCK = 256            # starts per block: the block's state (≈ 10 arrays × 2 kB) stays in L1
NOISE_CHUNK_BYTES = 16 * 2**20  # noise is drawn with NumPy, this much at a time
KERNEL_VERSION = "6"   # part of every kernel's hash: bump when the emitted code changes meaning


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


def _shared_setting(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """One setting for all groups: a value they share as is, a `Many` where floats differ."""
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
    ``init_variant (G,)``.
    """

    def __init__(self, spec, groups: list[dict[str, Any]], lrs: np.ndarray) -> None:
        count, steps = lrs.shape
        build = spec.build
        self.init_programs: list[tuple] = []
        self.programs: list[tuple] = []
        self.has_lookahead = False
        init_entries: list[tuple[np.ndarray, list]] = []
        pending = [_Settings(np.arange(count), _shared_setting(groups), build)]
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

    @staticmethod
    def _rate(part: _Settings, lrs: np.ndarray, t: int, uniform: np.ndarray, constant: bool):
        if uniform[t]:
            return float(lrs[0, t])
        if constant:  # one Many for every step: the constants table sees it is per group only
            if part.lr_cache is None:
                part.lr_cache = _subset(Many(lrs[:, 0]), part.groups)
            return part.lr_cache
        return _subset(Many(lrs[:, t]), part.groups)

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


def plan_for(spec, groups: list[dict[str, Any]], lrs: np.ndarray) -> Plan:
    """The Plan of `spec` with these settings and rates, traced once and kept (the last
    PLANS_KEPT): tracing costs ≈ 30 µs per step (all settings at once), the kernel ≈ 5 ns per
    start-step."""
    digest = hashlib.blake2b(repr(groups).encode() if len(groups) < 64 else _settings_bytes(groups))
    # rates constant over steps (no schedule) are all in the first column: hash only that
    steady = lrs.shape[1] > 0 and bool((lrs == lrs[:, :1]).all())
    digest.update(b"steady" if steady else b"all")
    digest.update(np.ascontiguousarray(lrs[:, 0] if steady else lrs).data)
    key = (spec.name, lrs.shape, digest.hexdigest())
    with _LOCK:
        plan = _PLANS.get(key)
        if plan is not None:
            _PLANS.move_to_end(key)
            return plan
    plan = Plan(spec, groups, lrs)
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


# -- emitting ----------------------------------------------------------------------------------

_BINARY = {"+", "-", "*", "/", ">", "<", ">=", "<="}


def _emit_program(program: tuple, table: str, names: dict[str, str], coordinate: str,
                  prefix: str, part: slice = slice(None)) -> tuple[list[str], dict[str, str]]:
    """Scalar lines for one coordinate of a traced program (the operations in `part`);
    returns (lines, output -> name)."""
    ops, outputs = program
    outputs = tuple(item for item in outputs if item[0] != "split")

    def name(ref: tuple) -> str:
        kind, value = ref
        if kind == "c":
            return f"{table}{value}"
        if kind == "v":
            return f"{prefix}{value}_{coordinate}"
        return names[value]

    lines = []
    for index in range(len(ops))[part]:
        kind, *operands = ops[index]
        args = [name(r) for r in operands]
        if kind in _BINARY:
            code = f"{args[0]} {kind} {args[1]}"
        elif kind == "neg":
            code = f"-{args[0]}"
        elif kind == "sqrt":
            code = f"math.sqrt({args[0]})"
        elif kind == "abs":
            code = f"abs({args[0]})"
        elif kind == "sign":
            code = f"_sign({args[0]})"
        elif kind == "maximum":
            code = f"_maximum({args[0]}, {args[1]})"
        elif kind == "clip":
            code = f"_clip({args[0]}, {args[1]}, {args[2]})"
        elif kind == "where":
            code = f"{args[1]} if {args[0]} else {args[2]}"
        elif kind == "fill":
            code = args[0]
        else:  # pragma: no cover - the tracer records only the kinds above
            raise NotTraceable(kind)
        lines.append(f"{prefix}{index}_{coordinate} = {code}")
    return lines, {key: name(ref) for key, ref in outputs}


_HELPERS = '''
@numba.njit(cache=True)
def _sign(value):
    if value > 0.0:
        return 1.0
    if value < 0.0:
        return -1.0
    return value


@numba.njit(cache=True)
def _maximum(a, b):
    if a != a or b != b:
        return math.nan
    return a if a >= b else b


@numba.njit(cache=True)
def _clip(value, low, high):
    return value if low <= value <= high else (low if value < low else (high if value > high else value))
'''


def kernel_source(land: Landscape, plan: Plan, record: str = "final", noisy: bool = False,
                  converges: bool = False) -> str:
    """The generated module: helpers, then ``run(...)`` for this landscape and plan.

    One kernel serves every record mode, noise and convergence check (`record`, `noisy` and
    `converges` do not change the source): the loop over a block's starts stays branch-free, so it vectorizes, and the
    choices are made once per block and step outside it. Noise is added from a block-local
    buffer that holds −0.0 when there is none (x + (−0.0) is x, bit for bit, −0.0 included);
    the path and the full record are stored by their own loops over the block after the step,
    from the block's state and the gradients it kept, and so is the convergence check (inside
    the loop it cost 17 % of an Adam step). One compile where there were up to twelve."""
    keys = plan.state_keys
    row = {"x": 0, "y": 1, "px": 2, "py": 3, "loss": 4}
    for i, key in enumerate(keys):
        row[f"s:{key}:x"], row[f"s:{key}:y"] = 5 + 2 * i, 6 + 2 * i
    rows = 5 + 2 * len(keys)
    grad_lines, grad_out = kernel_gradient_lines(land.expression)

    def gradient_at(px: str, py: str, tag: str, with_value: bool) -> list[str]:
        rename = {"x": px, "y": py}
        out = []
        for line in grad_lines:
            out.append(re.sub(r"\b(t\d+|x|y)\b",
                              lambda m: rename.get(m.group(), f"{tag}{m.group()}"), line))
        value, fx, fy = (re.sub(r"\b(t\d+|x|y)\b", lambda m: rename.get(m.group(), f"{tag}{m.group()}"), o)
                         for o in grad_out)
        if with_value:
            out.append(f"f = {value}")
        out += [f"gx = {fx}", f"gy = {fy}"]
        return out

    body: list[str] = []
    w = body.append
    w("def run(blocks, t0, t1, steps, constants, base, group_stride, step_stride, variant_rows, row_of_group,")
    w("        init_table, init_variant, noise, S, diverged, codes, converged, frozen, tol2, points, losses,")
    w("        every, grads, states):")
    w("    for b in range(blocks.shape[0]):")
    w("        lo, hi, g = blocks[b, 0], blocks[b, 1], blocks[b, 2]")
    w("        variant = variant_rows[row_of_group[g]]")
    # init
    w("        if t0 == 0:")
    w("            iv = init_variant[g]")
    for v, program in enumerate(plan.init_programs):
        w(f"            {'if' if v == 0 else 'elif'} iv == {v}:")
        slots = max((r[1] for op in program[0] for r in op[1:] if r[0] == "c"), default=-1) + 1
        for k in range(slots):
            w(f"                i{k} = init_table[g, {k}]")
        w("                for j in range(lo, hi):")
        w("                    S[2, j] = S[0, j]")
        w("                    S[3, j] = S[1, j]")
        w("                    S[4, j] = math.nan")
        for c in "xy":
            lines, outs = _emit_program(program, "i", {"param": f"S[{row[c]}, j]"}, c, "n")
            for line in lines:
                w("                    " + line)
            for key, name in outs.items():
                w(f"                    S[{row[f's:{key}:{c}']}, j] = {name}")
    # t = steps is the last check of θ_T: the same loop (one copy of the code compiles in half
    # the time), its update computed but not applied (`moving` is False) and not recorded.
    w("        for t in range(t0, t1):")
    w("            var = variant[t]")
    w("            moving = t < steps")
    w("            record = (t % every == 0 or t == steps)")
    w("            r = t // every if t % every == 0 else points.shape[1] - 1")
    w("            if noisy:")
    w("                for j in range(lo, hi):")
    w("                    NX[j] = noise[t - t0, 0, j]")
    w("                    NY[j] = noise[t - t0, 1, j]")
    for v, program in enumerate(plan.programs):
        w(f"            {'if' if v == 0 else 'elif'} var == {v}:")
        if program is not None:
            slots = max((r[1] for op in program[0] for r in op[1:] if r[0] == "c"), default=-1) + 1
            for k in range(slots):
                w(f"                c{k} = constants[base[{v}, {k}] + g * group_stride[{v}, {k}]"
                  f" + t * step_stride[{v}, {k}]]")
        w("                for j in range(lo, hi):")
        ind = "                    "
        w(ind + "x = S[0, j]")
        w(ind + "y = S[1, j]")
        body += [ind + line for line in gradient_at("x", "y", "a", True)]
        # Branch-free (selects, no short-circuit), so the loop over a block's starts stays a
        # straight line the compiler can schedule: x − x = 0 exactly when x is finite.
        # Loads are unconditional and stores take selected values: if-converted, vectorizable.
        w(ind + "held = frozen[j]")
        w(ind + "last_x = S[2, j]")
        w(ind + "last_y = S[3, j]")
        w(ind + "last_f = S[4, j]")
        w(ind + "was_diverged = diverged[j]")
        w(ind + "was_code = codes[j]")
        w(ind + "newly = (held == 0) & ((f - f) != 0.0)")
        w(ind + "x = last_x if newly else x")
        w(ind + "y = last_y if newly else y")
        w(ind + "f = last_f if ((held != 0) | (newly & (t > 0))) else f")
        w(ind + "was_diverged = t if newly else was_diverged")
        w(ind + f"was_code = {NON_FINITE} if newly else was_code")
        w(ind + "held = 1 if newly else held")
        w(ind + "S[4, j] = f")
        w(ind + "GX[j] = gx")  # the gradient at θ_t: the convergence check's
        w(ind + "GY[j] = gy")
        output_refs = dict(program[1])
        split = output_refs["split"][1] if "split" in output_refs else 0
        if split or "lookahead" in output_refs:
            coords = {}
            for c in "xy":
                names = {"param": c, **{f"s:{k}": f"S[{row[f's:{k}:{c}']}, j]" for k in keys}}
                lines, outs = _emit_program(program, "c", names, c, "u", slice(0, split))
                body += [ind + line for line in lines]
                coords[c] = outs["lookahead"]
            body += [ind + line for line in gradient_at(coords["x"], coords["y"], "b", False)]
        w(ind + "gx = gx + NX[j]")
        w(ind + "gy = gy + NY[j]")
        if plan.has_lookahead:  # the gradient used is not the one at θ_t
            w(ind + "UX[j] = gx")
            w(ind + "UY[j] = gy")
        stores = []
        new = {}
        for c, p in (("x", "x"), ("y", "y")):
            names = {"param": p, "grad": f"g{c}", **{f"s:{k}": f"S[{row[f's:{k}:{c}']}, j]" for k in keys}}
            lines, outs = _emit_program(program, "c", names, c, "u", slice(split, None))
            body += [ind + line for line in lines]
            new[c] = outs["param"]
            for key, name in outs.items():
                if key.startswith("s:"):
                    stores.append((f"{key}:{c}", name))
        w(ind + f"nx = {new['x']}")
        w(ind + f"ny = {new['y']}")
        for key, name in stores:  # after every read of the old state (x's and y's share none)
            w(ind + f"S[{row[key]}, j] = {name}")
        w(ind + f"escaped = moving & (held == 0) & (not ((abs(nx) <= {LIMIT!r}) & (abs(ny) <= {LIMIT!r})))")
        w(ind + "finite = ((nx - nx) == 0.0) & ((ny - ny) == 0.0)")
        w(ind + "diverged[j] = t + 1 if escaped else was_diverged")
        w(ind + f"codes[j] = ({TOO_LARGE} if finite else {NON_FINITE}) if escaped else was_code")
        w(ind + "hold = (held != 0) | escaped")
        w(ind + "frozen[j] = 1 if hold else 0")
        w(ind + "stay = hold | (not moving)")
        w(ind + "S[0, j] = x if stay else nx")
        w(ind + "S[1, j] = y if stay else ny")
        w(ind + "S[2, j] = x")
        w(ind + "S[3, j] = y")
    # The records, after the step: θ_t and f(θ_t) as checked (rows 2-4), the gradient used,
    # the state after the update.
    w("            if keep_path and record:")
    w("                for j in range(lo, hi):")
    w("                    points[j, r, 0] = S[2, j]")
    w("                    points[j, r, 1] = S[3, j]")
    w("                    losses[j, r] = S[4, j]")
    w("            if converges:")
    w("                for j in range(lo, hi):")
    w("                    converged[j] = t if ((GX[j] * GX[j] + GY[j] * GY[j] <= tol2) & (converged[j] < 0))"
      " else converged[j]")
    w("            if keep_all and moving:")
    w("                for j in range(lo, hi):")
    if plan.has_lookahead:
        w("                    grads[j, t, 0] = UX[j]")
        w("                    grads[j, t, 1] = UY[j]")
    else:  # the same sum the step computed: x + (−0.0) is x
        w("                    grads[j, t, 0] = GX[j] + NX[j]")
        w("                    grads[j, t, 1] = GY[j] + NY[j]")
    for i, key in enumerate(keys):
        for c_index, c in enumerate("xy"):
            w(f"                    states[{i}, j, t, {c_index}] = S[{row[f's:{key}:{c}']}, j]")
    # Each block works on its own 1-D copies of its state (L0 = x, L1 = y, ...; D, C, V, Z =
    # diverged, codes, converged, frozen): arrays the compiler knows are distinct, so the loop
    # over a block's starts vectorizes (≈ 6× faster than indexing the shared (rows, N) array).
    text = "\n".join(body)
    text = re.sub(r"S\[(\d+), j\]", r"L\1[j]", text)
    for name, local in (("diverged", "D"), ("codes", "C"), ("converged", "V"), ("frozen", "Z")):
        text = text.replace(f"{name}[j]", f"{local}[j]")
    text = text.replace("for j in range(lo, hi):", "for j in range(hi - lo):")
    for name in ("points[j", "losses[j", "grads[j"):
        text = text.replace(name, name[:-1] + "lo + j")
    text = re.sub(r"states\[(\d+), j,", r"states[\1, lo + j,", text)
    text = re.sub(r"noise\[t - t0, (\d), j\]", r"noise[t - t0, \1, lo + j]", text)
    lines = text.split("\n")
    start = lines.index("        variant = variant_rows[row_of_group[g]]") + 1
    locals_ = [f"L{k}" for k in range(rows)]
    pairs = [(f"L{k}", f"S[{k}, lo + j]") for k in range(rows)] + [
        (local, f"{name}[lo + j]") for name, local in (("diverged", "D"), ("codes", "C"),
                                                        ("converged", "V"), ("frozen", "Z"))]
    allocate = [f"    {name} = np.empty({BLOCK})" for name in [*locals_, "GX", "GY", "UX", "UY"]] + [
        f"    {name} = np.empty({BLOCK}, dtype=np.int64)" for name in "DCVZ"] + [
        f"    {name} = np.full({BLOCK}, -0.0)" for name in ("NX", "NY")] + [
        "    noisy = noise.shape[0] > 0", "    keep_path = points.shape[0] > 0", "    keep_all = grads.shape[0] > 0",
        "    converges = tol2 >= 0.0"]
    copy_in = ["        for j in range(hi - lo):"] + [f"            {a}[j] = {b}" for a, b in pairs]
    copy_out = ["        for j in range(hi - lo):"] + [f"            {b} = {a}[j]" for a, b in pairs]
    loop = lines.index("    for b in range(blocks.shape[0]):")
    lines = lines[:loop] + allocate + lines[loop:start] + copy_in + lines[start:] + copy_out
    body = lines
    header = [
        f'"""Generated by optimizers.compiled for {land.name!r} (kernel version {KERNEL_VERSION}); '
        f'{rows} state rows: x, y, previous x, y, loss, then {", ".join(keys) or "none"}."""',
        "import math", "", "import numba", "import numpy as np", "", kernel_preamble(), _HELPERS, "",
        '@numba.njit(cache=True, nogil=True, error_model="numpy", boundscheck=False)']
    return "\n".join(header + body) + "\n"


# -- cache and loading -------------------------------------------------------------------------

def cache_directory() -> Path:
    """Where generated kernels and numba's compiled cache live (DESCENT_LAB_CACHE overrides)."""
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


def _digest(source: str) -> str:
    # numba's version from its metadata: importing numba (≈ 0.5 s) waits until a kernel is used
    text = f"{KERNEL_VERSION}\n{_numba_version()}\n{np.__version__}\n{sys.version}\n{source}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


@lru_cache(maxsize=1)
def _numba_version() -> str:
    return importlib.metadata.version("numba")


def _module_path(digest: str) -> Path:
    return cache_directory() / f"k_{digest}.py"


def is_ready(source: str) -> bool:
    """True if this kernel is loaded in this process or compiled in numba's on-disk cache."""
    digest = _digest(source)
    if digest in _LOADED:
        return True
    cached = _module_path(digest).parent / "__pycache__"
    return cached.is_dir() and any(cached.glob(f"k_{digest}.run-*.nbi"))


def load(source: str):
    """The kernel for `source`, compiled: loaded from this process or numba's on-disk cache, or
    written, imported and compiled (numba then caches it)."""
    digest = _digest(source)
    with _LOCK:
        if digest in _LOADED:
            return _LOADED[digest]
        path = _module_path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_text(source)
            os.replace(temporary, path)  # atomic: a concurrent process sees all or nothing
        _numba_without_scipy()
        spec = importlib.util.spec_from_file_location(f"descent_lab_kernel_{digest}", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # numba's cache finds the module's globals by its name
        spec.loader.exec_module(module)
        kernel = module.run
        _warm(kernel)  # compiled (or loaded from numba's cache) now, not at some later first call
        _LOADED[digest] = kernel
        return kernel


def _numba_without_scipy() -> None:
    """Let numba start without importing SciPy: setting up its CPU target imports
    numba.np.arraymath, which probes for BLAS by importing scipy.linalg (≈ 0.15–0.4 s of a fresh
    process's cache load, for BLAS the kernels never call). The probe is answered "absent" while
    that module loads, then numba's flag is set back to what it would have found, so numba code
    elsewhere in the process that uses BLAS still gets it (numba imports SciPy when it compiles
    such code)."""
    if "numba.np.arraymath" in sys.modules or "scipy.linalg.cython_blas" in sys.modules:
        return
    probe = "scipy.linalg.cython_blas"
    sys.modules[probe] = None  # `import scipy.linalg.cython_blas` raises ImportError, imports nothing
    try:
        import numba.np.arraymath as arraymath
    finally:
        if sys.modules.get(probe, 0) is None:
            del sys.modules[probe]
    arraymath._HAVE_BLAS = importlib.util.find_spec("scipy") is not None


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


def _warm(kernel) -> None:
    """Compile for the argument types `run_kernel` passes, on an empty batch."""
    empty3 = np.zeros((0, 1, 2))
    index = np.zeros((1, 1), dtype=np.int64)
    kernel(np.zeros((0, 3), dtype=np.int64), 0, 0, 0, np.zeros(1), index, index, index, index,
           np.zeros(1, dtype=np.int64), np.zeros((1, 1)), np.zeros(1, dtype=np.int64), np.zeros((0, 2, 0)),
           np.zeros((5, 0)),
           np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
           np.zeros(0, dtype=np.int64), -1.0, empty3, np.zeros((0, 1)), 1, empty3,
           np.zeros((0, 0, 1, 2)))


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


def run_kernel(kernel, plan: Plan, starts: np.ndarray, group_of_start: np.ndarray, steps: int,
               noise: float, rng: np.random.Generator, record: str, tol: float | None,
               every: int = 1, threads: int | None = None) -> dict[str, Any]:
    """Step every start with the compiled kernel; the same dictionary as the NumPy path returns."""
    n = len(starts)
    order = np.argsort(group_of_start, kind="stable")
    sorted_groups = group_of_start[order]
    identity = bool((order == np.arange(n)).all())
    keys = plan.state_keys
    S = np.empty((5 + 2 * len(keys), n))
    S[0], S[1] = starts[order, 0], starts[order, 1]
    S[5:] = 0.0  # a start whose group lacks a state never reads it
    diverged = np.full(n, -1, dtype=np.int64)
    codes = np.zeros(n, dtype=np.int64)  # one width for every per-start array: simpler loops
    converged = np.full(n, -1, dtype=np.int64)
    frozen = np.zeros(n, dtype=np.int64)
    keep_path, keep_all = record != "final", record == "full"
    recorded = len(range(0, steps + 1, every)) + (steps % every != 0)
    points = np.empty((n, recorded, 2)) if keep_path else np.zeros((0, 1, 2))
    losses = np.empty((n, recorded)) if keep_path else np.zeros((0, 1))
    grads = np.empty((n, steps, 2)) if keep_all else np.zeros((0, 1, 2))
    states = np.empty((len(keys), n, steps, 2)) if keep_all else np.zeros((0, 0, 1, 2))
    tol2 = -1.0 if tol is None else tol * tol

    # Blocks never straddle two groups: a block reads its group's table row once per step.
    bounds = []
    edges = np.flatnonzero(np.diff(sorted_groups)) + 1
    for lo, hi in zip([0, *edges.tolist()], [*edges.tolist(), n], strict=True):
        for b in range(lo, hi, BLOCK):
            bounds.append((b, min(b + BLOCK, hi), int(sorted_groups[lo])))
    blocks = np.array(bounds, dtype=np.int64).reshape(-1, 3)
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
            shocks = drawn if identity else drawn[:, :, order]
        else:
            shocks = np.zeros((0, 2, 0))

        def work(part, t0=t0, t1=t1, shocks=shocks):
            kernel(part, t0, t1, steps, plan.constants, plan.base, plan.group_stride, plan.step_stride,
                   plan.variant_rows, plan.row_of_group, plan.init_table, plan.init_variant,
                   shocks, S, diverged, codes, converged, frozen, tol2, points, losses, every, grads, states)

        if len(parts) == 1:
            work(parts[0])
        else:
            for future in [_pool(threads).submit(work, part) for part in parts]:
                future.result()
        t0 = t1

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
           "load", "plan_for", "run_kernel", "traced_ops"]
