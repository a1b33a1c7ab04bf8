"""Loss landscapes f(x, y): a catalog of named ones, and user formulas parsed safely.

>>> from landscapes import get_landscape, from_expression, landscape_names
>>> land = get_landscape("rosenbrock")
>>> land.title
'Rosenbrock'
"""

from __future__ import annotations

from .catalog import CATALOG
from .core import Bounds, Landscape, Minimum, derive, x, y
from .custom import DerivationTimeout, from_expression
from .data import DATA_MODELS, DataLandscape, DataModel, MiniBatchView, data_landscape, data_names
from .parser import FormulaError, formula_help, parse_formula

__all__ = [
    "DATA_MODELS", "Bounds", "DataLandscape", "DataModel", "DerivationTimeout", "FormulaError", "Landscape",
    "MiniBatchView", "Minimum", "data_landscape", "data_names", "derive",
    "formula_help", "from_expression", "get_landscape", "landscape_names", "parse_formula", "x", "y",
]


def landscape_names() -> list[str]:
    """Names of the catalog landscapes, in catalog order."""
    return list(CATALOG)


def get_landscape(name: str) -> Landscape:
    """The catalog landscape called `name` (see `landscape_names()`)."""
    try:
        return CATALOG[name]
    except KeyError:
        raise ValueError(f"unknown landscape {name!r}; choose one of: "
                         f"{', '.join(CATALOG)}") from None
