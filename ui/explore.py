"""The Explore page: its state and URL form, its cached calls into `explore`, and each part's controls and
figures (`PARTS`). The page script only picks the part and calls it.

The state is a Compare setup (`ui.state.CompareState`: landscape or formula, optimizer cards, starts,
steps, noise, seed, tol, view bounds; its query parameters as Compare spells them) plus what Explore
adds. The first card is *the* optimizer of the basin map, the sweep and the schedules; fair tuning tunes
every card's optimizer. Query parameters (besides Compare's)::

    part=basin|sweep|tuning|schedules   res=150 (basin cells per side)   pick=x,y (the basin start clicked)
    sx=lr  sy=momentum  sr=x0,x1,y0,y1 (sweep ranges)  zoom=x0,x1,y0,y1 (repeated: the ranges zoomed from)
    sres=50  metric=final_loss   lrs=0.0001,1  decade=4  score=final_loss  tune=sgd,adam   sched=StepLR  warmup=0

Parameters of other parts (``mb_…``: the mini-batch part's) are kept as they are. Nothing in a URL can
raise: anything unusable takes its default and adds a notice.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import numpy as np
import streamlit as st

import exports
from chart import plotly_chart
from explore import (
    DIVERGED,
    METRICS,
    SCORES,
    BasinMap,
    Sweep,
    Tuning,
    analytic_rate,
    axis_names,
    basin_map,
    log_grid,
    sweep,
)
from explore import tune_lr as tune
from figures import comparison_figure
from figures.explore import (
    AXIS_SYMBOLS,
    METRIC_TITLES,
    SCORE_TITLES,
    basin_csv,
    basin_figure,
    is_log_axis,
    schedules_csv,
    schedules_figure,
    sweep_csv,
    sweep_figure,
    tuning_csv,
    tuning_figure,
)
from figures.style import format_value
from landscapes import Landscape
from optimizers import SCHEDULES, HyperparameterError, Run, get_optimizer, optimizer_names, simulate

from . import compute, minibatch, widgets
from . import state as compare
from .lecture import MAX_STEPS as LECTURE_STEPS
from .lecture import lecture_url_of
from .state import Card, CompareState, card
from .widgets import hyperparameter_input, landscape_picker

# The part selector's entries, in order. The mini-batch part joins here ("minibatch": "Mini-batch SGD")
# with its renderer in the page's table.
PARTS: dict[str, str] = {"basin": "Basin map", "sweep": "Sweep", "tuning": "Fair tuning", "schedules": "Schedules",
                         "minibatch": "Mini-batch SGD"}
OWN_SETUP = {"minibatch"}  # parts with a landscape and settings of their own (not the sidebar's setup)
OTHER_PREFIXES = ("mb_",)  # other parts' own query parameters: kept, never read here
DEFAULT_LANDSCAPE = "himmelblau"  # four minima: the basin map has something to show
MAX_RESOLUTION, MAX_SWEEP_RESOLUTION, MAX_ZOOMS = 300, 100, 12
# Coupled optimizers (Newton, L-BFGS, the Armijo line search) step on NumPy, every setting in one batch (their
# rules take per-start arrays; the compiled kernel steps elementwise optimizers only): seconds per setting and
# step of a 100 × 100 sweep, measured by `python -m bench.explore --coupled` (README, Explore; load 3 on 2
# shared cores, rounded up). The page says what a sweep will take, and opens at the largest grid within
# COUPLED_OPENING_SECONDS.
COUPLED_SECONDS = {"newton": 2e-7, "gd_backtracking": 1e-6, "lbfgs": 5e-6}
COUPLED_OPENING_SECONDS = 2.0
RATE_MAX_CELLS = 40 * 40  # metric="rate" keeps whole paths: only on small sweeps (memory)
STATE_KEY = "explore.state"
OPENED_KEY = "explore.opened"
EXPLORE_KEYS = {"part", "res", "pick", "sx", "sy", "sr", "zoom", "sres", "metric", "lrs", "decade", "score",
                "sched", "warmup", "tune"}


@dataclass(frozen=True)
class ExploreState:
    setup: CompareState = compare.from_query({"landscape": DEFAULT_LANDSCAPE})
    part: str = "basin"
    resolution: int = 150
    picked: tuple[float, float] | None = None  # the basin map's start last clicked (a cell centre)
    sweep_x: str = "lr"
    sweep_y: str = "momentum"
    sweep_ranges: tuple[float, float, float, float] | None = None  # None: the axes' own ranges
    zooms: tuple[tuple[float, float, float, float], ...] = ()  # the ranges each zoom started from
    sweep_resolution: int = 50
    metric: str = "final_loss"
    lr_range: tuple[float, float] = (1e-4, 1.0)
    per_decade: int = 4
    score: str = "final_loss"
    schedule: str = "StepLR"
    warmup: int = 0
    tuned: tuple[str, ...] = ()  # the optimizers fair tuning tunes; () means every card's
    notices: tuple[str, ...] = field(default=(), compare=False)

    @property
    def card(self) -> Card:
        """The optimizer of the basin map, the sweep and the schedules: the first card (SGD if none)."""
        return self.setup.cards[0] if self.setup.cards else card("sgd")

    @property
    def landscape_name(self) -> str:
        return self.setup.formula or self.setup.landscape


DEFAULT = ExploreState()


# -- axes -------------------------------------------------------------------------------------
# Opening ranges the rule in `axis_range` would get wrong: decades, or a bound the other element of a
# pair sets (Rprop's η₋ < 1 < η₊), or a default far outside [0, 1].
AXIS_RANGES = {"lr": (1e-3, 1.0), "weight_decay": (1e-4, 1.0), "betas[1]": (0.9, 0.9999),
               "etas[0]": (0.1, 0.9), "etas[1]": (1.05, 2.0), "step_sizes[0]": (1e-8, 1e-2),
               "step_sizes[1]": (1e-2, 100.0), "gain_max": (1.0, 100.0)}
OPEN_END_INSET = 0.01  # an open bound of the valid range opens this fraction of the range inside it


def axis_range(optimizer: str, name: str) -> tuple[float, float]:
    """The range a sweep axis opens with: `AXIS_RANGES`; eps over 1e-10–0.1 and the L-BFGS tolerances over
    1e-10–0.01 (decades); one bounded by 1 (β-like) over its valid range up to 0.99, each open bound moved
    inside; the rest over [0, 1]."""
    if name in AXIS_RANGES:
        return AXIS_RANGES[name]
    if name.startswith("eps"):
        return (1e-10, 1e-1)
    if name.startswith("tolerance_"):
        return (1e-10, 1e-2)
    specs = {h.name: h for h in get_optimizer(optimizer).hyperparameters}
    spec = specs.get(name.split("[")[0])
    if spec is not None and spec.high <= 1:
        low, high = max(spec.low, 0.0), min(spec.high, 0.99)
        inset = OPEN_END_INSET * (high - low)
        return (low + inset if spec.low_open else low, high - inset if spec.high_open and high == spec.high else high)
    return (0.0, 1.0)


def axis_values(name: str, low: float, high: float, count: int) -> np.ndarray:
    return np.logspace(math.log10(low), math.log10(high), count) if is_log_axis(name) else np.linspace(low, high, count)


def coupled_seconds(optimizer: str, side: int, steps: int) -> float:
    """About how long a coupled optimizer's side × side sweep of `steps` steps takes (`COUPLED_SECONDS`)."""
    return COUPLED_SECONDS.get(optimizer, max(COUPLED_SECONDS.values())) * side * side * steps


