"""The contour behind the paths: readable bands whatever the range of f, and a hatch, explained, where
f is undefined."""

from __future__ import annotations

import base64

import imageio.v3 as iio
import numpy as np
import pytest

from figures import comparison_figure
from figures.background import contour_bands, contour_image
from landscapes import from_expression, get_landscape, landscape_names
from optimizers import simulate

LEVELS = 30
WIDE_RANGES = ("1/(x**2+y**2)", "exp(x**2+y**2)", "log(x)", "exp(-x**2-y**2)", "x**2+y**2")


def flat(bounds) -> tuple[float, float, float, float]:
    (x0, x1), (y0, y1) = bounds
    return x0, x1, y0, y1


def band_shares(bands: np.ndarray) -> np.ndarray:
    """Fraction of the finite pixels in each band present."""
    finite = bands[bands >= 0]
    return np.unique(finite, return_counts=True)[1] / finite.size


def readable(landscape) -> None:
    shares = band_shares(contour_bands(landscape, flat(landscape.bounds), 300, LEVELS))
    assert len(shares) >= 20, f"only {len(shares)} of {LEVELS} bands are drawn"
    assert shares.max() <= 1 / 3, f"one band covers {shares.max():.0%} of the view"


@pytest.mark.parametrize("formula", WIDE_RANGES)
def test_a_formula_with_a_wide_range_of_values_shows_bands_over_the_whole_view(formula):
    readable(from_expression(formula))


@pytest.mark.parametrize("name", landscape_names())
def test_every_catalog_landscape_shows_readable_bands(name):
    readable(get_landscape(name))


def test_a_pole_does_not_squeeze_the_bands_into_its_neighbourhood():
    # 1/(x²+y²) over [-3, 3]²: its values above ~5 (the 2 % of the view nearest the pole) are not
    # allowed to take the band edges with them: a third of the bands or more lie outside r = 1.
    landscape = from_expression("1/(x**2+y**2)")
    bands = contour_bands(landscape, flat(landscape.bounds), 301, LEVELS)
    row = bands[150]  # y = 0, x from -3 to 3
    outer = row[(np.abs(np.linspace(-3, 3, 301)) > 1)]
    assert len(np.unique(outer)) >= LEVELS // 3


def contour_pixels(landscape) -> np.ndarray:
    source = contour_image(landscape, landscape.bounds)["source"]
    return iio.imread(base64.b64decode(source.split(",", 1)[1]), extension=".png", mode="RGB").astype(int)


def is_grey(pixels: np.ndarray) -> np.ndarray:
    return (pixels == pixels[..., :1]).all(axis=-1)


def test_where_f_is_undefined_the_contour_is_hatched_and_elsewhere_grey():
    pixels = contour_pixels(from_expression("log(x)"))  # undefined for x ≤ 0: the left half
    width = pixels.shape[1]
    left, right = pixels[:, : width // 2 - 2], pixels[:, width // 2 + 2:]

    assert is_grey(right).all()
    assert not is_grey(left).any()
    colours, counts = np.unique(left.reshape(-1, 3), axis=0, return_counts=True)
    assert len(colours) == 2 and counts.min() > 0.15 * counts.sum()  # stripes on a ground


def test_a_landscape_defined_everywhere_is_grey_everywhere():
    assert is_grey(contour_pixels(get_landscape("quadratic"))).all()


def legend_names(landscape) -> list[str]:
    run = simulate(landscape, "sgd", landscape.starts, 10, record="path", lr=0.01)
    return [t["name"] for t in comparison_figure(landscape, [run]).to_dict()["data"] if t.get("showlegend")]


def test_the_hatch_is_explained_in_the_legend_when_part_of_the_view_is_undefined():
    assert "hatched: f is undefined here" in legend_names(from_expression("log(x)"))
    assert "hatched: f is undefined here" not in legend_names(get_landscape("quadratic"))
