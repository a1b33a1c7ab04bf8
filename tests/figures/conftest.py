"""Shared by the figure tests: reading arrays back out of `fig.to_dict()`."""

from __future__ import annotations

import base64

import numpy as np
import pytest


def plotly_array(value) -> np.ndarray:
    """A trace's array as NumPy: Plotly's typed-array spec ({"dtype", "bdata", "shape"}) decoded,
    a list converted (None, which Plotly draws as a gap, becomes NaN)."""
    if isinstance(value, dict) and "bdata" in value:
        array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
        if "shape" in value:
            array = array.reshape([int(n) for n in str(value["shape"]).split(",")])
        return array
    return np.array(value, dtype=float)


@pytest.fixture
def array():
    return plotly_array