def coupled_opening(optimizer: str, steps: int) -> int:
    """The settings per axis a coupled optimizer's sweep opens at: the most (4 to the page's
    largest) within `COUPLED_OPENING_SECONDS`."""
    fitting = [side for side in range(4, MAX_SWEEP_RESOLUTION + 1)
               if coupled_seconds(optimizer, side, steps) <= COUPLED_OPENING_SECONDS]
    return max(fitting, default=4)


def sweep_ranges(state: ExploreState) -> tuple[float, float, float, float]:
    if state.sweep_ranges is not None:
        return state.sweep_ranges
    return (*axis_range(state.card.optimizer, state.sweep_x), *axis_range(state.card.optimizer, state.sweep_y))


# -- URL --------------------------------------------------------------------------------------
def to_query(state: ExploreState) -> dict[str, str | list[str]]:
    """Query parameters for `state`; values equal to the defaults are left out."""
    query = compare.to_query(state.setup)
    if not state.setup.formula and "landscape" not in query and state.setup.landscape != DEFAULT_LANDSCAPE:
        query["landscape"] = state.setup.landscape  # Compare's default landscape is not Explore's
    if query.get("landscape") == DEFAULT_LANDSCAPE:
        del query["landscape"]
    if query.get("opt") and state.setup.has_default_cards:
        del query["opt"]
    for key, name in (("part", "part"), ("res", "resolution"), ("sx", "sweep_x"), ("sy", "sweep_y"),
                      ("sres", "sweep_resolution"), ("metric", "metric"), ("decade", "per_decade"),
                      ("score", "score"), ("sched", "schedule"), ("warmup", "warmup")):
        value = getattr(state, name)
        if value != getattr(DEFAULT, name):
            query[key] = str(value)
    if state.picked is not None:
        query["pick"] = _numbers(state.picked)
    if state.sweep_ranges is not None:
        query["sr"] = _numbers(state.sweep_ranges)
    if state.zooms:
        query["zoom"] = [_numbers(z) for z in state.zooms]
    if state.lr_range != DEFAULT.lr_range:
        query["lrs"] = _numbers(state.lr_range)
    if state.tuned:
        query["tune"] = ",".join(state.tuned)
    return query


def _numbers(values) -> str:
    return ",".join(compare._number(float(v)) for v in values)


