"""Every catalog landscape opens with optimizer cards that show its lesson: each claim of the
lesson is checked here, numerically, on exactly the runs the page draws by default."""

import numpy as np
import pytest

from landscapes import get_landscape, landscape_names
from optimizers import Run, get_optimizer, simulate


def default_runs(name: str) -> dict[str, Run]:
    """The landscape's default cards, run from its default starts for its default steps,
    keyed by optimizer name (with the settings when one optimizer appears twice)."""
    land = get_landscape(name)
    runs = {}
    for optimizer, settings in land.optimizers:
        key = optimizer if optimizer not in runs else f"{optimizer} {sorted(settings.items())}"
        runs[key] = simulate(land, optimizer, land.starts, land.steps, record="path", **settings)
    return runs


def sign_changes(values: np.ndarray) -> int:
    signs = np.sign(values[values != 0])
    return int(np.count_nonzero(signs[1:] != signs[:-1]))


def ends_at(land, run: Run, start: int = 0) -> int:
    """Index of the known minimum the run ends on (within 1e-2), or -1."""
    end = run.points[start, -1]
    index = int(land.nearest_minimum_index(end))
    return index if land.nearest_minimum_distance(end) < 1e-2 else -1


@pytest.mark.parametrize("name", landscape_names())
def test_default_cards_are_valid_and_none_diverges(name):
    land = get_landscape(name)
    assert 2 <= len(land.optimizers) <= 6
    for optimizer, settings in land.optimizers:
        get_optimizer(optimizer).validate(**settings)
    for key, run in default_runs(name).items():
        assert (run.diverged == -1).all(), f"{name}: {key} diverged at step {run.diverged}"
        assert np.isfinite(run.losses).all(), key


def test_quadratic_gd_jitters_across_y_and_crawls_along_x():
    sgd = default_runs("quadratic")["sgd"].points[0, :40]
    assert sign_changes(sgd[:, 1]) == len(sgd) - 1            # y flips sign at every step
    x_rate = np.abs(sgd[1:, 0] / sgd[:-1, 0])
    y_rate = np.abs(sgd[1:, 1] / sgd[:-1, 1])
    assert (np.diff(sgd[:, 0]) > 0).all()                      # x creeps one way only
    assert x_rate.min() > 0.9 and y_rate.max() < 0.65         # ... keeping 90 % of its distance a step


def test_saddle_gd_stalls_while_momentum_and_adaptive_methods_escape():
    runs = default_runs("saddle")
    assert np.abs(runs["sgd"].points[0, -1]).max() < 0.2      # still beside the saddle point
    for escaped in ("momentum", "rmsprop", "adam"):
        assert abs(runs[escaped].points[0, -1, 1]) > 1.0, escaped


def test_rosenbrock_gd_crawls_momentum_overshoots_adaptive_follows_the_floor():
    land, runs = get_landscape("rosenbrock"), default_runs("rosenbrock")
    distance = {k: float(land.nearest_minimum_distance(r.points[0, -1])) for k, r in runs.items()}
    assert distance["sgd"] > 1.0                               # crawling along the floor
    assert distance["adam"] < distance["sgd"] / 2              # adaptive: much further along it
    momentum = runs["momentum"].losses[0]
    assert (np.diff(momentum) > 0).sum() >= 5                   # overshoots: the loss goes back up
    assert (np.diff(runs["sgd"].losses[0]) <= 1e-12).all()      # GD at this rate never does
    assert ends_at(land, runs["newton"]) == 0                  # the exact Hessian goes straight there


def test_beale_gradient_spans_orders_of_magnitude_along_one_path():
    land = get_landscape("beale")
    for key, run in default_runs("beale").items():
        gx, gy = land.gradient(run.points[0, :, 0], run.points[0, :, 1])
        norms = np.hypot(gx, gy)
        assert norms.max() / norms.min() > 300, key


def test_himmelblau_the_start_decides_which_minimum_is_reached():
    land, runs = get_landscape("himmelblau"), default_runs("himmelblau")
    for key, run in runs.items():
        reached = {ends_at(land, run, start) for start in range(len(land.starts))}
        assert len(reached) == len(land.starts) and -1 not in reached, key


