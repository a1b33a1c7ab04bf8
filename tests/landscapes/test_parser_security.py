"""User formulas: hostile or broken text is refused quickly with a clear message; nothing runs."""

from __future__ import annotations

import ast
import math
import multiprocessing
import os
import string
import sys
import time
import types
import uuid
from pathlib import Path
from unittest import mock

import landscape_child_stubs
import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import landscapes.custom
import landscapes.parser
from landscapes import DerivationTimeout, FormulaError, from_expression, parse_formula, x, y
from landscapes.custom import derive_with_time_limit
from landscapes.parser import MAX_EXPONENT, MAX_LENGTH

REFUSAL_SECONDS = 2.0

HOSTILE = {
    # code injection
    "dunder subclasses": "().__class__.__bases__[0].__subclasses__()",
    "dunder subclasses without brackets": "().__class__.__base__.__subclasses__()",
    "dunder class": "x.__class__",
    "lambda globals": "(lambda: 0).__globals__",
    "lambda": "lambda x: x",
    "import os system": "__import__('os').system('echo hacked')",
    "import without quotes": "__import__(os)",
    "open passwd": "open('/etc/passwd')",
    "eval": "eval('1')",
    "exec": "exec('x = 1')",
    "getattr": "getattr(x, 'y')",
    "globals": "globals()",
    "print": "print(1)",
    "builtins name": "__builtins__",
    "attribute on a number": "(1).real",
    "sympy escape hatch": "Symbol(x).__class__",
    # huge numbers
    "9**9**9": "9**9**9",
    "(x+y)**100000": "(x+y)**100000",
    "2**1000": "2**1000",
    "x**(10**10)": "x**(10**10)",
    "10**10**10": "10**10**10",
    "negative huge exponent": "x**-1000",
    "float exponent": "exp(x)**1e3",
    "folded constant": "999999**12",
    "folded product": "(999999*999999)**12",
    "big literal": "1e7*x",
    "1e400": "1e400",
    "long integer": "1" * 200 + "*x",
    # factorials
    "x!": "x!",
    "factorial": "factorial(x)",
    # deep nesting, size
    "500 parentheses": "(" * 500 + "x" + ")" * 500,
    "60 nested sin": "sin(" * 60 + "x" + ")" * 60,
    "40 nested sin": "sin(" * 40 + "x" + ")" * 40,
    "250 unary minus": "-" * 250 + "x",
    "sum of 300 terms": "+".join(["x"] * 300),
    "140 short terms": "1+" * 140 + "1",
    "10000 characters": ("x+" * 5000)[:10000],
    # unicode look-alikes
    "cyrillic x": "\u0445**2 + y",
    "fullwidth x": "\uff58**2 + y",
    "greek omicron": "\u03bf + x",
    "nbsp inside": "x\u00a0+ y",
    "zero-width space": "x\u200b+ y",
    "right-to-left override": "x + \u202ey",
    # empty
    "empty": "",
    "whitespace": "  \t\n  ",
    # common mistakes and other syntax
    "caret power": "x^2",
    "unknown name z": "z + 1",
    "implicit product": "2x",
    "string": "'abc'",
    "bytes literal": "b'x'",
    "f-string": "f'{x}'",
    "list": "[x, y]",
    "dict": "{1: x}",
    "set": "{x, y}",
    "tuple": "x, y",
    "comprehension": "[x for x in y]",
    "generator into a call": "sum(x for x in (1, 2))",
    "walrus": "(a := 1)",
    "conditional": "x if y else 1",
    "comparison": "x < y",
    "chained comparison": "0 < x < 1",
    "boolean": "x and y",
    "not": "not x",
    "invert": "~x",
    "matmul": "x @ y",
    "floor division": "x // 2",
    "modulo": "x % 2",
    "shift": "x << 2",
    "bitwise or": "x | y",
    "keyword argument": "sin(x=1)",
    "starred argument": "sin(*x)",
    "two arguments": "sin(x, y)",
    "no argument": "sin()",
    "bare function name": "sin",
    "calling a variable": "x(y)",
    "complex literal": "1j*x",
    "boolean literal": "True + x",
    "none": "None",
    "ellipsis": "...",
    "division by zero": "x/0",
    "cancelling denominator": "1/(x - x)",
    "log of zero": "log(0)*x",
    "tan at a pole": "tan(pi/2) + x",
    "zero to a negative power": "0**-1 + x",
    "imaginary square root": "sqrt(-1)*x",
    "logarithm of a negative number": "log(-2) + x",
    "arc cosine out of range": "acos(2)*x",
    "cube root of a negative constant": "(-8)**(1/3)*x",
    "semicolon": "x; y",
    "two statements on two lines": "x\ny",
    "assignment": "x = 1",
    "backslash": "x \\ y",
    "comment": "x # y",
    "unbalanced": "(x + y",
    "dangling operator": "x +",
}


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_hostile_or_broken_input_is_refused_with_a_formula_error_quickly(text):
    started = time.perf_counter()
    with pytest.raises(FormulaError) as refusal:
        parse_formula(text)
    assert time.perf_counter() - started < REFUSAL_SECONDS
    assert isinstance(refusal.value, ValueError)
    assert str(refusal.value).strip()


