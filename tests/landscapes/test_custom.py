"""User formulas: a formula from_expression accepts has every numeric function built and working."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import landscapes.custom
from landscapes import FormulaError, from_expression, x, y
from landscapes.custom import derive_real

# Formulas SymPy rewrites into something else, or whose derivatives SymPy writes with
# functions of complex numbers; each once crashed after being accepted.
REWRITTEN = {
    "tan(x + pi/2) + y**2": "cot",           # -cot(x) + y**2
    "tan(pi/2 - x) * y": "cot",              # y*cot(x)
    "exp(tan(4*x + 3*pi/2))": "cot",         # exp(-cot(4x))
    "-1/x + y": "a -1 coefficient",          # Mul(-1, 1/x): the generator took -1 for a SymPy number
    "-1/(x*y)": "a -1 coefficient",
    "1/(x*y) + x": "a 1 coefficient",
    "abs(log(x)) + y**2": "re, im",          # d|u| for a u SymPy thinks may be complex
    "abs(asin(x/4)) * y": "re, im",
    "abs(log(y))**1.5 + x": "arg, atan2",
    "sqrt(abs(y**(pi/4)) + 1) + x": "re, im",
}
POINTS = (np.array([0.7, 1.3, 2.1, 0.4]), np.array([0.9, 1.7, 0.35, 2.6]))


@pytest.mark.parametrize("text", list(REWRITTEN), ids=[f"{t} ({why})" for t, why in REWRITTEN.items()])
def test_formulas_sympy_rewrites_are_accepted_with_working_gradient_and_hessian(text):
    landscape = from_expression(text)
    px, py = POINTS
    expected = sp.lambdify((x, y), [sp.diff(landscape.expression, v) for v in (x, y)], "numpy")(px, py)
    gx, gy = landscape.gradient(px, py)
    assert np.allclose(gx, expected[0], rtol=1e-12) and np.allclose(gy, expected[1], rtol=1e-12)
    for (a, b), fx, fy in zip(zip(px, py, strict=True), gx, gy, strict=True):
        assert np.allclose(landscape.scalar_gradient(a, b), (fx, fy), rtol=1e-14)
    hessian = np.array(landscape.hessian(px, py))
    assert np.isfinite(hessian).all()
    h = 1e-6
    for axis, (first, second) in enumerate([(0, 1), (1, 2)]):
        step = (h, 0.0) if axis == 0 else (0.0, h)
        ahead = np.array(landscape.gradient(px + step[0], py + step[1]))
        behind = np.array(landscape.gradient(px - step[0], py - step[1]))
        numeric = (ahead - behind) / (2 * h)
        assert np.allclose(hessian[[first, second]], numeric, rtol=1e-5, atol=1e-6)


def test_the_tangent_shifted_by_a_quarter_turn_is_minus_the_cotangent():
    landscape = from_expression("tan(x + pi/2) + y**2")
    assert landscape.expression == y**2 - sp.cot(x)
    gx, gy = landscape.scalar_gradient(0.5, 2.0)
    assert np.isclose(gx, 1 / np.sin(0.5) ** 2, rtol=1e-14) and gy == 4.0


def test_real_derivation_of_abs_is_sign_times_the_inner_derivative():
    fx, fy, fxx, fxy, fyy = derive_real(abs(sp.log(x)) + y**2)
    assert fx == sp.sign(sp.log(x)) / x and fy == 2 * y
    assert fxx == -sp.sign(sp.log(x)) / x**2 and fxy == 0 and fyy == 2
    assert not any(d.has(sp.re, sp.im, sp.Derivative) for d in (fx, fxx))


def test_a_function_the_generator_cannot_differentiate_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(landscapes.custom, "parse_formula", lambda text: sp.gamma(x) + y)
    with pytest.raises(FormulaError, match="gamma"):
        from_expression("gamma(x) + y")


def test_a_derivative_with_a_function_outside_the_table_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(landscapes.custom, "derive_with_time_limit",
                        lambda expression, time_limit: (sp.Heaviside(x), 0, 0, 0, 0))
    with pytest.raises(FormulaError, match="Heaviside"):
        from_expression("x + y")


def test_any_unexpected_failure_while_building_is_a_formula_error(monkeypatch):
    def broken(self, resolution=200, bounds=None):
        raise ZeroDivisionError("somewhere deep")
    monkeypatch.setattr(landscapes.custom.Landscape, "grid", broken)
    with pytest.raises(FormulaError, match="ZeroDivisionError"):
        from_expression("x + y")


@pytest.mark.parametrize("text", ["(-((pi/2) ** (cosh(pi)))) ** (pi) + x", "(-2)**(1/3)*x", "(-e)**pi + y"])
def test_a_constant_that_is_not_real_is_refused_not_crashed_on(text):
    with pytest.raises(FormulaError, match="not a real number"):
        from_expression(text)


def test_bad_bounds_are_a_value_error():
    with pytest.raises(ValueError, match="bounds"):
        from_expression("x + y", bounds=((1.0, -1.0), (0.0, 1.0)))


@pytest.mark.parametrize("text", ["tan(x**x) + y", "acos(y**y) + x", "y**e**y**e + x"])
def test_a_complex_power_inside_a_function_gives_nan_in_floats_as_in_numpy(text):
    # Python floats: (-0.5)**(-0.5) is complex, and math.tan of it raises TypeError.
    landscape = from_expression(text)
    point = (-0.5, -0.5)
    numpy_value = float(landscape.loss(np.array(point[0]), np.array(point[1])))
    value = landscape.scalar_loss(*point)
    assert np.isnan(value) and np.isnan(numpy_value)
    numpy_gradient = [float(g) for g in landscape.gradient(np.array(point[0]), np.array(point[1]))]
    assert np.array_equal(landscape.scalar_gradient(*point), numpy_gradient, equal_nan=True)
    assert np.isnan(numpy_gradient).any()