def from_query(query: Mapping[str, str | list[str]]) -> ExploreState:
    """The state a URL describes; anything unusable takes its default and adds a notice. Never raises."""
    values = {key: (list(v) if isinstance(v, (list, tuple)) else [v]) for key, v in query.items()}
    setup_query = {k: v for k, v in values.items() if k not in EXPLORE_KEYS and not k.startswith(OTHER_PREFIXES)}
    if "landscape" not in setup_query and "formula" not in setup_query:
        setup_query["landscape"] = [DEFAULT_LANDSCAPE]
    setup = compare.from_query(setup_query)
    notices = list(setup.notices)
    changes: dict[str, Any] = {"setup": replace(setup, notices=())}

    def last(key: str) -> str | None:
        return str(values[key][-1])[:200] if values.get(key) else None

    optimizer = setup.cards[0].optimizer if setup.cards else "sgd"
    choices = {"part": ("part", lambda t: t if t in PARTS else None, "one of " + ", ".join(PARTS)),
               "res": ("resolution", lambda t: compare._whole(t, 4, MAX_RESOLUTION), f"4 to {MAX_RESOLUTION}"),
               "sres": ("sweep_resolution", lambda t: compare._whole(t, 4, MAX_SWEEP_RESOLUTION),
                        f"4 to {MAX_SWEEP_RESOLUTION}"),
               "sx": ("sweep_x", lambda t: t if t in axis_names(optimizer) else None,
                      f"a hyperparameter of {optimizer}"),
               "sy": ("sweep_y", lambda t: t if t in axis_names(optimizer) else None,
                      f"a hyperparameter of {optimizer}"),
               "metric": ("metric", lambda t: t if t in METRICS else None, "one of " + ", ".join(METRICS)),
               "score": ("score", lambda t: t if t in SCORES else None, "one of " + ", ".join(SCORES)),
               "decade": ("per_decade", lambda t: compare._whole(t, 1, 10), "1 to 10"),
               "sched": ("schedule", lambda t: t if t in SCHEDULES else None, "a schedule name"),
               "warmup": ("warmup", lambda t: compare._whole(t, 0, compare.MAX_STEPS),
                          f"0 to {compare.MAX_STEPS}"),
               "lrs": ("lr_range", _read_lr_range, "low,high with 0 < low < high ≤ 100"),
               "pick": ("picked", _read_point, "x,y")}
    changes.update(compare.read_values(choices, last, notices))
    x_axis, y_axis = changes.get("sweep_x", DEFAULT.sweep_x), changes.get("sweep_y", DEFAULT.sweep_y)
    names = axis_names(optimizer)
    if x_axis not in names or y_axis not in names or x_axis == y_axis:
        if "sweep_x" in changes or "sweep_y" in changes:
            notices.append(f"the sweep's axes {x_axis!r} × {y_axis!r} do not suit {optimizer}: using its defaults")
        x_axis, y_axis = default_axes(optimizer)
    changes["sweep_x"], changes["sweep_y"] = x_axis, y_axis
    if (text := last("sr")) is not None:
        ranges = _read_ranges(text, x_axis, y_axis)
        if ranges is None:
            notices.append(f"ignored sr={text[:40]!r}: expected x0,x1,y0,y1 inside each axis's valid range")
        else:
            changes["sweep_ranges"] = ranges
    zooms = []
    for text in values.get("zoom", [])[:MAX_ZOOMS]:
        ranges = _read_ranges(str(text)[:200], x_axis, y_axis)
        if ranges is None:
            notices.append(f"ignored zoom={str(text)[:40]!r}: expected x0,x1,y0,y1")
        else:
            zooms.append(ranges)
    if zooms:
        changes["zooms"] = tuple(zooms)
    if (text := last("tune")) is not None:
        tunable = [n for n in optimizer_names() if "lr" in get_optimizer(n).defaults]
        names = tuple(dict.fromkeys(n for n in text.split(",") if n in tunable))[:compare.MAX_CARDS]
        if len(names) != len(text.split(",")):
            notices.append(f"ignored part of tune={text[:40]!r}: expected optimizer names with a learning rate")
        if names:
            changes["tuned"] = names
    return replace(DEFAULT, **changes, notices=tuple(notices))


def default_axes(optimizer: str) -> tuple[str, str]:
    names = axis_names(optimizer)
    if "lr" in names and "momentum" in names:
        return "lr", "momentum"
    second = next((n for n in names if n != "lr"), names[0])
    return names[0], second


def _read_point(text: str) -> tuple[float, float] | None:
    parts = text.split(",")
    point = tuple(compare._real(p, -1e12, 1e12) for p in parts)
    return point if len(point) == 2 and None not in point else None


def _read_lr_range(text: str) -> tuple[float, float] | None:
    parts = text.split(",")
    if len(parts) != 2:
        return None
    low, high = (compare._real(p, 0.0, 100.0, low_open=True) for p in parts)
    return (low, high) if low is not None and high is not None and low < high else None


def _read_ranges(text: str, x_axis: str, y_axis: str) -> tuple[float, float, float, float] | None:
    parts = text.split(",")
    if len(parts) != 4:
        return None
    numbers = [compare._real(p, -1e12, 1e12) for p in parts]
    if None in numbers:
        return None
    x0, x1, y0, y1 = numbers
    if not (x0 < x1 and y0 < y1) or not (_in_axis(x_axis, x0, x1) and _in_axis(y_axis, y0, y1)):
        return None
    return (x0, x1, y0, y1)


def _in_axis(name: str, low: float, high: float) -> bool:
    if is_log_axis(name) and low <= 0:
        return False
    base = name.split("[")[0]
    for optimizer in optimizer_names():
        specs = {h.name: h for h in get_optimizer(optimizer).hyperparameters}
        if base in specs:
            spec = specs[base]
            return spec.low <= low and high <= spec.high and not (spec.high_open and high >= spec.high)
    return False


# -- session ----------------------------------------------------------------------------------
def load() -> ExploreState:
    """This session's state; on its first run, the URL's."""
    if STATE_KEY not in st.session_state:
        query = {key: st.query_params.get_all(key) for key in st.query_params}
        state = st.session_state[STATE_KEY] = st.session_state[OPENED_KEY] = from_query(query)
        # The landscape picker is Compare's (its widget keys): it opens on this URL's landscape, not on the
        # one Compare last showed in this session.
        st.session_state[widgets.LANDSCAPE_KEY] = widgets.CUSTOM if state.setup.formula else state.setup.landscape
        if state.setup.formula:
            st.session_state[widgets.FORMULA_KEY] = state.setup.formula
    return st.session_state[STATE_KEY]


