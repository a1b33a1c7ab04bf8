"""Landscapes the stories need that the catalog lacks, each written as the formula the page can load."""

from __future__ import annotations

from landscapes import Landscape, Minimum, parse_formula
from landscapes.data import REDDI_C

# Reddi et al. 2018's online problem with C = 3: its average loss, plus a benign y²/2 (story 10).
REDDI_FORMULA = f"({REDDI_C:g} - 2)/3*x + y**2/2"  # the mean of C·x, −x, −x

# Symmetric under y -> -y, two equal minima (0, ±1) and a saddle at 0 between them (story 18).
SYMMETRIC_FORMULA = "x**2 + (y**2 - 1)**2"


def formula_landscape(name: str, title: str, formula: str, bounds, minima=(), starts=((0.0, 0.0),),
                      lesson: str = "") -> Landscape:
    """A Landscape from formula text via the page's own whitelist parser (so the page, which
    gets the same text through `from_expression`, computes the same gradients)."""
    return Landscape(name=name, title=title, expression=parse_formula(formula), bounds=bounds,
                     minima=tuple(minima), starts=tuple(starts), lesson=lesson)


REDDI = formula_landscape(
    "reddi_average", "Reddi's online problem (average loss)", REDDI_FORMULA,
    bounds=((-1.25, 1.25), (-1.25, 1.25)), minima=(Minimum(-1.0, 0.0, -1 / 3),), starts=((0.5, 1.0),),
    lesson="The average of f_t(x) = Cx (every third step) and −x (otherwise), C = 3, on x ∈ [−1, 1], "
           "plus y²/2: minimum at x = −1.")

SYMMETRIC = formula_landscape(
    "symmetric_double_well", "symmetric double well", SYMMETRIC_FORMULA,
    bounds=((-2.0, 2.0), (-1.6, 1.6)), minima=(Minimum(0.0, 1.0, 0.0), Minimum(0.0, -1.0, 0.0)),
    starts=((-1.5, 1e-6),),
    lesson="Mirror-symmetric in y: a start on the mirror line has no reason to pick a side.")
