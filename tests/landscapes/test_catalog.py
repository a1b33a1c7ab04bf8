"""The landscape catalog and the Landscape record: contents, minima, derivatives, shapes, overflow."""

from __future__ import annotations

import math
import warnings
import zlib

import numpy as np
import pytest
import sympy as sp

from landscapes import Landscape, from_expression, get_landscape, landscape_names, x, y
from landscapes.functions import TYPED

NAMES = landscape_names()
NAMES_WITH_MINIMA = [name for name in NAMES if get_landscape(name).minima]
NAMES_WITHOUT_MINIMA = [name for name in NAMES if not get_landscape(name).minima]
LISTED_MINIMA = [
    pytest.param(name, index, id=f"{name}-minimum{index}")
    for name in NAMES_WITH_MINIMA
    for index in range(len(get_landscape(name).minima))
]

# Minima where f has no derivative (a cone tip): checked by comparing f with its neighbours.
NOT_DIFFERENTIABLE_AT = {"ackley": {(0.0, 0.0)}}

DESIGN_CARD = [
    ("quadratic", "ill-conditioned quadratic", sp.Rational(1, 10) * x**2 + 2 * y**2),
    ("saddle", "saddle", x**2 - y**2),
    ("rosenbrock", "Rosenbrock", (1 - x) ** 2 + 100 * (y - x**2) ** 2),
    ("beale", "Beale", (sp.Rational(3, 2) - x + x * y) ** 2 + (sp.Rational(9, 4) - x + x * y**2) ** 2
     + (sp.Rational(21, 8) - x + x * y**3) ** 2),
]
REQUIRED = ["quadratic", "saddle", "rosenbrock", "beale", "himmelblau", "rastrigin", "ackley", "booth",
            "six_hump_camel", "monkey_saddle", "plateau_cliff", "local_minimum_trap"]

# One custom formula per whitelisted function (and per kind of power), so the autograd-order
# evaluator is checked against SymPy on every construct a user can type.
CUSTOM_FORMULAS = {
    "sin": "sin(x) * y",
    "cos": "cos(x*y)",
    "tan": "tan(x/4 + y/8)",
    "sinh": "sinh(x/2) - y",
    "cosh": "cosh(x/2) * y",
    "tanh": "tanh(x) * y",
    "asin": "asin(x/4) + y**2",
    "acos": "acos(y/4) * x",
    "atan": "atan(x*y)",
    "exp": "exp(x/2 - y**2)",
    "log": "log(1 + x**2 + y**2)",
    "sqrt": "sqrt(x**2 + y**2 + 1)",
    "abs": "abs(x - 0.3) + y**2",
    "division": "x/(1 + y**2)",
    "variable exponent": "(2 + sin(x))**y",
    "negative exponents": "(1 + x**2)**-1 + (1 + y**2)**-0.5",
    "fractional exponents": "(x**2 + 1)**1.5 + (x**2 + y**2 + 1)**(1/3) - y**3",
    "negation": "-(x*y)",
    "constants as bases": "e**(x/3) + pi**(y/4)",
    "mixed": "x**3*y**2 - 2*x*y/(3 + cos(x))",
}
CUSTOM_CASES = [
    pytest.param(formula, id=label)
    for label, formula in CUSTOM_FORMULAS.items()
]


def random_points(landscape: Landscape, count: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """`count` reproducible points drawn uniformly inside the view: (count,), (count,)."""
    rng = np.random.default_rng(zlib.crc32(landscape.name.encode() + landscape.title.encode()))
    (x0, x1), (y0, y1) = landscape.bounds
    return rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)


def central_difference(function, px, py, axis: int, h: float = 1e-3) -> np.ndarray:
    """Five-point central difference of `function` along x (axis 0) or y (axis 1); error O(h⁴)."""
    def at(step):
        return function(px + step, py) if axis == 0 else function(px, py + step)
    return (at(-2 * h) - 8 * at(-h) + 8 * at(h) - at(2 * h)) / (12 * h)


