"""Mini-batch figures: the band of shuffled paths with both gradient arrows, and Smith et al.'s
"grow the batch instead of decaying the learning rate" side by side."""

from __future__ import annotations

import numpy as np
import pytest

from figures.minibatch import (
    STRATEGIES,
    batch_growth_figure,
    batch_growth_rows,
    batch_growth_runs,
    gradient_pair,
    minibatch_figure,
    minibatch_rows,
    minibatch_runs,
)
from landscapes import data_landscape

LINEAR = data_landscape("linear")


@pytest.fixture(scope="module")
def runs():
    return minibatch_runs(LINEAR, batch_size=4, steps=60, paths=5, seed=1, lr=0.1)


def traces_named(figure, prefix: str) -> list[dict]:
    return [t for t in figure.to_dict()["data"] if str(t.get("name", "")).startswith(prefix)]


def test_the_band_is_one_start_shuffled_differently_beside_full_batch_descent(runs):
    band, full = runs
    assert band.points.shape == (5, 61, 2) and full.points.shape == (1, 61, 2)
    assert (band.points[:, 0] == full.points[0, 0]).all()
    assert len({band.points[i, -1].tobytes() for i in range(5)}) == 5
    assert full.batch_size is None and band.batch_size == 4


def test_the_gradient_pair_is_the_full_gradient_and_the_batch_gradient_at_that_step(runs):
    band, _ = runs
    pair = gradient_pair(band, 7, path=2)
    point = band.points[2, 7]
    np.testing.assert_array_equal(pair.full, [g[0] for g in LINEAR.gradient(point[:1], point[1:])])
    _, gx, gy = LINEAR.batch_value_and_gradient(point[:1], point[1:], pair.samples[None])
    np.testing.assert_array_equal(pair.batch, [gx[0], gy[0]])
    assert len(pair.samples) == 4
    cosine = pair.full @ pair.batch / np.linalg.norm(pair.full) / np.linalg.norm(pair.batch)
    assert pair.angle == pytest.approx(np.degrees(np.arccos(cosine)))
    with pytest.raises(ValueError, match="step must be in"):
        gradient_pair(band, 60)


def test_the_arrows_start_at_the_step_point_and_point_down_their_gradients(runs):
    band, full = runs
    figure = minibatch_figure(LINEAR, band, full, step=7)
    pair = gradient_pair(band, 7)
    scale = figure.layout.meta["arrow_scale"]
    for prefix, vector in (("−∇f", pair.full), ("−g", pair.batch)):
        (arrow,) = traces_named(figure, prefix)
        assert arrow["name"].endswith(f"× {scale:g}")
        np.testing.assert_allclose([arrow["x"][0], arrow["y"][0]], pair.point)
        np.testing.assert_allclose([arrow["x"][1], arrow["y"][1]], pair.point - scale * vector)
    longest = max(np.linalg.norm(pair.full), np.linalg.norm(pair.batch)) * scale
    assert 0.1 * 6 < longest <= 0.3 * 6 + 1e-9  # a visible fraction of the 6-wide view, never past 30 %
    assert figure.layout.meta["step"] == 7
    assert figure.layout.shapes[0].x0 == 7


def test_the_band_and_the_full_batch_share_one_loss_scale():
    from landscapes import data_landscape as make

    land = make("reddi")  # off its box f falls below the box's minimum: plain f for both
    band, full = minibatch_runs(land, batch_size=1, steps=60, paths=2, shuffle=False, optimizer="adam", lr=0.1)
    figure = minibatch_figure(land, band, full, step=4)
    losses = [t for t in figure.data if t.xaxis == "x2"]
    np.testing.assert_allclose(losses[-1].y, full.losses[0])
    np.testing.assert_allclose(losses[0].y, band.losses[0])
    assert figure.layout.yaxis2.type == "linear"
    assert figure.layout.yaxis2.title.text == "f"


def test_the_figure_draws_every_path_and_its_loss(runs):
    band, full = runs
    figure = minibatch_figure(LINEAR, band, full, step=0).to_dict()
    on_contour = [t for t in figure["data"] if t.get("xaxis", "x") == "x" and t.get("legendgroup") == "band"]
    losses = [t for t in figure["data"] if t.get("xaxis") == "x2"]
    assert len(on_contour) == 5 and len(losses) == 6
    assert figure["layout"]["images"][0]["source"].startswith("data:image/png")
    assert figure["layout"]["yaxis2"]["type"] == "log"


@pytest.fixture(scope="module")
def schedules():
    return batch_growth_runs(LINEAR, lr=0.1, batch_size=2, factor=4, phases=3, epochs_per_phase=4, paths=4)


def test_growing_the_batch_keeps_the_noise_scale_of_decaying_the_learning_rate(schedules):
    decay, grow = schedules
    assert (decay.name, grow.name) == STRATEGIES
    assert decay.batch_sizes == (2, 2, 2) and decay.lrs == pytest.approx((0.1, 0.025, 0.00625))
    assert grow.batch_sizes == (2, 8, 32) and grow.lrs == pytest.approx((0.1, 0.1, 0.1))
    for d, g, db, gb in zip(decay.lrs, grow.lrs, decay.batch_sizes, grow.batch_sizes, strict=True):
        assert d / db == pytest.approx(g / gb)  # lr·M/B, Smith et al.'s noise scale


def test_a_capped_batch_hands_the_rest_of_the_factor_to_the_learning_rate():
    _, grow = batch_growth_runs(LINEAR, lr=0.1, batch_size=4, factor=4, phases=3, epochs_per_phase=1, paths=2)
    assert grow.batch_sizes == (4, 16, 32)
    assert grow.lrs == pytest.approx((0.1, 0.1, 0.05))


def test_both_strategies_see_the_same_epochs_and_growing_takes_fewer_updates(schedules):
    decay, grow = schedules
    assert decay.epochs[-1] == grow.epochs[-1] == 12
    assert decay.updates[-1] == 16 * 12 and grow.updates[-1] == 16 * 4 + 4 * 4 + 1 * 4
    assert decay.losses.shape == (4, len(decay.epochs)) and grow.losses.shape == (4, len(grow.epochs))
    # the first phase is the same for both: same batches (seeded), same lr
    first = 16 * 4 + 1
    np.testing.assert_array_equal(decay.losses[:, :first], grow.losses[:, :first])
    assert np.all(np.diff(grow.epochs) > 0) and np.all(np.diff(grow.updates) == 1)


def test_the_growth_figure_plots_loss_against_epochs_and_against_updates(schedules):
    figure = batch_growth_figure(LINEAR, schedules).to_dict()
    means = [t for t in figure["data"] if t.get("mode") == "lines"]
    assert [t["xaxis"] for t in means] == ["x", "x2", "x", "x2"]
    assert figure["layout"]["meta"]["updates"] == [192, 84]
    assert "batch 2 → 8 → 32" in means[2]["name"]


def test_rows_for_csv(runs, schedules):
    band, full = runs
    rows = minibatch_rows(band, full)
    assert len(rows) == 6 * 61 and rows[0]["path"] == "full" and rows[-1]["path"] == 4
    assert rows[-1]["loss"] == pytest.approx(band.losses[4, -1])
    growth = batch_growth_rows(schedules)
    assert {r["strategy"] for r in growth} == set(STRATEGIES)
    assert growth[-1]["updates"] == 84
