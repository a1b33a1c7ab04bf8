"""The Compare figure: every path drawn exactly once, frames that move only two small traces, colours
that belong to a card, and a payload a browser can take."""

from __future__ import annotations

import json

import numpy as np
import plotly.io as pio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from figures import PALETTE, comparison_figure, frame_steps, legend_labels
from landscapes import get_landscape
from optimizers import optimizer_names, polyak_average, simulate

STEPS = 40
TWO_STARTS = [(-4.0, 2.0), (3.0, 1.0)]


@pytest.fixture(scope="module")
def quadratic():
    return get_landscape("quadratic")


@pytest.fixture(scope="module")
def runs(quadratic):
    """Three optimizers, two of them from two starts."""
    return [simulate(quadratic, "sgd", TWO_STARTS, STEPS, record="path", lr=0.1),
            simulate(quadratic, "adam", TWO_STARTS[:1], STEPS, record="path", lr=0.1),
            simulate(quadratic, "momentum", TWO_STARTS, STEPS, record="path", lr=0.05)]


@pytest.fixture(scope="module")
def figure(quadratic, runs):
    return comparison_figure(quadratic, runs).to_dict()


def series_of(runs) -> list[tuple[int, int]]:
    """(run, start) for every path, in the order the figure draws them."""
    return [(r, s) for r, run in enumerate(runs) for s in range(len(run.points))]


def path_traces(figure: dict) -> list[dict]:
    return [t for t in figure["data"] if t.get("mode") == "lines" and t.get("xaxis") == "x"
            and not t["name"].endswith("(Polyak average)")]


def loss_traces(figure: dict) -> list[dict]:
    return [t for t in figure["data"] if t.get("mode") == "lines" and t.get("xaxis") == "x2"]


def named(figure: dict, name: str) -> dict:
    (trace,) = [t for t in figure["data"] if t.get("name") == name]
    return trace


# -- what is drawn once -------------------------------------------------------------------
def test_the_contour_is_a_layout_image_that_no_frame_touches(figure):
    # Plotly drops contour and heatmap traces while animating: the landscape is a layout image.
    (image,) = figure["layout"]["images"]
    assert image["source"].startswith("data:image/png;base64,")
    assert image["layer"] == "below" and image["xref"] == "x" and image["yref"] == "y"
    assert all(t["type"] == "scatter" for t in figure["data"])
    assert all("layout" not in f for f in figure["frames"])


def test_every_start_of_every_run_is_one_path_drawn_exactly_in_full(figure, runs, array):
    paths = path_traces(figure)
    assert len(paths) == len(series_of(runs))
    for trace, (r, s) in zip(paths, series_of(runs), strict=True):
        np.testing.assert_array_equal(array(trace["x"]), runs[r].points[s, :, 0])
        np.testing.assert_array_equal(array(trace["y"]), runs[r].points[s, :, 1])


def test_every_start_has_its_loss_curve_on_the_second_panel(figure, runs, array):
    curves = loss_traces(figure)
    assert len(curves) == len(series_of(runs))
    for trace, (r, s) in zip(curves, series_of(runs), strict=True):
        assert (trace["xaxis"], trace["yaxis"]) == ("x2", "y2")
        assert (trace["x0"], trace["dx"]) == (0, 1)  # x is the step
        np.testing.assert_array_equal(array(trace["y"]), runs[r].losses[s])


def test_each_run_appears_once_in_the_legend(figure, runs):
    shown = [t["name"] for t in figure["data"] if t.get("showlegend")]
    assert shown == legend_labels(runs)


@pytest.mark.parametrize("name", optimizer_names())
def test_any_optimizers_paths_and_losses_are_drawn_exactly(name, quadratic, array):
    run = simulate(quadratic, name, TWO_STARTS, 12, record="path")
    figure = comparison_figure(quadratic, [run]).to_dict()
    for start, (path, curve) in enumerate(zip(path_traces(figure), loss_traces(figure), strict=True)):
        np.testing.assert_array_equal(np.stack([array(path["x"]), array(path["y"])], axis=1), run.points[start])
        np.testing.assert_array_equal(array(curve["y"]), run.losses[start])