def assert_matches_finite_differences(landscape: Landscape, px, py) -> None:
    value = landscape.loss(px, py)
    gradient = landscape.gradient(px, py)
    scalar = np.array([landscape.scalar_gradient(a, b) for a, b in zip(px, py, strict=True)]).T
    for axis in (0, 1):
        numeric = central_difference(landscape.loss, px, py, axis)
        tolerance = 1e-5 * np.abs(numeric) + 1e-7 * (1 + np.abs(value))
        assert np.all(np.abs(gradient[axis] - numeric) <= tolerance), f"d/d{'xy'[axis]} (NumPy)"
        assert np.all(np.abs(scalar[axis] - numeric) <= tolerance), f"d/d{'xy'[axis]} (floats)"


def assert_matches_sympy_gradient(landscape: Landscape, px, py) -> None:
    symbolic = sp.lambdify((x, y), list(landscape.gradient_expressions), "numpy")(px, py)
    for axis in (0, 1):
        expected = np.broadcast_to(np.asarray(symbolic[axis], dtype=float), px.shape)
        evaluated = landscape.gradient(px, py)[axis]
        # Relative to the gradient's size on this sample: the two orders of evaluation may
        # round differently where terms cancel.
        scale = max(1.0, float(np.abs(expected).max()))
        assert np.allclose(evaluated, expected, rtol=1e-12, atol=1e-12 * scale, equal_nan=False)


# -- what the catalog holds -------------------------------------------------------------------
@pytest.mark.parametrize("name", REQUIRED)
def test_catalog_holds_every_landscape_the_design_asks_for(name):
    assert name in NAMES


@pytest.mark.parametrize(("name", "title", "expression"), DESIGN_CARD, ids=[c[0] for c in DESIGN_CARD])
def test_design_card_landscapes_have_their_exact_titles_and_formulas(name, title, expression):
    landscape = get_landscape(name)
    assert landscape.title == title
    assert sp.expand(landscape.expression - expression) == 0


def test_quadratic_is_written_with_exact_rational_coefficients():
    assert get_landscape("quadratic").expression.atoms(sp.Float) == set()


def test_himmelblau_has_four_global_minima_of_value_zero():
    minima = get_landscape("himmelblau").minima
    assert len(minima) == 4
    assert all(m.is_global and m.value == 0.0 for m in minima)
    assert len({(round(m.x, 6), round(m.y, 6)) for m in minima}) == 4


def test_local_minimum_trap_has_a_shallower_local_minimum_beside_the_global_one():
    minima = get_landscape("local_minimum_trap").minima
    global_minima = [m for m in minima if m.is_global]
    local_minima = [m for m in minima if not m.is_global]
    assert len(global_minima) == 1 and local_minima
    assert all(m.value > global_minima[0].value for m in local_minima)


@pytest.mark.parametrize("name", ["rastrigin", "ackley"])
def test_rastrigin_and_ackley_have_many_local_minima(name):
    _, _, z = get_landscape(name).grid(201)
    inner = z[1:-1, 1:-1]
    neighbours = [z[1 + dy:z.shape[0] - 1 + dy, 1 + dx:z.shape[1] - 1 + dx]
                  for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dx, dy) != (0, 0)]
    pits = np.logical_and.reduce([inner < n for n in neighbours])
    assert pits.sum() >= 9


def test_quadratic_hessian_has_eigenvalues_0_2_and_4_as_its_lesson_says():
    h = get_landscape("quadratic").hessian(np.array(1.0), np.array(-1.0))
    assert np.allclose(np.linalg.eigvalsh([[h[0], h[1]], [h[1], h[2]]]), [0.2, 4.0], rtol=1e-15)


