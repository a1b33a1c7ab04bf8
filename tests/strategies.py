"""Hypothesis strategies for valid settings, built once from the registry records.

Every value comes from its `Hyperparameter` (kind, low/high, open ends, choices) and every
rule spanning several hyperparameters from the record's `constraints`: a new optimizer or
schedule is drawn correctly without touching the tests. A `Scale` says how far unbounded
ranges reach: `MODEST` keeps runs meaningful (properties of `simulate`), `WIDE` goes to the
extremes a URL or a text box can carry (the UI's state).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from optimizers import SCHEDULES, Constraint, Hyperparameter, get_optimizer


@dataclass(frozen=True)
class Scale:
    """How far the drawn values reach where a range does not stop them."""

    span: float              # an unbounded float goes at most this far above its lower end (above 0)
    open_margin: float       # keep this far inside an open lower bound (0: just exclude it)
    int_span: int            # an unbounded int goes at most this far above its lower end
    milestone_max: int       # largest milestone step
    milestone_sizes: tuple[int, int]
    lr: tuple[float, float] | None = None  # the learning rate's own range, if narrower


# Modest: not a subnormal eps (dividing by 5e-324 overflows) and no lr so large that every run
# diverges at its first step.
MODEST = Scale(span=2.0, open_margin=1e-12, int_span=50, milestone_max=150, milestone_sizes=(0, 4),
               lr=(1e-4, 1.0))
# Wide: anything a link may carry. (Milestone lists of length 0 and 1 have their own UI test.)
WIDE = Scale(span=1e12, open_margin=0.0, int_span=10**6, milestone_max=10**6, milestone_sizes=(2, 5))


def number(spec: Hyperparameter, scale: Scale = MODEST) -> st.SearchStrategy[float]:
    """A float inside the spec's range, open ends excluded."""
    low, high = spec.low, spec.high
    if spec.name == "lr" and scale.lr is not None:
        low, high = max(low, scale.lr[0]), min(high, scale.lr[1])
    low = max(low, -scale.span)
    high = min(high, max(low, 0.0) + scale.span)
    exclude_min = spec.low_open and low == spec.low
    if exclude_min and scale.open_margin:
        low, exclude_min = low + scale.open_margin, False
    return st.floats(low, high, exclude_min=exclude_min, exclude_max=spec.high_open and high == spec.high,
                     allow_nan=False)


def value_of(spec: Hyperparameter, scale: Scale = MODEST) -> st.SearchStrategy:
    """Any value of one hyperparameter or schedule argument inside its own range."""
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "choice":
        return st.sampled_from(spec.choices)
    if spec.kind == "int":
        low = (math.ceil(spec.low) if math.isfinite(spec.low) else -scale.int_span) + spec.low_open
        high = low + scale.int_span
        if math.isfinite(spec.high):
            high = min(high, math.floor(spec.high) - spec.high_open)
        return st.integers(low, high)
    if spec.kind == "milestones":
        smallest, largest = scale.milestone_sizes
        return st.lists(st.integers(max(int(spec.low), 0), scale.milestone_max),
                        min_size=smallest, max_size=largest)
    if spec.kind == "pair":
        return st.tuples(number(spec, scale), number(spec, scale))
    return number(spec, scale)


def _value_or_default(spec: Hyperparameter, scale: Scale, defaults: bool) -> st.SearchStrategy:
    drawn = value_of(spec, scale)
    return st.one_of(st.just(spec.default), drawn) if defaults else drawn


def _groups(constraints: tuple[Constraint, ...]) -> list[tuple[set[str], list[Constraint]]]:
    """Constraints joined where they share a hyperparameter: each group is drawn together."""
    groups: list[tuple[set[str], list[Constraint]]] = []
    for constraint in constraints:
        names, members = set(constraint.names), [constraint]
        for group in [g for g in groups if g[0] & names]:
            groups.remove(group)
            names |= group[0]
            members += group[1]
        groups.append((names, members))
    return groups


@st.composite
def settings_of(draw, specs: tuple[Hyperparameter, ...], constraints: tuple[Constraint, ...] = (),
                scale: Scale = MODEST, defaults: bool = False) -> dict[str, Any]:
    """A valid setting of every spec; `defaults`: each value is its default half the time.

    Hyperparameters a constraint spans are drawn together until the constraint holds
    (defaults always satisfy it, so mixing them in keeps the rejections few).
    """
    by_name = {spec.name: spec for spec in specs}
    constrained: set[str] = set()
    values: dict[str, Any] = {}
    for names, members in _groups(constraints):
        ordered = sorted(names)
        joint = st.tuples(*(_value_or_default(by_name[name], scale, True) for name in ordered)).map(
            lambda drawn, ordered=ordered: dict(zip(ordered, drawn, strict=True)))
        values.update(draw(joint.filter(lambda drawn, members=members: _holds(members, drawn))))
        constrained |= names
    for spec in specs:
        if spec.name not in constrained:
            values[spec.name] = draw(_value_or_default(spec, scale, defaults))
    return {spec.name: values[spec.name] for spec in specs}


def _holds(constraints: list[Constraint], values: Mapping[str, Any]) -> bool:
    normalized = {name: _normalize(value) for name, value in values.items()}
    return all(c.holds(**{name: normalized[name] for name in c.names}) for c in constraints)


def _normalize(value: Any) -> Any:
    return tuple(sorted(value)) if isinstance(value, list) else value


def hyperparameters(name: str, scale: Scale = MODEST, defaults: bool = False) -> st.SearchStrategy[dict]:
    """Valid hyperparameters of optimizer `name` (they pass its `validate`)."""
    spec = get_optimizer(name)
    return settings_of(spec.hyperparameters, spec.constraints, scale, defaults)


def schedule_arguments(name: str, scale: Scale = MODEST, defaults: bool = False) -> st.SearchStrategy[dict]:
    """Valid arguments of schedule `name` (they pass `check_schedule_arguments`)."""
    schedule = SCHEDULES[name]
    return settings_of(schedule.arguments, schedule.constraints, scale, defaults)
