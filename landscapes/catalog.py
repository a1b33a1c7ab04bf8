"""The catalog of named landscapes: one `Landscape(...)` per entry, each with its lesson."""

from __future__ import annotations

import sympy as sp

from .core import Landscape, Minimum, x, y

R = sp.Rational
pi, E = sp.pi, sp.E

CATALOG: dict[str, Landscape] = {}


def _add(landscape: Landscape) -> None:
    CATALOG[landscape.name] = landscape


_add(Landscape(
    name="quadratic",
    title="ill-conditioned quadratic",
    expression=R(1, 10) * x**2 + 2 * y**2,
    bounds=((-5.0, 5.0), (-2.5, 2.5)),
    minima=(Minimum(0.0, 0.0, 0.0),),
    starts=((-4.0, 2.0),),
    lesson="Hessian eigenvalues 0.2 and 4 (condition number 20): GD jitters across the "
           "steep y direction while it crawls along the shallow x direction.",
    optimizers=(
        ("sgd", {"lr": 0.4}),
        ("momentum", {"lr": 0.05}),
        ("adagrad", {"lr": 0.5}),
        ("rmsprop", {"lr": 0.05}),
        ("adam", {"lr": 0.1}),
    ),
))

_add(Landscape(
    name="saddle",
    title="saddle",
    expression=x**2 - y**2,
    bounds=((-2.0, 2.0), (-2.0, 2.0)),
    starts=((-1.8, 1e-3),),
    lesson="Zero gradient at the origin but no minimum: GD slows to a crawl near the "
           "saddle, while noise and momentum escape along −y² faster.",
    optimizers=(
        ("sgd", {"lr": 0.01}),
        ("momentum", {"lr": 0.01}),
        ("rmsprop", {"lr": 0.01}),
        ("adam", {"lr": 0.05}),
    ),
))

_add(Landscape(
    name="rosenbrock",
    title="Rosenbrock",
    expression=(1 - x) ** 2 + 100 * (y - x**2) ** 2,
    bounds=((-2.0, 2.0), (-1.0, 3.0)),
    minima=(Minimum(1.0, 1.0, 0.0),),
    starts=((-1.5, 2.0),),
    lesson="A narrow curved valley: steps that fit the steep walls crawl along the floor; "
           "momentum overshoots the bends, adaptive methods follow the floor.",
    log_contour=True,
    optimizers=(
        ("sgd", {"lr": 0.001}),
        ("momentum", {"lr": 0.0005}),
        ("rmsprop", {"lr": 0.01}),
        ("adam", {"lr": 0.05}),
        ("newton", {}),
    ),
    steps=500,
))

_add(Landscape(
    name="beale",
    title="Beale",
    expression=(R(3, 2) - x + x * y) ** 2 + (R(9, 4) - x + x * y**2) ** 2
    + (R(21, 8) - x + x * y**3) ** 2,
    bounds=((-4.5, 4.5), (-4.5, 4.5)),
    minima=(Minimum(3.0, 0.5, 0.0),),
    starts=((0.7, 1.4),),
    lesson="Flat plateaus beside steep ridges: the gradient's size spans orders of "
           "magnitude, so one learning rate is too big in one place and too small in another.",
    log_contour=True,
    optimizers=(
        ("sgd", {"lr": 0.01}),
        ("momentum", {"lr": 0.002}),
        ("adagrad", {"lr": 0.5}),
        ("adam", {"lr": 0.05}),
    ),
    steps=300,
))

