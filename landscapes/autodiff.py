"""Value and gradient of a SymPy expression, evaluated in the order PyTorch's autograd uses.

The gradient is exact (reverse-mode differentiation of the expression tree, checked
against SymPy's symbolic gradient in the tests). Why not evaluate SymPy's simplified
derivative? It is the same function but rounds differently: SymPy rewrites
200·(y − x²) as 200y − 200x², and on some landscapes (RMSProp on Rosenbrock) a one-ulp
difference in the gradient grows into a visible one within 300 steps. Following torch's
backward formulas node by node reproduces torch.optim trajectories bit for bit.

The tree is turned into straight-line Python source, compiled once (as `sympy.lambdify`
does); the source comes from a SymPy tree built by the whitelist parser or the catalog,
never from user text, and names only x, y, float literals and the functions below.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import sympy as sp

from .functions import BY_SYMPY_CLASS, FUNCTIONS
from .symbols import x, y


class UndifferentiableError(ValueError):
    """The expression holds a function the generator has no rule for (see `landscapes.functions`)."""

    def __init__(self, function: str) -> None:
        super().__init__(f"cannot differentiate {function}")
        self.function = function


class _Emitter:
    """Writes forward and backward lines; every intermediate gets a fresh local name."""

    def __init__(self, module: str = "numpy") -> None:
        # Python floats: a negative number to a fractional power is a complex number, which
        # abs() would turn into a wrong real one; math.pow raises there instead, and the
        # caller's guard then takes NumPy's NaN. For NumPy, ** is np.power exactly.
        self.power = (lambda a, b: f"{a} ** {b}") if module == "numpy" else (lambda a, b: f"pow({a}, {b})")
        self.lines: list[str] = []
        self.names: dict[sp.Basic, str] = {x: "x", y: "y"}
        self.count = 0
        self.tape: list[tuple[sp.Basic, str, tuple]] = []  # (node, name, recipe)

    def fresh(self, code: str) -> str:
        self.count += 1
        name = f"t{self.count}"
        self.lines.append(f"{name} = {code}")
        return name

    # -- forward ----------------------------------------------------------------------
    def value(self, node: sp.Basic) -> str:
        if node in self.names:
            return self.names[node]
        if node.is_Number or node in (sp.pi, sp.E) or (node.is_number and not node.free_symbols):
            try:
                literal = repr(float(node))
            except TypeError:  # a complex constant such as I
                raise UndifferentiableError(f"the non-real constant {node}") from None
            self.names[node] = f"({literal})"
            return self.names[node]
        if isinstance(node, sp.Add):
            name = self._sum(list(node.args))
        elif isinstance(node, sp.Mul):
            name = self._mul(node)
        elif isinstance(node, sp.Pow):
            name = self._pow(node)
        elif type(node) in BY_SYMPY_CLASS and len(node.args) == 1:
            function = BY_SYMPY_CLASS[type(node)].name
            argument = self.value(node.args[0])
            name = self.fresh(f"{function}({argument})")
            self.tape.append((node, name, ("function", function, argument)))
        else:
            raise UndifferentiableError(type(node).__name__)
        self.names[node] = name
        return name

    def _fold(self, terms, operator, kind) -> str:
        """Left fold a*b*c as (a*b)*c, recording each binary operation for the backward pass."""
        operands = [self.value(t) for t in terms]
        name = operands[0]
        for operand in operands[1:]:
            left = name
            name = self.fresh(f"{left} {operator} {operand}")
            self.tape.append((None, name, (kind, left, operand)))
        return name

    def _sum(self, terms: list[sp.Expr]) -> str:
        """a + b − c: a term with a negative coefficient is subtracted (fl(a + (−c)) = fl(a − c)),
        as torch computes `y - x**2`; a positive term goes first."""
        negative = [t.could_extract_minus_sign() for t in terms]
        if all(negative):  # −a − b = −(a + b) exactly: rounding is symmetric
            inner = self._sum([-t for t in terms])
            name = self.fresh(f"-{inner}")
            self.tape.append((None, name, ("neg", inner)))
            return name
        first = negative.index(False)
        order = [terms[first]] + terms[:first] + terms[first + 1:]
        signs = [False] + negative[:first] + negative[first + 1:]
        name = self.value(order[0])
        for term, subtract in zip(order[1:], signs[1:], strict=True):
            left = name
            operand = self.value(-term if subtract else term)
            name = self.fresh(f"{left} {'-' if subtract else '+'} {operand}")
            self.tape.append((None, name, ("sub" if subtract else "add", left, operand)))
        return name

    def _mul(self, node: sp.Mul) -> str:
        coefficient, factors = node.as_coeff_mul()
        # Constant factors (2·π) fold into one literal, as Python folds 2*math.pi.
        constant = float(coefficient)
        for factor in factors:
            if not factor.free_symbols:
                constant *= float(factor)
        coefficient = (sp.S.NegativeOne if constant == -1.0 else sp.S.One if constant == 1.0
                       else sp.Float(constant))
        factors = [f for f in factors if f.free_symbols]
        numerator = [f for f in factors if not (isinstance(f, sp.Pow) and f.exp == -1)]
        denominator = [f.base for f in factors if isinstance(f, sp.Pow) and f.exp == -1]
        if coefficient == -1 and numerator:  # −a: exact negation, as torch's sub/neg
            inner = self._product(numerator, 1)
            name = self.fresh(f"-{inner}")
            self.tape.append((None, name, ("neg", inner)))
        else:
            name = self._product(numerator, coefficient)
        if denominator:
            divisor = self._product(denominator, 1)
            left = name
            name = self.fresh(f"{left} / {divisor}")
            self.tape.append((None, name, ("div", left, divisor)))
        return name

    def _product(self, factors, coefficient) -> str:
        terms = ([coefficient] if coefficient != 1 or not factors else []) + list(factors)
        if len(terms) == 1:
            return self.value(terms[0])
        return self._fold(terms, "*", "mul")

    def _pow(self, node: sp.Pow) -> str:
        base, exponent = node.args
        b = self.value(base)
        if exponent.is_number:
            p = float(exponent)
            code = {2.0: f"{b} * {b}", 3.0: f"{b} * {b} * {b}", 0.5: f"sqrt({b})",
                    -1.0: f"1.0 / {b}", -0.5: f"1.0 / sqrt({b})"}.get(p, self.power(b, repr(p)))
            name = self.fresh(code)
            self.tape.append((node, name, ("pow", b, p)))
        else:
            e = self.value(exponent)
            name = self.fresh(self.power(b, e))
            self.tape.append((node, name, ("powv", b, e)))
        return name

    # -- backward ---------------------------------------------------------------------
    def backward(self, output: str) -> dict[str, str]:
        adjoint: dict[str, str] = {output: "1.0"}

        def add(target: str, contribution: str) -> None:
            if target.startswith("("):  # a constant: no gradient needed
                return
            if target in adjoint:
                negated = contribution[1:] if contribution.startswith("-") else None
                adjoint[target] = self.fresh(
                    f"{adjoint[target]} - {negated}" if negated and negated.replace(".", "").isalnum()
                    else f"{adjoint[target]} + {contribution}")
            elif contribution.isidentifier() or contribution == "1.0":
                adjoint[target] = contribution  # an alias costs nothing
            else:
                adjoint[target] = self.fresh(contribution)

        for _, name, recipe in reversed(self.tape):
            if name not in adjoint:
                continue
            g = adjoint[name]
            kind = recipe[0]
            if kind == "add":
                add(recipe[1], g)
                add(recipe[2], g)
            elif kind == "sub":
                add(recipe[1], g)
                add(recipe[2], f"-{g}")
            elif kind == "mul":
                _, a, b = recipe
                add(a, _times(g, b))
                add(b, _times(g, a))
            elif kind == "neg":
                add(recipe[1], f"-{g}")
            elif kind == "div":  # torch: grad / b and −grad · ((a / b) / b)
                _, a, b = recipe
                add(a, f"{g} / {b}")
                add(b, f"-{g} * (({a} / {b}) / {b})")
            elif kind == "pow":  # torch: grad · (p · a^(p−1)); sqrt: grad / (2 · result)
                _, a, p = recipe
                if p == 0.5:
                    add(a, _backward(FUNCTIONS["sqrt"].derivative, g, a, name))
                elif p == 2.0:
                    add(a, _times(g, f"(2.0 * {a})"))
                else:
                    lower = {2.0: f"{a} * {a}", 1.0: f"{a}"}.get(p - 1, self.power(a, repr(p - 1)))
                    add(a, _times(g, f"({p!r} * {self.fresh(lower)})"))
            elif kind == "powv":
                _, a, e = recipe
                add(a, _times(g, f"({e} * {self.power(a, f'({e} - 1.0)')})"))
                add(e, _times(g, f"({name} * log({a}))"))
            elif kind == "function":
                _, function, a = recipe
                contribution = _backward(FUNCTIONS[function].derivative, g, a, name)
                if contribution != "0.0":  # zeros_like(grad): nothing flows back
                    add(a, contribution)
        return adjoint


def _times(g: str, factor: str) -> str:
    """g · factor, skipping the product when g is exactly 1 (1·v = v: one NumPy call less)."""
    return factor if g == "1.0" else f"{g} * {factor}"


_ROLE = re.compile(r"\b(grad|self|result)\b")


def _backward(derivative: str, g: str, a: str, result: str) -> str:
    """A derivatives.yaml formula (in grad, self, result) as code in the generated names.

    ``grad * ...`` with grad exactly 1 drops the product (1·v = v: one NumPy call less)."""
    if g == "1.0" and derivative.startswith("grad * "):
        derivative = derivative[len("grad * "):]
    return _ROLE.sub(lambda m: {"grad": g, "self": a, "result": result}[m.group()], derivative)


def gradient_source(expression: sp.Expr, with_value: bool = False, module: str = "numpy") -> str:
    """Python source of ``gradient(x, y) -> (f_x, f_y)`` (``(f, f_x, f_y)`` with_value), for
    NumPy arrays (module "numpy") or Python floats ("math": powers are written pow(a, b))."""
    emitter = _Emitter(module)
    output = emitter.value(expression)
    adjoint = emitter.backward(output)
    outputs = ([output] if with_value else []) + [adjoint.get("x", "0.0"), adjoint.get("y", "0.0")]
    body = _inline(emitter.lines, ", ".join(outputs))
    return "def gradient(x, y):\n" + "\n".join("    " + line for line in body) + "\n"


_NAME = re.compile(r"\bt\d+\b")


def _inline(lines: list[str], returned: str) -> list[str]:
    """Substitute every temporary used once into its single use, and `del` the others after
    their last use. Evaluation order and rounding are unchanged; what changes is that
    NumPy frees (and reuses) each large temporary at once instead of holding them all,
    which would make every allocation a fresh, page-faulting mmap."""
    statements = [line.split(" = ", 1) for line in lines]
    uses: dict[str, int] = {}
    for _, code in statements + [["return", returned]]:
        for name in _NAME.findall(code):
            uses[name] = uses.get(name, 0) + 1

    inlined: dict[str, str] = {}

    def substitute(code: str) -> str:
        return _NAME.sub(lambda m: f"({inlined[m.group()]})" if m.group() in inlined else m.group(), code)

    kept: list[tuple[str, str]] = []
    for target, code in statements:
        code = substitute(code)
        if uses.get(target, 0) == 1:
            inlined[target] = code
        elif uses.get(target, 0) > 1:
            kept.append((target, code))
    returned = substitute(returned)

    last_use = {name: index for index, (_, code) in enumerate(kept) for name in _NAME.findall(code)}
    still_needed = set(_NAME.findall(returned))
    body: list[str] = []
    for index, (target, code) in enumerate(kept):
        body.append(f"{target} = {code}")
        dead = sorted(n for n, last in last_use.items() if last == index and n not in still_needed)
        if dead:
            body.append("del " + ", ".join(dead))
    body.append(f"return {returned}")
    return body


def compile_gradient(expression: sp.Expr, module: str, with_value: bool = False) -> Callable:
    """``gradient(x, y) -> (f_x, f_y)`` (or ``(f, f_x, f_y)`` with_value) for NumPy arrays
    (module "numpy") or Python floats ("math")."""
    source = gradient_source(expression, with_value, module)
    namespace = {name: record.numpy if module == "numpy" else record.math
                 for name, record in FUNCTIONS.items()}
    if module != "numpy":
        namespace["pow"] = math.pow  # the power operator (see _Emitter), not a formula function
    namespace["__builtins__"] = {}
    code = compile(source, "<gradient>", "exec")
    exec(code, namespace)  # generated from a SymPy tree (see module docstring), not user text
    function = namespace["gradient"]
    if module != "numpy":
        return function

    def broadcasting(px, py):
        """A component that does not depend on x and y comes out as a number: expand it."""
        outputs = function(px, py)
        if all(type(v) is np.ndarray for v in outputs):
            return outputs
        shape = np.broadcast_shapes(np.shape(px), np.shape(py))
        return tuple(np.broadcast_to(np.asarray(v, dtype=float), shape).copy() for v in outputs)

    return broadcasting


# -- the compiled backend's form (optimizers.native emits it as LLVM IR inside the kernel) ------

def kernel_gradient_lines(expression: sp.Expr) -> tuple[list[str], tuple[str, str, str]]:
    """The math form's straight-line statements (``t1 = x * x`` ...) and the names or code of
    (f, f_x, f_y), without `def`, `del` or `return`: the same operations in the same order as
    `gradient_source(..., module="math")`, to be inlined in the compiled kernel's loop. The
    names it calls are `math`'s (and pow), sign, cot and abs: `optimizers.native` emits each."""
    emitter = _Emitter("math")
    output = emitter.value(expression)
    adjoint = emitter.backward(output)
    return list(emitter.lines), (output, adjoint.get("x", "0.0"), adjoint.get("y", "0.0"))


