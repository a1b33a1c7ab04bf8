"""The contour of a landscape as a picture behind the paths (a Plotly layout image).

Plotly drops contour and heatmap traces while an animation runs (plotly.js 4: only the
animated scatter traces stay drawn), so the animated figure shows the landscape as a
layout image instead: filled bands of equal height, in greys, with a darker line where
one band meets the next, and a hatch where f is undefined (not finite). Layout images
survive animation, and the PNG is small.

Band edges must read over most of the view whatever the range of f: `1/(x²+y²)` spans
four decades near its pole, `exp(x²+y²)` eight. So the edges span a robust range (the
1st to 99th percentile of f over the view, not its extremes), spaced evenly in f, or in
log f where that spreads the bands better, or at quantiles of f (bands of equal area)
when neither does (see `band_edges`).
"""

from __future__ import annotations

import base64
from functools import lru_cache

import imageio.v3 as iio
import numpy as np

from landscapes import Landscape

LIGHTEST, DARKEST, LINE = 255, 140, 105  # grey levels: lowest band, highest band, band edges
UNDEFINED, HATCH = (252, 232, 214), (213, 94, 0)  # where f is not finite: a pale orange under orange stripes
UNDEFINED_NOTE = "hatched: f is undefined here"
ROBUST_RANGE = (0.01, 0.99)  # quantiles of f over the view that the band edges span
# A spacing of edges is readable when no band covers more of the view than this. Not less:
# a plateau should read as one wide band (plateau_cliff's covers 30 %), not as many thin ones.
MAX_BAND_SHARE = 1 / 3


def contour_image(landscape: Landscape, bounds: tuple[tuple[float, float], tuple[float, float]], *,
                  width: int = 900, levels: int = 30) -> dict:
    """A layout image (for axes x, y) filling `bounds` with the banded contour of `landscape`:
    `levels` bands over a robust range of f (`band_edges`), hatched where f is undefined."""
    (x0, x1), (y0, y1) = bounds
    source = _contour_png(*_key(landscape, bounds), width, levels, landscape)
    return {"source": source, "xref": "x", "yref": "y", "x": x0, "y": y1, "sizex": x1 - x0, "sizey": y1 - y0,
            "sizing": "stretch", "xanchor": "left", "yanchor": "top", "layer": "below", "name": "contour"}


def undefined_share(landscape: Landscape, bounds: tuple[tuple[float, float], tuple[float, float]], *,
                    width: int = 900, levels: int = 30) -> float:
    """The fraction of the view's pixels where f is not finite (hatched in `contour_image`)."""
    return float(np.mean(_bands(*_key(landscape, bounds), width, levels, landscape) < 0))


