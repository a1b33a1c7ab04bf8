"""The gradient source compiled by `autodiff` names only x, y, temporaries and whitelisted functions.

This is what makes its `exec` safe: whatever the user typed, the compiled text is built from
a whitelisted SymPy tree and can contain nothing else.
"""

import io
import keyword
import tokenize

import pytest

from landscapes import get_landscape, landscape_names, parse_formula
from landscapes.autodiff import gradient_source
from landscapes.functions import FUNCTIONS

FORMULAS = [
    "x**2 + 3*sin(y)", "exp(-x**2 - y**2)", "abs(x) + abs(y)", "log(1 + x**2) / (1 + y**2)",
    "tanh(x*y) - atan(y) + asin(x/4) + acos(y/4)", "sqrt(x**2 + y**2 + 1) ** 3", "x**y + 2**x",
    "sinh(x) * cosh(y) - tan(x/5)", "-x - y", "pi*x + e*y", "1/x - 1/(y + 3)",
]


def names_in(source: str) -> set[str]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {token.string for token in tokens if token.type == tokenize.NAME and not keyword.iskeyword(token.string)}


@pytest.mark.parametrize("module", ["numpy", "math"])
@pytest.mark.parametrize("with_value", [False, True])
@pytest.mark.parametrize("expression", [parse_formula(f) for f in FORMULAS]
                         + [get_landscape(n).expression for n in landscape_names()])
def test_generated_source_names_only_coordinates_temporaries_and_whitelisted_functions(expression, with_value,
                                                                                      module):
    source = gradient_source(expression, with_value, module)
    allowed = {"gradient", "x", "y"} | set(FUNCTIONS) | ({"pow"} if module == "math" else set())
    temporaries = {name for name in names_in(source) if name[0] == "t" and name[1:].isdigit()}
    strangers = names_in(source) - allowed - temporaries
    assert not strangers, source
    assert "__" not in source and "import" not in source


def test_generated_source_refuses_expressions_outside_the_whitelist():
    import sympy as sp

    from landscapes import x
    with pytest.raises(ValueError, match="cannot differentiate gamma"):
        gradient_source(sp.gamma(x))


def test_float_code_writes_powers_with_math_pow_and_numpy_code_with_the_operator():
    expression = parse_formula("abs(y**0.75) + x**y")
    float_source = gradient_source(expression, module="math")
    assert "pow(" in float_source and "**" not in float_source
    assert "pow(" not in gradient_source(expression) and "**" in gradient_source(expression)
