"""The optimizer record: one per optimizer, read by simulate, validation, the UI and the docs."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

State = dict[str, Any]


class Rule(NamedTuple):
    """An optimizer's pure functions, optax style, with hyperparameters already bound.

    - ``init(param) -> state``
    - ``update(grad, param, state, lr, step) -> (param, state)``; `step` counts from 1
      (torch's ``state["step"]`` after its increment) and `lr` is this step's rate.
    - ``lookahead(param, state) -> point`` (optional): where the gradient is taken, for
      methods that look ahead (Nesterov's original form).

    Arguments are (2, N) NumPy arrays for a batch, or one coordinate's float for a single
    start. `update` owns `state` and may change its arrays in place; it never changes
    `grad` or `param`. State entries whose name starts with "_" are bookkeeping, not recorded.
    """

    init: Callable[[Any], State]
    update: Callable[[Any, Any, State, float, int], tuple[Any, State]]
    lookahead: Callable[[Any, State], Any] | None = None


class HyperparameterError(ValueError):
    """An invalid hyperparameter; the message names it and its valid range."""


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter: torch's keyword, default, valid range and one-line meaning.

    `low`/`high` bound the value (each element for pairs); `*_open` excludes the bound.
    """

    name: str
    default: Any
    meaning: str
    symbol: str = ""
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    kind: str = "float"  # "float", "int", "bool", "pair", "choice" or "milestones"
    choices: tuple[str, ...] = ()

    @property
    def range_text(self) -> str:
        if self.kind == "bool":
            return "True or False"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        left = "(" if self.low_open else "["
        right = ")" if self.high_open or self.high == math.inf else "]"
        high = "∞" if self.high == math.inf else f"{self.high:g}"
        text = f"{left}{self.low:g}, {high}{right}"
        return f"each in {text}" if self.kind in ("pair", "milestones") else text

    def check(self, value: Any) -> Any:
        """The value, normalized (floats, bools, tuples), or `HyperparameterError`."""
        if self.kind == "bool":
            if not isinstance(value, (bool, int)) or value not in (0, 1):
                raise HyperparameterError(f"{self.name} must be True or False, got {value!r}")
            return bool(value)
        if self.kind == "choice":
            if value not in self.choices:
                raise HyperparameterError(
                    f"{self.name} must be one of {', '.join(self.choices)}, got {value!r}")
            return value
        if self.kind == "milestones":
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise HyperparameterError(f"{self.name} must be a list of steps, got {value!r}")
            return tuple(sorted(self._whole(self.check_number(v), v) for v in value))
        if self.kind == "pair":
            try:
                first, second = value
            except (TypeError, ValueError):
                raise HyperparameterError(
                    f"{self.name} must be a pair of numbers {self.range_text}, got {value!r}") from None
            return (self.check_number(first), self.check_number(second))
        number = self.check_number(value)
        return self._whole(number, value) if self.kind == "int" else number

    def _whole(self, number: float, value: Any) -> int:
        if number != int(number):
            raise HyperparameterError(f"{self.name} must be a whole number, got {value!r}")
        return int(number)

    def check_number(self, value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise HyperparameterError(f"{self.name} must be a number, got {value!r}") from None
        below = number <= self.low if self.low_open else number < self.low
        above = number >= self.high if self.high_open else number > self.high
        if not math.isfinite(number) or below or above:
            raise HyperparameterError(
                f"{self.name} = {value!r} is outside its valid range {self.range_text}")
        return number


@dataclass(frozen=True)
class Constraint:
    """A rule that spans several hyperparameters, checked once each is inside its own range.

    `holds` receives the named values as keywords; `message` states the rule (the refusal
    adds the values given). Validation and the tests' strategies both read it.
    """

    names: tuple[str, ...]
    holds: Callable[..., bool]
    message: str

    def check(self, values: Mapping[str, Any]) -> None:
        if not self.holds(**{name: values[name] for name in self.names}):
            given = ", ".join(f"{name} = {values[name]!r}" for name in self.names)
            raise HyperparameterError(f"{self.message} (got {given})")


@dataclass(frozen=True)
class Condition:
    """When an equation applies: a test of the hyperparameters and the same test in words."""

    text: str
    test: Callable[[Mapping[str, Any]], bool]

    def __call__(self, values: Mapping[str, Any]) -> bool:
        return bool(self.test(values))

    def __and__(self, other: Condition) -> Condition:
        if not self.text:
            return other
        return Condition(f"{self.text} and {other.text}", lambda values: self(values) and other(values))


ALWAYS = Condition("", lambda values: True)


def switched_on(name: str) -> Condition:
    return Condition(name, lambda values: bool(values[name]))


def switched_off(name: str) -> Condition:
    return Condition(f"not {name}", lambda values: not values[name])


def positive(name: str) -> Condition:
    return Condition(f"{name} > 0", lambda values: values[name] > 0)


def zero(name: str) -> Condition:
    return Condition(f"{name} = 0", lambda values: values[name] == 0)


class Equation(NamedTuple):
    """One line of an update rule in LaTeX (KaTeX-compatible, for st.latex) and when it applies."""

    latex: str
    when: Condition = ALWAYS


@dataclass(frozen=True)
class Optimizer:
    """Everything about one optimizer: the UI, validation, lecture mode and docs read this.

    `build(xp, **hyperparameters) -> Rule` binds the hyperparameters; `xp` is the array
    namespace (see `backend`). `equations` lists the update, one LaTeX line each, every
    variant its hyperparameters switch on; `equations_for` picks those of one setting.
    `constraints` are the rules spanning several hyperparameters (torch's own checks).
    """

    name: str
    title: str
    build: Callable[..., Rule]
    hyperparameters: tuple[Hyperparameter, ...]
    equations: tuple[Equation, ...]
    reference: str
    summary: str = ""
    elementwise: bool = True       # False: coordinates are coupled (Newton), NumPy path only
    needs_landscape: bool = False  # build() also receives `landscape=` (for the Hessian)
    # build() takes any float hyperparameter as an (N,) array, one value per start, and update()
    # an (N,) lr: the NumPy path steps a sweep's starts in one batch, not one setting at a time
    per_start_arrays: bool = False
    constraints: tuple[Constraint, ...] = ()
    state_labels: dict[str, str] = field(default_factory=dict)  # state key -> LaTeX symbol

    @property
    def defaults(self) -> dict[str, Any]:
        return {h.name: h.default for h in self.hyperparameters}

    def validate(self, **given: Any) -> dict[str, Any]:
        """All hyperparameters, defaults filled in and checked; `HyperparameterError` if not."""
        values = self._checked(given)
        for constraint in self.constraints:
            constraint.check(values)
        return values

    def validate_rows(self, template: Mapping[str, Any], varying: list[tuple[str, int]],
                      rows: list[list[float]]) -> list[dict[str, Any]]:
        """`validate` of many settings at once: `template` with, for each row, the numbers of
        `varying` ((name, -1) a float, (name, i) element i of a pair) put in. Equal to calling
        `validate` on each (the same values, the same refusals), each column's ranges checked at once."""
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in varying]
        specs = {h.name: h for h in self.hyperparameters}
        for (name, _), column in zip(varying, columns, strict=True):
            spec = specs.get(name)
            if spec is None:
                break  # validate names the unknown hyperparameter below
            for number in _out_of_range(spec, column):
                spec.check_number(number)  # raises, with the message validate gives
        first = self.validate(**_put(dict(template), varying, rows[0]))
        spanning = [c for c in self.constraints if {n for n, _ in varying} & set(c.names)]
        if spanning:  # each distinct combination of the numbers they read, checked once, in row order
            reads = [k for k, (name, _) in enumerate(varying) if any(name in c.names for c in spanning)]
            seen = {tuple(rows[0][k] for k in reads)}
            for row in rows[1:]:
                combination = tuple(row[k] for k in reads)
                if combination not in seen:
                    seen.add(combination)
                    values = _put(dict(first), varying, row)
                    for constraint in spanning:
                        constraint.check(values)
        if all(element < 0 for _, element in varying):  # floats only: no pair to rebuild per row
            names = [name for name, _ in varying]
            settings = [first]
            for row in rows[1:]:
                values = first.copy()
                values.update(zip(names, row, strict=True))
                settings.append(values)
            return settings
        return [first, *(_put(dict(first), varying, row) for row in rows[1:])]

    def equations_for(self, hyperparameters: Mapping[str, Any] | None = None) -> list[str]:
        r"""The LaTeX lines of the update these settings use, in order (defaults fill the rest).

        Each value is checked against its range (`HyperparameterError` if outside); the
        cross-hyperparameter constraints are not, so an invalid combination still shows its math.

        >>> from optimizers import get_optimizer
        >>> print(get_optimizer("rmsprop").equations_for({"centered": True})[-1])
        \theta_t = \theta_{t-1} - \eta\, \frac{g_t}{\sqrt{v_t - \bar g_t^2} + \epsilon}
        """
        values = self._checked(dict(hyperparameters or {}))
        return [equation.latex for equation in self.equations if equation.when(values)]

    def _checked(self, given: Mapping[str, Any]) -> dict[str, Any]:
        specs = {h.name: h for h in self.hyperparameters}
        unknown = sorted(set(given) - set(specs))
        if unknown:
            raise HyperparameterError(
                f"{self.title} has no hyperparameter {', '.join(map(repr, unknown))}; "
                f"its hyperparameters are {', '.join(specs)}")
        return {name: spec.check(given.get(name, spec.default)) for name, spec in specs.items()}

    def docstring(self) -> str:
        """The update function's documentation, written from this record (see `register`)."""
        notes = inspect.cleandoc(getattr(self.build, "notes", self.build.__doc__) or "")
        width = max(len(e.latex) for e in self.equations)
        lines = [f"{self.title}: {self.summary}", "", *([notes, ""] if notes else []),
                 "Update (LaTeX; every variant, with the settings that switch it on):", ""]
        lines += [f"    {e.latex.ljust(width)}   [{e.when.text}]" if e.when.text else f"    {e.latex}"
                  for e in self.equations]
        lines += ["", "Hyperparameters (torch.optim's keywords and defaults):", ""]
        for h in self.hyperparameters:
            symbol = f" (${h.symbol}$)" if h.symbol else ""
            lines.append(f"    {h.name}{symbol}: {h.meaning}; default {h.default!r}, {h.range_text}")
        if self.constraints:
            lines += ["", "Constraints:", "", *(f"    {c.message}" for c in self.constraints)]
        start = "[(-1.5, 2.0)]"
        lines += ["", f"Reference: {self.reference}", "", "Example:", "",
                  ">>> from optimizers import simulate",
                  f'>>> run = simulate("rosenbrock", "{self.name}", starts={start}, steps=3)',
                  ">>> run.points.shape", "(1, 4, 2)", ""]
        return "\n".join(lines)


def _put(setting: dict[str, Any], varying: list[tuple[str, int]], row: list[float]) -> dict[str, Any]:
    for (name, element), number in zip(varying, row, strict=True):
        if element < 0:
            setting[name] = number
        else:
            value = setting.get(name)
            pair = [None, None] if value is None or hasattr(value, "shape") else list(value)
            pair[element] = number
            setting[name] = tuple(pair)
    return setting


def _out_of_range(spec: Hyperparameter, column) -> list[float]:
    """The first number of `column` outside `spec`'s range (NaN and ±inf included), if any."""
    values = np.asarray(column, dtype=float)
    bad = ~np.isfinite(values)
    bad |= (values <= spec.low) if spec.low_open else (values < spec.low)
    bad |= (values >= spec.high) if spec.high_open else (values > spec.high)
    where = np.flatnonzero(bad)
    return [float(values[where[0]])] if len(where) else []


OPTIMIZERS: dict[str, Optimizer] = {}


def register(optimizer: Optimizer) -> Optimizer:
    """Add the record to OPTIMIZERS and write its update function's docstring from it
    (so ``help(adam)`` shows the equations). Each record has its own update function."""
    if any(other.build is optimizer.build for other in OPTIMIZERS.values()):
        raise ValueError(f"{optimizer.name}: its build function is another record's; give it its own")
    OPTIMIZERS[optimizer.name] = optimizer
    optimizer.build.notes = optimizer.build.__doc__  # the hand-written part, kept for docstring()
    optimizer.build.__doc__ = optimizer.docstring()
    return optimizer


# Shared hyperparameter specs: one wording, one range, everywhere they appear.
def lr(default: float) -> Hyperparameter:
    return Hyperparameter("lr", default, "learning rate: the size of each step", r"\eta", low=0.0)


def weight_decay(default: float = 0.0) -> Hyperparameter:
    return Hyperparameter("weight_decay", default,
                          "weight decay λ: pulls the parameters towards 0", r"\lambda", low=0.0)


def decoupled(default: bool = False) -> Hyperparameter:
    return Hyperparameter("decoupled_weight_decay", default,
                          "decay the parameters directly (AdamW) instead of adding λθ to the "
                          "gradient (L2)", kind="bool")


def betas(default: tuple[float, float] = (0.9, 0.999)) -> Hyperparameter:
    return Hyperparameter("betas", default,
                          "(β₁, β₂): decay rates of the first and second moment averages",
                          r"\beta_1, \beta_2", low=0.0, high=1.0, high_open=True, kind="pair")


def eps(default: float) -> Hyperparameter:
    return Hyperparameter("eps", default, "ε added to the denominator to avoid division by 0",
                          r"\epsilon", low=0.0, low_open=True)


# Shared equation lines: the gradient each weight-decay mode steps with.
def weight_decay_equations(decoupled_option: bool) -> tuple[Equation, ...]:
    """The first lines of an update: plain gradient, L2 (torch's `weight_decay`, λθ added to
    the gradient) or, where the optimizer offers `decoupled_weight_decay`, θ shrunk directly."""
    if not decoupled_option:
        return (Equation(r"g_t = \nabla f(\theta_{t-1})", zero("weight_decay")),
                Equation(r"g_t = \nabla f(\theta_{t-1}) + \lambda\, \theta_{t-1}", positive("weight_decay")))
    decoupled_decay = positive("weight_decay") & switched_on("decoupled_weight_decay")
    l2 = positive("weight_decay") & switched_off("decoupled_weight_decay")
    return (
        Equation(r"\theta_{t-1} \leftarrow (1 - \eta\lambda)\, \theta_{t-1}", decoupled_decay),
        Equation(r"g_t = \nabla f(\theta_{t-1})",
                 Condition("weight_decay = 0 or decoupled_weight_decay", lambda values: not l2(values))),
        Equation(r"g_t = \nabla f(\theta_{t-1}) + \lambda\, \theta_{t-1}", l2),
    )


def ordered_pair(name: str, text: str) -> Constraint:
    """A (min, max) pair whose first element must not exceed the second."""
    return Constraint((name,), lambda **values: values[name][0] <= values[name][1], text)
