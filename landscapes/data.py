"""Data landscapes: the loss of a two-parameter model on a small dataset made from a seed.

A data landscape's loss is the mean of per-sample losses, f(θ) = (1/M) Σᵢ ℓ(θ; sampleᵢ), so
mini-batch SGD is real: a batch of samples gives the mean of their gradients, an unbiased
estimate of ∇f. Every numeric function (loss, gradient, Hessian, per point or per batch) is
computed from the per-sample formulas of its `DataModel`, whose derivatives are exact (checked
against SymPy's derivatives of `sample_expression` in the tests); the Landscape's `expression`
is the symbolic mean, for the formula, the compiled kernel and anything symbolic.

>>> land = data_landscape("linear", seed=0)
>>> land.samples
32
>>> loss, gx, gy = land.batch_value_and_gradient(np.array([0.0]), np.array([0.0]), np.array([[0, 1, 2, 3]]))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import numpy as np
import sympy as sp

from .core import Landscape, Minimum, x, y

BLOCK_ELEMENTS = 1 << 16  # points × samples evaluated at once by the full-data functions
# A per-sample function of the parameters (px, py: arrays) and one sample's data (its feature
# columns and its target, arrays broadcasting against px), elementwise: one value per sample.
SampleFunction = Callable[..., Any]


@dataclass(frozen=True)
class DataModel:
    """A two-parameter model and its per-sample loss ℓ(x, y; a, t).

    `sample_expression(x, y, features, target)` is ℓ in SymPy (features a tuple of numbers);
    `sample_loss`, `sample_gradient` -> (ℓ_x, ℓ_y) and `sample_hessian` -> (ℓ_xx, ℓ_xy, ℓ_yy)
    are the same in NumPy, written out for numerical stability (softplus, not log(1 + eᵐ)).
    `make(seed, samples)` returns (features (M, k), targets (M,)).
    """

    name: str
    title: str
    parameters: tuple[str, str]      # what x and y are, for axis titles: ("w", "b")
    sample_latex: str                # ℓ in LaTeX, in the parameters' names
    sample_expression: Callable[..., sp.Expr]
    sample_loss: SampleFunction
    sample_gradient: SampleFunction
    sample_hessian: SampleFunction
    make: Callable[[int, int], tuple[np.ndarray, np.ndarray]]
    default_samples: int
    lesson: str = ""


# -- linear regression: ℓ = ½(w·a + b − t)² -------------------------------------------------------------
LINEAR_TRUTH = (2.0, -1.0)      # the (w, b) the data are drawn from
LINEAR_NOISE = 0.5              # standard deviation of the targets around the line


def _linear_make(seed: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(1.0, 1.0, samples)  # features off-centre: w and b are correlated, κ ≈ 7
    t = LINEAR_TRUTH[0] * a + LINEAR_TRUTH[1] + rng.normal(0.0, LINEAR_NOISE, samples)
    return a[:, None], t


def _linear_residual(px, py, a, t):
    return px * a + py - t


LINEAR = DataModel(
    name="linear", title="linear regression", parameters=("w", "b"),
    sample_latex=r"\tfrac12\,(w\,a_i + b - t_i)^2",
    sample_expression=lambda px, py, features, target: (px * features[0] + py - target) ** 2 / 2,
    sample_loss=lambda px, py, features, t: _linear_residual(px, py, features[0], t) ** 2 / 2,
    sample_gradient=lambda px, py, features, t: (
        _linear_residual(px, py, features[0], t) * features[0], _linear_residual(px, py, features[0], t)),
    sample_hessian=lambda px, py, features, t: (features[0] ** 2, features[0], np.ones_like(features[0])),
    make=_linear_make, default_samples=32,
    lesson="Least squares on 32 noisy points of t = 2a − 1: an elongated bowl (a's mean is not 0, so w "
           "and b are correlated); every mini-batch has a minimum of its own.",
)


# -- logistic regression with two weights: ℓ = log(1 + e^{−s(w₁a₁ + w₂a₂)}) + ½λ‖w‖² -----------------------
LOGISTIC_RIDGE = 0.02           # λ: keeps the minimum finite even if a seed's data are separable
LOGISTIC_CENTRE = (1.0, 0.5)    # class +1 around it, class −1 around its negative


def _logistic_make(seed: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = np.where(np.arange(samples) % 2 == 0, 1.0, -1.0)
    noise = rng.normal(0.0, 1.0, (samples, 2))
    noise[:, 1] = 0.8 * noise[:, 1] + 0.6 * noise[:, 0]  # correlated features: a tilted valley
    features = s[:, None] * np.array(LOGISTIC_CENTRE) + noise
    return features, s


def _margin(px, py, features, s):
    return s * (px * features[0] + py * features[1])


def _sigmoid(m):
    """1/(1 + e^{−m}) without overflow for large |m|."""
    e = np.exp(-np.abs(m))
    return np.where(m >= 0, 1 / (1 + e), e / (1 + e))


def _logistic_gradient(px, py, features, s):
    weight = -s * _sigmoid(-_margin(px, py, features, s))  # dℓ/dm · dm/d(w·a) = −σ(−m)·s
    return weight * features[0] + LOGISTIC_RIDGE * px, weight * features[1] + LOGISTIC_RIDGE * py


def _logistic_hessian(px, py, features, s):
    p = _sigmoid(_margin(px, py, features, s))
    curvature = p * (1 - p)
    return (curvature * features[0] ** 2 + LOGISTIC_RIDGE, curvature * features[0] * features[1],
            curvature * features[1] ** 2 + LOGISTIC_RIDGE)


LOGISTIC = DataModel(
    name="logistic", title="logistic regression", parameters=("w₁", "w₂"),
    sample_latex=r"\log\left(1 + e^{-s_i (w_1 a_{i1} + w_2 a_{i2})}\right) + \tfrac{\lambda}{2}\lVert w\rVert^2",
    sample_expression=lambda px, py, features, s: (
        sp.log(1 + sp.exp(-s * (px * features[0] + py * features[1])))
        + sp.Float(LOGISTIC_RIDGE) * (px**2 + py**2) / 2),
    sample_loss=lambda px, py, features, s: (np.logaddexp(0.0, -_margin(px, py, features, s))
                                             + LOGISTIC_RIDGE * (px**2 + py**2) / 2),
    sample_gradient=_logistic_gradient, sample_hessian=_logistic_hessian,
    make=_logistic_make, default_samples=40,
    lesson="Two classes of 20 points, two correlated features, weights without a bias and a small ridge "
           "λ = 0.02: a smooth convex valley, curved where the classes overlap.",
)


# -- Reddi et al. 2018's counterexample: ℓ = c·x + y²/2, c = C for one sample in three, −1 otherwise ----
REDDI_C = 3.0


def _reddi_make(seed: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    del seed  # the sequence is the problem: nothing random
    if samples % 3:
        raise ValueError(f"the AMSGrad counterexample needs a multiple of 3 samples, got {samples}")
    c = np.where(np.arange(samples) % 3 == 0, REDDI_C, -1.0)
    return c[:, None], np.zeros(samples)


REDDI = DataModel(
    name="reddi", title="AMSGrad counterexample (Reddi et al. 2018)", parameters=("x", "y"),
    sample_latex=r"c_i\,x + \tfrac12 y^2,\ c = (C, -1, -1)",
    sample_expression=lambda px, py, features, target: features[0] * px + py**2 / 2,
    sample_loss=lambda px, py, features, t: features[0] * px + py**2 / 2,
    sample_gradient=lambda px, py, features, t: (features[0], py),
    sample_hessian=lambda px, py, features, t: (np.zeros_like(features[0]), np.zeros_like(features[0]),
                                                np.ones_like(features[0])),
    make=_reddi_make, default_samples=3,
    lesson="f_t(x) = Cx for one sample in three (C = 3), −x otherwise, on x ∈ [−1, 1], plus y²/2: visited in "
           "order, Adam with β₂ = 1/(1 + C²) forgets the large gradient and drifts to x = +1; the optimum is −1.",
)

DATA_MODELS: dict[str, DataModel] = {model.name: model for model in (LINEAR, LOGISTIC, REDDI)}


@dataclass(frozen=True, eq=False)
class DataLandscape(Landscape):
    """A Landscape whose loss is the mean of `model`'s per-sample losses over a dataset.

    `features` (M, k) and `targets` (M,) are the samples; `seed` made them. The numeric methods
    of Landscape (loss, gradient, value_and_gradient, Hessian and their float forms) evaluate
    the mean of the per-sample functions; `batch_value_and_gradient` evaluates one batch.
    Within a batch, samples are summed in dataset order, so a batch of every sample gives
    exactly the full-data numbers, bit for bit.
    """

    model: DataModel | None = None
    features: np.ndarray | None = field(default=None, repr=False)
    targets: np.ndarray | None = field(default=None, repr=False)
    seed: int = 0

    @property
    def samples(self) -> int:
        return len(self.targets)

    # -- per sample ------------------------------------------------------------------
    def _columns(self, indices=None) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        if indices is None:
            return tuple(self.features.T), self.targets
        return tuple(self.features[indices, j] for j in range(self.features.shape[1])), self.targets[indices]

    def sample_losses(self, px, py, indices=None) -> np.ndarray:
        """ℓ for each sample at each point: (*shape, M), or (N, B) for batch indices (N, B) and px (N,)."""
        px, py = _points(px, py)
        features, targets = self._columns(indices)
        with np.errstate(all="ignore"):
            return self.model.sample_loss(px, py, features, targets)

    def sample_gradients(self, px, py, indices=None) -> tuple[np.ndarray, np.ndarray]:
        """(ℓ_x, ℓ_y) per sample, shaped as in `sample_losses`."""
        px, py = _points(px, py)
        features, targets = self._columns(indices)
        with np.errstate(all="ignore"):
            gx, gy = self.model.sample_gradient(px, py, features, targets)
        shape = np.broadcast_shapes(np.shape(gx), np.shape(gy), np.shape(px), np.shape(targets))
        return np.broadcast_to(gx, shape), np.broadcast_to(gy, shape)

    def batch_value_and_gradient(self, px, py, indices) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(batch loss, batch ∂f/∂x, batch ∂f/∂y) at points px, py (N,) for batches `indices` (N, B):
        start n's batch is the samples indices[n], summed in the order given (sort them for
        dataset order). Each (N,)."""
        indices = np.asarray(indices)
        loss = self.sample_losses(px, py, indices).mean(-1)
        gx, gy = self.sample_gradients(px, py, indices)
        return loss, gx.mean(-1), gy.mean(-1)

    # -- the full mean: the Landscape's numeric functions --------------------------------
    def loss(self, px, py) -> np.ndarray:
        return self._in_blocks(lambda bx, by: (self.sample_losses(bx, by).mean(-1),), px, py)[0]

    def gradient(self, px, py) -> tuple[np.ndarray, np.ndarray]:
        def mean_gradient(bx, by):
            gx, gy = self.sample_gradients(bx, by)
            return gx.mean(-1), gy.mean(-1)
        gx, gy = self._in_blocks(mean_gradient, px, py)
        return gx, gy

    def _in_blocks(self, function: Callable, px, py) -> tuple[np.ndarray, ...]:
        """`function` of the points, evaluated on blocks of points when there are many (a contour's
        grid): the (points × samples) temporaries then fit in cache, 5-10× faster. Each point's
        mean is computed alone, so blocks change no bit."""
        px, py = np.broadcast_arrays(np.asarray(px, dtype=float), np.asarray(py, dtype=float))
        block = max(1, BLOCK_ELEMENTS // self.samples)
        if px.size <= block:
            return function(px, py)
        flat_x, flat_y = px.ravel(), py.ravel()
        parts = [function(flat_x[i:i + block], flat_y[i:i + block]) for i in range(0, px.size, block)]
        return tuple(np.concatenate(pieces).reshape(px.shape) for pieces in zip(*parts, strict=True))

    def value_and_gradient(self, px, py) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        gx, gy = self.gradient(px, py)
        return self.loss(px, py), gx, gy

    def hessian(self, px, py) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        px, py = _points(px, py)
        features, targets = self._columns()
        with np.errstate(all="ignore"):
            parts = self.model.sample_hessian(px, py, features, targets)
        shape = np.broadcast_shapes(np.shape(px), np.shape(targets))
        hxx, hxy, hyy = (np.broadcast_to(part, shape).mean(-1) for part in parts)
        return hxx, hxy, hyy

    @cached_property
    def scalar_loss(self) -> Callable[[float, float], float]:
        return lambda px, py: float(self.loss(np.array([px]), np.array([py]))[0])

    @cached_property
    def scalar_gradient(self) -> Callable[[float, float], tuple[float, float]]:
        def gradient(px: float, py: float) -> tuple[float, float]:
            gx, gy = self.gradient(np.array([px]), np.array([py]))
            return float(gx[0]), float(gy[0])
        return gradient

    @cached_property
    def scalar_value_and_gradient(self) -> Callable[[float, float], tuple[float, float, float]]:
        def value_and_gradient(px: float, py: float) -> tuple[float, float, float]:
            f, gx, gy = self.value_and_gradient(np.array([px]), np.array([py]))
            return float(f[0]), float(gx[0]), float(gy[0])
        return value_and_gradient

    # -- mini-batches ------------------------------------------------------------------
    def batch_order(self, batch_size: int, steps: int, starts: int, shuffle: bool,
                    rng: np.random.Generator) -> np.ndarray:
        """The samples each start's step uses: (N, T, B) indices, −1 where a batch is short.

        As torch's DataLoader(batch_size, shuffle, drop_last=False): each epoch visits every
        sample once, in dataset order or (shuffle) in a fresh permutation per epoch and per
        start, cut into consecutive batches of `batch_size`, the last one shorter when
        `batch_size` does not divide M. Epochs follow one another; within a batch the indices
        are sorted (dataset order), which changes no batch's samples.
        """
        m = self.samples
        per_epoch = math.ceil(m / batch_size)
        epochs = math.ceil(steps / per_epoch) if steps else 0
        if shuffle:
            orders = rng.permuted(np.broadcast_to(np.arange(m), (starts, epochs, m)), axis=-1)
        else:
            orders = np.broadcast_to(np.arange(m), (starts, epochs, m))
        padded = np.full((starts, epochs, per_epoch * batch_size), -1)
        padded[:, :, :m] = orders
        batches = padded.reshape(starts, epochs * per_epoch, batch_size)[:, :steps]
        batches = np.sort(np.where(batches < 0, m, batches), axis=-1)  # the short batch's padding last
        return np.where(batches == m, -1, batches)

    def seeded_batch_order(self, batch_size: int, steps: int, starts: int, shuffle: bool,
                           seed: int) -> np.ndarray:
        """`batch_order` with the shuffles `simulate(..., seed=seed)` draws (a stream of its own,
        spawned from the seed, so the batches do not move the run's gradient noise)."""
        stream = np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(1)[0])
        return self.batch_order(batch_size, steps, starts, shuffle, stream)

    def batch_view(self, batches: np.ndarray) -> MiniBatchView:
        """This landscape as a mini-batch run sees it, stepping through `batches` (N, T, B)."""
        return MiniBatchView(self, batches)


