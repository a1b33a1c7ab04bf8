"""The 3D view: the landscape as a surface over the view, every path lifted onto it, nothing drawn
outside the view."""

from __future__ import annotations

import numpy as np
import pytest

from figures import PALETTE
from figures.surface import surface_figure
from landscapes import get_landscape
from optimizers import simulate

STARTS = [(-4.0, 2.0), (3.0, 1.0)]


@pytest.fixture(scope="module")
def quadratic():
    return get_landscape("quadratic")


@pytest.fixture(scope="module")
def runs(quadratic):
    return [simulate(quadratic, "sgd", STARTS, 30, record="path", lr=0.1),
            simulate(quadratic, "adam", STARTS[:1], 30, record="path", lr=0.1)]


def paths(figure: dict) -> list[dict]:
    return [t for t in figure["data"] if t["type"] == "scatter3d"]


def test_the_surface_comes_first_over_the_view(quadratic, runs, array):
    figure = surface_figure(quadratic, runs, resolution=40).to_dict()
    surface = figure["data"][0]
    assert surface["type"] == "surface"
    xs, ys, z = quadratic.grid(40)
    np.testing.assert_array_equal(array(surface["x"]), xs)
    np.testing.assert_array_equal(array(surface["y"]), ys)
    np.testing.assert_array_equal(array(surface["z"]), z.astype(np.float32))


def test_every_start_of_every_run_is_one_path_at_its_loss(quadratic, runs, array):
    figure = surface_figure(quadratic, runs).to_dict()
    drawn = paths(figure)
    expected = [(run, s) for run in runs for s in range(len(run.points))]
    assert len(drawn) == len(expected) == len(figure["data"]) - 1
    for trace, (run, s) in zip(drawn, expected, strict=True):
        np.testing.assert_array_equal(array(trace["x"]), run.points[s, :, 0])
        np.testing.assert_array_equal(array(trace["y"]), run.points[s, :, 1])
        np.testing.assert_array_equal(array(trace["z"]), run.losses[s])


def test_points_outside_the_view_are_not_drawn(quadratic, runs, array):
    view = ((-3.0, 2.5), (-1.5, 1.5))
    figure = surface_figure(quadratic, runs, bounds=view).to_dict()
    expected = [(run, s) for run in runs for s in range(len(run.points))]
    for trace, (run, s) in zip(paths(figure), expected, strict=True):
        points = run.points[s]
        inside = (points[:, 0] >= -3.0) & (points[:, 0] <= 2.5) & (np.abs(points[:, 1]) <= 1.5)
        assert inside.any() and not inside.all()  # the paths cross the view's edge
        for key, values in (("x", points[:, 0]), ("y", points[:, 1]), ("z", run.losses[s])):
            drawn = array(trace[key])
            np.testing.assert_array_equal(drawn[inside], values[inside])
            assert np.isnan(drawn[~inside]).all()


def test_a_diverging_path_ends_at_the_views_edge(quadratic, array):
    diverging = simulate(quadratic, "sgd", STARTS[:1], 100, record="path", lr=1.2)
    assert diverging.diverged[0] >= 0
    (trace,) = paths(surface_figure(quadratic, [diverging]).to_dict())
    drawn = np.stack([array(trace["x"]), array(trace["y"])], axis=1)
    shown = drawn[~np.isnan(drawn).any(axis=1)]
    (x0, x1), (y0, y1) = quadratic.bounds
    assert len(shown) and ((shown[:, 0] >= x0) & (shown[:, 0] <= x1) & (shown[:, 1] >= y0) & (shown[:, 1] <= y1)).all()
    assert np.isnan(drawn[-1]).all()


def test_paths_take_their_runs_slot_colour_and_appear_once_in_the_legend(quadratic, runs):
    figure = surface_figure(quadratic, runs, labels=["first", "second"], slots=[4, 1]).to_dict()
    assert [t["line"]["color"] for t in paths(figure)] == [PALETTE[4], PALETTE[4], PALETTE[1]]
    assert [t["name"] for t in paths(figure) if t["showlegend"]] == ["first", "second"]


@pytest.fixture(scope="module")
def largest():
    """The largest state a URL allows: 16 optimizers × 12 starts × 2000 steps on Rosenbrock."""
    from ui.state import MAX_CARDS, MAX_STARTS, MAX_STEPS

    land = get_landscape("rosenbrock")
    starts = [(-1.8 + 0.3 * k, 2.5 - 0.25 * k) for k in range(MAX_STARTS)]
    runs = [simulate(land, "adam", starts, MAX_STEPS, record="path", lr=0.002 * (1 + k)) for k in range(MAX_CARDS)]
    return land, runs


def test_the_largest_state_draws_what_a_screen_shows_and_exports_every_point(largest, array):
    from figures.surface import MAX_RESOLUTION, SCREEN_POINTS

    land, runs = largest
    shown = surface_figure(land, runs, resolution=400)
    drawn = paths(shown.to_dict())
    assert len(drawn) == 16 * 12  # every path is still drawn
    assert sum(len(array(t["x"])) for t in drawn) <= SCREEN_POINTS
    assert len(shown.data[0].z) == MAX_RESOLUTION  # the mesh too
    assert len(shown.to_json()) < 2_000_000  # what st.plotly_chart sends: 16 MB with every point
    starts = [(run, s) for run in runs for s in range(len(run.points))]
    for trace, (run, s) in zip(drawn, starts, strict=True):  # each path from its start to where it ended
        for end in (0, -1):
            assert array(trace["x"])[end] == run.points[s, end, 0] and array(trace["z"])[end] == run.losses[s, end]
    exact = paths(surface_figure(land, runs, max_points=None).to_dict())
    for trace, (run, s) in zip(exact, starts, strict=True):
        np.testing.assert_array_equal(array(trace["x"]), run.points[s, :, 0])


def test_a_thinned_path_keeps_every_point_a_screen_tells_apart():
    from figures.surface import SCREEN_CELLS, screen_steps

    view = ((-1.0, 1.0), (-1.0, 1.0))
    t = np.linspace(0, 1, 2001)
    spiral = np.column_stack([np.exp(-6 * t) * np.cos(40 * t), np.exp(-6 * t) * np.sin(40 * t)])
    spiral[500:520] = np.nan  # out of the view for a while
    steps = screen_steps(spiral, view, budget=10_000)
    assert steps[0] == 0 and steps[-1] == 2000 and np.all(np.diff(steps) > 0)
    assert np.isnan(spiral[steps, 0]).sum() == 1  # the gap is kept, once
    kept = spiral[steps]
    dropped = np.setdiff1d(np.arange(2001), steps)
    # every dropped point lies in the screen cell of the kept point before it
    before = steps[np.searchsorted(steps, dropped) - 1]
    cell = lambda p: np.floor((p + 1.0) * SCREEN_CELLS / 2)  # noqa: E731
    np.testing.assert_array_equal(cell(spiral[dropped]), cell(spiral[before]))
    assert len(kept) < 2001
    assert len(screen_steps(spiral, view, budget=100)) <= 100