def test_there_are_at_least_forty_hostile_inputs():
    assert len(set(HOSTILE.values())) >= 40


def test_formula_errors_are_value_errors_and_timeouts_are_formula_errors():
    assert issubclass(FormulaError, ValueError)
    assert issubclass(DerivationTimeout, FormulaError)


@pytest.mark.parametrize("value", [None, 3, 2.5, b"x", ["x"]], ids=["None", "int", "float", "bytes", "list"])
def test_input_that_is_not_text_is_refused(value):
    with pytest.raises(FormulaError):
        parse_formula(value)


def test_refused_formulas_have_no_side_effects(tmp_path):
    canary_file = tmp_path / f"CANARY_{uuid.uuid4().hex}"
    canary_variable = f"DESCENT_LAB_CANARY_{uuid.uuid4().hex}"
    attempts = [
        f"__import__('os').system('touch {canary_file}')",
        f"__import__(\"os\").system(\"touch {canary_file}\")",
        f"open('{canary_file}', 'w')",
        f"open('{canary_file}', 'w').write('x')",
        f"__import__('pathlib').Path('{canary_file}').touch()",
        f"(lambda: __import__('os').system('touch {canary_file}'))()",
        f"eval(\"__import__('os').system('touch {canary_file}')\")",
        f"exec(\"open('{canary_file}', 'w')\")",
        f"__import__('os').environ.__setitem__('{canary_variable}', '1')",
        f"__import__('os').putenv('{canary_variable}', '1')",
        f"[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen'][0]"
        f"(['touch', '{canary_file}'])",
    ]
    for text in attempts:
        for entry_point in (parse_formula, from_expression):
            with pytest.raises(FormulaError):
                entry_point(text)
    assert not canary_file.exists()
    assert canary_variable not in os.environ
    assert os.getenv(canary_variable) is None
    assert list(Path(tmp_path).iterdir()) == []


# -- messages that point at the problem --------------------------------------------------------
@pytest.mark.parametrize(("text", "fragments"), [
    ("z+1", ["'z'", "use x and y"]),
    ("x + y + z", ["'z'", "column 9"]),
    ("x^2", ["**"]),
    ("2x", ["missing operator", "*"]),
    ("3(x + y)", ["missing operator", "*"]),
    ("(x + 1)(y - 1)", ["missing operator", "*"]),
    ("\u0445**2", ["U+0445"]),
    ("x + \uff58", ["U+FF58", "column 5"]),
    ("x\u00a0+ y", ["U+00A0"]),
    ("x**100", ["exponent", "limit", str(MAX_EXPONENT)]),
    ("x**(10**10)", ["exponent", "limit", str(MAX_EXPONENT)]),
    ("x" * (MAX_LENGTH + 1), [str(MAX_LENGTH)]),
    ("x!", ["factorial"]),
    ("foo(x)", ["'foo'", "sin"]),
    ("sin(x, y)", ["one argument"]),
    ("sin", ["call it"]),
    ("x // 2", ["//"]),
    ("", ["empty"]),
    ("log(-2) + x", ["not a real number"]),
    ("x.__class__", ["__class__"]),
], ids=lambda value: value if isinstance(value, str) and len(value) < 20 else None)
def test_refusal_message_points_at_the_problem(text, fragments):
    with pytest.raises(FormulaError) as refusal:
        parse_formula(text)
    for fragment in fragments:
        assert fragment in str(refusal.value)