_add(Landscape(
    name="himmelblau",
    title="Himmelblau",
    expression=(x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    bounds=((-5.0, 5.0), (-5.0, 5.0)),
    minima=(
        Minimum(3.0, 2.0, 0.0),
        Minimum(-2.805118086952745, 3.131312518250573, 0.0),
        Minimum(-3.779310253377747, -3.2831859912861696, 0.0),
        Minimum(3.5844283403304917, -1.8481265269644036, 0.0),
    ),
    starts=((0.0, 0.0), (-0.5, -0.5)),
    lesson="Four equally good minima: where you start, and how you move, decide which "
           "one you reach.",
    log_contour=True,
    optimizers=(
        ("sgd", {"lr": 0.01}),
        ("momentum", {"lr": 0.002}),
        ("rmsprop", {"lr": 0.05}),
        ("adam", {"lr": 0.1}),
    ),
))

_add(Landscape(
    name="rastrigin",
    title="Rastrigin",
    expression=20 + x**2 - 10 * sp.cos(2 * pi * x) + y**2 - 10 * sp.cos(2 * pi * y),
    bounds=((-5.12, 5.12), (-5.12, 5.12)),
    minima=(Minimum(0.0, 0.0, 0.0),),
    starts=((-4.4, 4.2),),
    lesson="A bowl covered in a grid of local minima: GD stops in the nearest pit; "
           "noise or large steps hop across them.",
    optimizers=(
        ("sgd", {"lr": 0.002}),
        ("sgd", {"lr": 0.002, "momentum": 0.9}),
        ("adam", {"lr": 1.0}),
        ("rmsprop", {"lr": 0.3}),
    ),
))

_add(Landscape(
    name="ackley",
    title="Ackley",
    expression=-20 * sp.exp(-R(1, 5) * sp.sqrt(R(1, 2) * (x**2 + y**2)))
    - sp.exp(R(1, 2) * (sp.cos(2 * pi * x) + sp.cos(2 * pi * y))) + E + 20,
    bounds=((-5.0, 5.0), (-5.0, 5.0)),
    minima=(Minimum(0.0, 0.0, 0.0),),
    starts=((-4.2, 3.7),),
    lesson="Nearly flat outside, riddled with local minima, and a sharp cone at the "
           "global minimum (no gradient exactly there).",
    optimizers=(
        ("sgd", {"lr": 0.05}),
        ("momentum", {"lr": 0.1}),
        ("adam", {"lr": 0.5}),
    ),
))

_add(Landscape(
    name="booth",
    title="Booth",
    expression=(x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
    bounds=((-10.0, 10.0), (-10.0, 10.0)),
    minima=(Minimum(1.0, 3.0, 0.0),),
    starts=((-8.0, -8.0),),
    lesson="A tilted stretched bowl (Hessian eigenvalues 2 and 18): its axes are "
           "diagonal, so per-coordinate adaptive steps lose their edge.",
    optimizers=(
        ("sgd", {"lr": 0.05}),
        ("adagrad", {"lr": 1.0}),
        ("rmsprop", {"lr": 0.1}),
        ("adam", {"lr": 0.3}),
    ),
))

_add(Landscape(
    name="six_hump_camel",
    title="six-hump camel",
    expression=(4 - R(21, 10) * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2,
    bounds=((-2.0, 2.0), (-1.2, 1.2)),
    minima=(
        Minimum(0.08984201310031806, -0.7126564030207396, -1.0316284534898774),
        Minimum(-0.08984201310031806, 0.7126564030207396, -1.0316284534898774),
        Minimum(-1.703606714969981, 0.7960835686726251, -0.21546382438371764, False),
        Minimum(1.703606714969981, -0.7960835686726251, -0.21546382438371764, False),
        Minimum(-1.6071047529201972, -0.5686514548841314, 2.1042503103112584, False),
        Minimum(1.6071047529201972, 0.5686514548841314, 2.1042503103112584, False),
    ),
    starts=((-1.9, 1.1), (1.9, -0.2)),
    lesson="Six minima, two of them global: local methods land in whichever basin "
           "they start in.",
    optimizers=(
        ("sgd", {"lr": 0.02}),
        ("momentum", {"lr": 0.005}),
        ("adam", {"lr": 0.05}),
    ),
))

_add(Landscape(
    name="monkey_saddle",
    title="monkey saddle",
    expression=x**3 - 3 * x * y**2,
    bounds=((-2.0, 2.0), (-2.0, 2.0)),
    starts=((1.5, 0.01),),
    lesson="A saddle with three valleys: both the gradient and the Hessian vanish at the "
           "origin, so even Newton's method has nothing to go on there.",
    optimizers=(
        ("sgd", {"lr": 0.01}),
        ("momentum", {"lr": 0.002}),
        ("adam", {"lr": 0.02}),
        ("newton", {}),
    ),
))

_add(Landscape(
    name="plateau_cliff",
    title="plateau and cliff",
    expression=R(1, 2) * (1 - sp.tanh(8 * x)) + R(1, 50) * ((x - R(3, 2)) ** 2 + y**2),
    bounds=((-3.0, 3.0), (-2.0, 2.0)),
    minima=(Minimum(1.5000000151005346, 0.0, 3.775134088084185e-11),),
    starts=((-2.5, 1.5),),
    lesson="A nearly flat plateau ends at a cliff: tiny gradients stall GD on the "
           "plateau, then the cliff's huge gradient launches it far past the minimum.",
    optimizers=(
        ("sgd", {"lr": 0.5}),
        ("momentum", {"lr": 0.1}),
        ("rmsprop", {"lr": 0.02}),
        ("adam", {"lr": 0.05}),
    ),
))

_add(Landscape(
    name="local_minimum_trap",
    title="local-minimum trap",
    expression=(x**2 - 1) ** 2 + R(3, 10) * x + y**2,
    bounds=((-2.0, 2.0), (-1.5, 1.5)),
    minima=(
        Minimum(-1.0355787140888537, 0.0, -0.30542848374391596),
        Minimum(0.9601495555191055, 0.0, 0.29414648102826285, False),
    ),
    starts=((1.8, 1.0),),
    lesson="Two valleys, the left one deeper: plain GD from the right settles in the "
           "shallow one; enough momentum carries it over the ridge.",
    optimizers=(
        ("sgd", {"lr": 0.05}),
        ("momentum", {"lr": 0.02}),
        ("adam", {"lr": 0.1}),
    ),
))
