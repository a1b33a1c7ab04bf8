"""User formulas: parse safely, derive gradient and Hessian in a child process with a time limit."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import time

import numpy as np
import sympy as sp

from .core import Landscape, derive, x, y
from .parser import FormulaError, parse_formula

TIME_LIMIT = 5.0  # seconds for symbolic differentiation of one formula

# Signals do not work in Streamlit's script thread, so a slow derivation runs in a child
# process that can be killed. "fork" starts it in milliseconds with SymPy already loaded
# and, unlike "spawn"/"forkserver", does not re-run the caller's main script. The child
# only runs SymPy; were it ever to block on a lock copied from another thread, the time
# limit still ends it.
_context = multiprocessing.get_context("fork")


class DerivationTimeout(FormulaError):
    """Differentiating the formula took longer than the time limit."""


def _derive_in_child(connection: multiprocessing.connection.Connection, expression: sp.Expr) -> None:
    try:
        derivatives = derive(expression)
        # Printing is what lambdify does next; doing it here keeps a pathological
        # expression from hanging the parent.
        for derivative in derivatives:
            sp.pycode(derivative)
        connection.send(("ok", derivatives))
    except Exception as error:  # reported to the parent, which raises FormulaError
        connection.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


def derive_with_time_limit(expression: sp.Expr, time_limit: float = TIME_LIMIT) -> tuple[sp.Expr, ...]:
    """`derive(expression)` in a child process; `DerivationTimeout` if it takes too long."""
    receiver, sender = _context.Pipe(duplex=False)
    child = _context.Process(target=_derive_in_child, args=(sender, expression), daemon=True)
    child.start()
    sender.close()
    try:
        deadline = time.monotonic() + time_limit
        if not receiver.poll(max(0.0, deadline - time.monotonic())):
            raise DerivationTimeout(
                f"differentiating the formula took longer than {time_limit:g} s — simplify it")
        try:
            status, payload = receiver.recv()
        except EOFError:
            raise FormulaError("differentiating the formula failed") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(1.0)
    if status != "ok":
        raise FormulaError(f"the formula could not be differentiated ({payload})")
    return payload


DEFAULT_BOUNDS = ((-3.0, 3.0), (-3.0, 3.0))


def from_expression(text: str, *, name: str = "custom", bounds=DEFAULT_BOUNDS,
                    starts=None, time_limit: float = TIME_LIMIT) -> Landscape:
    """A landscape from the user's formula f(x, y), e.g. ``"x**2 + 3*sin(y)"``.

    The text goes through the whitelist parser (`parse_formula`), never through eval or
    sympify; gradient and Hessian are derived under `time_limit`. Every refusal is a
    `FormulaError` (a `ValueError`) whose message says what is wrong and where.

    >>> land = from_expression("x**2 + 3*sin(y)")                 # doctest: +SKIP
    >>> land.gradient(np.array(1.0), np.array(0.0))              # doctest: +SKIP
    (array(2.), array(3.))
    """
    expression = parse_formula(text)
    if not expression.free_symbols <= {x, y}:
        raise FormulaError("the formula may only use x and y")
    derivatives = derive_with_time_limit(expression, time_limit)
    (x0, x1), (y0, y1) = bounds
    if not (x0 < x1 and y0 < y1):
        raise ValueError("bounds must be ((xmin, xmax), (ymin, ymax)) with min < max")
    if starts is None:
        starts = ((x0 + 0.8 * (x1 - x0), y0 + 0.8 * (y1 - y0)),)
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
    return landscape


def _check_numeric(landscape: Landscape) -> None:
    """Refuse a formula that is undefined everywhere in its view (e.g. log(-x**2-1))."""
    xs, ys, z = landscape.grid(24)
    if not np.isfinite(z).any():
        raise FormulaError("the formula has no finite value anywhere in the view "
                           f"x ∈ [{xs[0]:g}, {xs[-1]:g}], y ∈ [{ys[0]:g}, {ys[-1]:g}]")