def test_rastrigin_gd_stops_in_the_nearest_pit_and_large_steps_hop_across():
    land, runs = get_landscape("rastrigin"), default_runs("rastrigin")
    pit = runs["sgd"].points[0, -1]
    gx, gy = land.gradient(pit[0], pit[1])
    assert np.hypot(gx, gy) < 1e-3                               # GD stopped: a stationary point
    assert runs["sgd"].losses[0, -1] > 10                        # a local, not the global, minimum
    assert np.abs(pit - land.starts[0]).max() < 1.0              # the pit beside the start
    for key in [k for k in runs if k.startswith("sgd")]:
        assert np.abs(runs[key].points[0, -1] - pit).max() < 0.1, key  # momentum 0.9 rolls about in it
    pits = [r.losses[0, -1] for k, r in runs.items() if k.startswith("sgd")]
    for hopper in ("adam", "rmsprop"):
        assert runs[hopper].losses[0].min() < min(pits) / 1.5, hopper


def test_ackley_is_flat_outside_so_local_methods_stay_far_from_the_cone():
    land, runs = get_landscape("ackley"), default_runs("ackley")
    for key, run in runs.items():
        assert run.losses[0, -1] > 1.0, key
    assert min(float(land.nearest_minimum_distance(r.points[0, -1])) for r in runs.values()) > 0.1


def test_booth_per_coordinate_steps_lose_their_edge_on_a_rotated_bowl():
    land, runs = get_landscape("booth"), default_runs("booth")
    sgd = float(land.nearest_minimum_distance(runs["sgd"].points[0, -1]))
    for adaptive in ("adagrad", "rmsprop", "adam"):
        assert float(land.nearest_minimum_distance(runs[adaptive].points[0, -1])) > 100 * sgd, adaptive


def test_six_hump_camel_each_start_lands_in_its_own_basin_not_a_global_one():
    land, runs = get_landscape("six_hump_camel"), default_runs("six_hump_camel")
    for key, run in runs.items():
        reached = [ends_at(land, run, s) for s in range(len(land.starts))]
        assert -1 not in reached and len(set(reached)) == len(reached), key
        assert not any(land.minima[i].is_global for i in reached), key


def test_monkey_saddle_newton_stalls_at_the_flat_saddle_while_gd_slides_off():
    runs = default_runs("monkey_saddle")
    assert np.abs(runs["newton"].points[0, -1]).max() < 1e-6     # converged onto the saddle point
    assert runs["newton"].losses[0, -1] == pytest.approx(0.0, abs=1e-9)
    for key in ("sgd", "adam"):
        assert runs[key].losses[0, -1] < -0.5, key               # down one of the three valleys


def test_plateau_cliff_gd_stalls_on_the_plateau_then_the_cliff_launches_it():
    land, runs = get_landscape("plateau_cliff"), default_runs("plateau_cliff")
    path = runs["sgd"].points[0]
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    launch = int(steps.argmax())
    assert steps[:launch].min() < 0.05                           # slowing down on the plateau
    assert steps[launch] > 10 * steps[:launch].min()             # the cliff's launch
    assert path[:, 0].max() > land.minima[0].x + 0.4             # far past the minimum


def test_local_minimum_trap_gd_settles_in_the_shallow_valley_momentum_crosses():
    land, runs = get_landscape("local_minimum_trap"), default_runs("local_minimum_trap")
    shallow = next(i for i, m in enumerate(land.minima) if not m.is_global)
    deep = next(i for i, m in enumerate(land.minima) if m.is_global)
    assert ends_at(land, runs["sgd"]) == shallow
    assert ends_at(land, runs["momentum"]) == deep


@pytest.mark.parametrize("name", landscape_names())
def test_every_lesson_has_a_test_here(name):
    tested = {"quadratic", "saddle", "rosenbrock", "beale", "himmelblau", "rastrigin", "ackley", "booth",
              "six_hump_camel", "monkey_saddle", "plateau_cliff", "local_minimum_trap"}
    assert name in tested, f"add a test of {name}'s lesson on its default cards"
