"""The Landscape record: a SymPy expression in x, y with its derived NumPy and float functions."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import sympy as sp

from .autodiff import compile_gradient
from .symbols import x, y


class Bounds(NamedTuple):
    """A rectangle of the (x, y) plane: ``Bounds((x0, x1), (y0, y1))``. It unpacks as the
    pair of ranges, ``(x0, x1), (y0, y1) = bounds``, and reads flat as ``bounds.flat``."""

    x: tuple[float, float]
    y: tuple[float, float]

    @classmethod
    def of(cls, x0: float, x1: float, y0: float, y1: float) -> Bounds:
        """From four numbers; `ValueError` unless x0 < x1 and y0 < y1 (all finite)."""
        values = tuple(float(v) for v in (x0, x1, y0, y1))
        if not all(math.isfinite(v) for v in values) or not (values[0] < values[1] and values[2] < values[3]):
            raise ValueError(f"bounds need finite x0 < x1 and y0 < y1, got {values}")
        return cls((values[0], values[1]), (values[2], values[3]))

    @property
    def flat(self) -> tuple[float, float, float, float]:
        return (*self.x, *self.y)

# The cards and steps a landscape opens with unless its record says otherwise (user formulas).
DEFAULT_OPTIMIZERS: tuple[tuple[str, Mapping[str, Any]], ...] = (
    ("sgd", {"lr": 0.01}), ("momentum", {"lr": 0.01}), ("adam", {"lr": 0.05}))
DEFAULT_STEPS = 150


class Minimum(NamedTuple):
    """A known minimum: its point, its value and whether it is a global one."""

    x: float
    y: float
    value: float
    is_global: bool = True


def _compile(exprs: list[sp.Expr], module: str) -> Callable:
    """Lambdify `exprs` (shared subexpressions computed once) into a function of (x, y).

    NumPy functions broadcast: a component that does not depend on x or y is expanded to
    the shape of the inputs, so every output has the inputs' shape.
    """
    function = sp.lambdify((x, y), exprs, modules=module, cse=True)
    if module != "numpy" or all(expr.free_symbols for expr in exprs):
        return function

    constant = [not expr.free_symbols for expr in exprs]

    def broadcasting(px, py):
        values = function(px, py)
        shape = np.broadcast_shapes(np.shape(px), np.shape(py))
        return [np.full(shape, float(v)) if c else v for v, c in zip(values, constant, strict=True)]

    return broadcasting


@dataclass(frozen=True, eq=False)
class Landscape:
    """A 2D loss surface f(x, y) and everything a view of it needs.

    The gradient and Hessian are derived from `expression` by SymPy; nothing is
    finite-differenced. Numeric functions take NumPy arrays of any (matching) shape:

    >>> land = get_landscape("rosenbrock")               # doctest: +SKIP
    >>> land.loss(np.array([1.0]), np.array([1.0]))      # doctest: +SKIP
    array([0.])
    """

    name: str
    title: str
    expression: sp.Expr
    bounds: Bounds
    minima: tuple[Minimum, ...] = ()
    starts: tuple[tuple[float, float], ...] = ((0.0, 0.0),)
    lesson: str = ""
    log_contour: bool = False
    # What the page opens with on this landscape, chosen so that the default view shows the
    # lesson (tests/test_lessons.py checks each claim): (optimizer name, hyperparameters away
    # from torch's defaults) per card, and the number of steps. Plain data: the landscape
    # knows optimizer names, not the optimizers.
    optimizers: tuple[tuple[str, Mapping[str, Any]], ...] = DEFAULT_OPTIMIZERS
    steps: int = DEFAULT_STEPS
    # Derived expressions may be supplied (e.g. computed under a time limit in a child
    # process for user formulas); otherwise they are derived here.
    derivatives: tuple[sp.Expr, ...] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        (x0, x1), (y0, y1) = self.bounds
        object.__setattr__(self, "bounds", Bounds.of(x0, x1, y0, y1))

    # -- symbolic -----------------------------------------------------------------
    @cached_property
    def _derivatives(self) -> tuple[sp.Expr, ...]:
        if self.derivatives is not None:
            return self.derivatives
        return derive(self.expression)

    @property
    def gradient_expressions(self) -> tuple[sp.Expr, sp.Expr]:
        """(∂f/∂x, ∂f/∂y)."""
        return self._derivatives[0], self._derivatives[1]

    @property
    def hessian_expressions(self) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
        """(∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y²)."""
        return self._derivatives[2], self._derivatives[3], self._derivatives[4]

    @property
    def latex(self) -> str:
        return sp.latex(self.expression)

    @property
    def mathml(self) -> str:
        """f as presentation MathML (``<math>…</math>``), which browsers draw with no script."""
        return f'<math display="inline">{sp.mathml(self.expression, printer="presentation")}</math>'

    # -- NumPy (any array shape) --------------------------------------------------
    @cached_property
    def _loss(self) -> Callable:
        return _compile([self.expression], "numpy")

    @cached_property
    def _gradient(self) -> Callable:
        return compile_gradient(self.expression, "numpy")

    @cached_property
    def _value_and_gradient(self) -> Callable:
        return compile_gradient(self.expression, "numpy", with_value=True)

    @cached_property
    def _hessian(self) -> Callable:
        return _compile(list(self.hessian_expressions), "numpy")

    def loss(self, px, py) -> np.ndarray:
        """f at the points (px, py); arrays of one shape in, one array of that shape out."""
        with np.errstate(all="ignore"):
            return np.asarray(self._loss(px, py)[0])

    def gradient(self, px, py) -> tuple[np.ndarray, np.ndarray]:
        """(∂f/∂x, ∂f/∂y) at the points, each shaped like px.

        Evaluated in autograd's order (see `autodiff`), so it rounds exactly as PyTorch does.
        """
        with np.errstate(all="ignore"):
            gx, gy = self._gradient(px, py)
        return gx, gy

    def value_and_gradient(self, px, py) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(f, ∂f/∂x, ∂f/∂y) at the points in one pass (the gradient's forward pass is f)."""
        with np.errstate(all="ignore"):
            return self._value_and_gradient(px, py)

    def hessian(self, px, py) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(f_xx, f_xy, f_yy) at the points, each shaped like px."""
        with np.errstate(all="ignore"):
            hxx, hxy, hyy = self._hessian(px, py)
        return hxx, hxy, hyy

    # -- Python floats (one point; much cheaper than NumPy calls on tiny arrays) ---
    @cached_property
    def scalar_loss(self) -> Callable[[float, float], float]:
        return _guard(_compile([self.expression], "math"), lambda px, py: self.loss(px, py)[None])

    @cached_property
    def scalar_gradient(self) -> Callable[[float, float], tuple[float, float]]:
        return _guard(compile_gradient(self.expression, "math"), self.gradient)

    @cached_property
    def scalar_value_and_gradient(self) -> Callable[[float, float], tuple[float, float, float]]:
        return _guard(compile_gradient(self.expression, "math", with_value=True), self.value_and_gradient)

    # -- geometry -------------------------------------------------------------------
    def grid(self, resolution: int = 200, bounds=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Loss on a regular grid over the view (or `bounds` ((x0, x1), (y0, y1))):
        (xs (R,), ys (R,), z (R, R) indexed [y, x])."""
        (x0, x1), (y0, y1) = self.bounds if bounds is None else bounds
        xs = np.linspace(x0, x1, resolution)
        ys = np.linspace(y0, y1, resolution)
        z = self.loss(*np.meshgrid(xs, ys))
        return xs, ys, z

    def nearest_minimum_distance(self, points: np.ndarray) -> np.ndarray:
        """Distance from each point (..., 2) to the nearest known minimum; NaN if none known."""
        points = np.asarray(points, dtype=float)
        if not self.minima:
            return np.full(points.shape[:-1], np.nan)
        centres = np.array([(m.x, m.y) for m in self.minima])
        gaps = points[..., None, :] - centres
        return np.sqrt((gaps**2).sum(-1)).min(-1)

    def nearest_minimum_index(self, points: np.ndarray) -> np.ndarray:
        """Index into `minima` of the nearest known minimum for each point (..., 2); -1 if none."""
        points = np.asarray(points, dtype=float)
        if not self.minima:
            return np.full(points.shape[:-1], -1)
        centres = np.array([(m.x, m.y) for m in self.minima])
        gaps = points[..., None, :] - centres
        return np.nan_to_num((gaps**2).sum(-1), nan=np.inf).argmin(-1)