def test_booth_hessian_has_eigenvalues_2_and_18_as_its_lesson_says():
    h = get_landscape("booth").hessian(np.array(0.0), np.array(0.0))
    assert np.allclose(np.linalg.eigvalsh([[h[0], h[1]], [h[1], h[2]]]), [2.0, 18.0], rtol=1e-12)


def test_saddle_has_zero_gradient_and_an_indefinite_hessian_at_the_origin():
    saddle = get_landscape("saddle")
    assert saddle.scalar_gradient(0.0, 0.0) == (0.0, 0.0)
    hxx, hxy, hyy = saddle.hessian(np.array(0.0), np.array(0.0))
    eigenvalues = np.linalg.eigvalsh([[hxx, hxy], [hxy, hyy]])
    assert eigenvalues[0] < 0 < eigenvalues[1]


def test_monkey_saddle_gradient_and_hessian_both_vanish_at_the_origin():
    monkey = get_landscape("monkey_saddle")
    assert monkey.scalar_gradient(0.0, 0.0) == (0.0, 0.0)
    assert all(float(h) == 0.0 for h in monkey.hessian(np.array(0.0), np.array(0.0)))


@pytest.mark.parametrize("name", NAMES)
def test_each_catalog_entry_is_stored_under_its_own_name(name):
    assert get_landscape(name).name == name


def test_landscape_names_are_unique():
    assert len(NAMES) == len(set(NAMES))


def test_unknown_landscape_name_is_a_value_error_listing_the_choices():
    with pytest.raises(ValueError, match="rosenbrock"):
        get_landscape("no_such_landscape")


# -- every landscape: record well-formed ------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_bounds_are_two_finite_increasing_intervals(name):
    (x0, x1), (y0, y1) = get_landscape(name).bounds
    assert all(isinstance(v, float) and math.isfinite(v) for v in (x0, x1, y0, y1))
    assert x0 < x1 and y0 < y1


@pytest.mark.parametrize("name", NAMES)
def test_title_and_lesson_are_not_empty(name):
    landscape = get_landscape(name)
    assert landscape.title.strip()
    assert len(landscape.lesson.strip()) > 10
    assert isinstance(landscape.log_contour, bool)


@pytest.mark.parametrize("name", NAMES)
def test_expression_uses_only_x_and_y(name):
    assert get_landscape(name).expression.free_symbols <= {x, y}


@pytest.mark.parametrize("name", NAMES)
def test_default_starts_lie_inside_the_bounds(name):
    landscape = get_landscape(name)
    (x0, x1), (y0, y1) = landscape.bounds
    assert landscape.starts
    for sx, sy in landscape.starts:
        assert x0 <= sx <= x1 and y0 <= sy <= y1


@pytest.mark.parametrize("name", NAMES_WITH_MINIMA)
def test_listed_minima_lie_inside_the_bounds(name):
    landscape = get_landscape(name)
    (x0, x1), (y0, y1) = landscape.bounds
    for m in landscape.minima:
        assert x0 <= m.x <= x1 and y0 <= m.y <= y1


@pytest.mark.parametrize("name", NAMES_WITH_MINIMA)
def test_each_listed_minimum_value_equals_the_loss_there(name):
    landscape = get_landscape(name)
    for m in landscape.minima:
        assert abs(landscape.scalar_loss(m.x, m.y) - m.value) <= 1e-9
        assert abs(float(landscape.loss(np.array(m.x), np.array(m.y))) - m.value) <= 1e-9


@pytest.mark.parametrize("name", NAMES_WITH_MINIMA)
def test_listed_minima_include_a_global_one_and_globals_are_lowest(name):
    minima = get_landscape(name).minima
    global_values = [m.value for m in minima if m.is_global]
    assert global_values
    assert max(global_values) - min(global_values) <= 1e-9
    assert all(m.value >= min(global_values) - 1e-9 for m in minima)


