"""Mini-batch SGD in `simulate` on data landscapes: batch_size, shuffle (seeded), epochs."""

from __future__ import annotations

import numpy as np
import pytest

from landscapes import data_landscape, data_names, get_landscape
from optimizers import HyperparameterError, simulate

LINEAR = data_landscape("linear")
STARTS = [(-0.5, 1.5), (4.0, -3.0), (0.0, 0.0)]


@pytest.mark.parametrize("kind", data_names())
@pytest.mark.parametrize("optimizer, settings", [("sgd", {"lr": 0.1}), ("sgd", {"lr": 0.05, "momentum": 0.9,
                                                                                 "nesterov": True}),
                                                  ("adam", {"lr": 0.05})])
@pytest.mark.parametrize("starts", [STARTS[:1], STARTS])
def test_batch_size_equal_to_the_dataset_is_full_batch_gradient_descent_exactly(kind, optimizer, settings, starts):
    land = data_landscape(kind)
    full = simulate(land, optimizer, starts, 60, **settings)
    batched = simulate(land, optimizer, starts, 60, batch_size=land.samples, shuffle=True, seed=5, **settings)
    assert np.array_equal(full.points, batched.points)
    assert np.array_equal(full.losses, batched.losses)
    assert np.array_equal(full.grads, batched.grads)


@pytest.mark.parametrize("kind", ["linear", "logistic"])
@pytest.mark.parametrize("batch_size", [1, 4, 8])
def test_the_mean_of_one_epochs_batch_gradients_is_the_full_gradient(kind, batch_size):
    land = data_landscape(kind)
    # lr = 0: every step is taken at the same fixed point, so the epoch's gradients are all at θ.
    run = simulate(land, "sgd", STARTS, None, lr=0.0, batch_size=batch_size, shuffle=True, epochs=1, seed=2)
    assert run.steps == land.samples // batch_size
    full = np.stack(land.gradient(run.starts[:, 0], run.starts[:, 1]), axis=-1)
    np.testing.assert_allclose(run.grads.mean(axis=1), full, rtol=1e-12, atol=1e-14)
    assert not np.allclose(run.grads[:, 0], full)  # each batch alone is not the full gradient


def test_a_short_last_batch_weighs_by_its_size():
    run = simulate(LINEAR, "sgd", STARTS, None, lr=0.0, batch_size=5, shuffle=True, epochs=1)  # 32 = 6·5 + 2
    sizes = (run.batches[0] >= 0).sum(-1)
    assert sizes.tolist() == [5] * 6 + [2]
    full = np.stack(LINEAR.gradient(run.starts[:, 0], run.starts[:, 1]), axis=-1)
    weighted = (run.grads * sizes[None, :, None]).sum(axis=1) / LINEAR.samples
    np.testing.assert_allclose(weighted, full, rtol=1e-12, atol=1e-14)


def test_the_recorded_gradient_of_each_step_is_its_batchs_gradient_at_that_point():
    run = simulate(LINEAR, "sgd", STARTS, 40, lr=0.05, momentum=0.5, batch_size=3, shuffle=True, seed=9)
    for t in (0, 1, 10, 39):
        batch = run.batches[:, t]
        batch = batch[:, : (batch[0] >= 0).sum()]
        _, gx, gy = LINEAR.batch_value_and_gradient(run.points[:, t, 0], run.points[:, t, 1], batch)
        assert np.array_equal(run.grads[:, t], np.stack((gx, gy), axis=-1))
    np.testing.assert_array_equal(run.losses, LINEAR.loss(run.points[..., 0], run.points[..., 1]))


def test_shuffling_is_reproducible_by_seed_and_differs_across_seeds():
    runs = [simulate(LINEAR, "sgd", STARTS[:1], 50, lr=0.1, batch_size=4, shuffle=True, seed=s) for s in (1, 1, 2)]
    assert np.array_equal(runs[0].points, runs[1].points)
    assert np.array_equal(runs[0].batches, runs[1].batches)
    assert not np.array_equal(runs[0].batches, runs[2].batches)
    assert np.abs(runs[0].points - runs[2].points).max() > 1e-3


def test_each_start_shuffles_on_its_own_and_without_shuffle_all_follow_dataset_order():
    same_start = [STARTS[0]] * 4
    shuffled = simulate(LINEAR, "sgd", same_start, 16, lr=0.1, batch_size=4, shuffle=True)
    assert len({shuffled.points[i, -1].tobytes() for i in range(4)}) == 4  # a band of four paths
    ordered = simulate(LINEAR, "sgd", same_start, 16, lr=0.1, batch_size=4, shuffle=False)
    assert (ordered.points == ordered.points[:1]).all()
    assert ordered.batches[0, :8].tolist() == np.arange(32).reshape(8, 4).tolist()
    assert ordered.batches[0, 8].tolist() == [0, 1, 2, 3]  # the second epoch starts over


def test_one_start_alone_equals_it_among_others_when_unshuffled():
    alone = simulate(LINEAR, "adam", STARTS[:1], 30, lr=0.05, batch_size=4)
    together = simulate(LINEAR, "adam", STARTS, 30, lr=0.05, batch_size=4)
    assert np.array_equal(alone.points[0], together.points[0])


