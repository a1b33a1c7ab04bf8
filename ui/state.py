"""The Compare page's whole state, and its round trip through URL query parameters.

Plain Python (no Streamlit): the page reads and writes it through `ui.session`. A URL is
read forgivingly: every missing, unknown or invalid value falls back to its default and
adds a one-line notice; nothing in a URL can raise.

Query parameters (repeated keys keep their order)::

    landscape=rosenbrock | formula=x**2+3*sin(y)
    opt=adam,lr=0.05,betas=0.9/0.999,schedule=StepLR,schedule.step_size=30,polyak=1,colour=2
    start=-1.5,2&start=0,2   steps=300  noise=0  seed=0  tol=0.001
    log=1  view=contour|surface  speed=1  bounds=-2,2,-1,3  present=1
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from landscapes import Bounds, get_landscape, landscape_names
from landscapes.core import DEFAULT_OPTIMIZERS, DEFAULT_STEPS
from optimizers import SCHEDULES, HyperparameterError, get_optimizer, optimizer_names
from optimizers.schedules import WARMUP

MAX_STEPS = 2000
MAX_STARTS = 12
MAX_CARDS = 16
MAX_COORDINATE = 1e6
VIEWS = ("contour", "surface")
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Card:
    """One optimizer card: an optimizer, the hyperparameters set away from their defaults,
    an optional schedule, Polyak averaging on or off, and its palette slot (its colour)."""

    optimizer: str
    settings: tuple[tuple[str, Any], ...] = ()
    schedule: tuple[tuple[str, Any], ...] = ()  # (("name", "StepLR"), ("step_size", 30), ...) or ()
    polyak: bool = False
    slot: int = 0

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.settings)

    @property
    def schedule_dict(self) -> dict[str, Any] | None:
        return dict(self.schedule) if self.schedule else None


def card(optimizer: str, slot: int = 0, schedule: dict | None = None, polyak: bool = False,
         **hyperparameters: Any) -> Card:
    """A card with its settings in a canonical order (the registry's), defaults left out."""
    defaults = get_optimizer(optimizer).defaults
    settings = tuple((name, hyperparameters[name]) for name in defaults
                     if name in hyperparameters and hyperparameters[name] != defaults[name])
    unknown = set(hyperparameters) - set(defaults)
    if unknown:
        raise HyperparameterError(f"{optimizer} has no hyperparameter {', '.join(sorted(unknown))}")
    return Card(optimizer, settings, tuple(schedule.items()) if schedule else (), polyak, slot)


def default_cards(landscape: str, formula: str = "") -> tuple[Card, ...]:
    """The cards a landscape opens with (its record's `optimizers`; a formula gets the generic ones)."""
    suggested = DEFAULT_OPTIMIZERS if formula else get_landscape(landscape).optimizers
    return tuple(card(name, slot, **settings) for slot, (name, settings) in enumerate(suggested))


def default_steps(landscape: str, formula: str = "") -> int:
    return DEFAULT_STEPS if formula else get_landscape(landscape).steps


def with_defaults_of(state: CompareState, landscape: str, formula: str = "") -> CompareState:
    """`state` moved to another landscape (or formula), with that landscape's own cards and
    steps, its default starts and its own view."""
    return replace(state, landscape=landscape, formula=formula, cards=default_cards(landscape, formula),
                   steps=default_steps(landscape, formula), starts=(), bounds=None)


@dataclass(frozen=True)
class CompareState:
    landscape: str = "quadratic"
    formula: str = ""  # a custom f(x, y); when set it replaces `landscape`
    cards: tuple[Card, ...] = default_cards("quadratic")
    starts: tuple[tuple[float, float], ...] = ()  # () means the landscape's default starts
    steps: int = 150
    noise: float = 0.0
    seed: int = 0
    tol: float = 1e-3
    log_loss: bool = True
    view: str = "contour"
    speed: float = 1.0
    bounds: Bounds | None = None  # None: the landscape's own view
    presentation: bool = False  # large fonts and lines, for a projector
    notices: tuple[str, ...] = field(default=(), compare=False)

    @property
    def has_default_cards(self) -> bool:
        return self.cards == default_cards(self.landscape, self.formula)

    def free_slot(self) -> int:
        """The lowest palette slot no card uses: a new card never takes another's colour."""
        used = {c.slot for c in self.cards}
        return next(slot for slot in range(MAX_CARDS + 1) if slot not in used)


DEFAULT = CompareState()


# -- writing -----------------------------------------------------------------------
def to_query(state: CompareState) -> dict[str, str | list[str]]:
    """Query parameters for `state`; values equal to the defaults are left out."""
    query: dict[str, str | list[str]] = {}
    if state.formula:
        query["formula"] = state.formula
    elif state.landscape != DEFAULT.landscape:
        query["landscape"] = state.landscape
    if not state.has_default_cards:
        query["opt"] = [_card_text(c) for c in state.cards] or ["none"]
    if state.starts:
        query["start"] = [f"{_number(x)},{_number(y)}" for x, y in state.starts]
    if state.steps != default_steps(state.landscape, state.formula):
        query["steps"] = str(state.steps)
    for key, name in (("noise", "noise"), ("seed", "seed"), ("tol", "tol"),
                      ("view", "view"), ("speed", "speed")):
        value = getattr(state, name)
        if value != getattr(DEFAULT, name):
            query[key] = _number(value) if isinstance(value, float) else str(value)
    if state.log_loss != DEFAULT.log_loss:
        query["log"] = "1" if state.log_loss else "0"
    if state.presentation:
        query["present"] = "1"
    if state.bounds is not None:
        query["bounds"] = ",".join(_number(v) for v in state.bounds.flat)
    return query


def _card_text(c: Card) -> str:
    parts = [c.optimizer, *(f"{name}={_value_text(value)}" for name, value in c.settings)]
    for name, value in c.schedule:
        parts.append(f"schedule={value}" if name == "name" else f"schedule.{name}={_value_text(value)}")
    if c.polyak:
        parts.append("polyak=1")
    parts.append(f"colour={c.slot}")
    return ",".join(parts)


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (tuple, list)):
        return "/".join(_value_text(v) for v in value)
    return _number(value) if isinstance(value, float) else str(value)


