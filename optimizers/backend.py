"""Two array namespaces for the update rules: NumPy arrays (a batch of starts) and Python floats.

Every update rule is written once against `xp`. Rules may update their own state arrays
in place (augmented assignment rebinds a float, so the same code serves both). A batch of N starts steps as (2, N) NumPy
arrays; a single start steps coordinate by coordinate on Python floats, because one NumPy
call on a 2-element array costs more (≈0.5 µs) than the whole arithmetic of a step.
The float functions follow NumPy's IEEE semantics: NaN in, NaN out; no exceptions.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np


def _sqrt(value: float) -> float:
    return math.sqrt(value) if value >= 0.0 else math.nan


def _maximum(a: float, b: float) -> float:
    if a != a or b != b:  # NaN propagates, as in np.maximum and torch.maximum
        return math.nan
    return a if a >= b else b


def _sign(value: float) -> float:
    if value > 0.0:
        return 1.0
    if value < 0.0:
        return -1.0
    return value  # 0.0 or NaN


def _clip(value: float, low: float, high: float) -> float:
    return value if low <= value <= high else (low if value < low else (high if value > high else value))


def _where(condition: bool, a: float, b: float) -> float:
    return a if condition else b


numpy_ops = SimpleNamespace(
    name="numpy",
    sqrt=np.sqrt,
    abs=np.abs,
    sign=np.sign,
    maximum=np.maximum,
    clip=np.clip,
    where=np.where,
    zeros_like=np.zeros_like,
    full_like=np.full_like,
    copy=np.copy,
)

float_ops = SimpleNamespace(
    name="float",
    sqrt=_sqrt,
    abs=abs,
    sign=_sign,
    maximum=_maximum,
    clip=_clip,
    where=_where,
    zeros_like=lambda value: 0.0,
    full_like=lambda value, fill: float(fill),
    copy=lambda value: value,
)
