"""The contour of a landscape as a picture behind the paths (a Plotly layout image).

Plotly drops contour and heatmap traces while an animation runs (plotly.js 4: only the
animated scatter traces stay drawn), so the animated figure shows the landscape as a
layout image instead: filled bands of equal height, in greys, with a darker line where
one band meets the next. Layout images survive animation, and the PNG is small.
"""

from __future__ import annotations

import base64
from functools import lru_cache

import imageio.v3 as iio
import numpy as np

from landscapes import Landscape

LIGHTEST, DARKEST, LINE = 255, 140, 105  # grey levels: lowest band, highest band, band edges


def contour_image(landscape: Landscape, bounds: tuple[tuple[float, float], tuple[float, float]], *,
                  width: int = 900, levels: int = 30) -> dict:
    """A layout image (for axes x, y) filling `bounds` with the banded contour of `landscape`:
    `levels` bands evenly spaced in f, or in log f for landscapes that ask for a log contour."""
    (x0, x1), (y0, y1) = bounds
    source = _contour_png(landscape.name, str(landscape.expression), landscape.log_contour,
                          (float(x0), float(x1), float(y0), float(y1)), width, levels, landscape)
    return {"source": source, "xref": "x", "yref": "y", "x": x0, "y": y1, "sizex": x1 - x0, "sizey": y1 - y0,
            "sizing": "stretch", "xanchor": "left", "yanchor": "top", "layer": "below", "name": "contour"}


def contour_bands(landscape: Landscape, bounds: tuple[float, float, float, float], width: int,
                  levels: int) -> np.ndarray:
    """Band index (0 = lowest) of every pixel, (height, width), top row at y1; -1 where f is not finite."""
    x0, x1, y0, y1 = bounds
    height = int(np.clip(round(width * (y1 - y0) / (x1 - x0)), 100, 3 * width))
    gx, gy = np.meshgrid(np.linspace(x0, x1, width), np.linspace(y1, y0, height))
    with np.errstate(all="ignore"):
        z = np.asarray(landscape.loss(gx, gy), dtype=float)
        finite = np.isfinite(z)
        if not finite.any():
            return np.full(z.shape, -1)
        if landscape.log_contour:
            low, high = np.min(z[finite]), np.max(z[finite])
            z = np.log10(z - low + 1e-3 * max(float(high - low), 1e-12))
        low, high = np.min(z[finite]), np.max(z[finite])
        scaled = (z - low) / (high - low) if high > low else np.zeros_like(z)
    bands = np.minimum((np.nan_to_num(scaled) * levels).astype(int), levels - 1)
    return np.where(finite, bands, -1)


@lru_cache(maxsize=64)
def _contour_png(name: str, expression: str, log: bool, bounds: tuple[float, float, float, float], width: int,
                 levels: int, landscape: Landscape) -> str:
    del name, expression, log  # the cache key: the landscape object itself may not hash by value
    bands = contour_bands(landscape, bounds, width, levels)
    grey = np.where(bands >= 0, LIGHTEST - bands * (LIGHTEST - DARKEST) / max(levels - 1, 1), DARKEST)
    edges = np.zeros(bands.shape, dtype=bool)
    edges[:, 1:] |= bands[:, 1:] != bands[:, :-1]
    edges[1:, :] |= bands[1:, :] != bands[:-1, :]
    grey[edges] = LINE
    png = iio.imwrite("<bytes>", grey.astype(np.uint8), extension=".png")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