# -- frames --------------------------------------------------------------------------------
def test_frames_change_exactly_the_last_two_traces(figure):
    last = len(figure["data"])
    assert [t["name"] for t in figure["data"][-2:]] == ["now", "step"]
    for frame in figure["frames"]:
        assert frame["traces"] == [last - 2, last - 1]
        assert len(frame["data"]) == 2


def test_each_frame_shows_every_path_and_loss_marker_at_its_step(figure, runs, array):
    for frame in figure["frames"]:
        step = int(frame["name"])
        heads, markers = frame["data"]
        np.testing.assert_array_equal(array(heads["x"]), [runs[r].points[s, step, 0] for r, s in series_of(runs)])
        np.testing.assert_array_equal(array(heads["y"]), [runs[r].points[s, step, 1] for r, s in series_of(runs)])
        np.testing.assert_array_equal(array(markers["x"]), [step] * len(series_of(runs)))
        np.testing.assert_array_equal(array(markers["y"]), [runs[r].losses[s, step] for r, s in series_of(runs)])


def test_a_short_run_has_one_frame_per_step(figure):
    assert [f["name"] for f in figure["frames"]] == [str(k) for k in range(STEPS + 1)]
    assert [s["label"] for s in figure["layout"]["sliders"][0]["steps"]] == [str(k) for k in range(STEPS + 1)]


@pytest.fixture(scope="module")
def long_run(quadratic):
    return simulate(quadratic, "sgd", TWO_STARTS[:1], 450, record="path", lr=0.01)


def test_a_long_run_has_a_capped_number_of_frames_first_and_last_step_included(quadratic, long_run):
    names = [f["name"] for f in comparison_figure(quadratic, [long_run]).to_dict()["frames"]]
    assert names == [str(k) for k in frame_steps(450)]
    assert len(names) < 451
    assert (names[0], names[-1]) == ("0", "450")


@pytest.mark.parametrize("max_frames", [200, 50])
def test_max_frames_caps_the_frames(quadratic, long_run, max_frames):
    names = [f["name"] for f in comparison_figure(quadratic, [long_run], max_frames=max_frames).to_dict()["frames"]]
    assert len(names) == max_frames
    assert names == [str(k) for k in frame_steps(450, max_frames)]
    assert (names[0], names[-1]) == ("0", "450")


@given(steps=st.integers(0, 2000), max_frames=st.integers(2, 500))
def test_frame_steps_are_every_step_or_evenly_spread_from_first_to_last(steps, max_frames):
    shown = frame_steps(steps, max_frames)
    assert len(shown) == min(steps + 1, max_frames)
    assert shown[0] == 0 and shown[-1] == steps
    gaps = np.diff(shown)
    assert np.all(gaps >= 1)
    if len(gaps):
        assert gaps.max() - gaps.min() <= 1


def opened_at(figure: dict, array) -> tuple[np.ndarray, np.ndarray, str]:
    """Where the moving traces stand before Play (path heads, loss marker x), and the slider's step."""
    heads, markers = figure["data"][-2], figure["data"][-1]
    slider = figure["layout"]["sliders"][0]
    return (np.stack([array(heads["x"]), array(heads["y"])], axis=1), array(markers["x"]),
            slider["steps"][slider["active"]]["label"])


