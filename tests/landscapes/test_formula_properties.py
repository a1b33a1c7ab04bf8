"""Any formula of the parser's grammar is refused with a FormulaError or gives a landscape whose
gradient and Hessian are the derivatives of its f, in NumPy and in Python floats alike.

The grammar is built from the parser's names and the functions table, so a new function is
drawn here without a change to this file.
"""

from __future__ import annotations

import string

import numpy as np
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from landscapes import FormulaError, from_expression, x, y
from landscapes.functions import TYPED
from landscapes.parser import NAMES

NUMBERS = ["0", "1", "2", "3", "7", "12", "0.5", "0.1", "1.25", "2.5e1", "1e-3"]
OPERATORS = ["+", "-", "*", "/", "**"]
LEAVES = st.sampled_from(sorted(NAMES) + NUMBERS)


def _grow(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds("{}({})".format, st.sampled_from([record.name for record in TYPED]), children),
        st.builds("({}) {} ({})".format, children, st.sampled_from(OPERATORS), children),
        st.builds("{} {} {}".format, children, st.sampled_from(OPERATORS), children),  # precedence
        st.builds("-{}".format, children),
        st.builds("-({})".format, children),
    )


FORMULAS = st.recursive(LEAVES, _grow, max_leaves=7)

# Points of the default view (±3), off every simple multiple of pi/2 and of 1/2.
PX = np.array([-2.63, -1.91, -1.137, -0.71, -0.283, 0.173, 0.457, 0.89, 1.217, 1.61, 2.09, 2.77])
PY = np.array([1.43, -2.71, 0.317, 2.23, -0.61, -1.37, 2.83, -0.193, 0.731, -2.19, 1.07, -1.01])
H = 1e-3
EPS = np.finfo(float).eps


def _along(axis: int, step: float) -> tuple[float, float]:
    return (step, 0.0) if axis == 0 else (0.0, step)


def _shifted(function, axis: int, step: float) -> np.ndarray:
    dx, dy = _along(axis, step)
    return np.asarray(function(PX + dx, PY + dy), dtype=float)


def _smooth(function, axis: int) -> np.ndarray:
    """Where `function` is finite and smooth on the stencil along `axis`: for a smooth function the
    second difference shrinks 4-fold when the step halves, across a kink only 2-fold."""
    centre = np.asarray(function(PX, PY), dtype=float)
    values = [_shifted(function, axis, s) for s in (-H, -H / 2, H / 2, H)]
    finite = np.isfinite(centre) & np.all([np.isfinite(v) for v in values], axis=0)
    scale = np.max(np.abs([centre, *values]), axis=0)
    with np.errstate(all="ignore"):
        wide = values[3] - 2 * centre + values[0]
        narrow = values[2] - 2 * centre + values[1]
        return finite & (np.abs(wide - 4 * narrow) <= 0.5 * np.abs(wide) + 64 * EPS * scale)


def _check(analytic: np.ndarray, difference, order: int, usable: np.ndarray, what: str) -> None:
    """`analytic` against the Richardson extrapolation of an O(h²) difference quotient; the
    tolerance is the quotient's own error estimate (how much it moves when h halves) plus
    its rounding error (ε·|f|/hᵒʳᵈᵉʳ)."""
    wide, wide_scale = difference(H)
    narrow, narrow_scale = difference(H / 2)
    with np.errstate(all="ignore"):
        extrapolated = (4 * narrow - wide) / 3
        rounding = 256 * EPS * np.maximum(wide_scale, narrow_scale) / (H / 2) ** order
        tolerance = 4 * np.abs(wide - narrow) + rounding + 1e-9 * np.abs(analytic)
        usable = usable & np.isfinite(analytic) & np.isfinite(extrapolated)
        wrong = usable & ~(np.abs(analytic - extrapolated) <= tolerance)
    assert not wrong.any(), (what, PX[wrong], PY[wrong], analytic[wrong], extrapolated[wrong])