class MiniBatchView:
    """A data landscape seen through mini-batches: call t of `value_and_gradient` (t = 0, 1, ...)
    returns the full-data loss at θ_t (what the run records) and the gradient of batch t
    (what the optimizer steps on); `gradient` (a look-ahead point) uses the same batch t.
    After the last batch the gradient is the full one. This is the contract with `simulate`'s
    batch loop, which evaluates the landscape once per step, in order (tested: the recorded
    gradients equal each batch's gradient recomputed).
    """

    def __init__(self, landscape: DataLandscape, batches: np.ndarray) -> None:
        self.landscape = landscape
        self.batches = batches
        sizes = (batches[0] >= 0).sum(-1) if batches.size else np.zeros(0, dtype=int)
        self.sizes = sizes.tolist()
        self.step = -1

    def _batch(self) -> np.ndarray | None:
        if self.step >= len(self.sizes):
            return None
        return self.batches[:, self.step, :self.sizes[self.step]]

    def value_and_gradient(self, px, py):
        self.step += 1
        loss = self.landscape.loss(px, py)
        gx, gy = self.gradient(px, py)
        return loss, gx, gy

    def gradient(self, px, py):
        batch = self._batch()
        if batch is None:
            return self.landscape.gradient(px, py)
        _, gx, gy = self.landscape.batch_value_and_gradient(px, py, batch)
        return gx, gy

    def loss(self, px, py):
        return self.landscape.loss(px, py)

    def hessian(self, px, py):
        return self.landscape.hessian(px, py)


