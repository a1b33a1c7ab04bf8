"""The Compare page's widgets: landscape picker, run settings, optimizer cards.

Each widget's value lives under its key in `st.session_state`, seeded from the state when
the widget first appears (so a URL or a click can set it); each function returns the
state with what its widgets now say.
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import streamlit as st

from figures import colour
from figures.animation import CLICK_TRACE
from figures.style import format_value, legend_labels
from landscapes import FormulaError, Landscape, landscape_names
from landscapes.custom import DEFAULT_BOUNDS as CUSTOM_BOUNDS
from optimizers import SCHEDULES, Hyperparameter, HyperparameterError, get_optimizer, optimizer_names
from optimizers.schedules import WARMUP, check_schedule_arguments

from . import compute, session
from .state import DEFAULT, MAX_CARDS, MAX_STARTS, MAX_STEPS, Card, CompareState, card

CUSTOM = "custom"
LANDSCAPE_KEY = "compare.landscape"
FORMULA_KEY = "compare.formula"
LAST_GOOD_KEY = "compare.last_good_formula"
STARTS_KEY = "compare.starts"
BOUNDS_KEYS = ("compare.x0", "compare.x1", "compare.y0", "compare.y1")
ADD_KEY = "compare.add"
EXAMPLE_FORMULA = "(x**2 + y - 11)**2 / 10 + 0.5*sin(3*x)"


def _seed(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


# -- landscape ---------------------------------------------------------------------
def landscape_picker(state: CompareState) -> tuple[CompareState, Landscape]:
    """Catalog or formula. A refused formula shows its message under the input and the page
    goes on with the last formula that worked (or the default landscape)."""
    names = [*landscape_names(), CUSTOM]
    _seed(LANDSCAPE_KEY, CUSTOM if state.formula else state.landscape)
    choice = st.selectbox("Landscape", names, key=LANDSCAPE_KEY, on_change=_landscape_changed,
                          format_func=_landscape_title)
    if choice != CUSTOM:
        landscape = compute.catalog_landscape(choice)
        st.caption(f"${landscape.latex}$  \n{landscape.lesson}")
        return replace(state, landscape=choice, formula=""), landscape

    _seed(FORMULA_KEY, state.formula or EXAMPLE_FORMULA)
    formula = st.text_input("f(x, y) =", key=FORMULA_KEY, max_chars=2000,
                            help="Use x, y, numbers, pi, e, + - * / ** and sin, cos, tan, exp, log, sqrt, "
                                 "tanh, abs. Nothing you type is executed.")
    try:
        landscape = compute.custom_landscape(formula, state.bounds)
        st.session_state[LAST_GOOD_KEY] = formula
    except (FormulaError, ValueError) as error:
        st.error(str(error), icon="⚠️")
        last_good = st.session_state.get(LAST_GOOD_KEY)
        landscape = (compute.custom_landscape(last_good, state.bounds) if last_good
                     else compute.catalog_landscape(DEFAULT.landscape))
        st.caption(f"Still showing: {landscape.title}")
    return replace(state, formula=formula), landscape


def _landscape_title(name: str) -> str:
    return "your own formula…" if name == CUSTOM else compute.catalog_landscape(name).title


def _landscape_changed() -> None:
    """A new landscape starts from its own default starts and view."""
    state = session.load()
    st.session_state[session.STATE_KEY] = replace(state, starts=(), bounds=None)
    for key in (STARTS_KEY, *BOUNDS_KEYS):
        st.session_state.pop(key, None)


# -- run settings ------------------------------------------------------------------
def format_starts(starts) -> str:
    return "; ".join(f"{format_value(float(x))}, {format_value(float(y))}" for x, y in starts)


def parse_starts(text: str) -> tuple[tuple[float, float], ...]:
    """`"x, y; x, y"` as points; `ValueError` saying which part is wrong."""
    starts = []
    for number, part in enumerate(filter(None, (p.strip() for p in text.split(";"))), 1):
        pieces = part.split(",")
        try:
            x, y = (float(p) for p in pieces)
        except ValueError:
            raise ValueError(f"start {number} ({part!r}) is not 'x, y'") from None
        if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > 1e6:
            raise ValueError(f"start {number} ({part!r}) must be finite numbers within ±1e6")
        starts.append((x, y))
    if len(starts) > MAX_STARTS:
        raise ValueError(f"at most {MAX_STARTS} starts, got {len(starts)}")
    return tuple(starts)


def run_settings(state: CompareState, landscape: Landscape) -> CompareState:
    """Starts (typed, or added by clicking the contour), steps, noise, seed, tolerance, view."""
    _seed(STARTS_KEY, format_starts(state.starts))
    text = st.text_input("Starts (x, y; x, y …)", key=STARTS_KEY, placeholder=format_starts(landscape.starts),
                         help="Several starts separated by ';'. Empty: the landscape's default start. "
                              "Click the contour to add a start.")
    try:
        starts = parse_starts(text)
    except ValueError as error:
        st.error(str(error), icon="⚠️")
        starts = state.starts
    _seed("compare.steps", state.steps)
    steps = st.slider("Steps", 1, MAX_STEPS, key="compare.steps")
    left, right = st.columns(2)
    _seed("compare.noise", state.noise)
    noise = left.number_input("Gradient noise σ", min_value=0.0, max_value=1000.0, step=0.1, format="%g",
                              key="compare.noise", help="Adds σ·N(0, I) to every gradient")
    _seed("compare.seed", state.seed)
    seed = right.number_input("Seed", min_value=0, max_value=2**32 - 1, step=1, key="compare.seed",
                              help="Same seed, same noise: the run repeats bit for bit")
    _seed("compare.tol", state.tol)
    tol = st.number_input("Tolerance for the table", min_value=1e-12, max_value=1e12, format="%g", step=1e-3,
                          key="compare.tol", help="Steps to tolerance: first step with loss ≤ lowest minimum + tol")
    bounds = _view_bounds(state, landscape)
    return replace(state, starts=starts, steps=int(steps), noise=float(noise), seed=int(seed), tol=float(tol),
                   bounds=bounds)


def _view_bounds(state: CompareState, landscape: Landscape) -> tuple[float, float, float, float] | None:
    (x0, x1), (y0, y1) = landscape.bounds
    initial = state.bounds or (x0, x1, y0, y1)
    with st.expander("View", expanded=False):
        columns = st.columns(4)
        values = []
        for column, key, label, value in zip(columns, BOUNDS_KEYS, ("x min", "x max", "y min", "y max"), initial,
                                             strict=True):
            _seed(key, float(value))
            values.append(column.number_input(label, key=key, format="%g", step=0.5,
                                              min_value=-1e6, max_value=1e6))
    if not (values[0] < values[1] and values[2] < values[3]):
        st.error("The view needs x min < x max and y min < y max.", icon="⚠️")
        return state.bounds
    bounds = tuple(float(v) for v in values)
    (d0, d1), (e0, e1) = CUSTOM_BOUNDS if state.formula else landscape.bounds
    return None if bounds == (d0, d1, e0, e1) else bounds  # None: the landscape's own view


# -- optimizer cards ---------------------------------------------------------------
def optimizer_cards(state: CompareState) -> CompareState:
    """One bordered card per optimizer: its hyperparameters (exactly its registry record's),
    schedule, Polyak averaging; remove buttons; an add row below."""
    headers, cards = [], []
    for current in state.cards:
        with st.container(border=True):
            headers.append(st.empty())
            cards.append(_card(current))
    for header, read, label in zip(headers, cards, _labels(cards), strict=True):
        header.markdown(f"<span style='color:{colour(read.slot)};font-size:1.4em;line-height:1'>■</span> "
                        f"**{label}**", unsafe_allow_html=True)
    state = replace(state, cards=tuple(cards))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    _seed(ADD_KEY, "sgd")
    left.selectbox("Add an optimizer", optimizer_names(), key=ADD_KEY,
                   format_func=lambda n: get_optimizer(n).title)
    right.button("Add", key="compare.add_button", on_click=_add_card, disabled=len(state.cards) >= MAX_CARDS,
                 width="stretch",
                 help=f"At most {MAX_CARDS} optimizers")
    return state


def _labels(cards: list[Card]) -> list[str]:
    return legend_labels([as_run_like(c) for c in cards])


def as_run_like(c: Card) -> SimpleNamespace:
    """What `legend_labels` reads from a run, for a card that has not run yet."""
    return SimpleNamespace(optimizer=c.optimizer, hyperparameters={**get_optimizer(c.optimizer).defaults,
                                                                   **c.hyperparameters},
                           schedule=c.schedule_dict)


def _card(current: Card) -> Card:
    prefix = f"card{current.slot}"
    spec = get_optimizer(current.optimizer)
    top, remove = st.columns([4, 1], vertical_alignment="bottom")
    _seed(f"{prefix}.optimizer", current.optimizer)
    name = top.selectbox("Optimizer", optimizer_names(), key=f"{prefix}.optimizer",
                         format_func=lambda n: get_optimizer(n).title, label_visibility="collapsed")
    remove.button("✕", key=f"{prefix}.remove", on_click=_remove_card, args=(current.slot,),
                  help="Remove this optimizer")
    if name != current.optimizer:
        spec = get_optimizer(name)
        current = Card(name, slot=current.slot)
    # A closed card draws no widgets (the page loads and reruns faster); its settings stay in
    # the state, and seed the widgets again when it opens.
    settings = st.expander("settings", key=f"{prefix}.open", on_change="rerun")
    if not settings.open:
        return current
    with settings:
        st.caption(spec.summary)
        values = {h.name: hyperparameter_input(h, f"{prefix}.{name}.{h.name}", current.hyperparameters)
                  for h in spec.hyperparameters}
        schedule = _schedule_input(current, f"{prefix}.{name}.schedule")
        _seed(f"{prefix}.polyak", current.polyak)
        polyak = st.checkbox("Polyak averaging", key=f"{prefix}.polyak",
                             help="Also draw the running mean of the iterates (dashed)")
    try:
        spec.validate(**values)
    except HyperparameterError as error:
        st.error(str(error), icon="⚠️")
    return card(name, current.slot, schedule, polyak, **values)


def hyperparameter_input(spec: Hyperparameter, key: str, given: dict[str, Any]) -> Any:
    """The widget for one hyperparameter, chosen by its kind, with its meaning and range as help."""
    value = given.get(spec.name, spec.default)
    help_text = f"{spec.meaning}. Default {format_value(spec.default)}; valid {spec.range_text}."
    label = spec.name
    if spec.kind == "bool":
        _seed(key, bool(value))
        return st.checkbox(label, key=key, help=help_text)
    if spec.kind == "choice":
        _seed(key, value)
        return st.selectbox(label, spec.choices, key=key, help=help_text)
    if spec.kind == "milestones":
        _seed(key, ", ".join(str(v) for v in value))
        text = st.text_input(label, key=key, help=help_text + " Steps separated by commas.")
        try:
            return tuple(int(float(p)) for p in text.split(",") if p.strip())
        except ValueError:
            st.error(f"{spec.name}: write whole steps separated by commas", icon="⚠️")
            return spec.default
    if spec.kind == "pair":
        columns = st.columns(2)
        return tuple(_number_input(spec, f"{key}.{i}", v, help_text, f"{label}[{i}]", column)
                     for i, (v, column) in enumerate(zip(value, columns, strict=True)))
    return _number_input(spec, key, value, help_text, label, st)


def _number_input(spec: Hyperparameter, key: str, value: Any, help_text: str, label: str, where) -> Any:
    whole = spec.kind == "int"
    _seed(key, int(value) if whole else float(value))
    low = spec.low if math.isfinite(spec.low) and not spec.low_open else None
    high = spec.high if math.isfinite(spec.high) and not spec.high_open else None
    if whole:
        return where.number_input(label, key=key, help=help_text, step=1,
                                  min_value=None if low is None else int(low),
                                  max_value=None if high is None else int(high))
    magnitude = abs(float(value)) or 1.0
    step = 10 ** math.floor(math.log10(magnitude)) if magnitude < 1 else 0.1
    return where.number_input(label, key=key, help=help_text, format="%g", step=float(step),
                              min_value=None if low is None else float(low),
                              max_value=None if high is None else float(high))


def _schedule_input(current: Card, key: str) -> dict[str, Any] | None:
    given = current.schedule_dict or {}
    options = ["constant", *SCHEDULES]
    _seed(key, given.get("name", "constant"))
    name = st.selectbox("Learning-rate schedule", options, key=key,
                        format_func=lambda n: "constant" if n == "constant" else f"{n} ({SCHEDULES[n].title})")
    if name == "constant":
        return None
    arguments = {a.name: hyperparameter_input(a, f"{key}.{name}.{a.name}", given if given.get("name") == name else {})
                 for a in SCHEDULES[name].arguments}
    warmup = hyperparameter_input(WARMUP, f"{key}.{name}.warmup", given)
    try:
        check_schedule_arguments(name, arguments)
        WARMUP.check(warmup)
    except HyperparameterError as error:
        st.error(str(error), icon="⚠️")
    return {"name": name, **arguments, **({"warmup": warmup} if warmup else {})}


def _add_card() -> None:
    state = session.load()
    if len(state.cards) < MAX_CARDS:
        new = card(st.session_state[ADD_KEY], state.free_slot())
        st.session_state[session.STATE_KEY] = replace(state, cards=(*state.cards, new))


def _remove_card(slot: int) -> None:
    state = session.load()
    st.session_state[session.STATE_KEY] = replace(state, cards=tuple(c for c in state.cards if c.slot != slot))
    for key in [k for k in st.session_state if str(k).startswith(f"card{slot}.")]:
        del st.session_state[key]


# -- clicks on the contour ---------------------------------------------------------
def add_clicked_start(chart_key: str, landscape_starts) -> None:
    """`on_select` callback of the contour: a click on the landscape adds a start there."""
    selection = st.session_state.get(chart_key)
    points = (selection or {}).get("selection", {}).get("points", [])
    clicked = [(float(p["x"]), float(p["y"])) for p in points
               if p.get("curve_number") == CLICK_TRACE and "x" in p and "y" in p]
    if not clicked:
        return
    state = session.load()
    starts = (state.starts or tuple(landscape_starts)) + tuple(clicked)
    starts = starts[-MAX_STARTS:]
    st.session_state[session.STATE_KEY] = replace(state, starts=starts)
    st.session_state[STARTS_KEY] = format_starts(starts)