def derive(expression: sp.Expr) -> tuple[sp.Expr, ...]:
    """Gradient and Hessian of `expression`: (f_x, f_y, f_xx, f_xy, f_yy).

    Kinks (|x|) differentiate to DiracDelta terms; they are dropped, giving the derivative
    almost everywhere, which is what a numeric evaluation can use.
    """
    fx, fy = sp.diff(expression, x), sp.diff(expression, y)
    derivatives = fx, fy, sp.diff(fx, x), sp.diff(fx, y), sp.diff(fy, y)
    return tuple(d.replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero)
                 for d in derivatives)


def _guard(function: Callable, numpy_function: Callable) -> Callable:
    """Give a math-module function NumPy's IEEE semantics: inf/NaN instead of exceptions.

    Python floats raise where NumPy returns inf or NaN (1/0, exp(1000), sqrt(−1)); a
    diverging run must not raise. On such a rare exception the point is evaluated again
    by the NumPy function, on NumPy scalars, whose results are IEEE's.
    """

    def guarded(px: float, py: float):
        try:
            values = function(px, py)
        except (ArithmeticError, ValueError, TypeError):  # TypeError: math.tan(complex) after x**x, x < 0
            with np.errstate(all="ignore"):
                values = numpy_function(np.float64(px), np.float64(py))
            values = tuple(float(v) for v in values)
        # A negative base to a fractional power gives a complex number in Python.
        values = tuple(v if v.__class__ is float else _real(v) for v in values)
        return values[0] if len(values) == 1 else values

    return guarded


def _real(value) -> float:
    if isinstance(value, complex):
        return value.real if value.imag == 0 else math.nan
    return float(value)
