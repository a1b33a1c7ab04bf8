"""`still`: a frame of an animated figure as a static figure, with plotly.js's frame semantics."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from exports import still


@pytest.mark.parametrize("frame", [0, 2, 4, -1, -5])
def test_still_applies_the_frames_data_to_the_traces_it_names(figure, frame):
    shown = figure.frames[frame]

    image = still(figure, frame)

    assert shown.traces == (1, 2)
    assert image.data[1].x == shown.data[0].x and image.data[1].y == shown.data[0].y
    assert image.data[2].x == shown.data[1].x and image.data[2].y == shown.data[1].y


def test_still_defaults_to_the_last_frame(figure):
    assert still(figure).data[2].x == figure.frames[-1].data[1].x == (0.8,)
    assert still(figure).data[2].x != still(figure, 0).data[2].x


def test_still_keeps_the_traces_and_properties_the_frame_does_not_set(figure):
    image = still(figure, 3)

    assert len(image.data) == 3
    assert image.to_dict()["data"][0] == figure.to_dict()["data"][0]  # the contour, untouched
    assert (image.data[1].type, image.data[1].name, image.data[1].mode) == ("scatter", "path", "lines")
    assert image.data[2].marker.to_plotly_json() == {"size": 16, "color": "#ff0000", "symbol": "square"}


def test_still_drops_frames_sliders_and_play_buttons_and_keeps_the_rest_of_the_layout(figure):
    image = still(figure, 1)

    assert image.frames == ()
    assert image.layout.sliders == () and image.layout.updatemenus == ()
    assert image.layout.xaxis.range == (-1, 1) and image.layout.plot_bgcolor == "white"


def test_still_does_not_modify_its_input(figure):
    before = figure.to_json()

    still(figure, 2)
    still(figure)

    assert figure.to_json() == before
    assert len(figure.frames) == 5 and len(figure.layout.sliders) == 1


def test_a_figure_without_frames_comes_back_as_a_copy_without_playback_controls():
    # The page drops the frames before asking for a PNG; the play button and slider must go all the same.
    figure = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]),
                       layout={"updatemenus": [{"buttons": []}], "sliders": [{"steps": []}], "title": {"text": "t"}})

    image = still(figure)

    assert image is not figure
    assert image.layout.updatemenus == () and image.layout.sliders == ()
    assert image.data == figure.data and image.layout.title.text == "t"
    assert len(figure.layout.updatemenus) == 1  # the input is untouched


def test_a_frame_without_traces_updates_the_first_traces_in_order():
    figure = go.Figure([go.Scatter(y=[0], name="a"), go.Scatter(y=[0], name="b"), go.Scatter(y=[0], name="c")],
                       frames=[go.Frame(data=[go.Scatter(y=[1]), go.Scatter(y=[2])])])

    image = still(figure)

    assert [trace.y for trace in image.data] == [(1,), (2,), (0,)]
    assert [trace.name for trace in image.data] == ["a", "b", "c"]


def test_nested_properties_merge_and_arrays_are_replaced_as_in_plotly_js():
    figure = go.Figure(go.Scatter(x=[0, 1, 2], y=[0, 1, 2], marker={"size": 9, "color": "blue"}),
                       frames=[go.Frame(data=[go.Scatter(x=[5], marker={"color": "red"})])])

    trace = still(figure).data[0]

    assert trace.marker.size == 9 and trace.marker.color == "red"
    assert trace.x == (5,) and trace.y == (0, 1, 2)


def test_a_frame_trace_without_a_type_keeps_the_type_of_the_trace_it_updates():
    # plotly.py stores a frame trace given without a type as a scatter, whatever trace it targets.
    figure = go.Figure([go.Contour(z=[[0, 1], [1, 0]], name="before")], frames=[go.Frame(data=[{"name": "after"}])])
    assert figure.frames[0].data[0].type == "scatter"

    trace = still(figure).data[0]

    assert (trace.type, trace.name) == ("contour", "after")
    assert [list(row) for row in trace.z] == [[0, 1], [1, 0]]


def test_the_frames_layout_is_applied():
    figure = go.Figure(go.Scatter(y=[0]), layout={"title": {"text": "start", "x": 0.1}},
                       frames=[go.Frame(layout={"title": {"text": f"step {k}"}}) for k in range(3)])

    assert still(figure, 1).layout.title.text == "step 1"
    assert still(figure, 1).layout.title.x == 0.1


@pytest.mark.parametrize("frame", [5, -6])
def test_a_frame_out_of_range_is_an_index_error(figure, frame):
    with pytest.raises(IndexError, match="5 frames"):
        still(figure, frame)


def test_still_works_on_the_apps_comparison_figure():
    from figures import comparison_figure
    from landscapes import get_landscape
    from optimizers import simulate

    land = get_landscape("quadratic")
    run = simulate(land, "sgd", [(-4.0, 2.0), (3.0, -1.0)], 20, record="path", lr=0.1)
    figure = comparison_figure(land, [run], frame=0)
    heads = figure.frames[-1].traces[0]

    image = still(figure)

    assert image.data[heads].x == pytest.approx(run.points[:, -1, 0])
    assert figure.data[heads].x == pytest.approx(run.points[:, 0, 0])  # the figure opened at step 0
    assert image.frames == () and image.layout.sliders == ()
