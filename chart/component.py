"""`plotly_chart`: a 2D Plotly figure drawn by plotly.js' basic bundle in a Streamlit components-v2
element, with its own client-side step controls, clicks and the step reported back to Python.

What crosses to the browser is `chart_data(...)`: the figure as JSON text (NumPy arrays as base64
typed arrays, "bdata"), without Plotly's own updatemenus/sliders, its frames, the frame to open
at, the frame duration at 1× and the speed. The browser side is `frontend/chart.js`, built after
plotly.js into `assets/chart.js`.
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from _plotly_utils.utils import PlotlyJSONEncoder, is_skipped_key, to_typed_array_spec
from plotly.io.json import to_json_plotly
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

PROJECT = "descent-lab"  # [project] name in pyproject.toml
COMPONENT = "chart"  # [[tool.streamlit.component.components]] name
NAME = f"{PROJECT}.{COMPONENT}"  # the name Streamlit registers the component under
ASSET_DIR = Path(__file__).resolve().parent / "assets"
FRAME_MS = 60  # a frame at 1× when the figure carries no Play button to read it from
SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
BOTTOM_MARGIN = 60  # px under the plot once Plotly's own controls are gone (room for the x title)
HEAD_START_S = 0.5  # how long the first chart of a new visitor's first run has the browser to itself
_HEAD_START_KEY = "_chart.head_start"  # session state: the head start the next chart drawn gives itself


@dataclass(frozen=True)
class Click:
    """A click on the plot area, in data coordinates of the subplot clicked (`subplot`: "xy",
    "x2y2", ...). `seq` numbers the clicks of one chart in the browser, 1, 2, 3 ..."""

    x: float
    y: float
    subplot: str
    seq: int


@dataclass(frozen=True)
class ChartResult:
    """What came back from the browser.

    - `clicks`: the clicks that arrived with this run, oldest first (usually one; several when
      clicks came faster than reruns). Empty on every other run.
    - `step`: the step on screen when the browser last reported it (with `report_step=True`:
      on Pause, at the end of playback, and after stepping or scrubbing stops for a moment);
      None before the first report.
    """

    clicks: tuple[Click, ...] = ()
    step: int | None = None


_MOUNT: Callable[..., Any] | None = None


def _mounter() -> Callable[..., Any]:
    """The component's mount command, registered on first use: registering a file-backed component
    needs its manifest on the running Streamlit, which exists only once a script runs."""
    global _MOUNT
    if _MOUNT is None:
        _ensure_manifest()
        _MOUNT = st.components.v2.component(NAME, js="chart.js", css="chart.css", isolate_styles=False)
    return _MOUNT


def _ensure_manifest() -> None:
    """Declare the asset directory to the running Streamlit, as an installed package's
    pyproject.toml would (`[[tool.streamlit.component.components]]`), when it is not declared:
    the app also runs from a checkout that was never `pip install`-ed, and AppTest makes a new
    runtime per test. A no-op once the manifest is known."""
    from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager
    from streamlit.components.v2.manifest_scanner import ComponentConfig, ComponentManifest

    manager = get_bidi_component_manager()
    if manager.get_component_asset_root(NAME) is None:
        manifest = ComponentManifest(name=PROJECT, version="0", components=[
            ComponentConfig(name=COMPONENT, asset_dir=ASSET_DIR.name)])
        manager.register_from_manifest(manifest, ASSET_DIR.parent)


def plotly_chart(figure: go.Figure | Mapping[str, Any], *, key: str, step: int | None = None,
                 height: int | None = None, on_click: Callable[[list[Click]], None] | None = None,
                 controls: bool = True, speed: float = 1.0, frame_ms: int | None = None,
                 report_step: bool = False, on_step: Callable[[int], None] | None = None,
                 speeds: Sequence[float] = SPEEDS, theme: bool = True,
                 config: Mapping[str, Any] | None = None,
                 companions: Sequence[go.Figure | Mapping[str, Any]] = (),
                 panel: Mapping[str, str] | None = None) -> ChartResult:
    """Draw a 2D Plotly figure; step its animation frames in the browser, without reruns.

    - `figure`: a `go.Figure` or its dict. Its frames must be named by the step they show
      (`figures.animation.frame_steps`); its updatemenus and sliders (Play/Pause, the step slider
      of the HTML export) are dropped: the chart has its own controls under the plot.
    - `key`: required; the chart keeps its state (the step on screen, the clicks seen) by it.
    - `step`: the step to open at (the nearest frame); None: the figure's slider position, else
      the last frame. A rerun with the same `step` keeps the step on screen.
    - `height`: pixels (default: the figure's layout height, else 450). The width follows the
      container.
    - `on_click`: called before the rerun a click causes, with the new clicks (list of `Click`).
      The same clicks are in the returned `ChartResult.clicks` during that rerun.
    - `controls`: previous / play-pause / next, the step, a scrub slider and a speed menu;
      ← → keys step when the chart has focus. False: a static chart at `step`, no frames sent.
    - `speed`: the speed the menu starts at; `frame_ms`: milliseconds per frame at 1× (default:
      the figure's Play button's frame duration, else 60).
    - `report_step`: send the step on screen back (`ChartResult.step`, `on_step(step)`) on Pause,
      at the end of playback, and after stepping or scrubbing pauses for half a second. Each
      report is a rerun; without it stepping never reruns the page.
    - `theme`: Streamlit's colours and font (the figure's own template is dropped, as
      `st.plotly_chart(theme="streamlit")` does); `config`: Plotly config entries to add.
    - `companions`: more figures drawn beside this one whose frames (named by the same steps)
      step with it: the Lecture page's state-over-time panels beside its contour.
    - `panel`: HTML per frame name, shown under the controls for the step on screen (the
      Lecture page's substituted equations and narration). It is inserted as HTML: build it
      from numbers and escaped text only, never from user input as typed.

    >>> import plotly.graph_objects as go
    >>> plotly_chart(go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), key="doc")  # outside a run: nothing drawn
    ChartResult(clicks=(), step=None)
    """
    data = chart_data(figure, step=step, height=height, controls=controls, speed=speed, frame_ms=frame_ms,
                      report_step=report_step, speeds=speeds, theme=theme, config=config,
                      companions=companions, panel=panel)
    return draw(data, key=key, on_click=on_click, on_step=on_step)


@contextmanager
def head_start(enabled: bool = True, seconds: float = HEAD_START_S) -> Iterator[None]:
    """Within this block, the first chart drawn is sent alone: the script waits `seconds` after
    sending it, before the elements after it follow. For a new visitor's first run (app.py).

    Streamlit's frontend renders the elements that arrive together in one go and runs the chart's
    code only after that render (the Compare page's ~40 widgets: ~0.4 s of the main thread), and
    React reveals an element whose script was still loading only 500 ms after the last element
    that waited for its own; arriving alone, the chart loads, mounts and draws while the rest of
    the page is on its way. Only when a browser is on the other end (the session has request
    headers; AppTest has none), and only for this block: a later rerun never waits."""
    armed = enabled and seconds > 0 and _has_browser()
    if armed:
        st.session_state[_HEAD_START_KEY] = float(seconds)
    try:
        yield
    finally:
        if armed:
            st.session_state.pop(_HEAD_START_KEY, None)


def _has_browser() -> bool:
    return bool(st.context.headers)


def _wait(seconds: float) -> None:
    time.sleep(seconds)


def draw(data: Mapping[str, Any], *, key: str, on_click: Callable[[list[Click]], None] | None = None,
         on_step: Callable[[int], None] | None = None) -> ChartResult:
    """Draw what `chart_data(...)` made: `plotly_chart` in two halves, so that a page can make the
    data once for every session that shows the same thing (a cache) and draw it in each.

    >>> draw(chart_data({"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}]}), key="doc")
    ChartResult(clicks=(), step=None)
    """
    if get_script_run_ctx(suppress_warning=True) is None:  # a notebook or a bare import: nothing to draw on
        return ChartResult()
    _ensure_manifest()  # on the runtime that runs this script (AppTest: a new one per test)

    def clicked() -> None:
        clicks = _new_clicks(key, _present(key).get("click"))
        if clicks and on_click is not None:
            on_click(clicks)

    def stepped() -> None:
        reported = _present(key).get("step")
        if on_step is not None and isinstance(reported, int):
            on_step(reported)

    result = _mounter()(key=key, data=data, default={"step": None}, on_click_change=clicked,
                    on_step_change=stepped, width="stretch", height="content")
    seconds = st.session_state.pop(_HEAD_START_KEY, None)  # sent: its head start, once (see `head_start`)
    if seconds:
        _wait(seconds)
    clicks = _new_clicks(key, getattr(result, "click", None))
    reported = getattr(result, "step", None)
    return ChartResult(tuple(clicks), reported if isinstance(reported, int) else None)


def chart_data(figure: go.Figure | Mapping[str, Any], *, step: int | None = None, height: int | None = None,
               controls: bool = True, speed: float = 1.0, frame_ms: int | None = None,
               report_step: bool = False, speeds: Sequence[float] = SPEEDS, theme: bool = True,
               config: Mapping[str, Any] | None = None,
               companions: Sequence[go.Figure | Mapping[str, Any]] = (),
               panel: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What `plotly_chart` sends to the browser (JSON-ready). `figure` is JSON text of
    {data, layout, frames}; `frames` lists the frame names in order; `step` is the name of the
    frame to open at (None: no frames)."""
    if speed <= 0 or not math.isfinite(speed):
        raise ValueError(f"speed must be a positive number, got {speed!r}")
    if isinstance(figure, Mapping) and theme:
        spec = _typed_arrays(figure)  # what to_plotly_json gives once the template is dropped, without the copies
    else:
        fig = figure if isinstance(figure, go.Figure) else go.Figure(dict(figure), _validate=False)
        spec = fig.to_plotly_json()  # NumPy arrays become {"dtype", "bdata"}: plotly.js decodes them
    layout = dict(spec.get("layout", {}))
    one_x = frame_ms or _play_duration(layout) or FRAME_MS
    menus = layout.pop("updatemenus", None)
    sliders = layout.pop("sliders", None)
    margin = dict(layout.get("margin") or {})
    if (menus or sliders) and margin.get("b", 0) > BOTTOM_MARGIN:  # the room they had under the plot
        if isinstance(layout.get("height"), int | float):
            layout["height"] = layout["height"] - (margin["b"] - BOTTOM_MARGIN)
        layout["margin"] = {**margin, "b": BOTTOM_MARGIN}
    if theme:
        layout.pop("template", None)
    if height is not None:
        layout["height"] = int(height)
    frames = [dict(f) for f in spec.get("frames", []) if f.get("name") is not None]
    names = [str(f["name"]) for f in frames]
    opening = _opening_frame(names, step, sliders)
    traces = list(spec.get("data", []))
    if not controls:
        if opening is not None:  # a still of that frame: its traces replace the moving ones
            traces = _merged(traces, frames[names.index(opening)])
        frames, names, opening = [], [], None
    text = _json_text({"data": traces, "layout": layout, "frames": frames})
    extra = {}
    if companions:
        extra["companions"] = [_companion_text(c, theme) for c in companions]
    if panel:
        extra["panel"] = {str(name): str(html) for name, html in panel.items()}
    return {**extra, "figure": text, "frames": names, "step": opening, "controls": bool(controls and names),
            "frame_ms": float(one_x), "speed": float(speed), "speeds": sorted({*map(float, speeds), float(speed)}),
            "report_step": bool(report_step), "theme": bool(theme),
            "config": {"displaylogo": False, "doubleClick": False, **(config or {})}}


def _typed_arrays(value: Any) -> Any:
    """A figure dict with every NumPy array that is a dict's value as plotly.js' typed array spec
    ({"dtype", "bdata"}), as `go.Figure.to_plotly_json` converts them; new dicts and lists, the
    arrays themselves untouched. A dict goes straight to JSON: building a validated Plotly
    object per trace and per frame, then deep-copying it, was most of a Compare rerun."""
    if isinstance(value, Mapping):
        return {key: item if is_skipped_key(key) else
                _typed_array(item) if type(item) is np.ndarray else _typed_arrays(item)
                for key, item in value.items()}
    if type(value) in (list, tuple) and any(type(item) in _NESTED for item in value):
        return [_typed_arrays(item) for item in value]
    return value  # a number, a string, a list of them: sent as it is


_NESTED = (dict, list, tuple)
# The arrays a figure builder makes are floats; plotly's own conversion copies each one first (0.13 ms
# for a path of 600 numbers: half of a new Compare chart's data).
_FLOATS = {np.dtype("float64"): "f8", np.dtype("float32"): "f4"}


def _typed_array(array: np.ndarray) -> Any:
    """`to_typed_array_spec(array)`, the same spec, without its copy for a non-empty array of
    native floats."""
    short = _FLOATS.get(array.dtype)
    if short is None or array.size == 0:
        return to_typed_array_spec(array)
    spec = {"dtype": short, "bdata": base64.b64encode(np.ascontiguousarray(array)).decode("ascii")}
    if array.ndim > 1:
        spec["shape"] = str(array.shape)[1:-1]
    return spec


_ENCODER = PlotlyJSONEncoder()


def _json_text(spec: Mapping[str, Any]) -> str:
    """`plotly.io.to_json_plotly(spec)`, parsed the same, without its second pass: it decodes and
    re-encodes the whole text whenever "NaN" occurs in it, and a base64 typed array holds those
    three letters about once per 260,000 characters. Plotly's way (NaN as null) only for a
    figure that holds a non-finite float outside its typed arrays."""
    try:
        return json.dumps(spec, separators=(",", ":"), allow_nan=False, default=_ENCODER.default)
    except ValueError:
        return to_json_plotly(spec)


def _companion_text(figure: go.Figure | Mapping[str, Any], theme: bool) -> str:
    """A companion figure as JSON text: its frames kept (they step with the main figure's), its
    own playback controls dropped."""
    fig = figure if isinstance(figure, go.Figure) else go.Figure(dict(figure), _validate=False)
    spec = fig.to_plotly_json()
    layout = {k: v for k, v in spec.get("layout", {}).items() if k not in ("updatemenus", "sliders")}
    if theme:
        layout.pop("template", None)
    return _json_text({"data": spec.get("data", []), "layout": layout, "frames": spec.get("frames", [])})


def _play_duration(layout: Mapping[str, Any]) -> float | None:
    """The frame duration of the figure's Play button (an animate button with `args[0] is None`)."""
    for menu in layout.get("updatemenus", ()) or ():
        for button in menu.get("buttons", ()) or ():
            args = button.get("args") or []
            if button.get("method") == "animate" and args and args[0] is None and len(args) > 1:
                duration = (args[1].get("frame") or {}).get("duration")
                if isinstance(duration, int | float) and duration > 0:
                    return float(duration)
    return None


def _opening_frame(names: list[str], step: int | None, sliders: Any) -> str | None:
    if not names:
        return None
    if step is None:
        active = (sliders or [{}])[0].get("active") if sliders else None
        return names[active] if isinstance(active, int) and 0 <= active < len(names) else names[-1]
    numeric = [(abs(float(n) - step), i) for i, n in enumerate(names) if _is_number(n)]
    return names[min(numeric)[1]] if numeric else names[-1]


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _merged(traces: list[dict], frame: Mapping[str, Any]) -> list[dict]:
    traces = list(traces)
    indices = frame.get("traces") or range(len(frame.get("data", [])))
    for index, update in zip(indices, frame.get("data", []), strict=False):
        if 0 <= index < len(traces):
            traces[index] = {**traces[index], **{k: v for k, v in update.items() if k != "type"}}
    return traces


def _present(key: str) -> Mapping[str, Any]:
    value = st.session_state.get(key)
    return value if isinstance(value, Mapping) else {}


def _new_clicks(key: str, payload: Any) -> list[Click]:
    """The clicks in `payload` not seen before. The browser sends its recent clicks with every
    click event, so a click whose own event was merged into a later one (two clicks before one
    rerun) still arrives; `token` tells one mount of the chart from another."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("clicks"), list):
        return []
    memo_key = f"_chart.{key}.clicks"
    memo = st.session_state.get(memo_key) or {"token": None, "seen": 0, "batch_id": None, "batch": []}
    batch_id = (payload.get("token"), payload.get("seq"))
    if memo["batch_id"] == batch_id:  # the callback and the script body read the same event
        return list(memo["batch"])
    seen = memo["seen"] if memo["token"] == payload.get("token") else 0
    fresh = []
    for item in payload["clicks"]:
        try:
            click = Click(float(item["x"]), float(item["y"]), str(item.get("subplot", "xy")), int(item["seq"]))
        except (KeyError, TypeError, ValueError):
            continue
        if click.seq > seen:
            fresh.append(click)
    fresh.sort(key=lambda c: c.seq)
    st.session_state[memo_key] = {"token": payload.get("token"), "seen": max([seen, *(c.seq for c in fresh)]),
                                  "batch_id": batch_id, "batch": fresh}
    return fresh


def figure_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """The figure in `chart_data(...)` as a dict, for tests and debugging."""
    return json.loads(data["figure"])