def save(state: ExploreState) -> None:
    """Keep `state` and mirror it in the URL (only when it changed), other parts' parameters kept."""
    st.session_state[STATE_KEY] = state
    wanted = {key: value if isinstance(value, list) else [value] for key, value in to_query(state).items()}
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    kept = {key: value for key, value in current.items() if key.startswith(OTHER_PREFIXES)}
    if current != {**wanted, **kept}:
        st.query_params.from_dict({**wanted, **kept})


def link_notices(state: ExploreState) -> None:
    opened = st.session_state.get(OPENED_KEY)
    if opened is not None and opened == state and opened.notices:
        with st.expander(f"The link had {len(opened.notices)} problem(s); showing the defaults for those",
                         icon=":material/info:"):
            for notice in opened.notices:
                st.caption(notice)


def compare_url(setup: CompareState) -> str:
    """The address of the Compare page showing `setup`, on the host the user is looking at."""
    try:
        base = st.context.url or ""
    except Exception:  # noqa: BLE001 - no browser context (AppTest)
        base = ""
    parts = urlsplit(base or "http://localhost:8501/explore")
    path = parts.path.rsplit("/", 1)[0] + "/compare"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(compare.to_query(setup), doseq=True), ""))


# -- sidebar ------------------------------------------------------------------------------------
def sidebar(state: ExploreState) -> tuple[ExploreState, Landscape]:
    """Landscape (Compare's picker), the optimizer and its hyperparameters, steps and tolerance."""
    setup, landscape = landscape_picker(state.setup)
    if setup.landscape != state.setup.landscape or setup.formula != state.setup.formula:
        setup = (compare.with_defaults_of(setup, setup.landscape, setup.formula) if state.setup.has_default_cards
                 else replace(setup, starts=(), bounds=None))
        for key in [k for k in st.session_state if str(k).startswith("explore.card") or k == "explore.steps"]:
            del st.session_state[key]  # the new landscape's cards and steps, not the widgets' old values
    current = setup.cards[0] if setup.cards else card("sgd")
    st.subheader("Optimizer")
    _seed("explore.card.optimizer", current.optimizer)
    name = st.selectbox("Optimizer", optimizer_names(), key="explore.card.optimizer",
                        format_func=lambda n: get_optimizer(n).title, label_visibility="collapsed")
    if name != current.optimizer:
        current = card(name, current.slot, **compute.suited_settings(landscape, name, tuple(setup.starts or
                                                                                             landscape.starts),
                                                                     setup.steps))
    spec = get_optimizer(name)
    st.caption(spec.summary)
    values = {h.name: hyperparameter_input(h, f"explore.card.{name}.{h.name}", current.hyperparameters)
              for h in spec.hyperparameters}
    try:
        spec.validate(**values)
        current = card(name, current.slot, current.schedule_dict, False, **values)
    except HyperparameterError as error:
        st.error(str(error), icon=":material/warning:")
    _seed("explore.steps", setup.steps)
    steps = st.slider("Steps (the budget of every run)", 1, compare.MAX_STEPS, key="explore.steps")
    _seed("explore.tol", setup.tol)
    tol = st.number_input("Tolerance ‖∇f‖ ≤ tol", min_value=1e-12, max_value=1e6, format="%g", step=1e-3,
                          key="explore.tol", help="A run has converged at the first step whose gradient norm is ≤ tol")
    cards = (current, *setup.cards[1:]) if setup.cards else (current,)
    setup = replace(setup, cards=cards, steps=int(steps), tol=float(tol))
    return replace(state, setup=setup), landscape


