"""Small pieces the update rules share: averages, bias correction, weight decay variants.

Each is written the way torch.optim computes it, operation for operation, so that a
trajectory matches PyTorch's to float64 round-off. Like torch's `lerp_` and `mul_`, the
averages update an optimizer's own state array in place (a float is returned anew): an
update rule owns its state, and skipping a fresh allocation per step is a third faster.
"""

from __future__ import annotations

import math


def lerp(start, end, weight: float):
    """torch's ``start.lerp_(end, weight)``: start + weight·(end − start), in torch's two-sided form.

    An exponential moving average m ← β m + (1 − β) g is ``lerp(m, g, 1 − β)``.
    """
    if weight < 0.5:
        start += weight * (end - start)
        return start
    return end - (end - start) * (1 - weight)


def average_of_squares(average, grad, decay: float):
    """v ← decay·v + (1 − decay)·g², as torch's ``v.mul_(decay).addcmul_(g, g, 1 - decay)``."""
    average *= decay
    average += (1 - decay) * grad * grad
    return average


def bias_correction(beta: float, step: int) -> float:
    """1 − βᵗ: undoes the pull towards 0 of an average that starts at 0."""
    return 1 - beta**step


def square_root(value):
    """math.sqrt of a scalar of the rule: a float, or the compiled tracer's one-float-per-setting
    stand-in (`optimizers.compiled.Many`), whose square root is taken value by value."""
    root = getattr(value, "square_root", None)
    return math.sqrt(value) if root is None else root()


def apply_weight_decay(grad, param, lr: float, weight_decay: float, decoupled: bool):
    """(grad, param) after weight decay λ.

    L2 regularization adds λθ to the gradient (torch's `weight_decay`); decoupled decay
    shrinks θ ← θ(1 − ηλ) directly (AdamW, Loshchilov & Hutter 2019). They differ for any
    method that rescales the gradient.
    """
    if weight_decay == 0:
        return grad, param
    if decoupled:
        return grad, param * (1 - lr * weight_decay)
    return grad + weight_decay * param, param
