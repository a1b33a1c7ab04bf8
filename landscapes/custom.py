"""User formulas: parse safely, derive gradient and Hessian in a child process with a time limit."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import multiprocessing.spawn
import threading
import time
from collections.abc import Callable

import numpy as np
import sympy as sp

from .autodiff import UndifferentiableError
from .core import Landscape, derive, x, y
from .functions import BY_SYMPY_CLASS
from .parser import FormulaError, parse_formula

TIME_LIMIT = 5.0  # seconds for symbolic differentiation of one formula

# Signals do not work in Streamlit's script thread, so a slow derivation runs in a child
# process that can be killed. Forking Streamlit's threaded server could copy a lock held
# by another thread into the child, so children come from a forkserver: a small
# single-threaded process started once, which has imported this module (and SymPy) and
# forks a fresh child for each derivation in milliseconds.
_context = multiprocessing.get_context("forkserver")
_CHILD_NAME = "descent-lab-derivation"
_start_lock = threading.Lock()
_started = False


class DerivationTimeout(FormulaError):
    """Differentiating the formula took longer than the time limit."""


# -- the derivation, as run in the child -----------------------------------------------------------
class _RealAbs(sp.Function):
    """|u| for a real u. SymPy's Abs allows a complex u (log(x) for x < 0), and its derivative
    then holds re, im and unevaluated Derivatives; where the formula has a real value, that
    derivative is sign(u)·u′, as the numeric gradient computes it."""

    def fdiff(self, argindex=1):
        return _RealSign(self.args[0])


class _RealSign(sp.Function):
    """sign(u) for a real u: derivative 0 almost everywhere (SymPy's is a DiracDelta or unevaluated)."""

    def fdiff(self, argindex=1):
        return sp.S.Zero


def derive_real(expression: sp.Expr) -> tuple[sp.Expr, ...]:
    """`derive(expression)` treating every sub-expression as real where it is defined.

    >>> derive_real(abs(sp.log(x)))[0]
    sign(log(x))/x
    """
    real = expression.replace(sp.Abs, _RealAbs).replace(sp.sign, _RealSign)
    return tuple(d.replace(_RealAbs, sp.Abs).replace(_RealSign, sp.sign) for d in derive(real))


def _derive_in_child(connection: multiprocessing.connection.Connection, expression: sp.Expr,
                     derivation: Callable[[sp.Expr], tuple[sp.Expr, ...]]) -> None:
    try:
        derivatives = derivation(expression)
        # Printing is what lambdify does next; doing it here keeps a pathological
        # expression from hanging the parent.
        for derivative in derivatives:
            sp.pycode(derivative)
        connection.send(("ok", derivatives))
    except Exception as error:  # reported to the parent, which raises FormulaError
        connection.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


# -- starting the child ----------------------------------------------------------------------------
def _preparation_data_without_main(original: Callable[[str], dict]) -> Callable[[str], dict]:
    """multiprocessing has a spawned or forkserver child first run the parent's main script as
    `__mp_main__`. Under Streamlit that is the page (Streamlit installs the page as `__main__`),
    which would run again, whole, in every derivation's child. The child needs only this
    module, so for the derivation's children the main script is left out."""

    def get_preparation_data(name: str) -> dict:
        data = original(name)
        if name == _CHILD_NAME:
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    get_preparation_data.leaves_out_main = True
    return get_preparation_data


def _prepare_start() -> None:
    global _started
    with _start_lock:
        if _started:
            return
        if not getattr(multiprocessing.spawn.get_preparation_data, "leaves_out_main", False):
            multiprocessing.spawn.get_preparation_data = _preparation_data_without_main(
                multiprocessing.spawn.get_preparation_data)
        # Heeded only if no forkserver runs yet; otherwise the child imports this module itself.
        _context.set_forkserver_preload([__name__])
        _started = True


def derive_with_time_limit(expression: sp.Expr, time_limit: float = TIME_LIMIT, *,
                           derivation: Callable[[sp.Expr], tuple[sp.Expr, ...]] = derive_real,
                           ) -> tuple[sp.Expr, ...]:
    """`derivation(expression)` (gradient and Hessian) in a child process; `DerivationTimeout`
    if it takes longer than `time_limit` seconds, `FormulaError` if it fails.

    `derivation` must be importable by name in the child (a module-level function).
    """
    _prepare_start()
    receiver, sender = _context.Pipe(duplex=False)
    child = _context.Process(target=_derive_in_child, args=(sender, expression, derivation),
                             name=_CHILD_NAME, daemon=True)
    try:
        child.start()  # the first start also starts the forkserver: not counted in time_limit
    except Exception as error:
        receiver.close()
        sender.close()
        raise FormulaError(f"the formula could not be differentiated (no child process: {error})") from None
    sender.close()
    try:
        deadline = time.monotonic() + time_limit
        if not receiver.poll(max(0.0, deadline - time.monotonic())):
            raise DerivationTimeout(
                f"differentiating the formula took longer than {time_limit:g} s — simplify it")
        try:
            status, payload = receiver.recv()
        except (EOFError, OSError):
            raise FormulaError("differentiating the formula failed (the child process ended)") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(1.0)
    if status != "ok":
        raise FormulaError(f"the formula could not be differentiated ({payload})")
    return payload


# -- the landscape ------------------------------------------------------------------------------------
DEFAULT_BOUNDS = ((-3.0, 3.0), (-3.0, 3.0))


def from_expression(text: str, *, name: str = "custom", bounds=DEFAULT_BOUNDS,
                    starts=None, time_limit: float = TIME_LIMIT) -> Landscape:
    """A landscape from the user's formula f(x, y), e.g. ``"x**2 + 3*sin(y)"``.

    The text goes through the whitelist parser (`parse_formula`), never through eval or
    sympify; gradient and Hessian are derived under `time_limit`. Before the landscape is
    returned, every numeric function it offers is built and evaluated once, so an accepted
    formula does not fail later. Every refusal of the text is a `FormulaError` (a
    `ValueError`) whose message says what is wrong and where; bad `bounds` are a `ValueError`.

    >>> land = from_expression("x**2 + 3*sin(y)")                 # doctest: +SKIP
    >>> land.gradient(np.array(1.0), np.array(0.0))              # doctest: +SKIP
    (array(2.), array(3.))
    """
    (x0, x1), (y0, y1) = bounds
    if not (x0 < x1 and y0 < y1):
        raise ValueError("bounds must be ((xmin, xmax), (ymin, ymax)) with min < max")
    if starts is None:
        starts = ((x0 + 0.8 * (x1 - x0), y0 + 0.8 * (y1 - y0)),)
    try:
        expression = parse_formula(text)
        if not expression.free_symbols <= {x, y}:
            raise FormulaError("the formula may only use x and y")
        _check_functions(expression, "the formula")
        derivatives = derive_with_time_limit(expression, time_limit)
        _check_functions(sp.Tuple(*derivatives), "its derivatives")
        landscape = Landscape(
            name=name,
            title=f"f(x, y) = {text.strip()}",
            expression=expression,
            bounds=(tuple(map(float, bounds[0])), tuple(map(float, bounds[1]))),
            starts=tuple(starts),
            lesson="Your own formula.",
            derivatives=derivatives,
        )
        _check_numeric(landscape)
    except FormulaError:
        raise
    except UndifferentiableError as error:
        raise FormulaError(f"the formula cannot be differentiated here: it needs {error.function}") from None
    except Exception as error:  # the promise: nothing but FormulaError for any text
        raise FormulaError(f"the formula could not be prepared ({type(error).__name__}: {error})") from None
    return landscape


def _check_functions(expression: sp.Expr, what: str) -> None:
    """Refuse functions the gradient generator has no rule for, naming them. SymPy may rewrite
    a typed function into another (tan(x + pi/2) is -cot(x)); those it can produce are in
    `landscapes.functions`, and anything else is refused here rather than failing later."""
    unknown = sorted({type(part).__name__ for part in sp.preorder_traversal(expression)
                      if not (part.is_Atom or isinstance(part, (sp.Add, sp.Mul, sp.Pow, sp.Tuple))
                              or type(part) in BY_SYMPY_CLASS)})
    if unknown:
        raise FormulaError(f"{what} cannot be differentiated here: after SymPy's simplification it "
                           f"uses {', '.join(unknown)}")


def _check_numeric(landscape: Landscape) -> None:
    """Build and evaluate every numeric function once; refuse a formula that is undefined
    everywhere in its view (e.g. log(-x**2-1))."""
    xs, ys, z = landscape.grid(24)
    if not np.isfinite(z).any():
        raise FormulaError("the formula has no finite value anywhere in the view "
                           f"x in [{xs[0]:g}, {xs[-1]:g}], y in [{ys[0]:g}, {ys[-1]:g}]")
    px, py = np.meshgrid(xs[::5], ys[::5])
    landscape.gradient(px, py)
    landscape.value_and_gradient(px, py)
    landscape.hessian(px, py)
    for point in [landscape.starts[0], (float(xs[7]), float(ys[11]))]:
        landscape.scalar_loss(*point)
        landscape.scalar_gradient(*point)
        landscape.scalar_value_and_gradient(*point)