def _number(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


# -- reading -----------------------------------------------------------------------
KNOWN_KEYS = {"landscape", "formula", "opt", "start", "steps", "noise", "seed", "tol", "log", "view",
              "speed", "bounds", "present"}


Reader = tuple[str, Callable[[str], Any], str]  # (field, read: text -> value or None, what is expected)


def read_values(readers: Mapping[str, Reader], last: Callable[[str], str | None],
                notices: list[str]) -> dict[str, Any]:
    """The fields the URL's keys give (`last(key)`: the key's text, None when absent); a text its
    reader refuses is left out, with a notice saying what was expected."""
    values: dict[str, Any] = {}
    for key, (name, read, expected) in readers.items():
        text = last(key)
        if text is None:
            continue
        value = read(text)
        if value is None:
            notices.append(f"ignored {key}={text[:40]!r}: expected {expected}")
        else:
            values[name] = value
    return values


def from_query(query: Mapping[str, str | list[str]]) -> CompareState:
    """The state a URL describes; anything unusable takes its default and adds a notice to
    `state.notices`. Never raises."""
    notices: list[str] = []
    values = {key: (list(value) if isinstance(value, (list, tuple)) else [value]) for key, value in query.items()}

    def last(key: str) -> str | None:
        return str(values[key][-1]) if values.get(key) else None

    for key in sorted(set(values) - KNOWN_KEYS):
        notices.append(f"ignored the unknown URL parameter {key!r}")
    changes: dict[str, Any] = {}

    if formula := last("formula"):
        changes["formula"] = formula  # a refused formula is explained by the parser on the page
    elif (name := last("landscape")) is not None:
        if name in landscape_names():
            changes["landscape"] = name
        else:
            notices.append(f"unknown landscape {name!r}: showing the {DEFAULT.landscape} instead")

    if "opt" in values:
        cards = _read_cards(values["opt"], notices)
        if cards is not None:
            changes["cards"] = cards
    if "start" in values:
        changes["starts"] = _read_starts(values["start"], notices)

    readers = {
        "steps": ("steps", lambda t: _whole(t, 1, MAX_STEPS), f"a whole number from 1 to {MAX_STEPS}"),
        "noise": ("noise", lambda t: _real(t, 0.0, 1e3), "a number ≥ 0"),
        "seed": ("seed", lambda t: _whole(t, 0, 2**32 - 1), "a whole number ≥ 0"),
        "tol": ("tol", lambda t: _real(t, 0.0, 1e12, low_open=True), "a number > 0"),
        "log": ("log_loss", _flag, "0 or 1"),
        "present": ("presentation", _flag, "0 or 1"),
        "view": ("view", lambda t: t if t in VIEWS else None, " or ".join(VIEWS)),
        "speed": ("speed", lambda t: (v if (v := _real(t, 0, 10)) in SPEEDS else None),
                  "one of " + ", ".join(f"{s:g}" for s in SPEEDS)),
        "bounds": ("bounds", _read_bounds, "x0,x1,y0,y1 with x0 < x1 and y0 < y1"),
    }
    changes.update(read_values(readers, last, notices))
    landscape, formula = changes.get("landscape", DEFAULT.landscape), changes.get("formula", "")
    changes.setdefault("cards", default_cards(landscape, formula))
    changes.setdefault("steps", default_steps(landscape, formula))
    return replace(DEFAULT, **changes, notices=tuple(notices))


def _read_cards(texts: list[str], notices: list[str]) -> tuple[Card, ...] | None:
    if texts == ["none"]:
        return ()
    cards: list[tuple[Card, bool]] = []  # each card, and whether the link gave its colour
    for text in texts[:MAX_CARDS]:
        read = _read_card(str(text), notices)
        if read is not None:
            cards.append(read)
    if len(texts) > MAX_CARDS:
        notices.append(f"kept the first {MAX_CARDS} optimizers of the URL")
    # Two cards never share a colour. A card whose link gave no colour takes the lowest free
    # one, silently; only a colour the link did give twice is worth a notice.
    taken: set[int] = set()
    for index, (c, given) in enumerate(cards):
        if c.slot in taken or not given:
            free = next(s for s in range(MAX_CARDS * 2 + 1) if s not in taken and
                        not any(g and o.slot == s for o, g in cards[index + 1:]))
            if given:
                notices.append(f"two optimizers had colour={c.slot}: gave the second colour={free}")
            cards[index] = (c := replace(c, slot=free)), given
        taken.add(c.slot)
    if not cards:
        notices.append("no usable optimizer in the URL: showing the default ones")
        return None
    return tuple(c for c, _ in cards)


def _read_card(text: str, notices: list[str]) -> tuple[Card, bool] | None:
    name, *pairs = text.split(",")
    if name not in optimizer_names():
        notices.append(f"ignored the unknown optimizer {name[:40]!r}")
        return None
    spec = get_optimizer(name)
    specs = {h.name: h for h in spec.hyperparameters}
    settings: dict[str, Any] = {}
    schedule: dict[str, Any] = {}
    polyak, slot, coloured = False, 0, False
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            if key == "polyak":
                if (flag := _flag(value)) is None:
                    raise HyperparameterError("polyak must be 0 or 1")
                polyak = flag
            elif key == "colour":
                if (whole := _whole(value, 0, MAX_CARDS * 2)) is None:
                    raise HyperparameterError(f"colour must be a whole number from 0 to {MAX_CARDS * 2}")
                slot, coloured = whole, True
            elif key in ("schedule", "schedule.name"):
                if value not in SCHEDULES:
                    raise HyperparameterError(f"unknown schedule {value[:40]!r}")
                schedule["name"] = value
            elif key.startswith("schedule."):
                schedule[key.removeprefix("schedule.")] = value  # parsed once the schedule is known
            elif key in specs:
                settings[key] = specs[key].check(_parse_value(value, specs[key].kind))
            else:
                raise HyperparameterError(f"{spec.title} has no hyperparameter {key!r}")
        except HyperparameterError as error:
            notices.append(f"{spec.title}: {error}; using the default")
    try:
        spec.validate(**settings)
    except HyperparameterError as error:
        notices.append(f"{spec.title}: {error}; using its defaults")
        settings = {}
    checked_schedule = _read_schedule(schedule, spec.title, notices)
    return card(name, slot, checked_schedule, polyak, **settings), coloured


def _read_schedule(schedule: dict[str, Any], title: str, notices: list[str]) -> dict[str, Any] | None:
    if not schedule:
        return None
    if "name" not in schedule:
        notices.append(f"{title}: schedule arguments without a schedule name were ignored")
        return None
    from optimizers.schedules import check_schedule_arguments

    specs = {a.name: a for a in SCHEDULES[schedule["name"]].arguments}
    arguments = {k: _parse_value(v, specs[k].kind if k in specs else "") for k, v in schedule.items()
                 if k not in ("name", "warmup")}
    try:
        checked = check_schedule_arguments(schedule["name"], arguments)
        warmup = WARMUP.check(_parse_value(schedule.get("warmup", "0"), "int"))
    except HyperparameterError as error:
        notices.append(f"{title}: {error}; using the schedule's defaults")
        checked, warmup = check_schedule_arguments(schedule["name"], {}), 0
    return {"name": schedule["name"], **checked, **({"warmup": warmup} if warmup else {})}


def _parse_value(text: str, kind: str = "") -> Any:
    """A URL value: numbers, 0/1 for switches, a/b for pairs and lists; the spec checks it."""
    if kind == "bool":
        flag = _flag(text)
        return text if flag is None else flag
    if "/" in text or kind in ("pair", "milestones"):
        return tuple(_parse_value(part) for part in text.split("/") if part) if text else ()
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _read_starts(texts: list[str], notices: list[str]) -> tuple[tuple[float, float], ...]:
    starts = []
    for text in texts:
        parts = str(text).split(",")
        coordinates = [_real(p, -MAX_COORDINATE, MAX_COORDINATE) for p in parts] if len(parts) == 2 else [None]
        if None in coordinates:
            notices.append(f"ignored the start {str(text)[:40]!r}: expected x,y with |x|, |y| ≤ {MAX_COORDINATE:g}")
        else:
            starts.append((coordinates[0], coordinates[1]))
    if len(starts) > MAX_STARTS:
        notices.append(f"kept the first {MAX_STARTS} starts of the URL")
    return tuple(starts[:MAX_STARTS])


def _read_bounds(text: str) -> Bounds | None:
    parts = text.split(",")
    if len(parts) != 4:
        return None
    values = [_real(p, -MAX_COORDINATE, MAX_COORDINATE) for p in parts]
    if None in values or not (values[0] < values[1] and values[2] < values[3]):
        return None
    return Bounds.of(*values)


def _real(text: str, low: float, high: float, low_open: bool = False) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
        return None
    return value


def _whole(text: str, low: int, high: int) -> int | None:
    value = _real(text, low, high)
    return int(value) if value is not None and value.is_integer() else None


def _flag(text: str) -> bool | None:
    return {"1": True, "0": False, "true": True, "false": False}.get(str(text).lower())
