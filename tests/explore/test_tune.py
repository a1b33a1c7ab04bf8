"""tune_lr: the tuned rate is the argmin of the grid's scores, each the score of that rate's own run."""

import numpy as np
import pytest

import explore
import explore.basins
import explore.sweeps
import explore.tuning
from explore import log_grid, tune_lr
from optimizers import simulate

STARTS = [(-1.5, 2.0), (1.5, 1.5)]


@pytest.mark.parametrize("score", ["final_loss", "mean_loss", "steps_to_tol"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_tuned_lr_is_the_grid_argmin_of_per_rate_runs(optimizer, score):
    lrs = log_grid(1e-4, 1.0, 3)
    tuned = tune_lr("rosenbrock", optimizer, STARTS, 200, lrs, score=score, tol=0.05)
    expected = []
    for lr in lrs:
        run = simulate("rosenbrock", optimizer, STARTS, 200, record="path", tol=0.05, lr=lr)
        if (run.diverged >= 0).any():
            expected.append(np.inf)
        elif score == "final_loss":
            expected.append(run.final_losses.mean())
        elif score == "mean_loss":
            expected.append(run.losses.mean())
        else:
            expected.append(np.inf if (run.converged_at < 0).any() else run.converged_at.max())
    np.testing.assert_allclose(tuned.scores, expected, rtol=1e-12)
    finite = np.isfinite(tuned.scores)
    if finite.any():
        assert tuned.best_lr == lrs[np.argmin(np.where(finite, tuned.scores, np.inf))]
    else:
        assert tuned.best_lr is None


def test_when_every_rate_diverges_there_is_no_best():
    tuned = tune_lr("quadratic", "sgd", [(-4.0, 2.0)], 100, [0.6, 1.0, 3.0])
    assert np.isinf(tuned.scores).all() and tuned.best_lr is None
    assert (tuned.diverged == 1).all()


def test_log_grid_spans_both_ends_evenly_in_log():
    grid = log_grid(1e-3, 1.0, 4)
    assert len(grid) == 13 and grid[0] == pytest.approx(1e-3) and grid[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(np.diff(np.log10(grid)), 0.25)


def test_explore_docstring_examples_hold():
    import doctest

    for module in (explore, explore.basins, explore.sweeps, explore.tuning):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0, module.__name__
