"""sweep: SGD with momentum on 0.1x² + 2y² reproduces the theory of its 2×2 iteration matrix."""

import numpy as np
import pytest

from explore import analytic_rate, axis_names, sweep
from optimizers import HyperparameterError, simulate
from optimizers.theory import momentum_rate, quadratic_theory

STEPS = 1000


@pytest.fixture(scope="module")
def momentum_sweep():
    lrs = np.logspace(-2, np.log10(0.95), 24)
    momenta = np.linspace(0.0, 0.95, 20)
    return sweep("quadratic", "sgd", [(-4.0, 2.0)], STEPS, {"lr": lrs, "momentum": momenta}, metric="rate",
                 backend="numpy")


def theory_rate(lrs, momenta):
    """max over the Hessian's eigenvalues of the spectral radius of R(lr·λ, β), as a (B, A) grid."""
    eigenvalues = quadratic_theory("quadratic").eigenvalues
    lr, momentum = np.meshgrid(lrs, momenta)
    return np.max([momentum_rate(lr * lam, momentum) for lam in eigenvalues], axis=0)


def test_measured_rate_equals_the_iteration_matrix_rate_per_cell(momentum_sweep):
    theory = theory_rate(momentum_sweep.x_values, momentum_sweep.y_values)
    measured = momentum_sweep.grid
    converging = theory < 0.99  # nearer 1 the distance shrinks too slowly to measure in 1000 steps
    assert converging.sum() > 300
    np.testing.assert_allclose(measured[converging], theory[converging], atol=1e-3)


def test_divergence_set_is_the_analytic_one_away_from_the_boundary(momentum_sweep):
    theory = theory_rate(momentum_sweep.x_values, momentum_sweep.y_values)
    diverged = momentum_sweep.metrics["diverged"] > 0
    # A rate r > 1.03 grows the distance past 1e8 within the 1000 steps; r < 0.97 never comes near.
    assert (theory > 1.03).sum() > 30 and (theory < 0.97).sum() > 200
    assert diverged[theory > 1.03].all()
    assert not diverged[theory < 0.97].any()
    assert np.isinf(momentum_sweep.metrics["final_loss"][diverged]).all()


def test_every_metric_of_a_cell_is_the_one_its_own_run_gives():
    lrs, momenta = [0.05, 0.2, 0.7], [0.0, 0.6]
    starts = [(-4.0, 2.0), (3.0, -1.0)]
    result = sweep("quadratic", "sgd", starts, 150, {"lr": lrs, "momentum": momenta}, tol=1e-2)
    for row, momentum in enumerate(momenta):
        for column, lr in enumerate(lrs):
            run = simulate("quadratic", "sgd", starts, 150, record="final", tol=1e-2, lr=lr, momentum=momentum)
            diverged = (run.diverged >= 0).any()
            expected_loss = np.inf if diverged else run.final_losses.mean()
            assert result.metrics["final_loss"][row, column] == pytest.approx(expected_loss)
            assert result.metrics["diverged"][row, column] == (run.diverged >= 0).mean()
            never = (run.converged_at < 0).any()
            assert result.metrics["steps_to_tol"][row, column] == (np.inf if never else run.converged_at.max())
            assert result.setting(row, column) == {"lr": lr, "momentum": momentum}


def test_the_best_cell_has_the_lowest_metric():
    result = sweep("quadratic", "sgd", [(-4.0, 2.0)], 100, {"lr": np.logspace(-2, 0, 9), "momentum": [0, 0.5, 0.9]},
                   metric="steps_to_tol")
    row, column = result.best
    finite = result.grid[np.isfinite(result.grid)]
    assert result.grid[row, column] == finite.min()


def test_a_pair_element_is_an_axis_and_the_other_element_stays_fixed():
    assert "betas[1]" in axis_names("adam") and "betas" not in axis_names("adam")
    result = sweep("rosenbrock", "adam", [(-1.5, 2.0)], 50, {"lr": [0.01, 0.1], "betas[1]": [0.9, 0.999]},
                   betas=(0.8, 0.999))
    run = simulate("rosenbrock", "adam", [(-1.5, 2.0)], 50, record="final", lr=0.1, betas=(0.8, 0.9))
    assert result.metrics["final_loss"][0, 1] == run.final_losses[0]
    assert result.setting(0, 1) == {"lr": 0.1, "betas": (0.8, 0.9)}


def test_an_unknown_axis_is_refused_by_name():
    with pytest.raises(HyperparameterError, match="no hyperparameter 'nesterov'"):
        sweep("quadratic", "sgd", [(1.0, 1.0)], 10, {"lr": [0.1], "nesterov": [0, 1]})


def test_analytic_rate_is_offered_only_where_theory_holds(momentum_sweep):
    expected = analytic_rate_of(momentum_sweep)
    assert expected.shape == momentum_sweep.grid.shape
    np.testing.assert_array_equal(analytic_rate(momentum_sweep), expected)
    swapped = sweep("quadratic", "sgd", [(-4.0, 2.0)], 5, {"momentum": [0.0, 0.5], "lr": [0.1, 0.2, 0.3]})
    np.testing.assert_allclose(analytic_rate(swapped), analytic_rate_of(swapped))
    assert analytic_rate(sweep("rosenbrock", "sgd", [(-1.0, 1.0)], 5, {"lr": [0.1], "momentum": [0.0]})) is None
    assert analytic_rate(sweep("quadratic", "sgd", [(-1.0, 1.0)], 5, {"lr": [0.1], "momentum": [0.5]},
                               nesterov=True)) is None
    assert analytic_rate(sweep("quadratic", "adam", [(-1.0, 1.0)], 5, {"lr": [0.1], "eps": [1e-8]})) is None


def analytic_rate_of(result):
    if result.names[0] == "lr":
        return theory_rate(result.x_values, result.y_values)
    return theory_rate(result.y_values, result.x_values).T