def _seed(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


def part_selector(state: ExploreState) -> ExploreState:
    _seed("explore.part", state.part)
    chosen = st.segmented_control("Part", list(PARTS), key="explore.part", format_func=PARTS.get,
                                  label_visibility="collapsed", selection_mode="single")
    if chosen is None:  # clicking the selected part again clears it: keep the part on screen
        chosen = state.part
    if state.part != chosen and chosen in PARTS:
        state = replace(state, part=chosen)
    return state


def downloads(name: str, figure_maker: Callable[[], Any], csv_maker: Callable[[], bytes], key: str) -> None:
    """PNG, SVG and CSV of what the part shows, each made when its button is pressed."""
    columns = st.columns(3)
    for column, (kind, make, mime) in zip(columns, (
            ("png", lambda: exports.to_png(figure_maker()), "image/png"),
            ("svg", lambda: exports.to_svg(figure_maker()), "image/svg+xml"),
            ("csv", csv_maker, "text/csv")), strict=True):
        column.download_button(kind.upper(), data=make, file_name=f"{name}.{kind}", mime=mime, key=f"{key}.{kind}",
                               on_click="ignore", icon=":material/download:", width="stretch")


def _landscape_key(landscape: Landscape) -> str:
    return f"{landscape.name}|{landscape.expression}|{landscape.bounds}"


def _view(state: ExploreState, landscape: Landscape):
    return state.setup.bounds or landscape.bounds


def _starts(state: ExploreState, landscape: Landscape) -> tuple[tuple[float, float], ...]:
    return tuple(state.setup.starts or landscape.starts)


# -- basin map ------------------------------------------------------------------------------------
@st.cache_resource(max_entries=16, show_spinner=False)
def _basins(key: str, c: Card, resolution: int, steps: int, bounds, tol: float, noise: float, seed: int,
            _landscape: Landscape) -> BasinMap:
    return basin_map(_landscape, c.optimizer, resolution, steps, bounds=bounds, tol=tol, schedule=c.schedule_dict,
                     noise=noise, seed=seed, **c.hyperparameters)


def basin_part(state: ExploreState, landscape: Landscape) -> ExploreState:
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    _seed("explore.res", state.resolution)
    resolution = left.slider("Starts per side", 10, MAX_RESOLUTION, key="explore.res",
                             help="A grid of this many × this many starts over the view")
    state = replace(state, resolution=int(resolution))
    c, setup = state.card, state.setup
    try:
        with st.spinner(f"Running {resolution * resolution:,} starts…"):
            basins = _basins(_landscape_key(landscape), c, state.resolution, setup.steps, _view(state, landscape),
                             setup.tol, setup.noise, setup.seed, landscape)
    except HyperparameterError as error:
        st.error(f"No map: {error}", icon=":material/warning:")
        return state
    # the start clicked, as this map's cell centre (a new resolution moves it; out of a new view it goes)
    state = replace(state, picked=None if state.picked is None else basins.start_at(*state.picked))
    with right:
        if state.picked is None:
            st.caption("Hover a cell for its start, minimum and steps; click it to open that start on Compare or "
                       "Lecture with these settings.")
        else:
            picked_links(state, basins)
    figure = basin_figure(basins, presentation=setup.presentation, picked=state.picked)

    def clicked(clicks) -> None:
        start = basins.start_at(clicks[-1].x, clicks[-1].y)
        if start is not None:
            st.session_state[STATE_KEY] = replace(load(), picked=start)

    plotly_chart(figure, key="explore.basin", controls=False, on_click=clicked)
    counts = basins.counts()
    reached = sum(v for k, v in counts.items() if k >= 0)
    st.caption(f"{reached:,} of {basins.labels.size:,} starts reached a known minimum within {basins.radius:.2g} "
               f"in {setup.steps} steps; {counts.get(-2, 0):,} diverged; {counts.get(-1, 0):,} ended elsewhere. "
               f"Computed on the {basins.backend} backend.")
    downloads("basin_map", lambda: basin_figure(basins, presentation=setup.presentation, hover=False),
              lambda: basin_csv(basins), "explore.basin.files")
    return state


def picked_setup(state: ExploreState) -> CompareState:
    """The Compare state of the basin start picked: the map's optimizer and settings, landscape, view,
    budget, noise and seed, from that one start."""
    return replace(state.setup, cards=(replace(state.card, slot=0),), starts=(state.picked,))


def picked_links(state: ExploreState, basins: BasinMap) -> None:
    """What the picked start did, and links that open it on Compare and on Lecture."""
    x, y = state.picked
    row, column = basins.cell_at(x, y)
    label, steps = int(basins.labels[row, column]), int(basins.steps[row, column])
    outcome = (f"minimum {label + 1}" if label >= 0 else "diverged" if label == DIVERGED else "no known minimum")
    tol = f"in {steps} steps" if steps >= 0 else f"(‖∇f‖ > tol after {basins.steps_run} steps)"
    st.caption(f"Start ({format_value(x)}, {format_value(y)}) → {outcome} {tol}")
    setup = picked_setup(state)
    with st.container(horizontal=True):
        st.link_button("Open on Compare", compare_url(setup), icon=":material/open_in_new:")
        st.link_button("Open on Lecture", lecture_url_of(setup), icon=":material/school:",
                       help="Step through this start one update at a time" + (
                           f" (a lecture keeps the first {LECTURE_STEPS} steps)" if setup.steps > LECTURE_STEPS
                           else ""))


# -- sweep ----------------------------------------------------------------------------------------
@st.cache_resource(max_entries=16, show_spinner=False)
def _sweep(key: str, c: Card, axes: tuple, starts: tuple, steps: int, metric: str, tol: float, noise: float,
           seed: int, _landscape: Landscape) -> Sweep:
    # the axes' values replace the card's own values of those hyperparameters
    return sweep(_landscape, c.optimizer, list(starts), steps, {n: np.asarray(v) for n, v in axes}, metric=metric,
                 tol=tol, schedule=c.schedule_dict, noise=noise, seed=seed, **c.hyperparameters)


def sweep_part(state: ExploreState, landscape: Landscape) -> ExploreState:
    c, setup = state.card, state.setup
    names = axis_names(c.optimizer)
    if len(names) < 2:
        st.info(f"{get_optimizer(c.optimizer).title} has fewer than two hyperparameters to sweep.")
        return state
    if state.sweep_x not in names or state.sweep_y not in names or state.sweep_x == state.sweep_y:
        state = replace(state, sweep_x=default_axes(c.optimizer)[0], sweep_y=default_axes(c.optimizer)[1],
                        sweep_ranges=None, zooms=())
    columns = st.columns([1.2, 1.2, 1.4, 1.4], vertical_alignment="bottom")
    _seed("explore.sx", state.sweep_x)
    _seed("explore.sy", state.sweep_y)
    x_axis = columns[0].selectbox("Across", names, key="explore.sx", format_func=lambda n: AXIS_SYMBOLS.get(n, n))
    others = [n for n in names if n != x_axis]
    if st.session_state["explore.sy"] not in others:
        st.session_state["explore.sy"] = others[0]
    y_axis = columns[1].selectbox("Up", others, key="explore.sy", format_func=lambda n: AXIS_SYMBOLS.get(n, n))
    if (x_axis, y_axis) != (state.sweep_x, state.sweep_y):
        state = replace(state, sweep_x=x_axis, sweep_y=y_axis, sweep_ranges=None, zooms=())
    # Coupled optimizers step on NumPy: their grid opens at what takes a couple of seconds.
    coupled = not get_optimizer(c.optimizer).elementwise
    largest = MAX_SWEEP_RESOLUTION
    opening = coupled_opening(c.optimizer, setup.steps) if coupled else largest
    # A coupled optimizer opens at `opening` unless the link asks for a grid; so does switching to one.
    asked = state.sweep_resolution != DEFAULT.sweep_resolution
    _seed("explore.sres", opening if coupled and not asked else state.sweep_resolution)
    if st.session_state.get("explore.sres_of") not in (None, c.optimizer) and coupled:
        st.session_state["explore.sres"] = opening
    st.session_state["explore.sres_of"] = c.optimizer
    title = get_optimizer(c.optimizer).title
    resolution = columns[2].slider("Settings per axis", 4, largest, key="explore.sres",
                                   help=f"{title} steps on NumPy, not the compiled kernel: see the note under the "
                                        f"controls" if coupled else None)
    metrics = [m for m in METRICS if m != "rate" or resolution * resolution <= RATE_MAX_CELLS]
    _seed("explore.metric", state.metric if state.metric in metrics else "final_loss")
    metric = columns[3].selectbox("Colour by", metrics, key="explore.metric", format_func=METRIC_TITLES.get,
                                  help="rate keeps whole paths: offered up to 40 × 40 settings")
    state = replace(state, sweep_resolution=int(resolution), metric=metric)
    x0, x1, y0, y1 = sweep_ranges(state)
    axes = ((x_axis, tuple(axis_values(x_axis, x0, x1, resolution))),
            (y_axis, tuple(axis_values(y_axis, y0, y1, resolution))))
    starts = _starts(state, landscape)
    if coupled:
        each = COUPLED_SECONDS.get(c.optimizer, max(COUPLED_SECONDS.values()))
        st.caption(f"{title} steps on NumPy, all settings in one batch (the compiled kernel steps elementwise "
                   f"optimizers only): about {each * 1e6:.2g} µs per setting and step on this server, so "
                   f"{resolution} × {resolution} settings × "
                   f"{setup.steps} steps take about {coupled_seconds(c.optimizer, resolution, setup.steps):.2g} s.")
    try:
        with st.spinner(f"Running {resolution * resolution * len(starts):,} settings × starts…"):
            result = _sweep(_landscape_key(landscape), c, axes, starts, setup.steps,
                            "rate" if metric == "rate" else "final_loss", setup.tol, setup.noise, setup.seed,
                            landscape)
    except HyperparameterError as error:
        st.error(f"No sweep: {error}", icon=":material/warning:")
        return state
    theory = analytic_rate(result)
    figure = sweep_figure(result, metric=metric, analytic=theory, presentation=setup.presentation)
    _breadcrumb(state)
    key = f"explore.sweep.{len(state.zooms)}.{x0:g},{x1:g},{y0:g},{y1:g}"
    event = st.plotly_chart(figure, key=key, on_select="rerun", selection_mode="box",
                            config={"displayModeBar": True})
    box = _selected_box(event, x_axis, y_axis, (x0, x1, y0, y1))
    if box is not None and len(state.zooms) < MAX_ZOOMS:
        state = replace(state, zooms=(*state.zooms, (x0, x1, y0, y1)), sweep_ranges=box)
        save(state)
        st.rerun()
    _sweep_summary(result, metric, theory, starts, setup)
    downloads("sweep", lambda: figure, lambda: sweep_csv(result), "explore.sweep.files")
    return state


def _breadcrumb(state: ExploreState) -> None:
    levels = [*state.zooms, sweep_ranges(state)]
    if len(levels) == 1:
        st.caption("Drag a box on the heatmap to recompute at the new ranges (full resolution).")
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        for depth, ranges in enumerate(levels[:-1]):
            label = "whole range" if depth == 0 else f"zoom {depth}"
            st.button(f"← {label}", key=f"explore.crumb.{depth}", on_click=_back_to, args=(depth,),
                      help=f"{_range_text(state.sweep_x, ranges[:2])} × {_range_text(state.sweep_y, ranges[2:])}")
        st.caption(f"zoom {len(levels) - 1}: {_range_text(state.sweep_x, levels[-1][:2])} × "
                   f"{_range_text(state.sweep_y, levels[-1][2:])}")


def _range_text(name: str, pair) -> str:
    return f"{AXIS_SYMBOLS.get(name, name)} ∈ [{pair[0]:.4g}, {pair[1]:.4g}]"


def _back_to(depth: int) -> None:
    state = load()
    st.session_state[STATE_KEY] = replace(state, sweep_ranges=state.zooms[depth] if depth else None,
                                          zooms=state.zooms[:depth])


def _selected_box(event, x_axis: str, y_axis: str, ranges) -> tuple[float, float, float, float] | None:
    """The ranges a box selection asks for, in data units, clipped to the current ranges; None if none
    or too small to recompute (under 1e-6 of the range)."""
    try:
        boxes = event.selection.box if event is not None else []
    except AttributeError:
        boxes = []
    if not boxes:
        return None
    box = boxes[-1]
    try:
        xs, ys = [float(v) for v in box["x"]], [float(v) for v in box["y"]]
    except (KeyError, TypeError, ValueError):
        return None
    x0, x1, y0, y1 = ranges
    xs = [_data_unit(v, x_axis, x0, x1) for v in xs]
    ys = [_data_unit(v, y_axis, y0, y1) for v in ys]
    new = (max(min(xs), x0), min(max(xs), x1), max(min(ys), y0), min(max(ys), y1))
    if not (new[0] < new[1] and new[2] < new[3]):
        return None
    if (new[1] - new[0]) < 1e-6 * (x1 - x0) or (new[3] - new[2]) < 1e-6 * (y1 - y0):
        return None
    return new


def _data_unit(value: float, name: str, low: float, high: float) -> float:
    """Plotly may report a log axis's selection in log₁₀ units: back to data units when it did."""
    if is_log_axis(name) and not (low <= value <= high) and value < 3:
        return 10.0**value
    return value


def _sweep_summary(result: Sweep, metric: str, theory, starts, setup: CompareState) -> None:
    best = replace(result, metric=metric).best
    x_name, y_name = result.names
    texts = [f"{len(result.x_values)} × {len(result.y_values)} settings × {len(starts)} start(s), {setup.steps} "
             f"steps each (equal budgets), on the {result.backend} backend; every setting but the two swept is "
             "the sidebar's."]
    if best is not None:
        row, column = best
        texts.append(f"Best by {METRIC_TITLES[metric]}: {AXIS_SYMBOLS.get(x_name, x_name)} = "
                     f"{result.x_values[column]:.4g}, {AXIS_SYMBOLS.get(y_name, y_name)} = "
                     f"{result.y_values[row]:.4g} ({METRIC_TITLES[metric]} {result.metrics[metric][row, column]:.4g}).")
    if theory is not None:
        # A run "diverges" here when it ended farther from the minimum than it started (or diverged outright):
        # a rate just above 1 needs more steps than the budget to pass 1e8.
        started = float(np.max(result.landscape.nearest_minimum_distance(result.starts)))
        grew = ~np.isfinite(result.metrics["distance"]) | (result.metrics["distance"] > started)
        clear = np.abs(theory - 1) > 0.03
        agree = (grew == (theory >= 1))[clear]
        texts.append(f"Theory (red dashes: the iteration matrix's rate = 1) and the runs agree in {agree.mean():.1%} "
                     f"of the {clear.sum()} cells away from the boundary (|rate − 1| > 0.03) on which settings "
                     f"diverge (end farther from the minimum than they start).")
    st.caption(" ".join(texts))
    if best is not None:
        row, column = best
        tuned = card(result.optimizer, 0, None, False, **result.setting(row, column))
        st.link_button("Open the best setting on Compare", compare_url(replace(setup, cards=(tuned,))),
                       icon=":material/open_in_new:")


# -- fair tuning ------------------------------------------------------------------------------------
@st.cache_resource(max_entries=32, show_spinner=False)
def _tuning(key: str, optimizer: str, fixed: tuple, starts: tuple, steps: int, lrs: tuple, score: str, tol: float,
            noise: float, seed: int, _landscape: Landscape) -> Tuning:
    return tune(_landscape, optimizer, list(starts), steps, np.array(lrs), score=score, tol=tol, noise=noise,
                seed=seed, **dict(fixed))


def tuning_part(state: ExploreState, landscape: Landscape) -> ExploreState:
    setup = state.setup
    # The optimizers on a row of their own: beside the grid's controls the chips past the third were cut off.
    _seed("explore.tuned", list(tuned_names(state)))
    chosen = st.multiselect("Optimizers to tune", [n for n in optimizer_names() if "lr" in get_optimizer(n).defaults],
                            key="explore.tuned", format_func=lambda n: get_optimizer(n).title,
                            max_selections=compare.MAX_CARDS)
    columns = st.columns([1.6, 1, 1.6, 1.4], vertical_alignment="bottom")
    decades = [10.0**k for k in range(-6, 3)]
    _seed("explore.lrs", (_nearest(decades, state.lr_range[0]), _nearest(decades, state.lr_range[1])))
    low, high = columns[0].select_slider("lr grid", decades, key="explore.lrs", format_func=lambda v: f"{v:g}")
    if low >= high:
        low, high = state.lr_range
    _seed("explore.decade", state.per_decade)
    per_decade = columns[1].number_input("per decade", 1, 10, key="explore.decade")
    _seed("explore.score", state.score)
    score = columns[2].selectbox("Score", list(SCORES), key="explore.score", format_func=SCORE_TITLES.get,
                                 help="  \n".join(f"**{SCORE_TITLES[k]}**: {v}" for k, v in SCORES.items()))
    cards = []
    for slot, name in enumerate(chosen):  # an optimizer with a card keeps the card's other settings
        own = next((c for c in setup.cards if c.optimizer == name), None)
        cards.append(replace(own, slot=slot) if own is not None else card(name, slot))
    state = replace(state, lr_range=(low, high), per_decade=int(per_decade), score=score,
                    tuned=() if tuple(chosen) == _card_names(setup) else tuple(chosen))
    if not chosen:
        st.info("Choose at least one optimizer to tune.")
        return state
    lrs = log_grid(low, high, int(per_decade))
    starts = _starts(state, landscape)
    st.markdown(f"**Budget:** {setup.steps} steps from each of {len(starts)} start(s) "
                f"({'; '.join(f'({format_value(float(x))}, {format_value(float(y))})' for x, y in starts)}), "
                f"the same for every optimizer and rate.  \n**Score:** {SCORES[score]}; a rate at which any start "
                f"diverges is out.  \n**Grid:** {len(lrs)} learning rates from {low:g} to {high:g}, {per_decade} per "
                f"decade (log-spaced), every other hyperparameter as set for that optimizer (its card, else torch's "
                f"default). Only the learning rate is tuned: say so when you compare.")
    tunings = []
    with st.spinner("Tuning every optimizer over the grid…"):
        for c in cards:
            fixed = tuple((k, v) for k, v in c.settings if k != "lr")
            try:
                tunings.append(_tuning(_landscape_key(landscape), c.optimizer, fixed, starts, setup.steps,
                                       tuple(lrs.tolist()), score, setup.tol, setup.noise, setup.seed, landscape))
            except HyperparameterError as error:
                st.warning(f"{get_optimizer(c.optimizer).title} not tuned: {error}", icon=":material/warning:")
    if not tunings:
        return state
    labels = [get_optimizer(t.optimizer).title for t in tunings]
    figure = tuning_figure(tunings, labels=labels, presentation=setup.presentation)
    st.plotly_chart(figure, key="explore.tuning")
    rows = [f"| {label} | {t.best_lr:.3g} | "
            f"{t.scores[t.best_index]:.4g} |" if t.best_index is not None else f"| {label} | every rate diverged | – |"
            for label, t in zip(labels, tunings, strict=True)]
    st.markdown("| optimizer | best lr | score |\n|---|---:|---:|\n" + "\n".join(rows))
    tuned = tuple(card(t.optimizer, slot, c.schedule_dict, False, **{**c.hyperparameters, "lr": t.best_lr})
                  for slot, (t, c) in enumerate(zip(tunings, cards, strict=True)) if t.best_lr is not None)
    if tuned:
        st.link_button("Open the tuned optimizers on Compare", compare_url(replace(setup, cards=tuned)),
                       icon=":material/open_in_new:")
    downloads("tuning", lambda: figure, lambda: tuning_csv(tunings), "explore.tuning.files")
    return state


def _card_names(setup: CompareState) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c.optimizer for c in setup.cards if "lr" in get_optimizer(c.optimizer).defaults))


