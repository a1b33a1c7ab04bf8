"""Newton's method with the exact Hessian from SymPy, damped (Levenberg) for safety."""

from __future__ import annotations

import numpy as np

from .registry import Equation, Hyperparameter, Optimizer, Rule, register


def newton(xp, *, lr, damping, landscape) -> Rule:
    """θ ← θ − η (H + δI)⁻¹ ∇f, solving the 2×2 system in closed form for the whole batch."""

    def init(param):
        return {}

    def update(grad, param, state, lr, step):
        hxx, hxy, hyy = landscape.hessian(param[0], param[1])
        a, b, c = hxx + damping, hxy, hyy + damping
        determinant = a * c - b * b
        with np.errstate(all="ignore"):  # a singular Hessian sends the start to ±inf: diverged
            newton_step = np.stack(((c * grad[0] - b * grad[1]) / determinant,
                                    (a * grad[1] - b * grad[0]) / determinant))
        return param - lr * newton_step, state

    return Rule(init, update)


register(Optimizer(
    name="newton",
    title="Newton",
    build=newton,
    hyperparameters=(
        Hyperparameter("lr", 1.0, "step length along the Newton direction (1: full step)", r"\eta", low=0.0),
        Hyperparameter("damping", 0.0, "δ added to the Hessian's diagonal (Levenberg damping)",
                       r"\delta", low=0.0),
    ),
    equations=(Equation(r"\theta_t = \theta_{t-1} - \eta\, \big(\nabla^2 f(\theta_{t-1}) + \delta I\big)^{-1}"
                        r" \nabla f(\theta_{t-1})"),),
    reference="Nocedal & Wright, Numerical Optimization, ch. 3",
    summary="Uses the curvature: one step to the minimum of a quadratic, but it heads for any "
            "point of zero gradient — saddles included.",
    elementwise=False,
    needs_landscape=True,
    per_start_arrays=True,  # arithmetic only: lr and damping broadcast over the starts
))