@pytest.mark.parametrize("name", NAMES_WITH_MINIMA)
def test_no_point_of_the_view_is_below_the_global_minimum(name):
    landscape = get_landscape(name)
    lowest = min(m.value for m in landscape.minima if m.is_global)
    _, _, z = landscape.grid(301)
    assert np.nanmin(z) >= lowest - 1e-9


# -- derivatives --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_finite_differences(name):
    landscape = get_landscape(name)
    assert_matches_finite_differences(landscape, *random_points(landscape))


@pytest.mark.parametrize("name", NAMES)
def test_autograd_order_gradient_matches_the_sympy_gradient(name):
    landscape = get_landscape(name)
    assert_matches_sympy_gradient(landscape, *random_points(landscape))


@pytest.mark.parametrize("name", NAMES)
def test_float_functions_agree_with_numpy_functions(name):
    landscape = get_landscape(name)
    px, py = random_points(landscape, 20)
    values = landscape.loss(px, py)
    gx, gy = landscape.gradient(px, py)
    for i, (a, b) in enumerate(zip(px, py, strict=True)):
        assert math.isclose(landscape.scalar_loss(a, b), values[i], rel_tol=1e-12, abs_tol=1e-300)
        sgx, sgy = landscape.scalar_gradient(a, b)
        assert isinstance(sgx, float) and isinstance(sgy, float)
        assert math.isclose(sgx, gx[i], rel_tol=1e-12, abs_tol=1e-12)
        assert math.isclose(sgy, gy[i], rel_tol=1e-12, abs_tol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_finite_differences_of_the_gradient(name):
    landscape = get_landscape(name)
    px, py = random_points(landscape)
    gradient_size = np.hypot(*landscape.gradient(px, py))
    hxx, hxy, hyy = landscape.hessian(px, py)
    for hessian, component, axis in ((hxx, 0, 0), (hxy, 0, 1), (hyy, 1, 1)):
        numeric = central_difference(lambda a, b, c=component: landscape.gradient(a, b)[c], px, py, axis)
        tolerance = 1e-5 * np.abs(numeric) + 1e-7 * (1 + gradient_size)
        assert np.all(np.abs(hessian - numeric) <= tolerance)


@pytest.mark.parametrize(("name", "index"), LISTED_MINIMA)
def test_every_listed_minimum_has_zero_gradient_and_a_positive_semidefinite_hessian(name, index):
    landscape = get_landscape(name)
    m = landscape.minima[index]
    if (m.x, m.y) in NOT_DIFFERENTIABLE_AT.get(name, set()):
        # A cone tip: no gradient there, so f itself must rise in every direction.
        for angle in np.arange(8) * np.pi / 4:
            for delta in (1e-6, 1e-3, 1e-1):
                neighbour = landscape.scalar_loss(m.x + delta * np.cos(angle), m.y + delta * np.sin(angle))
                assert landscape.scalar_loss(m.x, m.y) < neighbour
        return
    gx, gy = landscape.scalar_gradient(m.x, m.y)
    assert math.hypot(gx, gy) <= 1e-6
    hxx, hxy, hyy = (float(h) for h in landscape.hessian(np.array(m.x), np.array(m.y)))
    eigenvalues = np.linalg.eigvalsh([[hxx, hxy], [hxy, hyy]])
    assert eigenvalues[0] >= -1e-9 * max(1.0, abs(eigenvalues[1]))


@pytest.mark.parametrize(("name", "index"), LISTED_MINIMA)
def test_every_listed_minimum_is_no_higher_than_its_neighbours(name, index):
    landscape = get_landscape(name)
    m = landscape.minima[index]
    angles = np.arange(8) * np.pi / 4
    neighbours = landscape.loss(m.x + 1e-3 * np.cos(angles), m.y + 1e-3 * np.sin(angles))
    assert np.all(neighbours >= landscape.scalar_loss(m.x, m.y))


def test_ackley_has_no_gradient_at_its_cone_tip_but_a_finite_one_beside_it():
    ackley = get_landscape("ackley")
    assert all(math.isfinite(g) for g in ackley.scalar_gradient(1e-3, -1e-3))
    assert (0.0, 0.0) in NOT_DIFFERENTIABLE_AT["ackley"]
    assert not all(math.isfinite(g) for g in ackley.scalar_gradient(0.0, 0.0))


# -- custom formulas go through the same machinery ----------------------------------------------
def test_every_whitelisted_function_has_a_custom_gradient_check():
    assert {record.name for record in TYPED} <= set(CUSTOM_FORMULAS)


@pytest.mark.parametrize("formula", CUSTOM_CASES)
def test_custom_landscape_gradient_matches_finite_differences_and_sympy(formula):
    landscape = from_expression(formula)
    px, py = random_points(landscape)
    assert_matches_finite_differences(landscape, px, py)
    assert_matches_sympy_gradient(landscape, px, py)


@pytest.mark.parametrize("formula", ["-x - y", "-x**2 - y**2", "exp(-x**2 - y**2)", "-1 - x"])
def test_gradient_of_a_sum_whose_terms_all_carry_a_minus_sign(formula):
    landscape = from_expression(formula)
    px, py = random_points(landscape)
    assert_matches_finite_differences(landscape, px, py)
    assert_matches_sympy_gradient(landscape, px, py)


# -- arrays of any shape ------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(3, 4), (7,), ()], ids=["3x4", "7", "scalar"])
def test_loss_gradient_and_hessian_keep_the_shape_of_their_input(name, shape):
    landscape = get_landscape(name)
    rng = np.random.default_rng(0)
    px, py = rng.uniform(0.1, 0.9, shape), rng.uniform(0.1, 0.9, shape)
    assert np.shape(landscape.loss(px, py)) == shape
    assert all(np.shape(g) == shape for g in landscape.gradient(px, py))
    assert all(np.shape(h) == shape for h in landscape.hessian(px, py))


@pytest.mark.parametrize("name", NAMES)
def test_grid_returns_axes_and_values_indexed_y_then_x(name):
    landscape = get_landscape(name)
    (x0, x1), (y0, y1) = landscape.bounds
    xs, ys, z = landscape.grid(13)
    assert xs.shape == (13,) and ys.shape == (13,) and z.shape == (13, 13)
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (x0, x1, y0, y1)
    assert np.all(np.diff(xs) > 0) and np.all(np.diff(ys) > 0)
    assert math.isclose(z[2, 9], landscape.scalar_loss(xs[9], ys[2]), rel_tol=1e-12)
    assert math.isclose(z[11, 0], landscape.scalar_loss(xs[0], ys[11]), rel_tol=1e-12)
    assert landscape.grid()[2].shape == (200, 200)


@pytest.mark.parametrize("formula", ["3", "x", "-y", "x + 2*y", "x**2 + 2*y", "sin(x) - y"])
def test_constant_gradient_landscapes_still_return_arrays_shaped_like_the_input(formula):
    landscape = from_expression(formula)
    px, py = np.zeros((3, 4)), np.ones((3, 4))
    assert np.shape(landscape.loss(px, py)) == (3, 4)
    assert all(np.shape(h) == (3, 4) for h in landscape.hessian(px, py))
    gradient = landscape.gradient(px, py)
    assert all(isinstance(g, np.ndarray) and g.shape == (3, 4) for g in gradient)


def test_constant_gradient_values_are_right_even_where_shapes_are_not():
    gx, gy = from_expression("x + 2*y").gradient(np.zeros((3, 4)), np.ones((3, 4)))
    assert np.all(gx == 1.0) and np.all(gy == 2.0)


# -- distances to minima -------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES_WITH_MINIMA)
def test_nearest_minimum_index_and_distance_find_each_listed_minimum(name):
    landscape = get_landscape(name)
    centres = np.array([(m.x, m.y) for m in landscape.minima])
    offset = np.array([3e-3, -4e-3])  # length 5e-3, far smaller than the gap between minima
    points = (centres + offset).reshape(1, -1, 2).repeat(2, axis=0)  # (2, M, 2)
    assert landscape.nearest_minimum_index(points).shape == points.shape[:-1]
    assert np.array_equal(landscape.nearest_minimum_index(points)[1], np.arange(len(centres)))
    assert np.allclose(landscape.nearest_minimum_distance(points), 5e-3, rtol=1e-9)
    assert np.all(landscape.nearest_minimum_distance(centres) == 0.0)


def test_nearest_minimum_picks_the_closer_of_two_minima():
    trap = get_landscape("local_minimum_trap")
    points = np.array([[-0.5, 0.3], [0.5, -0.3], [1.5, 1.0]])
    assert trap.nearest_minimum_index(points).tolist() == [0, 1, 1]
    expected = np.hypot(points[:, 0] - np.where(points[:, 0] < 0, trap.minima[0].x, trap.minima[1].x),
                        points[:, 1])
    assert np.allclose(trap.nearest_minimum_distance(points), expected, rtol=1e-12)


@pytest.mark.parametrize("name", NAMES_WITHOUT_MINIMA)
def test_landscapes_without_minima_report_nan_distance_and_index_minus_one(name):
    landscape = get_landscape(name)
    points = np.zeros((2, 3, 2))
    distance = landscape.nearest_minimum_distance(points)
    index = landscape.nearest_minimum_index(points)
    assert distance.shape == (2, 3) and np.all(np.isnan(distance))
    assert index.shape == (2, 3) and np.all(index == -1)


def test_saddle_is_a_landscape_without_minima():
    assert "saddle" in NAMES_WITHOUT_MINIMA


# -- far outside the view: no exceptions ---------------------------------------------------------
def test_rosenbrock_scalar_loss_overflows_to_inf_like_numpy_instead_of_raising():
    assert get_landscape("rosenbrock").scalar_loss(1e200, 1e200) == math.inf


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("point", [(1e200, 1e200), (-1e200, 1e200), (1e300, -1e300)])
def test_scalar_functions_never_raise_far_outside_the_view(name, point):
    landscape = get_landscape(name)
    value = landscape.scalar_loss(*point)
    gradient = landscape.scalar_gradient(*point)
    assert isinstance(value, float)
    assert len(gradient) == 2 and all(isinstance(g, float) for g in gradient)


def test_custom_exponential_overflows_to_inf_in_floats_and_in_numpy_without_warnings():
    landscape = from_expression("exp(x*y)")
    assert landscape.scalar_loss(30.0, 30.0) == math.inf
    assert all(g == math.inf for g in landscape.scalar_gradient(30.0, 30.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isposinf(landscape.loss(np.array([30.0]), np.array([30.0]))).all()
        assert all(np.isposinf(g).all() for g in landscape.gradient(np.array([30.0]), np.array([30.0])))


@pytest.mark.parametrize(("formula", "point", "expected"), [
    ("sqrt(x) + y", (-2.0, 0.5), math.nan),
    ("log(x) + y", (-2.0, 0.5), math.nan),
    ("x**1.5 + y", (-2.0, 0.5), math.nan),
    ("x**y", (-2.0, 0.5), math.nan),
    ("1/x + y", (0.0, 0.5), math.inf),
    ("log(x) + y", (0.0, 0.5), -math.inf),
])
def test_custom_float_functions_follow_ieee_like_numpy_outside_their_domain(formula, point, expected):
    landscape = from_expression(formula)
    value = landscape.scalar_loss(*point)
    numpy_value = float(landscape.loss(np.array(point[0]), np.array(point[1])))
    assert value == expected or (math.isnan(value) and math.isnan(expected))
    assert value == numpy_value or (math.isnan(value) and math.isnan(numpy_value))