@pytest.mark.parametrize(("text", "column", "found_there"), [
    ("x + y^2", 6, "^"),
    ("(x + y)^2", 8, "^"),
    ("  x^2", 4, "^"),
    ("x - (-y) ^ 2", 10, "^"),
    ("x // 2", 3, "//"),
    ("x % 2 + y", 3, "%"),
    ("x/0", 2, "/"),
    ("x + y + z", 9, "z"),
    ("x.__class__", 2, ".__class__"),
    ("(1).real", 4, ".real"),
    ("x and y", 3, "and"),
    ("x if y else 1", 3, "if"),
    ("x, y", 2, ","),
    ("not x", 1, "not"),
    ("2x", 2, "x"),
    ("1e5x", 4, "x"),
    ("2 x", 3, "x"),
    ("(x+1)y", 6, "y"),
    ("3(x + y)", 2, "("),
    ("(x + 1)(y - 1)", 8, "("),
    ("x(y)", 2, "("),
    ("x + (y", 5, "("),
    ("x)", 2, ")"),
    ("x + \uff58", 5, "\uff58"),
    ("  \u0445", 3, "\u0445"),
    ("x**(10**10)", 5, "10**10"),
    ("1e7*x", 1, "1e7"),
    ("sin(*x)", 5, "*x"),
    ("foo(x)", 1, "foo"),
    ("0**-1 + x", 2, "**"),
])
def test_refusal_message_gives_the_column_of_the_problem(text, column, found_there):
    with pytest.raises(FormulaError) as refusal:
        parse_formula(text)
    assert f"column {column}" in str(refusal.value)
    assert text[column - 1:].startswith(found_there)


@pytest.mark.parametrize("text", ["1e5 +", "x +", "x**"])
def test_a_formula_that_stops_too_early_is_not_called_a_missing_operator(text):
    with pytest.raises(FormulaError, match="ends too early") as refusal:
        parse_formula(text)
    assert "missing operator" not in str(refusal.value)


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_refusal_messages_are_plain_text_without_markdown_escapes(text):
    with pytest.raises(FormulaError) as refusal:
        parse_formula(text)
    message = str(refusal.value)
    assert "`" not in message and "\\_" not in message and "\\*" not in message


def test_attribute_access_reads_as_the_attribute_typed():
    with pytest.raises(FormulaError, match=r"attribute access '\.__class__' at column 2"):
        parse_formula("x.__class__")


# -- good formulas --------------------------------------------------------------------------------
ACCEPTED = [
    ("0.1*x**2 + 2*y**2", lambda x, y: 0.1 * x**2 + 2 * y**2),
    ("x**2 + 3*sin(y)", lambda x, y: x**2 + 3 * np.sin(y)),
    ("sqrt(x**2+y**2+1)", lambda x, y: np.sqrt(x**2 + y**2 + 1)),
    ("exp(-x**2-y**2)", lambda x, y: np.exp(-(x**2) - y**2)),
    ("abs(x) + abs(y)", lambda x, y: np.abs(x) + np.abs(y)),
    ("tanh(x)*y", lambda x, y: np.tanh(x) * y),
    ("-x", lambda x, y: -x),
    ("pi*x + e*y", lambda x, y: np.pi * x + np.e * y),
    ("(x-1)**2 + (y+2)**2", lambda x, y: (x - 1) ** 2 + (y + 2) ** 2),
    ("log(1 + x**2 + y**2)", lambda x, y: np.log(1 + x**2 + y**2)),
    ("x / (1 + y**2)", lambda x, y: x / (1 + y**2)),
    ("cos(x)*cosh(y/3) - atan(x*y)", lambda x, y: np.cos(x) * np.cosh(y / 3) - np.arctan(x * y)),
    ("-x**2", lambda x, y: -(x**2)),
    ("2**-x + x**-2", lambda x, y: 2.0 ** (-x) + x**-2.0),
    ("asin(x/3) + acos(y/3) + tan(x/3)", lambda x, y: np.arcsin(x / 3) + np.arccos(y / 3) + np.tan(x / 3)),
    ("  sinh(x) - y  ", lambda x, y: np.sinh(x) - y),
    ("1e-3*x + 1E2*y + .5", lambda x, y: 1e-3 * x + 1e2 * y + 0.5),
]


