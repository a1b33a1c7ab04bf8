"""A whitelist parser for user formulas f(x, y): Python's `ast` in, a SymPy expression out.

Nothing the user types reaches `eval`, `exec`, `sympify` or `parse_expr`. The text is
parsed (never run) by `ast.parse`; every node is checked against a short whitelist and
translated to SymPy objects by hand. Sizes are limited before SymPy sees anything, so
`9**9**9` or `(x+y)**100000` is refused rather than computed.
"""

from __future__ import annotations

import ast
import math
import unicodedata
from collections.abc import Callable

import sympy as sp

from .core import x, y

MAX_LENGTH = 300          # characters
MAX_NODES = 200           # syntax-tree nodes
MAX_DEPTH = 24            # nesting of the syntax tree
MAX_CONSTANT = 1e6        # largest number literal, in magnitude
MAX_EXPONENT = 12         # largest constant exponent, in magnitude
MAX_FOLDED = 1e12         # largest value of a constant sub-expression, in magnitude

NAMES: dict[str, sp.Expr] = {"x": x, "y": y, "pi": sp.pi, "e": sp.E}

FUNCTIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "abs": sp.Abs,
}

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_REFUSED_OPERATORS = {
    ast.BitXor: "'^' is not a power — use ** (x**2)",
    ast.FloorDiv: "'//' is not allowed — use / for division",
    ast.Mod: "'%' is not allowed",
    ast.MatMult: "'@' is not allowed",
    ast.BitAnd: "'&' is not allowed",
    ast.BitOr: "'|' is not allowed",
    ast.LShift: "'<<' is not allowed",
    ast.RShift: "'>>' is not allowed",
}
_ALLOWED = "numbers, x, y, pi, e, + - * / ** and " + ", ".join(FUNCTIONS)


class FormulaError(ValueError):
    """A formula was refused; the message says what is wrong and where."""


def parse_formula(text: str) -> sp.Expr:
    """Parse `text` into a SymPy expression in x and y, or raise `FormulaError`.

    >>> parse_formula("0.1*x**2 + 2*y**2")
    x**2/10 + 2*y**2
    """
    if not isinstance(text, str):
        raise FormulaError("the formula must be text")
    text = text.strip()
    if not text:
        raise FormulaError("the formula is empty — type f(x, y), e.g. x**2 + 3*sin(y)")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
    _check_characters(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise FormulaError(_syntax_message(text, error)) from None
    except (ValueError, RecursionError, MemoryError):
        raise FormulaError("the formula could not be read") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise FormulaError(f"the formula has {nodes} parts; the limit is {MAX_NODES}")
    expression = _Translator().visit(tree.body, depth=0)
    if not isinstance(expression, sp.Expr) or expression.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise FormulaError("the formula divides by zero or is otherwise not finite")
    for part in sp.preorder_traversal(expression):
        if part.is_number and part.is_extended_real is False:
            raise FormulaError(f"the constant {part} is not a real number "
                               "(a root or logarithm of a negative number?)")
    return expression


def _check_characters(text: str) -> None:
    for column, char in enumerate(text, start=1):
        if not char.isascii():
            name = unicodedata.name(char, "unnamed character")
            raise FormulaError(
                f"character {char!r} ({name}, U+{ord(char):04X}) at column {column} is not "
                "allowed — type plain ASCII: x, y, digits and + - * / ( )")
        if char in "'\"\\;:[]{}=<>!?$#`~":
            hint = " — x! (factorial) is not supported" if char == "!" else ""
            raise FormulaError(f"character {char!r} at column {column} is not allowed{hint}")


def _syntax_message(text: str, error: SyntaxError) -> str:
    column = error.offset or 0
    where = f"at column {column}" if column else ""
    for i in range(len(text) - 1):
        if (text[i].isdigit() or text[i] == ")") and (text[i + 1].isalpha() or text[i + 1] == "("):
            return (f"missing operator at column {i + 2} — write multiplication explicitly, "
                    f"e.g. 2*x")
    if text.count("(") != text.count(")"):
        return "unbalanced parentheses"
    return f"syntax error {where}: {error.msg}".strip()


def _where(node: ast.AST) -> str:
    return f"at column {getattr(node, 'col_offset', 0) + 1}"


class _Translator:
    """Translate a checked syntax tree into SymPy, refusing anything off the whitelist."""

    def visit(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise FormulaError(f"the formula is nested too deeply (limit {MAX_DEPTH} levels)")
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise FormulaError(f"{_describe(node)} {_where(node)} is not allowed — use {_ALLOWED}")
        return method(node, depth + 1)

    def visit_Constant(self, node: ast.Constant, depth: int) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FormulaError(f"{value!r} {_where(node)} is not a real number")
        if not math.isfinite(value) or abs(value) > MAX_CONSTANT:
            raise FormulaError(f"the number {_short(value)} {_where(node)} is too large "
                               f"(limit {MAX_CONSTANT:g})")
        # Exact rationals keep 0.1 as 1/10, so minima and derivatives stay exact.
        return sp.Integer(value) if isinstance(value, int) else sp.Rational(repr(value))

    def visit_Name(self, node: ast.Name, depth: int) -> sp.Expr:
        if node.id in NAMES:
            return NAMES[node.id]
        if node.id in FUNCTIONS:
            raise FormulaError(f"'{node.id}' {_where(node)} is a function — call it, "
                               f"e.g. {node.id}(x)")
        raise FormulaError(f"unknown name '{node.id}' {_where(node)} — use x and y "
                           "(and the constants pi, e)")

    def visit_UnaryOp(self, node: ast.UnaryOp, depth: int) -> sp.Expr:
        operand = self.visit(node.operand, depth)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise FormulaError(f"operator {_describe(node)} {_where(node)} is not allowed")

    def visit_BinOp(self, node: ast.BinOp, depth: int) -> sp.Expr:
        operator = type(node.op)
        if operator in _REFUSED_OPERATORS:
            raise FormulaError(f"{_REFUSED_OPERATORS[operator]} ({_where(node)})")
        if isinstance(node.op, ast.Pow):
            self._check_exponent(node)
        left = self.visit(node.left, depth)
        right = self.visit(node.right, depth)
        self._check_folded(node)
        try:
            return _BINARY[operator](left, right)
        except ZeroDivisionError:
            raise FormulaError(f"division by zero {_where(node)}") from None

    def visit_Call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call)):
                column = node.func.end_col_offset + 1
                raise FormulaError(f"missing operator before '(' at column {column} — write "
                                   "multiplication explicitly, e.g. 3*(x + y)")
            raise FormulaError(f"only the functions {', '.join(FUNCTIONS)} can be called "
                               f"({_where(node)})")
        name = node.func.id
        if name not in FUNCTIONS:
            raise FormulaError(f"unknown function '{name}' {_where(node)} — allowed: "
                               f"{', '.join(FUNCTIONS)}")
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise FormulaError(f"{name}() {_where(node)} takes exactly one argument")
        argument = self.visit(node.args[0], depth)
        value = _constant_value(node)
        if value is None:
            return FUNCTIONS[name](argument)
        # A constant call is folded to its float here: SymPy would otherwise evaluate
        # sin(exp(exp(20))) exactly, to whatever precision that takes.
        if math.isnan(value):
            raise FormulaError(f"{ast.unparse(node)[:40]} {_where(node)} is not a real number")
        if not abs(value) <= MAX_FOLDED:
            raise FormulaError(f"the constant {ast.unparse(node)[:40]} {_where(node)} is too large "
                               f"(limit {MAX_FOLDED:g})")
        return sp.Float(value)

    # -- size limits -------------------------------------------------------------
    def _check_exponent(self, node: ast.BinOp) -> None:
        exponent = _constant_value(node.right)
        if exponent is not None and abs(exponent) > MAX_EXPONENT:
            raise FormulaError(f"the exponent {_short(exponent)} {_where(node.right)} is too "
                               f"large (limit {MAX_EXPONENT})")

    def _check_folded(self, node: ast.BinOp) -> None:
        value = _constant_value(node)
        if value is not None and not (abs(value) <= MAX_FOLDED):
            raise FormulaError(f"the constant {ast.unparse(node)[:40]} {_where(node)} is too "
                               f"large (limit {MAX_FOLDED:g})")


