"""`simulate` and its Run: batch/single agreement, noise, divergence, record modes, tolerance,
Polyak averaging, the slides' variants, Newton, local gains, Rprop and the optimizer records."""

from __future__ import annotations

import ctypes
import math
import pydoc
import re
import sys
import warnings

import numpy as np
import pytest

from landscapes import from_expression, get_landscape
from optimizers import (
    OPTIMIZERS,
    HyperparameterError,
    Run,
    get_optimizer,
    optimizer_names,
    simulate,
)

QUADRATIC = get_landscape("quadratic")  # 0.1x² + 2y²: ∇f = (0.2x, 4y), Hessian diag(0.2, 4)
START = (-4.0, 2.0)
LIMIT = 1e8


def quadratic_gradient(x: float, y: float) -> tuple[float, float]:
    return 0.2 * x, 4.0 * y


def default_lr(name: str) -> float:
    return get_optimizer(name).defaults["lr"]


def gradient_norms(land, points: np.ndarray) -> np.ndarray:
    gx, gy = land.gradient(points[..., 0], points[..., 1])
    return np.hypot(gx, gy)


# -- the float path (one start) and the NumPy path (a batch) give the same numbers -----------------

@pytest.mark.parametrize("lr_scale", [1.0, 0.01], ids=["default-lr", "small-lr"])
@pytest.mark.parametrize("landscape", ["rosenbrock", "himmelblau"])
@pytest.mark.parametrize("name", optimizer_names())
def test_a_start_alone_and_inside_a_batch_follow_the_same_path(name, landscape, lr_scale):
    land = get_landscape(landscape)
    start = land.starts[0]
    lr = default_lr(name) * lr_scale
    alone = simulate(land, name, [start], 150, lr=lr, record="full")
    batch = simulate(land, name, [(0.3, -0.4), start, (1.2, 0.8), (-1.0, -1.0)], 150, lr=lr, record="full")
    assert alone.diverged[0] == batch.diverged[1]
    np.testing.assert_allclose(alone.points[0], batch.points[1], rtol=1e-12, atol=0)
    # Losses are evaluated by different code (math vs NumPy): near a zero minimum only absolutely close.
    np.testing.assert_allclose(alone.losses[0], batch.losses[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(alone.final_points[0], batch.final_points[1], rtol=1e-12, atol=0)
    # Up to a divergence both recorded the same gradients and optimizer states.
    done = alone.steps if alone.diverged[0] < 0 else max(alone.diverged[0] - 1, 0)
    np.testing.assert_allclose(alone.grads[0, :done], batch.grads[1, :done], rtol=1e-12, atol=0)
    assert set(alone.states) == set(batch.states)
    for key in alone.states:
        np.testing.assert_allclose(alone.states[key][0, :done], batch.states[key][1, :done],
                                   rtol=1e-12, atol=0, err_msg=key)


@pytest.mark.parametrize("name", optimizer_names())
def test_a_batch_is_the_union_of_its_starts(name):
    """Starts do not interact: each row of a batch equals the same start in a smaller batch."""
    land = get_landscape("six_hump_camel")
    starts = [(-1.9, 1.1), (1.9, -0.2), (0.5, 0.5), (-0.3, -1.0)]
    lr = default_lr(name) * 0.1
    whole = simulate(land, name, starts, 80, lr=lr, record="path")
    for first, second in ((0, 1), (2, 3)):
        pair = simulate(land, name, [starts[first], starts[second]], 80, lr=lr, record="path")
        np.testing.assert_allclose(pair.points, whole.points[[first, second]], rtol=1e-12, atol=0)
        np.testing.assert_array_equal(pair.diverged, whole.diverged[[first, second]])


@pytest.mark.parametrize("record", ["path", "full"])
def test_a_start_with_a_non_finite_loss_is_flagged_at_step_0_alone_or_in_a_batch(record):
    """log(x) is undefined at x = −1: that start is diverged before its first step and never moves."""
    land = from_expression("log(x)")
    alone = simulate(land, "sgd", [(-1.0, 0.0)], 5, lr=0.1, record=record)
    batch = simulate(land, "sgd", [(-1.0, 0.0), (2.0, 0.0)], 5, lr=0.1, record=record)
    assert alone.diverged[0] == 0
    assert batch.diverged.tolist() == [0, -1]
    assert "non-finite" in alone.divergence_reason(0)
    assert (alone.points[0] == (-1.0, 0.0)).all()
    assert (batch.points[0] == (-1.0, 0.0)).all()


# -- noise ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("starts", [[START], [START, (1.0, 1.0), (3.0, -2.0)]], ids=["single", "batch"])
def test_noise_with_the_same_seed_is_bit_identical(starts):
    first = simulate(QUADRATIC, "adam", starts, 60, lr=0.1, noise=0.5, seed=7, record="full")
    second = simulate(QUADRATIC, "adam", starts, 60, lr=0.1, noise=0.5, seed=7, record="full")
    assert np.array_equal(first.points, second.points)
    assert np.array_equal(first.grads, second.grads)
    assert np.array_equal(first.losses, second.losses)


@pytest.mark.parametrize("starts", [[START], [START, (1.0, 1.0), (3.0, -2.0)]], ids=["single", "batch"])
def test_noise_with_another_seed_differs(starts):
    first = simulate(QUADRATIC, "sgd", starts, 60, lr=0.1, noise=0.5, seed=7, record="path")
    second = simulate(QUADRATIC, "sgd", starts, 60, lr=0.1, noise=0.5, seed=8, record="path")
    assert not np.allclose(first.points[:, 1:], second.points[:, 1:])


@pytest.mark.parametrize("starts", [[START], [START, (1.0, 1.0)]], ids=["single", "batch"])
def test_noise_is_added_to_the_gradient_with_the_given_size(starts):
    sigma = 0.3
    run = simulate(QUADRATIC, "sgd", starts, 400, lr=0.01, noise=sigma, seed=1, record="full")
    clean = np.stack(QUADRATIC.gradient(run.points[:, :-1, 0], run.points[:, :-1, 1]), axis=-1)
    shocks = run.grads - clean
    assert abs(shocks.std() - sigma) < 0.05
    assert abs(shocks.mean()) < 0.05


def test_without_noise_the_seed_changes_nothing():
    for starts in ([START], [START, (1.0, 1.0)]):
        first = simulate(QUADRATIC, "rmsprop", starts, 50, lr=0.05, noise=0.0, seed=1, record="path")
        second = simulate(QUADRATIC, "rmsprop", starts, 50, lr=0.05, noise=0.0, seed=99, record="path")
        assert np.array_equal(first.points, second.points)


# -- divergence ------------------------------------------------------------------------------------

def first_step_beyond_limit() -> int:
    """SGD with lr 1 on 0.1x² + 2y² from (−4, 2): y_t = 2·(−3)^t; the step whose y passes 1e8."""
    x, y = START
    for step in range(1, 100):
        gx, gy = quadratic_gradient(x, y)
        x, y = x - gx, y - gy
        if max(abs(x), abs(y)) > LIMIT:
            return step
    raise AssertionError("never diverged")


@pytest.mark.parametrize("starts", [[START], [START, (1.0, 0.0)]], ids=["single", "batch"])
def test_a_diverging_start_is_marked_at_the_step_it_passes_1e8_and_stops_there(starts):
    step = first_step_beyond_limit()
    assert step == 17
    run = simulate(QUADRATIC, "sgd", starts, 30, lr=1.0, record="path")
    assert run.diverged[0] == step
    last_good = run.points[0, step - 1]
    assert abs(last_good[1]) <= LIMIT
    assert (run.points[0, step:] == last_good).all()
    assert (run.losses[0, step:] == run.losses[0, step - 1]).all()
    assert (run.final_points[0] == last_good).all()
    assert re.search(r"1e\+?0?8", run.divergence_reason(0))
    if len(starts) > 1:
        assert run.divergence_reason(1) is None


def test_a_diverging_start_does_not_disturb_the_rest_of_the_batch():
    stable = [(-4.0, 0.0), (3.0, 0.0), (0.5, -0.0)]  # y = 0: only x moves, x ← 0.8x
    run = simulate(QUADRATIC, "sgd", [stable[0], START, *stable[1:]], 30, lr=1.0, record="path")
    alone = simulate(QUADRATIC, "sgd", stable, 30, lr=1.0, record="path")
    assert run.diverged.tolist() == [-1, 17, -1, -1]
    np.testing.assert_array_equal(run.points[[0, 2, 3]], alone.points)
    for index, start in enumerate(stable):
        single = simulate(QUADRATIC, "sgd", [start], 30, lr=1.0, record="path")
        np.testing.assert_array_equal(single.points[0], alone.points[index])


@pytest.mark.parametrize("starts", [[(0.5, 0.0)], [(0.5, 0.0), (30.0, 1.0)]], ids=["single", "batch"])
def test_a_loss_that_becomes_nan_is_flagged_non_finite(starts):
    """log(x) from x = 0.5 with lr 1: x ← 0.5 − 1/0.5 = −1.5, where log is undefined."""
    run = simulate(from_expression("log(x)"), "sgd", starts, 10, lr=1.0, record="path")
    assert run.diverged[0] == 1
    assert "non-finite" in run.divergence_reason(0)
    assert (run.points[0] == (0.5, 0.0)).all()
    assert np.isfinite(run.losses).all()
    if len(starts) > 1:
        assert run.diverged[1] == -1


@pytest.mark.parametrize("starts", [[(0.5, 0.0)], [(0.5, 0.0), (3.0, 1.0)]], ids=["single", "batch"])
def test_a_loss_that_becomes_nan_is_flagged_in_every_record_mode(starts):
    land = from_expression("log(x)")
    path = simulate(land, "sgd", starts, 10, lr=1.0, record="path")
    final = simulate(land, "sgd", starts, 10, lr=1.0, record="final")
    np.testing.assert_array_equal(final.diverged, path.diverged)
    np.testing.assert_array_equal(final.final_points, path.final_points)
    assert np.isfinite(final.final_losses).all()


@pytest.mark.parametrize(("landscape", "name", "start", "settings"), [
    ("quadratic", "sgd", START, {"lr": 1.0}),
    ("rosenbrock", "momentum", (-1.5, 2.0), {"lr": 0.01}),
    ("monkey_saddle", "newton", (0.0, 0.0), {}),  # Hessian 0: the Newton step is 0/0
    ("rastrigin", "adam", (-4.4, 4.2), {"lr": 1e9}),
    ("log(x)", "sgd", (0.5, 0.0), {"lr": 1.0}),
    ("sqrt(x) + y**2", "adagrad", (0.5, 1.0), {"lr": 5.0}),
], ids=["sgd", "momentum", "newton", "adam", "log", "sqrt"])
@pytest.mark.parametrize("record", ["final", "path", "full"])
@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
def test_divergence_is_silent(landscape, name, start, settings, record, batch, capsys):
    land = get_landscape(landscape) if landscape.isidentifier() else from_expression(landscape)
    starts = [start, (0.1, 0.2)] if batch else [start]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = simulate(land, name, starts, 40, record=record, **settings)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    if record != "final":
        assert run.diverged[0] > 0
        assert np.isfinite(run.points).all()


@pytest.mark.parametrize("name", ["sgd", "adam", "adagrad"])
def test_an_overflowing_step_in_a_batch_is_silent(name, capsys):
    """lr = 1e308 is inside lr's range [0, ∞); lr·∇f overflows to inf: diverged, not a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = simulate(QUADRATIC, name, [START, (1.0, 1.0)], 5, lr=1e308, record="path")
    assert capsys.readouterr().err == ""
    assert run.diverged.tolist() == [1, 1]
    assert (run.points[:, -1] == run.points[:, 0]).all()


@pytest.mark.parametrize("name", ["sgd", "adam", "adagrad"])
def test_an_overflowing_step_of_a_single_start_is_silent(name, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = simulate(QUADRATIC, name, [START], 5, lr=1e308, record="path")
    assert capsys.readouterr().err == ""
    assert run.diverged.tolist() == [1]


# -- record modes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", optimizer_names())
def test_final_record_ends_where_the_path_ends_bit_for_bit(name):
    rng = np.random.default_rng(3)
    (x0, x1), (y0, y1) = get_landscape("rosenbrock").bounds
    starts = np.column_stack((rng.uniform(x0, x1, 1000), rng.uniform(y0, y1, 1000)))
    lr = default_lr(name) * 0.1
    path = simulate("rosenbrock", name, starts, 60, lr=lr, record="path")
    final = simulate("rosenbrock", name, starts, 60, lr=lr, record="final")
    assert final.points is None and final.losses is None and final.grads is None
    assert final.final_points.shape == (1000, 2)
    assert np.array_equal(final.final_points, path.points[:, -1])
    assert np.array_equal(final.final_points, path.final_points)
    assert np.array_equal(final.final_losses, path.losses[:, -1])
    assert np.array_equal(final.diverged, path.diverged)


@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
@pytest.mark.parametrize("name", optimizer_names())
def test_full_record_has_gradients_states_and_effective_steps(name, batch):
    starts = [(-1.5, 2.0), (0.5, -0.5), (1.5, 1.5)][: 3 if batch else 1]
    steps = 25
    run = simulate("rosenbrock", name, starts, steps, lr=default_lr(name) * 0.01, record="full")
    n = len(starts)
    assert isinstance(run, Run)
    assert run.points.shape == (n, steps + 1, 2)
    assert run.losses.shape == (n, steps + 1)
    assert run.grads.shape == (n, steps, 2)
    assert run.effective_steps.shape == (n, steps, 2)
    assert run.updates.shape == (n, steps, 2)
    np.testing.assert_array_equal(run.updates, np.diff(run.points, axis=1))
    for key, values in run.states.items():
        assert not key.startswith("_")
        assert values.shape == (n, steps, 2), key
        assert key in get_optimizer(name).state_labels, f"state {key!r} has no LaTeX label for lecture mode"
    if get_optimizer(name).name != "nesterov":  # look-ahead: its gradient is not taken at the path
        land = get_landscape("rosenbrock")
        expected = np.stack(land.gradient(run.points[:, :-1, 0], run.points[:, :-1, 1]), axis=-1)
        np.testing.assert_allclose(run.grads, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["adam", "adamw", "nadam", "radam"])
def test_adam_family_records_both_moments(name):
    run = simulate("quadratic", name, [START, (1.0, -1.0)], 20, lr=0.05, record="full")
    assert {"first_moment", "second_moment"} <= set(run.states)
    beta1, beta2 = run.hyperparameters["betas"]
    grads = run.grads
    first = np.zeros(grads.shape[::2])
    second = np.zeros(grads.shape[::2])
    for t in range(run.steps):  # m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²
        first = beta1 * first + (1 - beta1) * grads[:, t]
        second = beta2 * second + (1 - beta2) * grads[:, t] ** 2
        np.testing.assert_allclose(run.states["first_moment"][:, t], first, rtol=1e-12)
        np.testing.assert_allclose(run.states["second_moment"][:, t], second, rtol=1e-12)


def test_adam_amsgrad_keeps_the_largest_second_moment():
    run = simulate("rosenbrock", "adam", [(-1.5, 2.0)], 80, lr=0.05, amsgrad=True, record="full")
    largest = run.states["max_second_moment"][0]
    np.testing.assert_array_equal(largest, np.maximum.accumulate(run.states["second_moment"][0], axis=0))


@pytest.mark.parametrize("starts", [[(-1.5, 2.0)], [(-1.5, 2.0), (0.5, -0.5)]], ids=["single", "batch"])
def test_adagrad_accumulator_sums_squared_gradients(starts):
    run = simulate("rosenbrock", "adagrad", starts, 100, lr=0.1, initial_accumulator_value=0.5, record="full")
    accumulated = run.states["sum_of_squares"]
    np.testing.assert_allclose(accumulated, 0.5 + np.cumsum(run.grads**2, axis=1), rtol=1e-12)
    assert (np.diff(accumulated, axis=1) >= 0).all()


@pytest.mark.parametrize("starts", [[(-1.5, 2.0)], [(-1.5, 2.0), (0.5, -0.5)]], ids=["single", "batch"])
def test_adagrad_effective_step_shrinks_monotonically(starts):
    lr, eps = 0.1, 0.01  # a large ε, so that ε outside the root is told apart from ε inside it
    run = simulate("rosenbrock", "adagrad", starts, 100, lr=lr, eps=eps, record="full")
    assert (run.grads != 0).all()
    effective = run.effective_steps
    np.testing.assert_allclose(effective, lr / (np.sqrt(run.states["sum_of_squares"]) + eps), rtol=1e-7)
    assert (np.diff(effective, axis=1) <= 1e-12 * effective[:, 1:]).all()
    assert (effective[:, -1] < effective[:, 0]).all()


def test_asking_a_path_run_for_gradients_explains_how_to_record_them():
    run = simulate("quadratic", "adagrad", [START], 10, lr=0.1, record="path")
    assert run.grads is None and run.states == {}
    with pytest.raises(ValueError, match="record='full'"):
        run.effective_steps  # noqa: B018
    assert run.updates.shape == (1, 10, 2)


def test_asking_a_final_run_for_its_path_explains_how_to_record_it():
    run = simulate("quadratic", "adagrad", [START], 10, lr=0.1, record="final")
    for attribute in ("updates", "averaged_points", "effective_steps"):
        with pytest.raises(ValueError, match="record="):
            getattr(run, attribute)


def test_zero_steps_gives_the_starts():
    for record in ("final", "path", "full"):
        run = simulate("quadratic", "adam", [START, (1.0, 1.0)], 0, record=record)
        np.testing.assert_array_equal(run.final_points, [START, (1.0, 1.0)])
        assert run.lrs.shape == (0,)
        assert run.diverged.tolist() == [-1, -1]
        if record != "final":
            assert run.points.shape == (2, 1, 2)


# -- tolerance ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "rmsprop", "newton"])
@pytest.mark.parametrize("batch", [False, True], ids=["single", "batch"])
def test_converged_at_is_the_first_step_whose_gradient_norm_is_within_tol(name, batch):
    starts = [START, (2.0, -1.0), (0.01, 0.0), (4.5, 2.4)][: 4 if batch else 1]
    tol = 1e-2
    settings = {"newton": {"lr": 0.5}, "sgd": {"lr": 0.4}}.get(name, {"lr": 0.05})
    run = simulate(QUADRATIC, name, starts, 300, tol=tol, record="path", **settings)
    norms = gradient_norms(QUADRATIC, run.points[:, :-1])
    for index in range(len(starts)):
        reached = np.flatnonzero(norms[index] <= tol)
        assert reached.size, "the test needs runs that converge before their last step"
        assert run.converged_at[index] == reached[0]


def test_converged_at_is_minus_one_when_tol_is_never_reached():
    run = simulate(QUADRATIC, "sgd", [START, (1.0, 1.0)], 20, lr=0.01, tol=1e-9, record="path")
    assert run.converged_at.tolist() == [-1, -1]
    single = simulate(QUADRATIC, "sgd", [START], 20, lr=0.01, tol=1e-9, record="path")
    assert single.converged_at.tolist() == [-1]


def test_without_tol_there_is_no_converged_at():
    assert simulate(QUADRATIC, "sgd", [START], 5).converged_at is None


@pytest.mark.parametrize("starts", [[START], [START, (1.0, 1.0)]], ids=["single", "batch"])
def test_converged_at_counts_the_last_point(starts):
    run = simulate(QUADRATIC, "newton", starts, 1, tol=1e-6, record="path")
    assert (gradient_norms(QUADRATIC, run.points[:, -1]) <= 1e-6).all()
    assert run.converged_at.tolist() == [1] * len(starts)


# -- Polyak averaging ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sgd", "adam", "newton"])
def test_polyak_average_is_the_running_mean_of_the_iterates(name):
    starts = [START, (3.0, -2.0)]
    run = simulate(QUADRATIC, name, starts, 40, lr=0.3, record="path")
    averaged = run.averaged_points
    counts = np.arange(1, 42)[None, :, None]
    np.testing.assert_allclose(averaged, np.cumsum(run.points, axis=1) / counts, rtol=1e-14)
    np.testing.assert_array_equal(averaged[:, 0], starts)
    np.testing.assert_allclose(averaged[:, -1], run.points.mean(axis=1), rtol=1e-14)


# -- the slides' variants --------------------------------------------------------------------------

@pytest.mark.parametrize("landscape", ["quadratic", "rosenbrock", "himmelblau"])
@pytest.mark.parametrize("momentum", [0.5, 0.9])
def test_classic_momentum_follows_the_same_x_as_torch_sgd_momentum(landscape, momentum):
    """v ← ρv − η∇f, θ ← θ + v  and  b ← ρb + ∇f, θ ← θ − ηb  give the same θ (v = −ηb)."""
    land = get_landscape(landscape)
    lr = 0.1 if landscape == "quadratic" else 1e-3
    starts = [land.starts[0], (0.5, 0.5)]
    classic = simulate(land, "momentum", starts, 200, lr=lr, momentum=momentum, record="full")
    torch_form = simulate(land, "sgd", starts, 200, lr=lr, momentum=momentum, record="full")
    np.testing.assert_allclose(classic.points, torch_form.points, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(classic.states["velocity"], -lr * torch_form.states["velocity"],
                               rtol=1e-9, atol=1e-12)


def test_lookahead_nesterov_takes_its_gradient_at_the_lookahead_point():
    """v₁ = η∇f(θ₀); θ₁ = θ₀ − v₁; v₂ = γv₁ + η∇f(θ₁ − γv₁); θ₂ = θ₁ − v₂ (by hand)."""
    lr, gamma = 0.1, 0.9
    theta0 = np.array(START)
    v1 = lr * np.array(quadratic_gradient(*theta0))
    theta1 = theta0 - v1
    lookahead = theta1 - gamma * v1
    v2 = gamma * v1 + lr * np.array(quadratic_gradient(*lookahead))
    theta2 = theta1 - v2
    for starts in ([START], [START, (1.0, 1.0)]):
        run = simulate(QUADRATIC, "nesterov", starts, 2, lr=lr, momentum=gamma, record="full")
        np.testing.assert_allclose(run.points[0], [theta0, theta1, theta2], rtol=1e-15)
        np.testing.assert_allclose(run.grads[0, 1], quadratic_gradient(*lookahead), rtol=1e-15)
    plain = theta1 - (gamma * v1 + lr * np.array(quadratic_gradient(*theta1)))
    assert not np.allclose(plain, theta2), "look-ahead and plain gradient must differ here"


@pytest.mark.parametrize("landscape", ["quadratic", "rosenbrock", "himmelblau"])
def test_lookahead_nesterov_is_torch_nesterov_after_the_change_of_variables(landscape):
    """φ = θ − γv turns the look-ahead form into torch's: φ_t is sgd(nesterov=True)'s θ_t."""
    land = get_landscape(landscape)
    lr, gamma = (0.1 if landscape == "quadratic" else 1e-3), 0.9
    start = land.starts[0]
    lookahead = simulate(land, "nesterov", [start], 200, lr=lr, momentum=gamma, record="full")
    torch_form = simulate(land, "sgd", [start], 200, lr=lr, momentum=gamma, nesterov=True, record="path")
    changed = lookahead.points[0, 1:] - gamma * lookahead.states["velocity"][0]
    np.testing.assert_allclose(changed, torch_form.points[0, 1:], rtol=1e-10, atol=1e-12)


def test_both_nesterov_forms_converge_on_the_quadratic():
    lookahead = simulate(QUADRATIC, "nesterov", [START], 300, lr=0.1, momentum=0.9, record="final")
    torch_form = simulate(QUADRATIC, "sgd", [START], 300, lr=0.1, momentum=0.9, nesterov=True, record="final")
    assert np.abs(lookahead.final_points).max() < 1e-3
    assert np.abs(torch_form.final_points).max() < 1e-3


def test_adam_without_bias_correction_takes_a_differently_scaled_first_step():
    """Step 1: m₁ = (1−β₁)g, v₁ = (1−β₂)g². Corrected: η·g/(|g|+ε) ≈ η·sign(g); uncorrected:
    η(1−β₁)g/(√(1−β₂)|g| + ε) ≈ η(1−β₁)/√(1−β₂)·sign(g), about 3.16η for (0.9, 0.999)."""
    lr, (beta1, beta2), eps = 0.01, (0.9, 0.999), 1e-8
    g = np.array(quadratic_gradient(*START))
    corrected = np.array(START) - lr * g / (np.abs(g) + eps)
    uncorrected = np.array(START) - lr * (1 - beta1) * g / (np.sqrt((1 - beta2) * g * g) + eps)
    for starts in ([START], [START, (1.0, 1.0)]):
        on = simulate(QUADRATIC, "adam", starts, 1, lr=lr, record="path")
        off = simulate(QUADRATIC, "adam", starts, 1, lr=lr, bias_correction=False, record="path")
        np.testing.assert_allclose(on.points[0, 1], corrected, rtol=1e-14)
        np.testing.assert_allclose(off.points[0, 1], uncorrected, rtol=1e-14)
        ratio = np.abs(np.diff(off.points[0], axis=0)) / np.abs(np.diff(on.points[0], axis=0))
        np.testing.assert_allclose(ratio, (1 - beta1) / math.sqrt(1 - beta2), rtol=1e-6)


def adamw_by_hand(start, steps, *, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8):
    """torch.optim.AdamW's documented algorithm on 0.1x² + 2y²: θ ← θ(1 − ηλ) first, then Adam's step."""
    (beta1, beta2), theta = betas, np.array(start, dtype=float)
    m, v, path = np.zeros(2), np.zeros(2), [theta.copy()]
    for t in range(1, steps + 1):
        g = np.array(quadratic_gradient(*theta))
        theta = theta * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        path.append(theta.copy())
    return np.array(path)


def test_adamw_decays_the_parameters_directly_as_torch_documents():
    starts = [START, (1.0, -1.0)]
    for batch in (starts[:1], starts):
        adamw = simulate(QUADRATIC, "adamw", batch, 100, lr=0.1, weight_decay=0.05, record="path")
        for index, start in enumerate(batch):
            np.testing.assert_allclose(adamw.points[index], adamw_by_hand(start, 100, lr=0.1, weight_decay=0.05),
                                       rtol=1e-10, atol=1e-13)
    # Adam with L2 decay on the same settings is a different path: the check above can tell them apart.
    l2 = simulate(QUADRATIC, "adam", starts[:1], 100, lr=0.1, weight_decay=0.05, record="path")
    assert np.abs(l2.points[0] - adamw_by_hand(START, 100, lr=0.1, weight_decay=0.05)).max() > 1e-3
    assert get_optimizer("adamw").defaults["weight_decay"] == 0.01  # torch's AdamW default


def test_the_library_leaves_the_process_allocator_alone(monkeypatch):
    """The library must not change the process it runs in: a big batch once made simulate call
    glibc's mallopt (process-wide, for every other library too). No foreign-function call is made."""
    loaded = []
    monkeypatch.setattr(ctypes, "CDLL", lambda *arguments, **keywords: loaded.append(arguments))
    monkeypatch.setattr(sys.modules["optimizers.simulate"], "_memory_kept", False, raising=False)
    starts = np.random.default_rng(0).uniform(-1.0, 1.0, size=(5000, 2))
    simulate(QUADRATIC, "adam", starts, 2, record="final")
    assert loaded == []


@pytest.mark.parametrize("name", ["adam", "nadam", "radam"])
def test_l2_and_decoupled_weight_decay_differ_for_adaptive_methods(name):
    land = get_landscape("rosenbrock")
    runs = {decay: simulate(land, name, [(-1.5, 2.0)], 150, lr=0.05, record="path", **settings)
            for decay, settings in (("none", {}), ("l2", {"weight_decay": 0.5}),
                                    ("decoupled", {"weight_decay": 0.5, "decoupled_weight_decay": True}))}
    assert np.abs(runs["l2"].points - runs["decoupled"].points).max() > 1e-3
    assert np.abs(runs["l2"].points - runs["none"].points).max() > 1e-3
    assert np.abs(runs["decoupled"].points - runs["none"].points).max() > 1e-3


def test_adam_normalizes_l2_away_on_a_separable_quadratic_but_not_decoupled_decay():
    """On 0.1x² + 2y², L2 turns each coordinate's gradient into a multiple of itself,
    (0.2 + λ)x and (4 + λ)y, which Adam's per-coordinate normalization cancels; decoupled
    decay shrinks θ directly and does change the path."""
    none = simulate(QUADRATIC, "adam", [START], 100, lr=0.1, record="path")
    l2 = simulate(QUADRATIC, "adam", [START], 100, lr=0.1, weight_decay=0.5, record="path")
    decoupled = simulate(QUADRATIC, "adam", [START], 100, lr=0.1, weight_decay=0.5,
                         decoupled_weight_decay=True, record="path")
    np.testing.assert_allclose(l2.points, none.points, atol=1e-6)
    assert np.abs(decoupled.points - none.points).max() > 1e-2


def test_l2_and_decoupled_weight_decay_agree_for_plain_sgd():
    """θ(1 − ηλ) − ηg = θ − η(g + λθ): the same step, up to round-off."""
    for starts in ([START], [START, (1.0, -1.0)]):
        l2 = simulate(QUADRATIC, "sgd", starts, 100, lr=0.1, weight_decay=0.3, record="path")
        decoupled = simulate(QUADRATIC, "sgd", starts, 100, lr=0.1, weight_decay=0.3,
                             decoupled_weight_decay=True, record="path")
        none = simulate(QUADRATIC, "sgd", starts, 100, lr=0.1, record="path")
        np.testing.assert_allclose(l2.points, decoupled.points, rtol=1e-12, atol=1e-14)
        assert np.abs(l2.points - none.points).max() > 1e-3


# -- Newton -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("starts", [[START], [START, (3.0, -1.0), (-0.2, 0.7)]], ids=["single", "batch"])
def test_newton_reaches_the_minimum_of_a_quadratic_in_one_step(starts):
    run = simulate(QUADRATIC, "newton", starts, 1, lr=1.0, record="path")
    np.testing.assert_allclose(run.points[:, 1], 0.0, atol=1e-12)


@pytest.mark.parametrize("start", [(-1.8, 1e-3), (0.7, -1.3)])
def test_newton_jumps_onto_the_saddle_point(start):
    """Newton heads for any zero of the gradient: on x² − y² it lands on the saddle (0, 0)."""
    run = simulate("saddle", "newton", [start], 3, lr=1.0, record="path")
    np.testing.assert_allclose(run.points[0, 1:], 0.0, atol=1e-12)
    gd = simulate("saddle", "sgd", [start], 3, lr=0.1, record="path")
    assert abs(gd.points[0, -1, 1]) > abs(start[1])  # GD moves away along −y²


def test_newton_damping_shortens_the_step():
    """(H + δI)⁻¹∇f on diag(0.2, 4): each coordinate's step is g/(h + δ)."""
    undamped = simulate(QUADRATIC, "newton", [START], 1, record="path").updates[0, 0]
    for damping in (0.1, 1.0, 10.0):
        step = simulate(QUADRATIC, "newton", [START], 1, damping=damping, record="path").updates[0, 0]
        g = np.array(quadratic_gradient(*START))
        np.testing.assert_allclose(step, -g / (np.array([0.2, 4.0]) + damping), rtol=1e-13)
        assert np.linalg.norm(step) < np.linalg.norm(undamped)


def test_newton_lr_scales_the_step():
    run = simulate(QUADRATIC, "newton", [START], 1, lr=0.5, record="path")
    np.testing.assert_allclose(run.points[0, 1], np.array(START) / 2, rtol=1e-13)


# -- local gains ----------------------------------------------------------------------------------

@pytest.mark.parametrize("starts", [[START], [START, (2.0, -1.5)]], ids=["single", "batch"])
def test_local_gains_grow_while_the_sign_holds_and_shrink_after_a_flip(starts):
    beta, gain_min, gain_max, lr = 0.2, 0.5, 2.5, 0.15
    run = simulate(QUADRATIC, "local_gain", starts, 60, lr=lr, beta=beta, gain_min=gain_min,
                   gain_max=gain_max, record="full")
    gains, grads = run.states["gain"], run.grads
    previous_gain = np.ones(grads[:, 0].shape)
    previous_grad = np.zeros(grads[:, 0].shape)
    grew = shrank = 0
    for t in range(run.steps):
        agreement = grads[:, t] * previous_grad
        expected = np.where(agreement > 0, previous_gain + beta,
                            np.where(agreement < 0, previous_gain * (1 - beta), previous_gain))
        expected = np.clip(expected, gain_min, gain_max)
        np.testing.assert_allclose(gains[:, t], expected, rtol=1e-15, err_msg=f"step {t}")
        grew += int((agreement > 0).sum())
        shrank += int((agreement < 0).sum())
        previous_gain, previous_grad = gains[:, t], grads[:, t]
    assert grew and shrank, "the run must exercise both rules"
    assert gains.min() >= gain_min and gains.max() <= gain_max
    assert gains.max() == gain_max  # the cap is reached along the shallow x direction
    np.testing.assert_allclose(run.updates, -lr * gains * grads, rtol=1e-9, atol=1e-15)


# -- Rprop ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression", ["0.1*x**2 + 2*y**2", "(1 - x)**2 + 100*(y - x**2)**2"])
def test_rprop_ignores_the_size_of_the_gradient(expression):
    land, steep = from_expression(expression), from_expression(f"100*({expression})")
    starts = [(-1.5, 2.0), (0.7, -0.4)]
    for batch in (starts[:1], starts):
        rprop = simulate(land, "rprop", batch, 100, lr=0.05, record="path")
        scaled = simulate(steep, "rprop", batch, 100, lr=0.05, record="path")
        np.testing.assert_array_equal(rprop.points, scaled.points)
    sgd = simulate(land, "sgd", starts, 20, lr=1e-4, record="path")
    sgd_scaled = simulate(steep, "sgd", starts, 20, lr=1e-4, record="path")
    assert not np.allclose(sgd.points, sgd_scaled.points)


# -- the optimizer records ------------------------------------------------------------------------

SLIDES_OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw",
                     "adamax", "nadam", "radam", "rprop", "adabelief", "newton", "local_gain"]


def test_every_optimizer_of_the_slides_is_available():
    names = optimizer_names()
    assert set(SLIDES_OPTIMIZERS) <= set(names)
    assert len(names) == len(set(names))
    assert names == list(OPTIMIZERS)


@pytest.mark.parametrize("name", optimizer_names())
def test_every_optimizer_record_documents_itself(name):
    spec = get_optimizer(name)
    assert spec.name == name
    assert spec.title.strip()
    assert spec.reference.strip()
    assert spec.equations, "every record lists its update"
    assert "lr" in spec.defaults
    names = [h.name for h in spec.hyperparameters]
    assert len(names) == len(set(names))
    for hyperparameter in spec.hyperparameters:
        assert hyperparameter.meaning.strip(), f"{name}.{hyperparameter.name} has no meaning"
        assert hyperparameter.range_text
        hyperparameter.check(hyperparameter.default)  # the default is in its own range
    assert spec.validate() == {h.name: h.check(h.default) for h in spec.hyperparameters}


@pytest.mark.parametrize("name", optimizer_names())
def test_every_optimizer_runs_with_its_defaults(name):
    run = simulate("quadratic", name, [START, (1.0, 1.0)], 20)
    assert run.optimizer == name
    assert run.hyperparameters == get_optimizer(name).validate()
    assert np.isfinite(run.points).all()


def test_an_unknown_optimizer_is_refused_by_name():
    with pytest.raises(HyperparameterError, match="adamm"):
        get_optimizer("adamm")
    with pytest.raises(ValueError, match="adamm"):
        simulate("quadratic", "adamm", [START], 5)


# -- the records' equations: every variant reachable, valid-looking LaTeX, shown in the docstrings ---

def probe_values(spec) -> list:
    """Values of one hyperparameter that switch its variants: both switches, zero and a positive value."""
    if spec.kind == "bool":
        return [False, True]
    if spec.kind == "choice":
        return list(spec.choices)
    if spec.kind == "float":
        candidates = [spec.default, 0.0, 0.5]
        return list(dict.fromkeys(v for v in candidates if _in_range(spec, v)))
    return [spec.default]


def _in_range(spec, value) -> bool:
    try:
        spec.check(value)
    except HyperparameterError:
        return False
    return True


def settings_grid(name: str) -> list[dict]:
    """Every combination of probe values that the optimizer accepts."""
    spec = get_optimizer(name)
    grid = [{}]
    for hyperparameter in spec.hyperparameters:
        grid = [{**setting, hyperparameter.name: value} for setting in grid for value in probe_values(hyperparameter)]
    valid = []
    for setting in grid:
        try:
            spec.validate(**setting)
        except HyperparameterError:
            continue
        valid.append(setting)
    return valid


def latex_problems(line: str) -> list[str]:
    """What makes a line invalid LaTeX for KaTeX, as far as can be told without rendering it."""
    problems = []
    unescaped = re.sub(r"\\[{}]", "", line)
    depth = 0
    for character in unescaped:
        depth += {"{": 1, "}": -1}.get(character, 0)
        if depth < 0:
            problems.append("a } closes nothing")
            break
    if depth > 0:
        problems.append(f"{depth} unclosed {{")
    if re.findall(r"\\begin\{(\w+)\}", line) != re.findall(r"\\end\{(\w+)\}", line):
        problems.append("\\begin/\\end do not pair")
    if len(re.findall(r"\\left(?![a-z])", line)) != len(re.findall(r"\\right(?![a-z])", line)):
        problems.append("\\left/\\right do not pair")
    if not line.strip() or "\n" in line or "$" in line:
        problems.append("not one line of math")
    return problems


@pytest.mark.parametrize("name", optimizer_names())
def test_every_equation_line_is_reachable_by_some_settings(name):
    spec = get_optimizer(name)
    shown = {line for setting in settings_grid(name) for line in spec.equations_for(setting)}
    unreachable = [e.latex for e in spec.equations if e.latex not in shown]
    assert unreachable == []


@pytest.mark.parametrize("name", optimizer_names())
def test_equations_for_any_settings_end_with_the_parameter_update_in_valid_latex(name):
    spec = get_optimizer(name)
    for setting in settings_grid(name):
        lines = spec.equations_for(setting)
        assert lines, setting
        assert lines[-1].startswith(r"\theta_t ="), (setting, lines[-1])
        assert len(lines) == len(set(lines)), f"{setting}: a line shown twice"
        assert sum(line.startswith("g_t =") for line in lines) <= 1, f"{setting}: two gradients"
        for line in lines:
            assert latex_problems(line) == [], line


@pytest.mark.parametrize(("name", "setting", "present", "absent"), [
    ("rmsprop", {"centered": True, "momentum": 0.5}, [r"\bar g_t", r"b_t = \mu"], [r"\sqrt{v_t} +"]),
    ("rmsprop", {}, [r"\sqrt{v_t} +"], [r"\bar g", "b_t"]),
    ("adam", {"amsgrad": True}, [r"v^{\max}_t = \max"], [r"\lambda"]),
    ("adam", {"bias_correction": False}, [r"\frac{m_t}{\sqrt{v_t}"], [r"\hat m_t"]),
    ("adam", {"weight_decay": 0.1}, [r"+ \lambda\, \theta_{t-1}"], [r"\leftarrow (1 - \eta\lambda)"]),
    ("adamw", {}, [r"\leftarrow (1 - \eta\lambda)"], [r"+ \lambda\, \theta_{t-1}"]),
    ("adamw", {"weight_decay": 0.0}, [r"g_t = \nabla f(\theta_{t-1})"], [r"\lambda"]),
    ("sgd", {}, [r"\theta_t = \theta_{t-1} - \eta\, g_t"], ["b_t"]),
    ("sgd", {"momentum": 0.9, "nesterov": True}, [r"(g_t + \rho\, b_t)", r"b_t = \rho\, b_{t-1} + g_t"], ["tau"]),
    ("sgd", {"momentum": 0.9, "dampening": 0.1}, [r"(1-\tau)", r"- \eta\, b_t"], [r"(g_t + \rho"]),
    ("adagrad", {"lr_decay": 0.1}, [r"\eta_t = \frac{\eta}{1 + (t-1)\,k}"], []),
    ("adagrad", {}, [r"\frac{\eta}{\sqrt{G_t}"], [r"\eta_t"]),
])
def test_equations_for_shows_exactly_the_variant_switched_on(name, setting, present, absent):
    text = "\n".join(get_optimizer(name).equations_for(setting))
    for fragment in present:
        assert fragment in text, fragment
    for fragment in absent:
        assert fragment not in text, fragment


def test_equations_for_refuses_unknown_or_out_of_range_settings():
    with pytest.raises(HyperparameterError, match="momentum"):
        get_optimizer("adam").equations_for({"momentum": 0.9})
    with pytest.raises(HyperparameterError, match="weight_decay"):
        get_optimizer("adam").equations_for({"weight_decay": -1.0})


@pytest.mark.parametrize("name", optimizer_names())
def test_the_update_functions_docstring_is_written_from_its_record(name):
    spec = get_optimizer(name)
    shown = pydoc.render_doc(spec.build, renderer=pydoc.plaintext)
    assert spec.title in shown and spec.reference in shown
    for equation in spec.equations:
        assert equation.latex in shown
        assert equation.when.text in shown
    for hyperparameter in spec.hyperparameters:
        assert hyperparameter.name in shown and hyperparameter.symbol in shown
    assert ">>> from optimizers import simulate" in shown  # a runnable example (test_doctests runs it)
