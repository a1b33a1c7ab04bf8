"""What `chart.plotly_chart` sends to the browser (`chart_data`), how clicks come back, and the page
as AppTest sees it."""

import base64
import json
import re
import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import plotly.offline
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import chart
from chart import component

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from demo_figure import demo_figure, frame_names, paths  # noqa: E402


def decoded(array) -> np.ndarray:
    """A plotly.js typed-array spec ({"dtype", "bdata"}) or a list, as NumPy."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    return np.asarray(array, dtype=float)


def test_plotly_own_controls_are_dropped_and_their_room_given_back():
    data = chart.chart_data(demo_figure(40))
    layout = chart.figure_of(data)["layout"]
    assert "updatemenus" not in layout and "sliders" not in layout
    assert layout["margin"]["b"] == component.BOTTOM_MARGIN
    assert layout["height"] == 600 - (135 - component.BOTTOM_MARGIN)  # the plot area keeps its size
    assert data["controls"] is True


def test_frames_are_sent_by_step_name_and_open_at_the_slider_position():
    data = chart.chart_data(demo_figure(250))
    figure = chart.figure_of(data)
    assert data["frames"] == [str(k) for k in frame_names(250)] == [f["name"] for f in figure["frames"]]
    assert data["step"] == "250"  # the figure's slider sits on its last frame
    assert all(f["traces"] == [4, 5] for f in figure["frames"])


@pytest.mark.parametrize(("asked", "opened"), [(0, "0"), (13, "13"), (251, "250"), (-5, "0")])
def test_step_opens_at_the_nearest_frame(asked, opened):
    data = chart.chart_data(demo_figure(250), step=asked)
    names = [int(n) for n in data["frames"]]
    assert data["step"] == opened
    assert abs(int(opened) - min(max(asked, 0), 250)) == min(abs(n - min(max(asked, 0), 250)) for n in names)


def test_numpy_arrays_travel_as_typed_arrays():
    data = chart.chart_data(demo_figure(40, starts=2))
    first_path = chart.figure_of(data)["data"][0]
    assert first_path["x"]["dtype"] == "f8"
    np.testing.assert_array_equal(decoded(first_path["x"]), paths(40, 2)[0, :, 0])
    np.testing.assert_array_equal(decoded(first_path["y"]), paths(40, 2)[0, :, 1])


@pytest.mark.parametrize("array", [
    np.linspace(-1.5, 2.0, 601), np.linspace(0, 1, 12, dtype=np.float32), np.arange(12.0).reshape(3, 4),
    np.arange(24.0).reshape(4, 6)[:, ::2], np.array([np.nan, np.inf, -0.0, 1e308]), np.array([], dtype=float),
    np.arange(5), np.arange(3, dtype=np.uint64) * 70_000, np.array([2**40]), np.array([True, False]),
], ids=["path", "float32", "2d", "strided", "non-finite", "empty", "int64", "uint64", "large int", "bool"])
def test_arrays_become_the_typed_array_spec_plotly_makes(array):
    from _plotly_utils.utils import to_typed_array_spec

    ours, plotly_s = component._typed_array(array), to_typed_array_spec(array)

    if isinstance(plotly_s, dict):
        assert ours == plotly_s
    else:  # plotly leaves it an array (the JSON encoder makes it a list)
        np.testing.assert_array_equal(ours, plotly_s)


def test_frame_duration_at_1x_comes_from_the_play_button_and_speed_is_separate():
    data = chart.chart_data(demo_figure(40, frame_duration=80), speed=2.0)
    assert data["frame_ms"] == 80 and data["speed"] == 2.0 and 2.0 in data["speeds"]
    assert chart.chart_data(demo_figure(40), frame_ms=30)["frame_ms"] == 30
    assert chart.chart_data(go.Figure(go.Scatter(x=[1], y=[2])))["frame_ms"] == component.FRAME_MS


@pytest.mark.parametrize("speed", [0, -1, float("nan")])
def test_a_speed_that_is_not_positive_is_refused(speed):
    with pytest.raises(ValueError, match="speed"):
        chart.chart_data(demo_figure(10), speed=speed)


def test_a_static_chart_carries_no_frames_and_shows_the_step_asked_for():
    data = chart.chart_data(demo_figure(40, starts=2), step=10, controls=False)
    figure = chart.figure_of(data)
    assert figure["frames"] == [] and data["frames"] == [] and data["controls"] is False
    heads = figure["data"][4]
    np.testing.assert_allclose(decoded(heads["x"]), paths(40, 2)[:, 10, 0])
    assert heads["mode"] == "markers"  # the frame's data replaced the moving parts, not the style


def test_theme_drops_the_figure_template_and_theme_false_keeps_it():
    figure = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]), layout={"template": "plotly_dark"})
    assert "template" not in chart.figure_of(chart.chart_data(figure))["layout"]
    assert "template" in chart.figure_of(chart.chart_data(figure, theme=False))["layout"]


def test_a_figure_dict_with_numpy_arrays_is_accepted():
    data = chart.chart_data({"data": [{"type": "scatter", "x": np.arange(3.0), "y": np.ones(3)}]})
    np.testing.assert_array_equal(decoded(chart.figure_of(data)["data"][0]["x"]), [0, 1, 2])


def test_the_compare_figure_is_sent_whole_and_under_the_payload_budget():
    from figures import comparison_figure
    from landscapes import get_landscape
    from optimizers import simulate

    land = get_landscape("rosenbrock")
    runs = [simulate(land, name, [(-1.5, 2.0)], 500, record="path", lr=lr)
            for name, lr in [("sgd", 0.001), ("momentum", 0.001), ("adagrad", 0.5), ("rmsprop", 0.01),
                             ("adam", 0.1), ("nadam", 0.1)]]
    figure = comparison_figure(land, runs, frame=120)
    data = chart.chart_data(figure)
    assert data["step"] == "120"
    assert len(json.dumps(data).encode()) <= 1_000_000  # DESIGN §7: the animated figure's payload ≤ 1 MB
    sent = chart.figure_of(data)
    assert len(sent["data"]) == len(figure.data) and len(sent["frames"]) == len(figure.frames)
    assert sent["layout"]["images"][0]["source"].startswith("data:image/png")


# Clicks: the browser resends its recent clicks with each event; Python keeps each once.
@pytest.fixture
def session(monkeypatch):
    state = {}
    monkeypatch.setattr(st, "session_state", state)
    return state


def payload(token, *seqs):
    return {"token": token, "seq": max(seqs), "clicks": [{"seq": s, "x": s * 0.5, "y": -s, "subplot": "xy"}
                                                         for s in seqs]}


def test_every_click_counts_once_even_when_two_arrive_in_one_event(session):
    assert [c.seq for c in component._new_clicks("c", payload("a", 1))] == [1]
    # click 2's own event was merged into click 3's before the rerun: both arrive now
    arrived = component._new_clicks("c", payload("a", 1, 2, 3))
    assert [(c.seq, c.x, c.y) for c in arrived] == [(2, 1.0, -2), (3, 1.5, -3)]
    assert component._new_clicks("c", None) == []


def test_the_callback_and_the_script_see_the_same_new_clicks(session):
    first = component._new_clicks("c", payload("a", 1, 2))
    again = component._new_clicks("c", payload("a", 1, 2))
    assert [c.seq for c in first] == [c.seq for c in again] == [1, 2]


def test_a_remounted_chart_starts_counting_again(session):
    component._new_clicks("c", payload("a", 1, 2, 3))
    assert [c.seq for c in component._new_clicks("c", payload("b", 1))] == [1]


def test_outside_a_streamlit_run_nothing_is_drawn():
    assert chart.plotly_chart(demo_figure(5), key="bare") == chart.ChartResult()


# The bundled plotly.js
ASSETS = Path(component.__file__).resolve().parent / "assets"
frontend_build = SimpleNamespace(**runpy.run_path(str(ASSETS.parent / "frontend" / "build.py")))  # not a package


def test_the_vendored_bundle_is_the_pinned_basic_bundle_with_its_licence():
    bundle, code = frontend_build.parts((ASSETS / "chart.js").read_text(encoding="utf-8"))
    version = re.search(r"plotly\.js \(basic - minified\) v(\S+)", bundle[:200]).group(1)
    pinned = json.loads((ASSETS.parent / "frontend" / "package.json").read_text())["dependencies"]
    assert pinned == {"plotly.js-basic-dist-min": version}  # an exact pin, the file that is shipped
    assert version == plotly.offline.get_plotlyjs_version()  # the plotly.js Python plotly targets
    assert bundle.rstrip().endswith("window.Plotly = Plotly;\nreturn Plotly;\n}));")  # the whole UMD bundle
    assert "MIT" in (ASSETS / "PLOTLY-LICENSE").read_text() or "Permission is hereby granted" in (
        ASSETS / "PLOTLY-LICENSE").read_text()
    assert "cdn" not in code.lower() and "import " not in code  # nothing fetched: one file, no CDN
    assert sorted(p.name for p in ASSETS.glob("*.js")) == ["chart.js"]  # the bundle is shipped once


def test_the_shipped_script_is_built_from_the_current_chart_source():
    """chart/assets/chart.js is the bundle followed by chart/frontend/chart.js as it is now: an edit
    of the source without `python chart/frontend/build.py` fails here."""
    assert (ASSETS / "chart.js").read_text(encoding="utf-8") == frontend_build.build()
    assert frontend_build.parts(frontend_build.build())[1] == frontend_build.SOURCE.read_text(encoding="utf-8")


# The page, as AppTest runs it: the element is a components-v2 element (AppTest has no typed
# wrapper for it: an UnknownElement of type "bidi_component" whose proto holds the data as JSON).
def test_apptest_sees_the_component_and_the_data_it_carries():
    at = AppTest.from_file(str(HERE / "demo_app.py"), default_timeout=60)
    at.query_params["steps"] = "30"
    at.run()
    assert not at.exception
    (element,) = at.get("bidi_component")
    proto = element.proto
    assert proto.component_name == component.NAME and proto.js_source_path == "chart.js"
    assert proto.css_source_path == "chart.css" and not proto.isolate_styles
    data = json.loads(proto.json)
    assert data["frames"][-1] == data["step"] == "30"
    assert "sliders" not in chart.figure_of(data)["layout"]
    # a second AppTest is a second runtime: the component registers there too
    again = AppTest.from_file(str(HERE / "demo_app.py"), default_timeout=60)
    again.query_params["static"] = "1"
    again.run()
    assert not again.exception
    assert json.loads(again.get("bidi_component")[0].proto.json)["controls"] is False


def test_a_figure_dict_is_sent_as_its_go_figure_would_be():
    """The Compare page sends `comparison_spec`'s dicts straight to JSON; the browser must get
    what `comparison_figure` (the same figure, validated) would have sent, NaN gaps included."""
    from figures.animation import comparison_figure, comparison_spec
    from landscapes import get_landscape
    from optimizers import simulate

    land = get_landscape("saddle")
    runs = [simulate(land, "sgd", [(-1.0, 0.01), (0.5, 0.5)], 300, record="path", lr=0.3),  # runs off, diverges
            simulate(land, "adam", [(-1.0, 0.5)], 80, record="path", lr=0.05)]
    for options in ({}, {"averaged": [True, False], "frame": 7, "presentation": True}):
        sent = chart.chart_data(comparison_spec(land, runs, **options), speed=2.0, report_step=True)
        validated = chart.chart_data(comparison_figure(land, runs, **options), speed=2.0, report_step=True)
        assert chart.figure_of(sent) == chart.figure_of(validated)
        assert {k: v for k, v in sent.items() if k != "figure"} == {k: v for k, v in validated.items()
                                                                   if k != "figure"}


def test_a_non_finite_number_outside_the_arrays_is_sent_as_null():
    data = chart.chart_data({"data": [{"type": "scatter", "x": [0.0, 1.0], "y": [float("nan"), 2.0]}]})
    assert chart.figure_of(data)["data"][0]["y"] == [None, 2.0]


# The head start (app.py): a new visitor's first chart is sent alone, the rest of the page after it.
HEAD_START_PAGE = """
import streamlit as st
import chart