@pytest.mark.parametrize(("text", "numpy_function"), ACCEPTED, ids=[a[0].strip() for a in ACCEPTED])
def test_good_formulas_give_the_same_numbers_as_handwritten_numpy(text, numpy_function):
    expression = parse_formula(text)
    assert isinstance(expression, sp.Expr)
    assert expression.free_symbols <= {x, y}
    rng = np.random.default_rng(7)
    px, py = rng.uniform(-2.5, 2.5, 40), rng.uniform(-2.5, 2.5, 40)
    parsed = np.broadcast_to(sp.lambdify((x, y), expression, "numpy")(px, py), px.shape)
    assert np.allclose(parsed, numpy_function(px, py), rtol=1e-12, atol=1e-14)


def test_decimals_become_exact_rationals():
    assert parse_formula("0.1*x**2 + 2*y**2") == sp.Rational(1, 10) * x**2 + 2 * y**2
    assert parse_formula("0.1*x**2 + 2*y**2").atoms(sp.Float) == set()


def test_precedence_follows_python():
    assert parse_formula("-x**2") == -(x**2)
    assert parse_formula("2**3**2 * x") == 512 * x
    assert parse_formula("x - y - 1") == x - y - 1
    assert parse_formula("x / y / 2") == x / (2 * y)


# -- derivation under a time limit ------------------------------------------------------------------
SLOW_ENOUGH = "exp(sin(x*y))**3 * atan(x**2 + y)/(1 + cosh(x - y)**2) + sqrt(x**2 + y**2 + 1)*log(1 + x**2)"


@pytest.fixture(scope="module")
def running_forkserver():
    """The first derivation also starts the forkserver (about a second): not what these tests time."""
    derive_with_time_limit(x**2)


def test_derivation_time_limit_stops_the_child_and_the_next_derivation_works(running_forkserver):
    started = time.perf_counter()
    with pytest.raises(DerivationTimeout) as refusal:
        from_expression(SLOW_ENOUGH, time_limit=1e-4)
    assert time.perf_counter() - started < REFUSAL_SECONDS
    assert isinstance(refusal.value, FormulaError)
    assert "simplify" in str(refusal.value)
    assert multiprocessing.active_children() == []

    landscape = from_expression(SLOW_ENOUGH)
    assert landscape.expression == parse_formula(SLOW_ENOUGH)
    h = 1e-6
    gx, _ = landscape.scalar_gradient(0.3, -0.4)
    numeric = (landscape.scalar_loss(0.3 + h, -0.4) - landscape.scalar_loss(0.3 - h, -0.4)) / (2 * h)
    assert math.isclose(gx, numeric, rel_tol=1e-6)


def test_a_derivation_that_never_finishes_is_killed_at_the_time_limit(running_forkserver):
    started = time.perf_counter()
    with pytest.raises(DerivationTimeout):
        derive_with_time_limit(x**2 + y**2, time_limit=0.2, derivation=landscape_child_stubs.derive_forever)
    assert time.perf_counter() - started < REFUSAL_SECONDS
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("derivation", [landscape_child_stubs.die_without_answering, landscape_child_stubs.fail],
                         ids=["child dies", "child raises"])
def test_a_derivation_that_fails_in_the_child_is_a_formula_error(running_forkserver, derivation):
    started = time.perf_counter()
    with pytest.raises(FormulaError, match="differentiat") as refusal:
        derive_with_time_limit(x**2 + y**2, time_limit=5.0, derivation=derivation)
    assert not isinstance(refusal.value, DerivationTimeout)
    assert time.perf_counter() - started < REFUSAL_SECONDS
    assert multiprocessing.active_children() == []


def test_the_derivation_child_comes_from_a_forkserver_not_from_the_threaded_caller(running_forkserver):
    (parent,) = derive_with_time_limit(x, derivation=landscape_child_stubs.parent_process_id)
    assert int(parent) != os.getpid()
    assert landscapes.custom._context.get_start_method() == "forkserver"


def test_the_child_does_not_run_the_callers_main_script_as_streamlit_installs_it(tmp_path, monkeypatch):
    # Streamlit runs a page as a module named __main__ whose __file__ is the page; multiprocessing
    # would have every spawned or forkserver child run that page again.
    marker = tmp_path / "page ran"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(marker)!r}, 'w').close()\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    landscape = from_expression("x**2 + y")
    assert landscape.scalar_gradient(1.0, 0.0) == (2.0, 1.0)
    assert not marker.exists()


