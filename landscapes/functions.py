"""The functions a formula may use: one record each, read by the parser, the gradient generator and the help text.

Each record names the function as it is typed (and as the generated gradient code calls
it), gives its SymPy, NumPy and `math` forms, and its derivative written as in PyTorch's
``tools/autograd/derivatives.yaml``: ``grad`` is the incoming gradient, ``self`` the
argument and ``result`` the function's value, so ``grad * cos(self)`` is the rule for sin.

A few records are not typed by users (`typed=False`): SymPy produces them while it
normalizes a typed formula (``tan(x + pi/2)`` becomes ``-cot(x)``), or the generated code
needs them (``abs``'s derivative calls ``sign``).

>>> FUNCTIONS["atan"].derivative
'grad / (self * self + 1.0)'
>>> [f.name for f in TYPED][:3]
['sin', 'cos', 'tan']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import sympy as sp


def _sign(value: float) -> float:
    """NumPy's sign for one float: −1, 1, a zero keeping its sign, NaN for NaN."""
    return value if value == 0 or value != value else math.copysign(1.0, value)


def _cot(value: float) -> float:
    return 1.0 / math.tan(value)


def _numpy_cot(value):
    return 1.0 / np.tan(value)


@dataclass(frozen=True)
class FormulaFunction:
    """One function of the formula language."""

    name: str                            # as typed, and as called in the generated gradient code
    sympy: Callable[[sp.Expr], sp.Expr]  # builds the SymPy node (sp.sqrt builds a Pow)
    numpy: Callable                      # elementwise on arrays
    math: Callable[[float], float]       # on one Python float; may raise where NumPy gives inf/NaN
    derivative: str                      # torch derivatives.yaml form in grad, self, result
    meaning: str                         # one line, for the help text
    typed: bool = True                   # False: only SymPy's rewriting or the generator produces it


_RECORDS = (
    FormulaFunction("sin", sp.sin, np.sin, math.sin, "grad * cos(self)", "sine (radians)"),
    FormulaFunction("cos", sp.cos, np.cos, math.cos, "grad * -sin(self)", "cosine (radians)"),
    FormulaFunction("tan", sp.tan, np.tan, math.tan, "grad * (1.0 + result * result)", "tangent (radians)"),
    FormulaFunction("sinh", sp.sinh, np.sinh, math.sinh, "grad * cosh(self)", "hyperbolic sine"),
    FormulaFunction("cosh", sp.cosh, np.cosh, math.cosh, "grad * sinh(self)", "hyperbolic cosine"),
    FormulaFunction("tanh", sp.tanh, np.tanh, math.tanh, "grad * (1.0 - result * result)",
                    "hyperbolic tangent"),
    FormulaFunction("asin", sp.asin, np.arcsin, math.asin, "grad * (1.0 / sqrt(-self * self + 1.0))",
                    "inverse sine, for -1 <= u <= 1"),
    FormulaFunction("acos", sp.acos, np.arccos, math.acos, "grad * -(1.0 / sqrt(-self * self + 1.0))",
                    "inverse cosine, for -1 <= u <= 1"),
    FormulaFunction("atan", sp.atan, np.arctan, math.atan, "grad / (self * self + 1.0)", "inverse tangent"),
    FormulaFunction("exp", sp.exp, np.exp, math.exp, "grad * result", "e to the power u"),
    FormulaFunction("log", sp.log, np.log, math.log, "grad / self", "natural logarithm, for u > 0"),
    FormulaFunction("sqrt", sp.sqrt, np.sqrt, math.sqrt, "grad / (2 * result)", "square root, for u >= 0"),
    FormulaFunction("abs", sp.Abs, np.abs, abs, "grad * sign(self)", "absolute value |u|"),
    # Produced by SymPy or by the generator, never typed:
    FormulaFunction("cot", sp.cot, _numpy_cot, _cot, "grad * -(1.0 + result * result)",
                    "cotangent 1/tan(u): SymPy writes tan(u + pi/2) as -cot(u)", typed=False),
    FormulaFunction("sign", sp.sign, np.sign, _sign, "0.0",
                    "sign of u (-1, 0 or 1): the derivative of abs", typed=False),
)

FUNCTIONS: dict[str, FormulaFunction] = {record.name: record for record in _RECORDS}
TYPED: tuple[FormulaFunction, ...] = tuple(record for record in _RECORDS if record.typed)

# SymPy class -> record, for the functions that are SymPy Function classes (sqrt is a Pow).
BY_SYMPY_CLASS: dict[type, FormulaFunction] = {
    record.sympy: record for record in _RECORDS if isinstance(record.sympy, type)
}