figure = {"data": [{"type": "scatter", "x": [1, 2], "y": [3, 4]}]}
first = "ran" not in st.session_state
st.session_state["ran"] = True
if st.query_params.get("outside") == "1":
    chart.plotly_chart(figure, key="before")
with chart.head_start(enabled=first):
    if st.query_params.get("chartless") != "1":
        chart.plotly_chart(figure, key="a")
    st.write("after a")
    chart.plotly_chart(figure, key="b")
chart.plotly_chart(figure, key="c")
"""


@pytest.fixture
def waits(monkeypatch):
    """The head starts given, as (seconds, the charts the page had sent by then)."""
    given = []
    sent = []
    draw = component.draw

    def counted(data, *, key, **kwargs):
        sent.append(key)
        return draw(data, key=key, **kwargs)

    monkeypatch.setattr(component, "draw", counted)
    monkeypatch.setattr(component, "_wait", lambda seconds: given.append((seconds, tuple(sent))))
    return given


def test_the_first_chart_of_a_first_run_waits_once_after_it_is_sent(monkeypatch, waits):
    monkeypatch.setattr(component, "_has_browser", lambda: True)
    at = AppTest.from_string(HEAD_START_PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    assert waits == [(component.HEAD_START_S, ("a",))]  # after chart a, before b, c and the text
    at.run()  # a rerun: no head start
    assert waits == [(component.HEAD_START_S, ("a",))]
    assert component._HEAD_START_KEY not in at.session_state


def test_a_head_start_is_only_for_a_chart_inside_the_block(monkeypatch, waits):
    monkeypatch.setattr(component, "_has_browser", lambda: True)
    at = AppTest.from_string(HEAD_START_PAGE, default_timeout=60)
    at.query_params["outside"] = "1"
    at.query_params["chartless"] = "1"
    at.run()
    assert not at.exception
    assert waits == [(component.HEAD_START_S, ("before", "b"))]  # not the chart before the block
    at.run()
    assert len(waits) == 1


def test_without_a_browser_nothing_waits(waits):
    at = AppTest.from_string(HEAD_START_PAGE, default_timeout=60)  # AppTest: no request headers
    at.run()
    assert not at.exception
    assert waits == []
    assert len(at.get("bidi_component")) == 3