# -- nothing reaches eval, exec, sympify or parse_expr ---------------------------------------------
GOOD = ["0.1*x**2 + 2*y**2", "x**2 + 3*sin(y)", "sqrt(x**2+y**2+1)", "exp(-x**2-y**2)", "abs(x) + abs(y)",
        "pi*x + e*y", "(x-1)**2 + (y+2)**2", "log(1 + x**2 + y**2)", "2**-x", "x/(1 + y**2)"]


def test_parse_formula_never_calls_eval_exec_sympify_or_parse_expr():
    forbidden = AssertionError("parse_formula must not evaluate text")
    with mock.patch("builtins.eval", side_effect=forbidden) as eval_, \
            mock.patch("builtins.exec", side_effect=forbidden) as exec_, \
            mock.patch("sympy.sympify", side_effect=forbidden) as sympify, \
            mock.patch("sympy.parsing.sympy_parser.parse_expr", side_effect=forbidden) as parse_expr:
        parsed = [parse_formula(text) for text in GOOD]
        for text in ("__import__('os')", "x^2", "z + 1"):
            with pytest.raises(FormulaError):
                parse_formula(text)
    assert all(isinstance(expression, sp.Expr) for expression in parsed)
    for patched in (eval_, exec_, sympify, parse_expr):
        assert patched.call_count == 0


def test_parser_module_never_names_eval_exec_sympify_or_parse_expr():
    tree = ast.parse(Path(landscapes.parser.__file__).read_text())
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not names & {"eval", "exec", "compile", "sympify", "parse_expr", "S", "__import__"}