def _first_difference(loss, axis):
    def difference(h):
        ahead, behind = _shifted(loss, axis, h), _shifted(loss, axis, -h)
        return (ahead - behind) / (2 * h), np.maximum(np.abs(ahead), np.abs(behind))
    return difference


def _second_difference(loss, axis):
    def difference(h):
        ahead, behind, centre = _shifted(loss, axis, h), _shifted(loss, axis, -h), loss(PX, PY)
        return (ahead - 2 * centre + behind) / h**2, np.max(np.abs([ahead, behind, centre]), axis=0)
    return difference


def _mixed_difference(loss):
    def difference(h):
        corners = [loss(PX + sx * h, PY + sy * h) for sx, sy in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
        return (corners[0] - corners[1] - corners[2] + corners[3]) / (4 * h**2), np.max(np.abs(corners), axis=0)
    return difference


@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(FORMULAS)
def test_every_formula_of_the_grammar_is_refused_or_has_the_derivatives_of_its_f(text):
    note(text)
    try:
        landscape = from_expression(text, time_limit=3.0)
    except FormulaError as refusal:
        assert str(refusal).strip()
        return
    loss = landscape.loss
    with np.errstate(all="ignore"):
        gradient = np.array(landscape.gradient(PX, PY))
        hessian = np.array(landscape.hessian(PX, PY))
        smooth_f = [_smooth(loss, axis) for axis in (0, 1)]
        smooth_g = [[_smooth(lambda a, b, c=c: landscape.gradient(a, b)[c], axis) for axis in (0, 1)]
                    for c in (0, 1)]
        for axis in (0, 1):
            _check(gradient[axis], _first_difference(loss, axis), 1, smooth_f[axis], f"f_{'xy'[axis]}")
        _check(hessian[0], _second_difference(loss, 0), 2, smooth_f[0] & smooth_g[0][0], "f_xx")
        _check(hessian[2], _second_difference(loss, 1), 2, smooth_f[1] & smooth_g[1][1], "f_yy")
        _check(hessian[1], _mixed_difference(loss), 2,
               smooth_f[0] & smooth_f[1] & smooth_g[0][1] & smooth_g[1][0], "f_xy")

        # One generated code, two number types: the float gradient is the NumPy one, up to the
        # last-bit differences between libm's and NumPy's sin, sinh, ... (a few ulps, times the
        # conditioning of at most 7 leaves; a wrong code path would differ in the leading digits).
        value_and_gradient = np.array(landscape.value_and_gradient(PX, PY))
        assert np.array_equal(value_and_gradient[1:], gradient, equal_nan=True)
        finite = np.isfinite(value_and_gradient)
        scale = np.max(np.abs(value_and_gradient), axis=1, where=finite, initial=1.0)
        for i, (a, b) in enumerate(zip(PX, PY, strict=True)):
            floats = np.array(landscape.scalar_value_and_gradient(float(a), float(b)))
            assert np.array_equal(np.array(landscape.scalar_gradient(float(a), float(b))), floats[1:], equal_nan=True)
            both = np.isfinite(floats) & finite[:, i]
            assert np.allclose(floats[both], value_and_gradient[both, i], rtol=1e-10, atol=0) or np.all(
                np.abs(floats[both] - value_and_gradient[both, i]) <= 1e-10 * scale[both]), (a, b, floats)


SOUP = st.lists(st.sampled_from(
    sorted(NAMES) + NUMBERS + OPERATORS + [record.name + "(" for record in TYPED]
    + ["(", ")", " ", ",", ".", "^", "//", "x**2", "__class__", "lambda", "z"]), max_size=30).map("".join)


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(SOUP, st.text(alphabet=string.printable, max_size=60)))
def test_from_expression_gives_a_landscape_or_a_formula_error_for_any_text(text):
    try:
        landscape = from_expression(text, time_limit=3.0)
    except FormulaError as refusal:
        assert str(refusal).strip()
        return
    assert landscape.expression.free_symbols <= {x, y}
    assert np.shape(landscape.gradient(PX, PY)) == (2, len(PX))
