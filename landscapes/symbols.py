"""The two coordinates every landscape is written in."""

import sympy as sp

x, y = sp.symbols("x y", real=True)