def band_edges(values: np.ndarray, levels: int, *, log: bool = False) -> tuple[np.ndarray, str]:
    """The `levels` - 1 inner edges between `levels` bands for the finite values `values` (1-D),
    and the spacing used: "linear" or "log" (`log` first when asked), else "quantile".

    Edges span the `ROBUST_RANGE` of the values, so a pole or a steep rim does not squeeze
    every other band into one; values beyond fall into the first or last band. A spacing is
    used when no band covers more than `MAX_BAND_SHARE` of the values; quantiles always
    qualify (each band then covers about 1/`levels` of the view).

    >>> edges, spacing = band_edges(np.exp(np.linspace(0, 20, 1000)), 10)
    >>> spacing, len(edges)
    ('log', 9)
    """
    values = np.asarray(values, dtype=float)
    low, high = np.quantile(values, ROBUST_RANGE)
    if not high > low:  # (nearly) flat: evenly spaced over the whole range
        low, high = float(values.min()), float(values.max())
        if not high > low:
            return np.array([]), "linear"
    sample = values[:: max(1, len(values) // 20_000)]  # the choice needs no more than this
    for spacing in ("log", "linear") if log else ("linear", "log"):
        edges = _spaced_edges(sample, low, high, levels, spacing)
        if largest_share(edges, sample) <= MAX_BAND_SHARE:
            return edges, spacing
    edges = np.unique(np.quantile(values, np.linspace(0, 1, levels + 1)[1:-1]))
    return edges, "quantile"


def largest_share(edges: np.ndarray, values: np.ndarray) -> float:
    """The largest fraction of `values` that falls into one band between `edges`."""
    return float(np.bincount(np.searchsorted(edges, values, side="right")).max() / len(values))


def contour_bands(landscape: Landscape, bounds: tuple[float, float, float, float], width: int,
                  levels: int) -> np.ndarray:
    """Band index (0 = lowest) of every pixel, (height, width), top row at y1; -1 where f is not finite."""
    x0, x1, y0, y1 = bounds
    height = int(np.clip(round(width * (y1 - y0) / (x1 - x0)), 100, 3 * width))
    gx, gy = np.meshgrid(np.linspace(x0, x1, width), np.linspace(y1, y0, height))
    with np.errstate(all="ignore"):
        z = np.asarray(landscape.loss(gx, gy), dtype=float) * np.ones(gx.shape)
    finite = np.isfinite(z)
    if not finite.any():
        return np.full(z.shape, -1)
    edges, _ = band_edges(z[finite], levels, log=landscape.log_contour)
    bands = np.searchsorted(edges, np.where(finite, z, 0.0), side="right")
    return np.where(finite, bands, -1)


def _spaced_edges(values: np.ndarray, low: float, high: float, levels: int, spacing: str) -> np.ndarray:
    if spacing == "linear":
        return np.linspace(low, high, levels + 1)[1:-1]
    # Evenly spaced in log(f − min f): fine near the lowest values, coarse near the highest,
    # from the 1st percentile of f − min f (the lowest edge above the minimum that pixels
    # reach) to the robust top.
    lowest = float(values.min())
    rise = values - lowest
    positive = rise[rise > 0]
    start = float(np.quantile(positive, ROBUST_RANGE[0])) if len(positive) else 0.0
    if not 0 < start < high - lowest:
        return np.linspace(low, high, levels + 1)[1:-1]
    return lowest + np.geomspace(start, high - lowest, levels - 1)


def _key(landscape: Landscape, bounds) -> tuple:
    (x0, x1), (y0, y1) = bounds
    return landscape.name, str(landscape.expression), landscape.log_contour, (float(x0), float(x1), float(y0),
                                                                               float(y1))


@lru_cache(maxsize=64)
def _bands(name: str, expression: str, log: bool, bounds: tuple[float, float, float, float], width: int,
           levels: int, landscape: Landscape) -> np.ndarray:
    del name, expression, log  # the cache key: the landscape object itself may not hash by value
    bands = contour_bands(landscape, bounds, width, levels)
    bands.flags.writeable = False  # shared by every caller of the cache
    return bands


@lru_cache(maxsize=64)
def _contour_png(name: str, expression: str, log: bool, bounds: tuple[float, float, float, float], width: int,
                 levels: int, landscape: Landscape) -> str:
    bands = _bands(name, expression, log, bounds, width, levels, landscape)
    top = max(int(bands.max()), 1)
    grey = LIGHTEST - np.maximum(bands, 0) * (LIGHTEST - DARKEST) / max(levels - 1, top)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    undefined = bands < 0
    rows, columns = np.indices(bands.shape)
    stripes = (rows + columns) % 12 < 3  # diagonal stripes, 45°
    rgb[undefined] = UNDEFINED
    rgb[undefined & stripes] = HATCH
    edges = np.zeros(bands.shape, dtype=bool)
    edges[:, 1:] |= bands[:, 1:] != bands[:, :-1]
    edges[1:, :] |= bands[1:, :] != bands[:-1, :]
    rgb[edges] = LINE
    # Greyscale when nothing is hatched: a third of the bytes, and every exported frame carries them.
    pixels = rgb if undefined.any() else rgb[..., 0]
    png = iio.imwrite("<bytes>", pixels.astype(np.uint8), extension=".png")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
