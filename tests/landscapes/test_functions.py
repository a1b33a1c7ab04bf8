"""The formula functions table: every record's four forms and its derivative agree, and every reader uses it."""

from __future__ import annotations

import io
import math
import tokenize

import numpy as np
import pytest
import sympy as sp

from landscapes import FormulaError, formula_help, parse_formula, x
from landscapes.autodiff import compile_gradient
from landscapes.functions import BY_SYMPY_CLASS, FUNCTIONS, TYPED
from landscapes.parser import MAX_LENGTH

RECORDS = list(FUNCTIONS.values())
IDS = list(FUNCTIONS)
# Points inside every function's domain (|u| < 1 for asin/acos, u > 0 for log/sqrt), none at 0.
POINTS = np.array([0.13, 0.37, 0.61, 0.94])


def domain(record):
    """The sample points, and their negatives where the function is defined there."""
    return POINTS if record.name in ("log", "sqrt") else np.concatenate([-POINTS, POINTS])


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_numpy_math_and_sympy_forms_are_the_same_function(record):
    u = domain(record)
    symbolic = sp.lambdify(x, record.sympy(x), "mpmath")
    expected = np.array([float(symbolic(value)) for value in u])
    assert np.allclose(record.numpy(u), expected, rtol=1e-14, atol=0)
    assert np.allclose([record.math(float(value)) for value in u], expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
@pytest.mark.parametrize("module", ["numpy", "math"])
def test_the_derivative_rule_gives_sympys_derivative(record, module):
    u = domain(record)
    derivative = sp.diff(record.sympy(x / 2), x).replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: 0)
    expected = sp.lambdify(x, derivative, "numpy")(u) * np.ones_like(u)
    gradient = compile_gradient(record.sympy(x / 2), module)
    if module == "numpy":
        actual = gradient(u, np.zeros_like(u))[0]
    else:
        actual = np.array([gradient(float(value), 0.0)[0] for value in u])
    assert np.allclose(actual, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("record", RECORDS, ids=IDS)
def test_derivative_rules_name_only_grad_self_result_and_table_functions(record):
    tokens = tokenize.generate_tokens(io.StringIO(record.derivative).readline)
    names = {token.string for token in tokens if token.type == tokenize.NAME}
    assert names <= {"grad", "self", "result"} | set(FUNCTIONS)


def test_the_abs_rule_calls_a_function_of_the_table():
    assert "sign" in FUNCTIONS["abs"].derivative and "sign" in FUNCTIONS


@pytest.mark.parametrize("record", TYPED, ids=[r.name for r in TYPED])
def test_every_typed_function_parses_to_its_sympy_form(record):
    assert parse_formula(f"{record.name}(x/3 + 0.1)") == record.sympy(x / 3 + sp.Rational(1, 10))


@pytest.mark.parametrize("record", [r for r in RECORDS if not r.typed], ids=lambda r: r.name)
def test_functions_that_only_sympy_produces_cannot_be_typed(record):
    with pytest.raises(FormulaError, match=f"unknown function '{record.name}'"):
        parse_formula(f"{record.name}(x)")


def test_every_sympy_function_class_of_the_table_maps_back_to_its_record():
    assert all(BY_SYMPY_CLASS[record.sympy] is record for record in RECORDS if isinstance(record.sympy, type))
    assert {record.name for record in RECORDS} - {r.name for r in BY_SYMPY_CLASS.values()} == {"sqrt"}


def test_constant_calls_are_folded_with_the_tables_math_functions():
    for record in TYPED:
        value = float(parse_formula(f"{record.name}(0.5) + 0*x"))
        assert math.isclose(value, record.math(0.5), rel_tol=1e-15)


def test_formula_help_is_plain_text_naming_every_typed_function_and_the_length_limit():
    text = formula_help()
    for record in TYPED:
        assert f"{record.name}(u): {record.meaning}" in text
    for record in RECORDS:
        if not record.typed:
            assert f"{record.name}(" not in text
    assert str(MAX_LENGTH) in text
    assert all(word in text for word in ("pi", "e", "**", "+ - * /"))
    assert "`" not in text and "\\" not in text