def _points(px, py) -> tuple[np.ndarray, np.ndarray]:
    """The points with a trailing axis for the samples: (*shape, 1)."""
    return np.asarray(px, dtype=float)[..., None], np.asarray(py, dtype=float)[..., None]


def data_names() -> list[str]:
    """The data models `data_landscape` accepts."""
    return list(DATA_MODELS)


@cache
def data_landscape(kind: str = "linear", seed: int = 0, samples: int | None = None) -> DataLandscape:
    """The data landscape of model `kind` (see `data_names()`) on `samples` samples drawn
    from `seed` (the model's default size if None). The same arguments give the same object."""
    model = DATA_MODELS.get(kind)
    if model is None:
        raise ValueError(f"unknown data landscape {kind!r}; choose one of: {', '.join(DATA_MODELS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number ≥ 0, got {seed!r}")
    samples = model.default_samples if samples is None else samples
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or not 2 <= samples <= 10_000:
        # one sample fits a line through it in many ways: no single minimum
        raise ValueError(f"samples must be a whole number in [2, 10000], got {samples!r}")
    features, targets = model.make(int(seed), int(samples))
    features.flags.writeable = targets.flags.writeable = False
    expression = sp.Add(*[model.sample_expression(x, y, tuple(sp.Float(v) for v in row), sp.Float(t))
                          for row, t in zip(features.tolist(), targets.tolist(), strict=True)]) / len(targets)
    if kind != "logistic":
        expression = sp.expand(expression)  # a polynomial: short
    draft = DataLandscape(name="draft", title="", expression=expression, bounds=((-1, 1), (-1, 1)),
                          model=model, features=features, targets=targets, seed=int(seed))
    bounds, minimum, start, optimizers, steps = _layout(kind, draft)
    return DataLandscape(
        name=f"data_{kind}_{samples}_seed{seed}", title=f"{model.title} ({samples} samples, seed {seed})",
        expression=expression, bounds=bounds, minima=(minimum,), starts=(start,), lesson=model.lesson,
        optimizers=optimizers, steps=steps, model=model, features=features, targets=targets, seed=int(seed))