def test_epochs_set_the_steps():
    run = simulate(LINEAR, "sgd", STARTS, None, lr=0.1, batch_size=8, epochs=3, record="final")
    assert run.steps == 12 and run.batch_size == 8
    assert simulate(LINEAR, "sgd", STARTS, 12, lr=0.1, batch_size=8, epochs=3).steps == 12
    with pytest.raises(HyperparameterError, match="12 steps, not steps=10"):
        simulate(LINEAR, "sgd", STARTS, 10, lr=0.1, batch_size=8, epochs=3)


def test_reddi_in_dataset_order_with_batch_one_is_the_online_sequence():
    land = data_landscape("reddi")
    run = simulate(land, "sgd", [(0.5, 1.0)], 9, lr=0.0, batch_size=1)
    assert run.grads[0, :, 0].tolist() == [3.0, -1.0, -1.0] * 3


def test_noise_and_batches_combine():
    a = simulate(LINEAR, "sgd", STARTS, 20, lr=0.1, batch_size=4, shuffle=True, noise=0.5, seed=3)
    b = simulate(LINEAR, "sgd", STARTS, 20, lr=0.1, batch_size=4, shuffle=True, noise=0.0, seed=3)
    assert np.array_equal(a.batches, b.batches)  # shuffles come from their own stream
    assert not np.array_equal(a.points, b.points)


@pytest.mark.parametrize("bad, message", [
    ({"batch_size": 0}, "batch_size must be a whole number in \\[1, 32\\]"),
    ({"batch_size": 33}, "batch_size must be"),
    ({"batch_size": 2.0}, "batch_size must be"),
    ({"batch_size": 4, "shuffle": "yes"}, "shuffle must be True or False"),
    ({"batch_size": 4, "epochs": -1}, "epochs must be"),
    ({"batch_size": 4, "backend": "compiled"}, "NumPy path"),
])
def test_bad_minibatch_settings_say_what_is_wrong(bad, message):
    with pytest.raises(HyperparameterError, match=message):
        simulate(LINEAR, "sgd", STARTS, 10, lr=0.1, **bad)


def test_formula_landscapes_refuse_batches_clearly():
    with pytest.raises(HyperparameterError, match="need a data landscape"):
        simulate(get_landscape("rosenbrock"), "sgd", STARTS, 10, lr=0.1, batch_size=4)
    with pytest.raises(HyperparameterError, match="need a data landscape"):
        simulate("quadratic", "sgd", STARTS, None, lr=0.1, epochs=2)


def test_the_minibatch_story_steps_on_simulates_own_batches():
    from presets import PRESETS
    from presets.stories import BATCHES, MINIBATCH_DATA, MINIBATCH_LR, MINIBATCH_SEED, MINIBATCH_STEPS

    story = PRESETS["minibatch_noise"]
    runs = story.runs()
    for batch in BATCHES:
        again = simulate(MINIBATCH_DATA, "sgd", story.starts, MINIBATCH_STEPS, lr=MINIBATCH_LR, batch_size=batch,
                         shuffle=True, seed=MINIBATCH_SEED)
        assert np.array_equal(runs[f"batch {batch}"].points, again.points), batch
        assert np.array_equal(runs[f"batch {batch}"].grads, again.grads), batch
    full = simulate(MINIBATCH_DATA, "sgd", story.starts, MINIBATCH_STEPS, lr=MINIBATCH_LR)
    assert np.array_equal(runs[f"full batch ({MINIBATCH_DATA.samples})"].points, full.points)


def test_the_amsgrad_story_steps_on_the_counterexample_data_in_order():
    from presets import PRESETS

    story = PRESETS["amsgrad_counterexample"]
    land = story.landscape_record
    assert land.features[:, 0].tolist() == [3.0, -1.0, -1.0]
    grads = story.runs()["Adam"].grads[0, :6, 0]
    assert grads.tolist() == [3.0, -1.0, -1.0, 3.0, -1.0, -1.0]


def test_a_look_ahead_gradient_uses_the_same_batch_as_its_step():
    run = simulate(LINEAR, "nesterov", STARTS, 25, lr=0.05, momentum=0.9, batch_size=3, shuffle=True, seed=4)
    for t in (1, 7, 24):
        velocity = run.states["velocity"][:, t - 1]
        ahead = run.points[:, t] - 0.9 * velocity
        batch = run.batches[:, t]
        batch = batch[:, : (batch[0] >= 0).sum()]
        _, gx, gy = LINEAR.batch_value_and_gradient(ahead[:, 0], ahead[:, 1], batch)
        np.testing.assert_array_equal(run.grads[:, t], np.stack((gx, gy), axis=-1))


def test_per_start_hyperparameters_with_batches_equal_separate_runs_without_shuffling():
    lrs = np.array([0.02, 0.1, 0.3])
    together = simulate(LINEAR, "sgd", STARTS, 40, lr=lrs, batch_size=5)
    for i, lr in enumerate(lrs):
        alone = simulate(LINEAR, "sgd", STARTS[i:i + 1], 40, lr=float(lr), batch_size=5)
        np.testing.assert_array_equal(together.points[i], alone.points[0])


def test_a_diverging_minibatch_run_is_marked_and_stops():
    run = simulate(LINEAR, "sgd", STARTS, 200, lr=3.0, batch_size=2, shuffle=True)
    assert (run.diverged > 0).all()
    assert np.isfinite(run.points).all()