# -- constants whose value needs enormous precision ----------------------------------------------------
def _parse_in_child(text: str, limit: float) -> tuple[str, float]:
    """parse_formula(text) in a forked child: ("accepted"|"refused"|"raised ..."|"timeout", seconds)."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)

    def parse(connection) -> None:
        try:
            parse_formula(text)
            connection.send("accepted")
        except FormulaError:
            connection.send("refused")
        except BaseException as error:  # reported to the test
            connection.send(f"raised {type(error).__name__}")

    child = context.Process(target=parse, args=(sender,), daemon=True)
    started = time.perf_counter()
    child.start()
    sender.close()
    try:
        outcome = receiver.recv() if receiver.poll(limit) else "timeout"
    finally:
        elapsed = time.perf_counter() - started
        receiver.close()
        child.kill()
        child.join(5)
    return outcome, elapsed


@pytest.mark.parametrize("text", [
    "sqrt(sin(exp(exp(20))))",
    "log(sin(exp(1e6)))",
    "log(sin(exp(exp(exp(12)))))",
    "asin(exp(exp(exp(12))))",
])
def test_constants_that_need_huge_precision_get_an_answer_quickly(text):
    outcome, elapsed = _parse_in_child(text, REFUSAL_SECONDS)
    assert outcome in ("accepted", "refused")
    assert elapsed < REFUSAL_SECONDS


@pytest.mark.parametrize("text", [
    "(" * 9 + "abs(2)" + "**12)" * 9 + "*x",
    "(" * 9 + "sqrt(4)" + "**12)" * 9 + "*x",
])
def test_powers_of_constant_calls_are_limited_like_other_constants(text):
    outcome, elapsed = _parse_in_child(text, REFUSAL_SECONDS)
    assert outcome in ("accepted", "refused")
    assert elapsed < REFUSAL_SECONDS


def test_parse_in_child_reports_a_quick_answer():
    assert _parse_in_child("x**2 + y", REFUSAL_SECONDS)[0] == "accepted"
    assert _parse_in_child("x^2", REFUSAL_SECONDS)[0] == "refused"


# -- properties -------------------------------------------------------------------------------------
UNICODE_SAMPLE = "хｘοΑ\u00a0\u200b\u202e√²πλ∑∫→€ß漢😀\u0000\ufeff"
ANY_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(string.printable), st.sampled_from(UNICODE_SAMPLE), st.characters()),
    max_size=200)
FORMULA_PIECES = st.lists(st.sampled_from(
    ["x", "y", "pi", "e", "1", "2", "0.5", "12", "1e6", "+", "-", "*", "/", "**", "(", ")", " ",
     "sin(", "cos(", "sqrt(", "log(", "abs(", "tanh(", "atan(", "x**2", ",", ".", "__class__", "^"]),
    max_size=40).map("".join)


@settings(max_examples=400, deadline=2000, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(ANY_TEXT, FORMULA_PIECES))
def test_any_text_gives_an_expression_in_x_and_y_or_a_formula_error(text):
    try:
        expression = parse_formula(text)
    except FormulaError as refusal:
        assert str(refusal)
        return
    assert isinstance(expression, sp.Expr)
    assert expression.free_symbols <= {x, y}
    assert not expression.has(sp.zoo, sp.nan, sp.oo, -sp.oo)


def _leaf() -> st.SearchStrategy:
    names = st.sampled_from([("x", lambda a, b: a), ("y", lambda a, b: b), ("pi", lambda a, b: np.float64(math.pi)),
                             ("e", lambda a, b: np.float64(math.e))])
    numbers = st.sampled_from(["2", "3", "0.5", "1.25", "7"]).map(
        lambda t: (t, lambda a, b, v=float(t): np.float64(v)))
    return st.one_of(names, numbers)


# The text's own meaning, evaluated in its own order with IEEE semantics (NaN or inf, never an
# exception), on NumPy float64 scalars.
_OPERATORS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power}
# Well-conditioned functions only: composing exp or tan amplifies the one-ulp differences
# between SymPy's rewritten expression and the text's own evaluation order.
_FUNCTIONS = {"sin": np.sin, "cos": np.cos, "tanh": np.tanh, "atan": np.arctan, "sqrt": np.sqrt,
              "log": np.log, "abs": np.abs}


def _combine(children: st.SearchStrategy) -> st.SearchStrategy:
    def binary(left, operator, right):
        (lt, lf), (rt, rf) = left, right
        operation = _OPERATORS[operator]
        return f"({lt}) {operator} ({rt})", lambda a, b: operation(lf(a, b), rf(a, b))

    def call(name, argument):
        text, function = argument
        return f"{name}({text})", lambda a, b: _FUNCTIONS[name](function(a, b))

    def negate(operand):
        text, function = operand
        return f"-({text})", lambda a, b: -function(a, b)

    return st.one_of(
        st.builds(binary, children, st.sampled_from(list(_OPERATORS)), children),
        st.builds(call, st.sampled_from(list(_FUNCTIONS)), children),
        st.builds(negate, children),
    )


FORMULAS = st.recursive(_leaf(), _combine, max_leaves=8)
POINTS = st.integers(-20, 20).map(lambda k: k / 10 + 0.037)


# Why a formula drawn from FORMULAS may be refused: its constants exceed a limit or are not real.
EXPECTED_REFUSALS = ("too large", "not a real number", "division by zero", "not finite", "divides by zero")


@settings(max_examples=300, deadline=2000, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(FORMULAS, POINTS, POINTS)
def test_accepted_formulas_compute_what_the_text_says(formula, px, py):
    text, reference = formula
    try:
        expression = parse_formula(text)
    except FormulaError as refusal:
        # Formulas of this grammar are refused only for their constants.
        assert any(reason in str(refusal) for reason in EXPECTED_REFUSALS), str(refusal)
        return
    assert expression.free_symbols <= {x, y}
    with np.errstate(all="ignore"):
        expected = float(reference(np.float64(px), np.float64(py)))
        actual = float(np.asarray(sp.lambdify((x, y), expression, "numpy")(np.float64(px), np.float64(py))))
    if math.isfinite(expected):
        # Wherever the text has a value, the parsed formula has the same one.
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9), (expected, actual)
    else:
        # Where the text is undefined (NaN) or infinite, the parsed formula gives NaN or inf too,
        # or a value where SymPy's exact arithmetic cancelled the undefined part (log(x) - log(x) is 0).
        assert math.isnan(actual) or math.isinf(actual) or _cancels(expression, text)


def _cancels(expression: sp.Expr, text: str) -> bool:
    """SymPy wrote the formula with fewer operations than the text has: something cancelled."""
    typed = sum(isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call)) for node in ast.walk(ast.parse(text, mode="eval")))
    return sp.count_ops(expression) < typed