@pytest.mark.parametrize(("frame", "step"), [(0, 0), (7, 7), (STEPS, STEPS), (None, STEPS), (-5, 0), (999, STEPS)])
def test_the_figure_opens_at_the_step_asked_for(quadratic, runs, array, frame, step):
    figure = comparison_figure(quadratic, runs, frame=frame).to_dict()
    heads, marker_steps, label = opened_at(figure, array)
    np.testing.assert_array_equal(heads, [runs[r].points[s, step] for r, s in series_of(runs)])
    np.testing.assert_array_equal(marker_steps, [step] * len(series_of(runs)))
    assert label == str(step)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_long_run_opens_at_the_step_asked_for_even_between_frames(quadratic, long_run, array, where):
    between = [k for k in range(451) if k not in frame_steps(450)]
    step = {"first": between[0], "middle": between[len(between) // 2], "last": between[-1]}[where]
    heads, marker_steps, label = opened_at(comparison_figure(quadratic, [long_run], frame=step).to_dict(), array)
    np.testing.assert_array_equal(heads, long_run.points[:, step])
    np.testing.assert_array_equal(marker_steps, [step])
    assert label == str(step)


# -- axes and colours --------------------------------------------------------------------------
def test_the_loss_axis_is_logarithmic_when_every_loss_is_positive(figure):
    assert figure["layout"]["yaxis2"]["type"] == "log"


def test_the_loss_axis_is_linear_when_a_loss_is_not_positive():
    saddle = get_landscape("saddle")
    run = simulate(saddle, "sgd", saddle.starts, STEPS, record="path", lr=0.1)
    assert run.losses.min() <= 0
    assert comparison_figure(saddle, [run]).to_dict()["layout"]["yaxis2"]["type"] == "linear"


def test_the_loss_axis_is_linear_when_asked(quadratic, runs):
    assert comparison_figure(quadratic, runs, log_loss=False).to_dict()["layout"]["yaxis2"]["type"] == "linear"


def colours_of(figure: dict, label: str) -> set[str]:
    """Every colour a run's label is drawn in: its paths and its loss curves."""
    return {t["line"]["color"] for t in figure["data"] if t.get("name") == label and "line" in t}


def test_without_slots_the_runs_take_the_palette_in_order(figure, runs):
    for label, expected in zip(legend_labels(runs), PALETTE, strict=False):
        assert colours_of(figure, label) == {expected}


def test_a_run_keeps_its_colour_when_another_run_is_removed(quadratic, runs):
    labels = legend_labels(runs)
    every = comparison_figure(quadratic, runs, labels=labels, slots=[0, 1, 2]).to_dict()
    fewer = comparison_figure(quadratic, [runs[0], runs[2]], labels=[labels[0], labels[2]], slots=[0, 2]).to_dict()
    for label, slot in ((labels[0], 0), (labels[2], 2)):
        assert colours_of(every, label) == colours_of(fewer, label) == {PALETTE[slot]}
    heads_colours = fewer["data"][-2]["marker"]["color"]
    assert heads_colours == [PALETTE[0], PALETTE[0], PALETTE[2], PALETTE[2]]
    assert fewer["data"][-1]["marker"]["color"] == heads_colours


def test_slots_past_the_palette_reuse_its_colours_with_another_dash(quadratic, runs):
    figure = comparison_figure(quadratic, runs[:2], slots=[1, 1 + len(PALETTE)]).to_dict()
    first, second = path_traces(figure)[0], path_traces(figure)[-1]
    assert first["line"]["color"] == second["line"]["color"] == PALETTE[1]
    assert first["line"]["dash"] != second["line"]["dash"]


# -- Polyak averages -----------------------------------------------------------------------------
def test_a_polyak_average_is_a_dashed_path_per_start_of_the_running_mean(quadratic, runs, array):
    figure = comparison_figure(quadratic, runs, averaged=[True, False, False]).to_dict()
    averages = [t for t in figure["data"] if t.get("name", "").endswith("(Polyak average)")]
    expected = polyak_average(runs[0].points)
    assert len(averages) == len(expected)
    for trace, path in zip(averages, expected, strict=True):
        assert trace["line"] == {"color": PALETTE[0], "width": 2, "dash": "dash"}
        np.testing.assert_array_equal(np.stack([array(trace["x"]), array(trace["y"])], axis=1), path)


def test_without_averaging_no_average_is_drawn(figure):
    assert not any(t.get("name", "").endswith("(Polyak average)") for t in figure["data"])


# -- divergence ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def diverging(quadratic):
    run = simulate(quadratic, "sgd", TWO_STARTS[:1], 100, record="path", lr=1.2)
    assert 0 <= run.diverged[0] < 100
    return run


def refuse(constant: str):
    raise ValueError(f"{constant} in the figure's JSON")


def test_a_diverging_run_gives_a_figure_without_nan_or_infinity(quadratic, runs, diverging, array):
    figure = comparison_figure(quadratic, [runs[0], diverging])
    json.loads(pio.to_json(figure), parse_constant=refuse)
    for trace in path_traces(figure.to_dict()) + loss_traces(figure.to_dict()):
        assert np.isfinite(array(trace["y"])).all()


def test_a_diverged_start_is_marked_where_it_stopped(quadratic, runs, diverging, array):
    label = "SGD lr=1.2"
    figure = comparison_figure(quadratic, [runs[0], diverging]).to_dict()
    marker = named(figure, "diverged")
    np.testing.assert_array_equal(np.stack([array(marker["x"]), array(marker["y"])], axis=1),
                                  diverging.points[:, -1])
    assert marker["text"] == [f"{label}: diverged at step {diverging.diverged[0]}"]


def test_no_marker_when_nothing_diverged(figure, array):
    assert array(named(figure, "diverged")["x"]).size == 0


# -- payload ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def six_runs_figure(quadratic):
    rates = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.5, "rmsprop": 0.05, "adam": 0.1}
    runs = [simulate(quadratic, name, TWO_STARTS[:1], 500, record="path", lr=lr) for name, lr in rates.items()]
    return comparison_figure(quadratic, runs)


def test_six_optimizers_over_500_steps_stay_under_a_megabyte(six_runs_figure):
    assert len(pio.to_json(six_runs_figure, validate=False)) <= 1_000_000


def test_arrays_travel_as_typed_arrays(six_runs_figure):
    assert '"bdata"' in pio.to_json(six_runs_figure, validate=False)
    figure = six_runs_figure.to_dict()
    assert all("bdata" in trace["x"] for trace in path_traces(figure))


def test_a_loss_of_exactly_zero_keeps_the_log_axis_but_all_zero_losses_do_not():
    from landscapes import get_landscape
    from optimizers import simulate

    quadratic = get_landscape("quadratic")
    at_minimum = simulate(quadratic, "sgd", [(0.0, 0.0)], 5, record="path", lr=0.1)
    moving = simulate(quadratic, "sgd", [(-4.0, 2.0)], 5, record="path", lr=0.1)
    assert at_minimum.losses.max() == 0.0
    assert comparison_figure(quadratic, [moving, at_minimum]).layout.yaxis2.type == "log"
    assert comparison_figure(quadratic, [at_minimum]).layout.yaxis2.type == "linear"


# -- a loss axis that stays readable --------------------------------------------------------------
@pytest.fixture(scope="module")
def saddle_runs():
    saddle = get_landscape("saddle")
    return saddle, [simulate(saddle, "sgd", saddle.starts, 150, record="path", lr=0.1),
                    simulate(saddle, "momentum", saddle.starts, 150, record="path", lr=0.05),
                    simulate(saddle, "adam", saddle.starts, 150, record="path", lr=0.01)]


def test_losses_running_off_to_minus_infinity_leave_a_readable_loss_axis(saddle_runs):
    saddle, runs = saddle_runs
    assert min(run.losses[np.isfinite(run.losses)].min() for run in runs) < -1e12  # they do run away
    axis = comparison_figure(saddle, runs).to_dict()["layout"]["yaxis2"]

    low, high = axis["range"]
    assert axis["autorange"] is False and axis["type"] == "linear"
    # f over the view [-2, 2]² spans [-4, 4]: the axis shows that, not -8e15.
    assert -6 <= low <= -4 and 4 <= high <= 6
    assert "clipped to the range of f over the view" in axis["title"]["text"]


def test_every_curve_starts_inside_the_clipped_range(saddle_runs):
    saddle, runs = saddle_runs
    low, high = comparison_figure(saddle, runs).to_dict()["layout"]["yaxis2"]["range"]
    assert all(low <= run.losses[0, 0] <= high for run in runs)


def test_losses_that_stay_in_range_leave_the_axis_alone(figure):
    axis = figure["layout"]["yaxis2"]
    assert "range" not in axis and "clipped" not in axis["title"]["text"]


def test_a_loss_running_up_to_huge_values_clips_the_top_of_the_log_axis(quadratic, diverging):
    axis = comparison_figure(quadratic, [diverging]).to_dict()["layout"]["yaxis2"]
    assert axis["type"] == "log"
    top = axis["range"][1]
    assert top <= np.log10(quadratic.grid(60)[2].max()) + 0.5  # the view's highest f is 15
    assert "clipped" in axis["title"]["text"]