def tuned_names(state: ExploreState) -> tuple[str, ...]:
    """The optimizers fair tuning tunes: the state's own list, else every card's optimizer."""
    return state.tuned or _card_names(state.setup)


def _nearest(options: list[float], value: float) -> float:
    return min(options, key=lambda o: abs(math.log10(o) - math.log10(value)))


# -- schedules --------------------------------------------------------------------------------------
@st.cache_resource(max_entries=32, show_spinner=False)
def _schedule_runs(key: str, c: Card, schedule: tuple, starts: tuple, steps: int, noise: float, seed: int,
                   _landscape: Landscape) -> list[Run]:
    runs = []
    for chosen in (None, dict(schedule)):
        runs.append(simulate(_landscape, c.optimizer, list(starts), steps, schedule=chosen, noise=noise, seed=seed,
                             record="path", **c.hyperparameters))
    return runs


def schedules_part(state: ExploreState, landscape: Landscape) -> ExploreState:
    setup, c = state.setup, state.card
    base_lr = float(c.hyperparameters.get("lr", get_optimizer(c.optimizer).defaults.get("lr", 0.1)))
    left, middle = st.columns([2, 1], vertical_alignment="bottom")
    names = list(SCHEDULES)
    _seed("explore.sched", state.schedule)
    schedule = left.selectbox("Schedule", names, key="explore.sched",
                              format_func=lambda n: f"{SCHEDULES[n].title} ({n})")
    _seed("explore.warmup", state.warmup)
    warmup = middle.number_input("Warmup steps in front", 0, compare.MAX_STEPS, key="explore.warmup")
    state = replace(state, schedule=schedule, warmup=int(warmup))
    st.plotly_chart(schedules_figure(base_lr, setup.steps, state.warmup, selected=schedule,
                                     presentation=setup.presentation), key="explore.gallery")
    spec = SCHEDULES[schedule]
    st.latex(r"\eta_t = " + spec.formula)
    st.caption(f"{spec.title}, from {spec.origin}, with its default arguments; η₀ = lr = {base_lr:g} of "
               f"{get_optimizer(c.optimizer).title}. Below: its effect on a trajectory beside the constant rate.")
    chosen = {"name": schedule, **({"warmup": state.warmup} if state.warmup else {})}
    try:
        runs = _schedule_runs(_landscape_key(landscape), c, tuple(chosen.items()), _starts(state, landscape)[:1],
                              setup.steps, setup.noise, setup.seed, landscape)
    except HyperparameterError as error:
        st.warning(f"{schedule} cannot run here: {error}", icon=":material/warning:")
        return state
    title = get_optimizer(c.optimizer).title
    figure = comparison_figure(landscape, runs, labels=[f"{title}, constant lr", f"{title}, {schedule}"],
                               slots=[0, 3], bounds=setup.bounds, frame_duration=60,
                               presentation=setup.presentation)
    plotly_chart(figure, key="explore.schedule_effect")
    downloads("schedules", lambda: schedules_figure(base_lr, setup.steps, state.warmup, selected=schedule),
              lambda: schedules_csv(base_lr, setup.steps, state.warmup), "explore.schedules.files")
    return state


def minibatch_part(state: ExploreState, landscape: Landscape | None) -> ExploreState:
    """Mini-batch SGD on a data landscape (ui.minibatch: its own controls, its state in mb_ parameters)."""
    minibatch.show()
    return state


RENDERERS: dict[str, Callable[[ExploreState, Landscape | None], ExploreState]] = {
    "basin": basin_part, "sweep": sweep_part, "tuning": tuning_part, "schedules": schedules_part,
    "minibatch": minibatch_part}
