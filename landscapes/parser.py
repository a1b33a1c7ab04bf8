"""A whitelist parser for user formulas f(x, y): Python's `ast` in, a SymPy expression out.

Nothing the user types reaches `eval`, `exec`, `sympify` or `parse_expr`. The text is
parsed (never run) by `ast.parse`; every node is checked against a short whitelist and
translated to SymPy objects by hand. Sizes are limited before SymPy sees anything, so
`9**9**9` or `(x+y)**100000` is refused rather than computed.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata

import sympy as sp

from .functions import TYPED
from .symbols import x, y

MAX_LENGTH = 300          # characters
MAX_NODES = 200           # syntax-tree nodes
MAX_DEPTH = 24            # nesting of the syntax tree
MAX_CONSTANT = 1e6        # largest number literal, in magnitude
MAX_EXPONENT = 12         # largest constant exponent, in magnitude
MAX_FOLDED = 1e12         # largest value of a constant sub-expression, in magnitude

NAMES: dict[str, sp.Expr] = {"x": x, "y": y, "pi": sp.pi, "e": sp.E}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
_CALLABLE = {record.name: record for record in TYPED}  # what a formula may call
_CALLABLE_LIST = ", ".join(_CALLABLE)

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_SYMBOLS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.BitXor: "^",
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
    ast.LShift: "<<", ast.RShift: ">>",
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
_ALLOWED = "numbers, x, y, pi, e, + - * / ** and " + _CALLABLE_LIST
_REFUSED_CHARACTERS = "'\"\\;:[]{}=<>!?$#`~"


class FormulaError(ValueError):
    """A formula was refused; the message (plain text) says what is wrong and where."""


def formula_help() -> str:
    """What a formula may contain, as plain text (one topic a line), for the formula input's help.

    >>> print(formula_help().splitlines()[0])
    Type f(x, y) with x, y, numbers and the constants pi and e, in at most 300 characters.
    """
    functions = "\n".join(f"  {record.name}(u): {record.meaning}" for record in TYPED)
    return (
        f"Type f(x, y) with x, y, numbers and the constants pi and e, in at most {MAX_LENGTH} characters.\n"
        "Operators: + - * / and ** for powers (x**2; ^ is not a power), a leading minus (-x), "
        "parentheses. Write every product with * (2*x, not 2x).\n"
        f"Numbers: 3, 0.5, 1e-3, at most {MAX_CONSTANT:,.0f} in size; a constant exponent is at most "
        f"{MAX_EXPONENT} in size.\n"
        f"Functions (one argument each):\n{functions}\n"
        "Example: x**2 + 3*sin(y)"
    )


def parse_formula(text: str) -> sp.Expr:
    """Parse `text` into a SymPy expression in x and y, or raise `FormulaError`.

    Columns in messages count from 1 in `text` as given (leading spaces included).

    >>> parse_formula("0.1*x**2 + 2*y**2")
    x**2/10 + 2*y**2
    """
    if not isinstance(text, str):
        raise FormulaError("the formula must be text")
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    if not text:
        raise FormulaError("the formula is empty — type f(x, y), e.g. x**2 + 3*sin(y)")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"the formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
    source = _Source(text, lead)
    _check_characters(source)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise FormulaError(_syntax_message(source, error)) from None
    except (ValueError, RecursionError, MemoryError):
        raise FormulaError("the formula could not be read") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise FormulaError(f"the formula has {nodes} parts; the limit is {MAX_NODES}")
    expression = _Translator(source).visit(tree.body, depth=0)
    if not isinstance(expression, sp.Expr) or expression.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise FormulaError("the formula divides by zero or is otherwise not finite")
    for part in sp.preorder_traversal(expression):
        if part.is_number and part.is_extended_real is False:
            raise FormulaError(f"the constant {part} is not a real number "
                               "(a root or logarithm of a negative number?)")
    return expression


class _Source:
    """The stripped formula text, and the column (from 1, in the text as typed) of a position in it."""

    def __init__(self, text: str, lead: int) -> None:
        self.text = text
        self.lead = lead
        self.line_starts = [0] + [match.end() for match in re.finditer(r"\r\n|\r|\n", text)]

    def index(self, lineno: int, col_offset: int) -> int:
        """Index in the stripped text of an ast position (lines from 1; ASCII, so bytes are characters)."""
        return self.line_starts[lineno - 1] + col_offset

    def column(self, index: int) -> int:
        return self.lead + index + 1

    def start(self, node: ast.AST) -> int:
        return self.index(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> int:
        return self.index(node.end_lineno, node.end_col_offset)

    def find(self, token: str, begin: int, end: int | None = None) -> int:
        """Index of `token` in text[begin:end] (only spaces and parentheses lie between operands)."""
        found = self.text.find(token, begin, len(self.text) if end is None else end)
        return begin if found < 0 else found

    def between(self, token: str, left: ast.AST, right: ast.AST) -> int:
        return self.find(token, self.end(left), self.start(right))


def _check_characters(source: _Source) -> None:
    for index, char in enumerate(source.text):
        column = source.column(index)
        if not char.isascii():
            name = unicodedata.name(char, "unnamed character")
            raise FormulaError(
                f"character {char!r} ({name}, U+{ord(char):04X}) at column {column} is not "
                "allowed — type plain ASCII: x, y, digits and + - * / ( )")
        if char in _REFUSED_CHARACTERS or not (char.isprintable() or char in " \t\r\n"):
            hint = " — x! (factorial) is not supported" if char == "!" else ""
            raise FormulaError(f"character {char!r} at column {column} is not allowed{hint}")


_ENDS_OPERAND = r"[\w.)]\s*$"   # text before a position ends a number, name or ')'
_STARTS_OPERAND = r"[\w.(]"     # text at a position starts a number, name or '('


def _syntax_message(source: _Source, error: SyntaxError) -> str:
    text = source.text
    lineno = error.lineno or 1
    index = source.index(min(lineno, len(source.line_starts)), max((error.offset or 1) - 1, 0))
    index = min(index, len(text))
    message = error.msg or "invalid syntax"
    if message.startswith("invalid") and message.endswith("literal"):
        # "2x": Python points at the number's last character; the operator is missing after it.
        return (f"missing operator at column {source.column(index + 1)} — write multiplication "
                "explicitly, e.g. 2*x")
    if "was never closed" in message:
        return f"unbalanced parentheses: the '(' at column {source.column(index)} is never closed"
    if message.startswith("unmatched"):
        return f"unbalanced parentheses: the ')' at column {source.column(index)} has no matching '('"
    if (error.offset or 0) <= 0 or index >= len(text):
        return (f"the formula ends too early — something is missing after column "
                f"{source.column(len(text) - 1)}")
    if re.search(_ENDS_OPERAND, text[:index]) and re.match(_STARTS_OPERAND, text[index:]):
        return (f"missing operator at column {source.column(index)} — write multiplication "
                "explicitly, e.g. 2*x")
    return f"syntax error at column {source.column(index)}: {message}"


class _Translator:
    """Translate a checked syntax tree into SymPy, refusing anything off the whitelist."""

    def __init__(self, source: _Source) -> None:
        self.source = source

    def where(self, node: ast.AST) -> str:
        return f"at column {self.source.column(self._position(node))}"

    def _position(self, node: ast.AST) -> int:
        """Where the problem with `node` is: its operator or keyword if it has one, else its start."""
        source = self.source
        if isinstance(node, ast.BinOp):
            return source.between(_SYMBOLS[type(node.op)], node.left, node.right)
        if isinstance(node, ast.Attribute):
            return source.find(".", source.end(node.value))
        if isinstance(node, ast.BoolOp):
            return source.between("and" if isinstance(node.op, ast.And) else "or", node.values[0], node.values[1])
        if isinstance(node, ast.IfExp):
            return source.between("if", node.body, node.test)
        if isinstance(node, ast.Compare):
            return source.between(_KEYWORDS.get(type(node.ops[0]), ""), node.left, node.comparators[0])
        if isinstance(node, ast.Tuple) and node.elts:
            return source.find(",", source.end(node.elts[0]))
        return source.start(node)

    def visit(self, node: ast.AST, depth: int) -> sp.Expr:
        if depth > MAX_DEPTH:
            raise FormulaError(f"the formula is nested too deeply (limit {MAX_DEPTH} levels)")
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise FormulaError(f"{_describe(node)} {self.where(node)} is not allowed — use {_ALLOWED}")
        return method(node, depth + 1)

    def visit_Constant(self, node: ast.Constant, depth: int) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FormulaError(f"{value!r} {self.where(node)} is not a real number")
        if not math.isfinite(value) or abs(value) > MAX_CONSTANT:
            raise FormulaError(f"the number {_short(value)} {self.where(node)} is too large "
                               f"(limit {MAX_CONSTANT:g})")
        # Exact rationals keep 0.1 as 1/10, so minima and derivatives stay exact.
        return sp.Integer(value) if isinstance(value, int) else sp.Rational(repr(value))

    def visit_Name(self, node: ast.Name, depth: int) -> sp.Expr:
        if node.id in NAMES:
            return NAMES[node.id]
        if node.id in _CALLABLE:
            raise FormulaError(f"'{node.id}' {self.where(node)} is a function — call it, "
                               f"e.g. {node.id}(x)")
        raise FormulaError(f"unknown name '{node.id}' {self.where(node)} — use x and y "
                           "(and the constants pi, e)")

    def visit_UnaryOp(self, node: ast.UnaryOp, depth: int) -> sp.Expr:
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.visit(node.operand, depth)
            return -operand if isinstance(node.op, ast.USub) else operand
        raise FormulaError(f"operator {_describe(node)} {self.where(node)} is not allowed")

    def visit_BinOp(self, node: ast.BinOp, depth: int) -> sp.Expr:
        operator = type(node.op)
        if operator in _REFUSED_OPERATORS:
            raise FormulaError(f"{_REFUSED_OPERATORS[operator]} ({self.where(node)})")
        if isinstance(node.op, ast.Pow):
            self._check_exponent(node)
        left = self.visit(node.left, depth)
        right = self.visit(node.right, depth)
        if operator is ast.Div and right == 0:
            raise FormulaError(f"division by zero {self.where(node)}")
        self._check_folded(node)
        result = _BINARY[operator](left, right)
        if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise FormulaError(f"{ast.unparse(node)[:40]} {self.where(node)} is not finite "
                               "(zero to a negative power?)")
        return result

    def visit_Call(self, node: ast.Call, depth: int) -> sp.Expr:
        source = self.source
        if not isinstance(node.func, ast.Name) or node.func.id in NAMES:
            if isinstance(node.func, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name)):
                column = source.column(source.find("(", source.end(node.func)))
                raise FormulaError(f"missing operator before '(' at column {column} — write "
                                   "multiplication explicitly, e.g. 3*(x + y)")
            raise FormulaError(f"{_describe(node.func)} {self.where(node.func)} is not allowed — only "
                               f"the functions {_CALLABLE_LIST} can be called")
        name = node.func.id
        if name not in _CALLABLE:
            raise FormulaError(f"unknown function '{name}' {self.where(node)} — allowed: {_CALLABLE_LIST}")
        starred = [a for a in node.args if isinstance(a, ast.Starred)]
        if starred:
            raise FormulaError(f"'*' unpacking {self.where(starred[0])} is not allowed")
        if node.keywords or len(node.args) != 1:
            raise FormulaError(f"{name}() {self.where(node)} takes exactly one argument")
        argument = self.visit(node.args[0], depth)
        value = _constant_value(node)
        if value is None:
            result = _CALLABLE[name].sympy(argument)
            if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                raise FormulaError(f"{ast.unparse(node)[:40]} {self.where(node)} is not finite")
            return result
        # A constant call is folded to its float here: SymPy would otherwise evaluate
        # sin(exp(exp(20))) exactly, to whatever precision that takes.
        if math.isnan(value):
            raise FormulaError(f"{ast.unparse(node)[:40]} {self.where(node)} is not a real number")
        if not abs(value) <= MAX_FOLDED:
            raise FormulaError(f"the constant {ast.unparse(node)[:40]} {self.where(node)} is too large "
                               f"(limit {MAX_FOLDED:g})")
        return sp.Float(value)

    # -- size limits -------------------------------------------------------------
    def _check_exponent(self, node: ast.BinOp) -> None:
        exponent = _constant_value(node.right)
        if exponent is not None and abs(exponent) > MAX_EXPONENT:
            column = self.source.column(self.source.start(node.right))
            raise FormulaError(f"the exponent {_short(exponent)} at column {column} is too "
                               f"large (limit {MAX_EXPONENT})")

    def _check_folded(self, node: ast.BinOp) -> None:
        value = _constant_value(node)
        if value is not None and math.isinf(value) and isinstance(node.op, ast.Pow) \
                and _constant_value(node.left) == 0:
            raise FormulaError(f"zero to a negative power {self.where(node)} divides by zero")
        if value is not None and math.isnan(value):
            raise FormulaError(f"the constant {ast.unparse(node)[:40]} {self.where(node)} is not a real "
                               "number (a fractional power of a negative number?)")
        if value is not None and not (abs(value) <= MAX_FOLDED):
            raise FormulaError(f"the constant {ast.unparse(node)[:40]} {self.where(node)} is too "
                               f"large (limit {MAX_FOLDED:g})")


_KEYWORDS = {ast.In: "in", ast.NotIn: "not", ast.Is: "is", ast.IsNot: "is"}


def _constant_value(node: ast.AST) -> float | None:
    """The float value of a sub-tree without x or y (None if it has them); inf on overflow,
    NaN where it is not a real number."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        return CONSTANTS.get(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _constant_value(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1:
        argument = _constant_value(node.args[0])
        if argument is None or node.func.id not in _CALLABLE:
            return None
        if not math.isfinite(argument):
            return argument
        try:
            return float(_CALLABLE[node.func.id].math(argument))
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
        # A negative number to a fractional power is complex in Python: not a real constant.
        return math.nan if isinstance(value, complex) else value
    return None


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
        "DictComp": "a comprehension", "Starred": "'*' unpacking", "NamedExpr": "':='",
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
