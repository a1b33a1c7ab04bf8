"""`still`: a frame of an animated figure as a static figure, with plotly.js's frame semantics."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from exports import still
from exports.frames import animation_spec


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


# -- animation_spec: what a GIF or MP4 shows ------------------------------------------------------
@pytest.fixture(scope="module")
def compare():
    from figures import comparison_figure
    from landscapes import get_landscape
    from optimizers import simulate

    land = get_landscape("quadratic")
    run = simulate(land, "sgd", [(-4.0, 2.0), (3.0, -1.0)], 20, record="path", lr=0.1)
    return run, json.loads(comparison_figure(land, [run], averaged=[True]).to_json())


def test_in_an_exported_animation_every_path_grows_to_the_frames_step(compare):
    run, spec = compare
    paths = [i for i, t in enumerate(spec["data"]) if t.get("mode") == "lines" and t.get("xaxis") == "x"]
    assert len(paths) == 4  # two starts, each with its Polyak average

    frames = animation_spec(spec)["frames"]

    assert [f["name"] for f in frames] == [str(k) for k in range(21)]
    for frame in frames:
        step = int(frame["name"])
        updates = dict(zip(frame["traces"], frame["data"], strict=True))
        for index, start in zip(paths[:2], (0, 1), strict=True):
            assert updates[index]["x"] == pytest.approx(run.points[start, : step + 1, 0].tolist())
            assert updates[index]["y"] == pytest.approx(run.points[start, : step + 1, 1].tolist())
        assert all(len(updates[index]["x"]) == step + 1 for index in paths[2:])


def test_each_frame_of_an_exported_animation_is_labelled_with_its_step(compare):
    _, spec = compare
    (label,) = [i for i, t in enumerate(spec["data"]) if t.get("name") == "step label"]
    assert spec["data"][label]["text"] == [""]  # blank in the interactive figure

    for frame in animation_spec(spec)["frames"]:
        updates = dict(zip(frame["traces"], frame["data"], strict=True))
        assert updates[label]["text"] == [f"step {frame['name']}"]


def test_animation_spec_keeps_the_moving_traces_and_leaves_its_input_alone(compare):
    _, spec = compare
    before = json.dumps(spec)

    frames = animation_spec(spec)["frames"]

    assert json.dumps(spec) == before
    for original, frame in zip(spec["frames"], frames, strict=True):
        assert frame["traces"][:2] == original["traces"] and frame["data"][:2] == original["data"]


def test_a_figure_with_nothing_to_grow_or_label_is_animated_as_it_is(figure):
    spec = json.loads(figure.to_json())
    assert animation_spec(spec) is spec