def _constant_value(node: ast.AST) -> float | None:
    """The float value of a sub-tree without x or y (None if it has them); inf on overflow."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        return {"pi": math.pi, "e": math.e}.get(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _constant_value(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1:
        argument = _constant_value(node.args[0])
        if argument is None or node.func.id not in _MATH:
            return None
        if not math.isfinite(argument):
            return argument
        try:
            return float(_MATH[node.func.id](argument))
        except OverflowError:
            return math.inf
        except ValueError:  # outside the domain: sqrt(-1), log(0), asin(2)
            return math.nan
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _constant_value(node.left), _constant_value(node.right)
        if left is None or right is None:
            return None
        try:
            value = {ast.Add: lambda: left + right, ast.Sub: lambda: left - right,
                     ast.Mult: lambda: left * right, ast.Div: lambda: left / right,
                     ast.Pow: lambda: _bounded_power(left, right)}[type(node.op)]()
        except (ArithmeticError, ValueError):
            return math.inf
        return value.real if isinstance(value, complex) else value
    return None


_MATH = {"sin": math.sin, "cos": math.cos, "tan": math.tan, "sinh": math.sinh, "cosh": math.cosh,
         "tanh": math.tanh, "asin": math.asin, "acos": math.acos, "atan": math.atan, "exp": math.exp,
         "log": math.log, "sqrt": math.sqrt, "abs": abs}


def _bounded_power(base: float, exponent: float) -> float:
    if abs(exponent) > MAX_EXPONENT or abs(base) > MAX_FOLDED:
        return math.inf
    return base**exponent


def _describe(node: ast.AST) -> str:
    names = {
        "Lambda": "'lambda'", "Attribute": "attribute access", "Subscript": "indexing",
        "Compare": "a comparison", "BoolOp": "'and'/'or'", "IfExp": "'if ... else'",
        "List": "a list", "Tuple": "a tuple", "Dict": "a dict", "Set": "a set",
        "ListComp": "a comprehension", "GeneratorExp": "a generator", "SetComp": "a comprehension",
        "DictComp": "a comprehension", "Starred": "'*'", "NamedExpr": "':='",
        "JoinedStr": "a string", "Await": "'await'", "Yield": "'yield'", "Slice": "a slice",
        "Invert": "'~'", "Not": "'not'",
    }
    kind = type(node).__name__
    if isinstance(node, ast.Attribute):
        return f"attribute access '.{node.attr}'"
    if isinstance(node, ast.UnaryOp):
        return names.get(type(node.op).__name__, type(node.op).__name__)
    return names.get(kind, kind)


def _short(value: float) -> str:
    return f"{value:.6g}"
