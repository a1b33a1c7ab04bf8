"""The optimizer record: one per optimizer, read by simulate, validation, the UI and the docs."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
class Optimizer:
    """Everything about one optimizer: the UI, validation, lecture mode and docs read this.

    `build(xp, **hyperparameters) -> Rule` binds the hyperparameters; `xp` is the array
    namespace (see `backend`). `equations` is LaTeX, one update per line.
    """

    name: str
    title: str
    build: Callable[..., Rule]
    hyperparameters: tuple[Hyperparameter, ...]
    equations: str
    reference: str
    summary: str = ""
    elementwise: bool = True       # False: coordinates are coupled (Newton), NumPy path only
    needs_landscape: bool = False  # build() also receives `landscape=` (for the Hessian)
    check: Callable[[dict], None] | None = field(default=None, repr=False)
    state_labels: dict[str, str] = field(default_factory=dict)  # state key -> LaTeX symbol

    @property
    def defaults(self) -> dict[str, Any]:
        return {h.name: h.default for h in self.hyperparameters}

    def validate(self, **given: Any) -> dict[str, Any]:
        """All hyperparameters, defaults filled in and checked; `HyperparameterError` if not."""
        specs = {h.name: h for h in self.hyperparameters}
        unknown = sorted(set(given) - set(specs))
        if unknown:
            raise HyperparameterError(
                f"{self.title} has no hyperparameter {', '.join(map(repr, unknown))}; "
                f"its hyperparameters are {', '.join(specs)}")
        values = {name: spec.check(given.get(name, spec.default)) for name, spec in specs.items()}
        if self.check is not None:
            self.check(values)
        return values


OPTIMIZERS: dict[str, Optimizer] = {}


def register(optimizer: Optimizer) -> Optimizer:
    OPTIMIZERS[optimizer.name] = optimizer
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
