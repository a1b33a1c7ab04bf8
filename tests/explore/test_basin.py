"""basin_map: each cell's label is the minimum a single `simulate` run from that cell's start reaches."""

import numpy as np
import pytest

from explore import DIVERGED, NOWHERE, basin_map, cell_centres, nearest_minima, reached_labels
from landscapes import Bounds, get_landscape
from optimizers import simulate


def single_label(landscape, optimizer, start, steps, radius, tol, **hyperparameters):
    """What one start reaches, from a one-start `simulate` (the float path, not the batch)."""
    run = simulate(landscape, optimizer, [start], steps, record="final", tol=tol, **hyperparameters)
    if run.diverged[0] >= 0:
        return DIVERGED, run.converged_at[0]
    distance = landscape.nearest_minimum_distance(run.final_points)[0]
    return (int(run.reached[0]) if distance <= radius else NOWHERE), run.converged_at[0]


@pytest.mark.parametrize(("name", "optimizer", "settings"), [
    ("himmelblau", "sgd", {"lr": 0.01, "momentum": 0.9}),
    ("himmelblau", "adam", {"lr": 0.2}),
    ("six_hump_camel", "sgd", {"lr": 0.05}),
    ("quadratic", "sgd", {"lr": 0.45, "momentum": 0.3}),  # part diverges
])
def test_basin_labels_equal_single_runs_from_sampled_cells(name, optimizer, settings):
    land = get_landscape(name)
    basins = basin_map(land, optimizer, 40, 300, backend="numpy", **settings)
    rng = np.random.default_rng(0)
    cells = rng.integers(0, 40, size=(40, 2))
    for row, column in cells:
        start = (basins.xs[column], basins.ys[row])
        label, steps = single_label(land, optimizer, start, 300, basins.radius, basins.tol, **settings)
        assert basins.labels[row, column] == label, (name, start)
        assert basins.steps[row, column] == steps, (name, start)


def test_basin_map_of_himmelblau_finds_all_four_minima():
    basins = basin_map("himmelblau", "sgd", 30, 500, lr=0.01)
    assert set(basins.counts()) >= {0, 1, 2, 3}
    assert basins.labels.shape == (30, 30) and basins.steps.shape == (30, 30)


def test_a_diverging_setting_labels_cells_diverged_and_the_rest_by_the_minimum():
    land = get_landscape("quadratic")
    # lr·4 > 2: the steep direction (y) diverges from every start with y ≠ 0 (every cell centre).
    basins = basin_map(land, "sgd", 10, 200, lr=0.6)
    assert (basins.labels == DIVERGED).all()
    calm = basin_map(land, "sgd", 10, 200, lr=0.3)
    assert (calm.labels == 0).all() and (calm.steps > 0).all()


def test_cells_that_end_far_from_every_minimum_are_nowhere():
    basins = basin_map("rosenbrock", "sgd", 12, 5, lr=1e-4)  # five tiny steps: nobody arrives
    assert (basins.labels == NOWHERE).all()
    assert (basins.steps == -1).all()


def test_cells_and_clicks_share_one_grid():
    bounds = Bounds.of(-2.0, 2.0, -1.0, 3.0)
    basins = basin_map("himmelblau", "sgd", (8, 4), 10, bounds=bounds, lr=0.01)
    xs, ys = cell_centres(bounds, 8, 4)
    np.testing.assert_allclose(basins.xs, xs)
    np.testing.assert_allclose(basins.ys, ys)
    assert basins.labels.shape == (4, 8)
    assert basins.cell_at(-1.9, 2.9) == (3, 0)
    assert basins.start_at(1.99, -0.99) == (xs[-1], ys[0])
    assert basins.cell_at(2.5, 0.0) is None


def test_resolution_must_be_a_positive_whole_number():
    with pytest.raises(ValueError, match="whole number"):
        basin_map("quadratic", "sgd", 0, 10)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("name", ["himmelblau", "six_hump_camel", "quadratic", "rosenbrock"])
def test_nearest_minima_equals_the_landscapes_index_and_distance_bit_for_bit(name):
    land = get_landscape(name)
    (x0, x1), (y0, y1) = land.bounds
    rng = np.random.default_rng(1)
    points = np.column_stack([rng.uniform(x0, x1, 500), rng.uniform(y0, y1, 500)])
    centres = np.array([(m.x, m.y) for m in land.minima])
    between = (centres[:1] + centres[-1:]) / 2  # equidistant from two minima where there are two
    points = np.vstack([points, centres, between, [[np.nan, 0.0], [np.inf, 1.0], [-np.inf, np.inf], [1e300, 0.0]]])
    index, distance = nearest_minima(land, points)
    np.testing.assert_array_equal(index, land.nearest_minimum_index(points))
    np.testing.assert_array_equal(distance, land.nearest_minimum_distance(points))  # NaN where it is NaN


def test_reached_labels_take_the_nearest_minimum_within_the_radius_of_each_final_point():
    land = get_landscape("quadratic")
    # lr 0.45 · 4 < 2 converges in y, lr 0.55 · 4 > 2 diverges; 2 steps from far away end nowhere
    run = simulate(land, "sgd", [(-4.0, 2.0)] * 3, 300, record="final", tol=1e-3,
                   lr=np.array([0.45, 0.55, 0.45]))
    short = simulate(land, "sgd", [(-4.0, 2.0)], 2, record="final", lr=0.45)
    assert reached_labels(run, 0.05).tolist() == [0, DIVERGED, 0]
    assert reached_labels(short, 0.05).tolist() == [NOWHERE]
    himmelblau = get_landscape("himmelblau")
    grid = basin_map(himmelblau, "sgd", 30, 200, lr=0.01, momentum=0.9)
    starts = np.stack([a.ravel() for a in np.meshgrid(grid.xs, grid.ys)], axis=1)
    again = simulate(himmelblau, "sgd", starts, 200, record="final", tol=grid.tol, lr=0.01, momentum=0.9)
    distance = himmelblau.nearest_minimum_distance(again.final_points)
    two_pass = np.where(again.diverged >= 0, DIVERGED,
                        np.where(np.nan_to_num(distance, nan=np.inf) <= grid.radius, again.reached, NOWHERE))
    np.testing.assert_array_equal(reached_labels(again, grid.radius), two_pass)
    np.testing.assert_array_equal(grid.labels.ravel(), two_pass)