def _layout(kind: str, land: DataLandscape):
    """(bounds, minimum, start, cards, steps) for the model: the view centred on the minimum."""
    if kind == "reddi":
        value = -float(land.features[:, 0].mean())  # f(−1, 0) = −mean(c) = −(C − 2)/3
        return (((-1.25, 1.25), (-1.25, 1.25)), Minimum(-1.0, 0.0, float(value)), (0.5, 1.0),
                (("adam", {"lr": 0.5, "betas": (0.0, 1 / (1 + REDDI_C**2))}),
                 ("adam", {"lr": 0.5, "betas": (0.0, 1 / (1 + REDDI_C**2)), "amsgrad": True})), 600)
    point = _newton_minimum(land)
    half = 3.0 if kind == "linear" else 2.5
    cx, cy = (round(float(v) * 2) / 2 for v in point)  # a centre on a half-unit grid: round axes
    bounds = ((cx - half, cx + half), (cy - half, cy + half))
    start = (round(cx - 0.8 * half, 6), round(cy + 0.8 * half, 6))
    value = float(land.loss(np.array([point[0]]), np.array([point[1]]))[0])
    cards = (("sgd", {"lr": 0.1}), ("sgd", {"lr": 0.1, "momentum": 0.9}), ("adam", {"lr": 0.1}))
    return bounds, Minimum(float(point[0]), float(point[1]), value), start, cards, 200


def _newton_minimum(land: DataLandscape) -> np.ndarray:
    """The minimum of a convex data landscape by Newton's method on the exact Hessian."""
    point = np.zeros(2)
    for _ in range(50):
        gx, gy = land.gradient(point[:1], point[1:])
        hxx, hxy, hyy = land.hessian(point[:1], point[1:])
        step = np.linalg.solve([[hxx[0], hxy[0]], [hxy[0], hyy[0]]], [gx[0], gy[0]])
        point = point - step
        if np.abs(step).max() < 1e-15 * (1 + np.abs(point).max()):
            break
    return point
