"""Data landscapes: the mean of exact per-sample losses over a dataset made from a seed."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from figures import comparison_figure
from figures.background import contour_image
from landscapes import DataLandscape, Landscape, data_landscape, data_names, x, y
from optimizers import simulate

KINDS = data_names()
RNG = np.random.default_rng(7)


def random_points(land: DataLandscape, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    (x0, x1), (y0, y1) = land.bounds
    return RNG.uniform(x0, x1, n), RNG.uniform(y0, y1, n)


def test_the_three_models_of_the_issue_are_offered():
    assert KINDS == ["linear", "logistic", "reddi"]


@pytest.mark.parametrize("kind", KINDS)
def test_per_sample_gradients_and_hessians_equal_sympy_derivatives_of_the_sample_loss(kind):
    land = data_landscape(kind)
    px, py = random_points(land)
    for i in range(0, land.samples, max(1, land.samples // 5)):
        features = tuple(sp.Float(v) for v in land.features[i])
        sample = land.model.sample_expression(x, y, features, sp.Float(land.targets[i]))
        exact = [sp.lambdify((x, y), e, "numpy") for e in
                 (sample, sp.diff(sample, x), sp.diff(sample, y))]
        index = np.full((len(px), 1), i)
        np.testing.assert_allclose(land.sample_losses(px, py, index)[:, 0], exact[0](px, py), rtol=1e-12, atol=1e-12)
        gx, gy = land.sample_gradients(px, py, index)
        np.testing.assert_allclose(gx[:, 0], exact[1](px, py) * np.ones_like(px), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(gy[:, 0], exact[2](px, py) * np.ones_like(px), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_loss_gradient_and_hessian_are_the_symbolic_mean(kind):
    land = data_landscape(kind)
    symbolic = Landscape(name="symbolic mean", title="", expression=land.expression, bounds=land.bounds)
    px, py = random_points(land)
    np.testing.assert_allclose(land.loss(px, py), symbolic.loss(px, py), rtol=1e-12, atol=1e-12)
    for ours, theirs in zip((*land.gradient(px, py), *land.hessian(px, py)),
                            (*symbolic.gradient(px, py), *symbolic.hessian(px, py)), strict=True):
        np.testing.assert_allclose(ours, theirs * np.ones_like(px), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_loss_is_the_mean_of_the_per_sample_losses(kind):
    land = data_landscape(kind)
    px, py = random_points(land, 5)
    per_sample = land.sample_losses(px, py)
    assert per_sample.shape == (5, land.samples)
    np.testing.assert_allclose(land.loss(px, py), per_sample.sum(-1) / land.samples, rtol=1e-14)


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_of_every_sample_in_dataset_order_is_the_full_data_bit_for_bit(kind):
    land = data_landscape(kind)
    px, py = random_points(land, 6)
    everything = np.broadcast_to(np.arange(land.samples), (6, land.samples))
    batch = land.batch_value_and_gradient(px, py, everything)
    full = land.value_and_gradient(px, py)
    for ours, theirs in zip(batch, full, strict=True):
        assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("kind", KINDS)
def test_scalar_functions_agree_with_the_array_ones(kind):
    land = data_landscape(kind)
    px, py = random_points(land, 3)
    for a, b in zip(px, py, strict=True):
        f, gx, gy = land.value_and_gradient(np.array([a]), np.array([b]))
        assert land.scalar_value_and_gradient(a, b) == (f[0], gx[0], gy[0])
        assert land.scalar_gradient(a, b) == (gx[0], gy[0])
        assert land.scalar_loss(a, b) == f[0]


@pytest.mark.parametrize("kind", ["linear", "logistic"])
def test_the_known_minimum_is_stationary_and_lowest_in_the_view(kind):
    land = data_landscape(kind)
    (minimum,) = land.minima
    gx, gy = land.gradient(np.array([minimum.x]), np.array([minimum.y]))
    assert np.hypot(gx, gy)[0] < 1e-12
    _, _, z = land.grid(120)
    assert z.min() >= minimum.value - 1e-12
    (x0, x1), (y0, y1) = land.bounds
    assert x0 < minimum.x < x1 and y0 < minimum.y < y1
    assert x0 < land.starts[0][0] < x1 and y0 < land.starts[0][1] < y1


def test_the_linear_minimum_is_least_squares():
    land = data_landscape("linear", seed=3)
    design = np.column_stack([land.features[:, 0], np.ones(land.samples)])
    w, b = np.linalg.lstsq(design, land.targets, rcond=None)[0]
    np.testing.assert_allclose((land.minima[0].x, land.minima[0].y), (w, b), rtol=1e-12)


def test_the_reddi_landscape_is_the_counterexample_average():
    land = data_landscape("reddi")
    assert land.samples == 3
    assert land.features[:, 0].tolist() == [3.0, -1.0, -1.0]  # f_t = Cx at t = 1, 4, 7, ..., −x otherwise
    assert sp.simplify(land.expression - (x / 3 + y**2 / 2)) == 0
    assert (land.minima[0].x, land.minima[0].y) == (-1.0, 0.0)
    with pytest.raises(ValueError, match="multiple of 3"):
        data_landscape("reddi", samples=4)


@pytest.mark.parametrize("kind", ["linear", "logistic"])
def test_the_seed_makes_the_dataset(kind):
    a, b, c = data_landscape(kind, seed=1), data_landscape(kind, seed=1), data_landscape(kind, seed=2)
    assert a is b
    assert not np.array_equal(a.features, c.features)
    assert a.name != c.name
    assert data_landscape(kind, seed=1, samples=10).samples == 10


@pytest.mark.parametrize("bad", [{"kind": "mnist"}, {"seed": -1}, {"seed": 1.5}, {"samples": 1}, {"samples": True}])
def test_bad_arguments_say_what_is_wrong(bad):
    with pytest.raises(ValueError, match=next(iter(bad)) if "kind" not in bad else "unknown data landscape"):
        data_landscape(**bad)


@pytest.mark.parametrize("kind", KINDS)
def test_the_loss_surface_draws_like_any_landscape_on_compare(kind):
    land = data_landscape(kind)
    image = contour_image(land, land.bounds, width=200)
    assert image["source"].startswith("data:image/png;base64,")
    run = simulate(land, "sgd", land.starts, 20, lr=0.05, batch_size=1, shuffle=True)
    figure = comparison_figure(land, [run]).to_dict()
    names = [trace.get("name") for trace in figure["data"]]
    assert "SGD" in names
    minima = figure["data"][names.index("minima")]
    assert (minima["x"][0], minima["y"][0]) == (land.minima[0].x, land.minima[0].y)
    assert figure["layout"]["images"][0]["source"].startswith("data:image/png;base64,")


@pytest.mark.parametrize("kind", KINDS)
def test_batch_order_is_a_dataloader(kind):
    land = data_landscape(kind, samples=9 if kind == "reddi" else 10)
    batches = land.batch_order(4, 9, 2, True, np.random.default_rng(0))
    assert batches.shape == (2, 9, 4)
    sizes = (batches >= 0).sum(-1)
    assert sizes[0].tolist() == [4, 4, land.samples - 8] * 3
    for start in range(2):
        for epoch in range(3):
            seen = batches[start, 3 * epoch: 3 * epoch + 3].ravel()
            assert sorted(seen[seen >= 0].tolist()) == list(range(land.samples))
    unshuffled = land.batch_order(4, 3, 1, False, np.random.default_rng(0))
    assert unshuffled[0, 0].tolist() == [0, 1, 2, 3]


def test_the_surface_view_draws_it_too():
    from figures.surface import surface_figure

    land = data_landscape("logistic")
    run = simulate(land, "adam", land.starts, 30, lr=0.1, record="path")
    figure = surface_figure(land, [run]).to_dict()
    assert any(trace["type"] == "surface" for trace in figure["data"])


@settings(max_examples=60)
@given(samples=st.integers(2, 40), batch_size=st.integers(1, 40), steps=st.integers(0, 60),
       starts=st.integers(1, 3), shuffle=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_every_epoch_visits_every_sample_once_in_batches_of_the_size_asked(samples, batch_size, steps, starts,
                                                                           shuffle, seed):
    batch_size = min(batch_size, samples)
    land = data_landscape("linear", samples=samples)
    batches = land.batch_order(batch_size, steps, starts, shuffle, np.random.default_rng(seed))
    per_epoch = -(-samples // batch_size)
    assert batches.shape == (starts, steps, batch_size)
    for start in range(starts):
        for first in range(0, steps - per_epoch + 1, per_epoch):
            epoch = batches[start, first:first + per_epoch]
            assert sorted(epoch[epoch >= 0].tolist()) == list(range(samples))
        for batch in batches[start]:
            kept = batch[batch >= 0]
            assert (np.diff(kept) > 0).all()  # dataset order within a batch
            assert (batch[len(kept):] == -1).all()  # padding only at the end
