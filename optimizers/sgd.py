"""Gradient descent and momentum: SGD (torch form), classic momentum, look-ahead Nesterov, local gains."""

from __future__ import annotations

from dataclasses import replace

from .registry import (
    Constraint,
    Equation,
    Hyperparameter,
    Optimizer,
    Rule,
    decoupled,
    lr,
    positive,
    register,
    switched_off,
    switched_on,
    weight_decay,
    weight_decay_equations,
    zero,
)
from .shared import apply_weight_decay


def sgd(xp, *, lr, momentum, dampening, nesterov, weight_decay, decoupled_weight_decay) -> Rule:
    """torch.optim.SGD: the velocity buffer b is in gradient units and lr scales it."""

    def init(param):
        return {"velocity": xp.zeros_like(param)}

    def update(grad, param, state, lr, step):
        grad, param = apply_weight_decay(grad, param, lr, weight_decay, decoupled_weight_decay)
        if momentum == 0:
            return param - lr * grad, state
        if step == 1:
            velocity = xp.copy(grad)  # torch starts the buffer at the first gradient, undamped
        else:
            velocity = state["velocity"]
            velocity *= momentum
            velocity += (1 - dampening) * grad
        direction = grad + momentum * velocity if nesterov else velocity
        return param + (-lr) * direction, {"velocity": velocity}

    return Rule(init, update)


NESTEROV_NEEDS_MOMENTUM = Constraint(
    ("nesterov", "momentum", "dampening"),
    lambda nesterov, momentum, dampening: not nesterov or (momentum > 0 and dampening == 0),
    "nesterov=True needs momentum > 0 and dampening = 0 (as in torch)")


MOMENTUM = Hyperparameter("momentum", 0.0, "momentum ρ: the fraction of the velocity kept each "
                          "step (friction is 1 − ρ)", r"\rho", low=0.0, high=1.0)

register(Optimizer(
    name="sgd",
    title="SGD",
    build=sgd,
    hyperparameters=(
        lr(0.1),
        MOMENTUM,
        Hyperparameter("dampening", 0.0, "dampening: scales the new gradient by 1 − dampening "
                       "before it enters the velocity", r"\tau", low=0.0, high=1.0),
        Hyperparameter("nesterov", False, "Nesterov momentum (torch's form): step along "
                       "g + ρb instead of b", kind="bool"),
        weight_decay(),
        decoupled(),
    ),
    equations=(
        *weight_decay_equations(decoupled_option=True),
        Equation(r"\theta_t = \theta_{t-1} - \eta\, g_t", zero("momentum")),
        Equation(r"b_t = \rho\, b_{t-1} + (1-\tau)\, g_t, \quad b_1 = g_1",
                 positive("momentum") & positive("dampening")),
        Equation(r"b_t = \rho\, b_{t-1} + g_t, \quad b_1 = g_1", positive("momentum") & zero("dampening")),
        Equation(r"\theta_t = \theta_{t-1} - \eta\, (g_t + \rho\, b_t)",
                 positive("momentum") & switched_on("nesterov")),
        Equation(r"\theta_t = \theta_{t-1} - \eta\, b_t", positive("momentum") & switched_off("nesterov")),
    ),
    reference="Robbins & Monro 1951; Polyak 1964 (momentum); Sutskever et al. 2013 (Nesterov); "
              "torch.optim.SGD",
    summary="Steps against the gradient; with momentum, a velocity accumulates past gradients.",
    constraints=(NESTEROV_NEEDS_MOMENTUM,),
    state_labels={"velocity": "b"},
))


def classic_momentum(xp, *, lr, momentum) -> Rule:
    """The slides' form: the velocity is in parameter units, v ← ρv − η∇f; θ ← θ + v."""

    def init(param):
        return {"velocity": xp.zeros_like(param)}

    def update(grad, param, state, lr, step):
        velocity = momentum * state["velocity"] - lr * grad
        return param + velocity, {"velocity": velocity}

    return Rule(init, update)


register(Optimizer(
    name="momentum",
    title="Momentum (classic form)",
    build=classic_momentum,
    hyperparameters=(lr(0.01), replace(MOMENTUM, default=0.9)),
    equations=(
        Equation(r"v_t = \rho\, v_{t-1} - \eta\, \nabla f(\theta_{t-1})"),
        Equation(r"\theta_t = \theta_{t-1} + v_t"),
    ),
    reference="Polyak 1964; Rumelhart, Hinton & Williams 1986",
    summary="A heavy ball: the velocity keeps a fraction ρ of itself and adds the new "
            "gradient step. With a constant lr it follows the same x as torch's SGD momentum.",
    state_labels={"velocity": "v"},
))


def lookahead_nesterov(xp, *, lr, momentum) -> Rule:
    """Nesterov's original form: the gradient is taken at the look-ahead point θ − γv."""

    def init(param):
        return {"velocity": xp.zeros_like(param)}

    def lookahead(param, state):
        return param - momentum * state["velocity"]

    def update(grad, param, state, lr, step):
        velocity = momentum * state["velocity"] + lr * grad
        return param - velocity, {"velocity": velocity}

    return Rule(init, update, lookahead)


register(Optimizer(
    name="nesterov",
    title="Nesterov (look-ahead form)",
    build=lookahead_nesterov,
    hyperparameters=(
        lr(0.01),
        Hyperparameter("momentum", 0.9, "momentum γ: the fraction of the velocity kept each step",
                       r"\gamma", low=0.0, high=1.0),
    ),
    equations=(
        Equation(r"v_t = \gamma\, v_{t-1} + \eta\, \nabla f(\theta_{t-1} - \gamma v_{t-1})"),
        Equation(r"\theta_t = \theta_{t-1} - v_t"),
    ),
    reference="Nesterov 1983; Sutskever et al. 2013",
    summary="Momentum that looks before it leaps: the gradient is measured where the velocity "
            "is about to carry the parameters. A change of variables gives torch's form.",
    state_labels={"velocity": "v"},
))


def local_gain(xp, *, lr, beta, gain_min, gain_max) -> Rule:
    """Per-coordinate gains: grow additively while the gradient keeps its sign, shrink
    multiplicatively when it flips."""

    def init(param):
        return {"gain": xp.full_like(param, 1.0), "previous_grad": xp.zeros_like(param)}

    def update(grad, param, state, lr, step):
        agreement = grad * state["previous_grad"]
        gain = state["gain"]
        gain = xp.where(agreement > 0, gain + beta, xp.where(agreement < 0, gain * (1 - beta), gain))
        gain = xp.clip(gain, gain_min, gain_max)
        return param - lr * gain * grad, {"gain": gain, "previous_grad": grad}

    return Rule(init, update)


GAINS_ORDERED = Constraint(("gain_min", "gain_max"), lambda gain_min, gain_max: gain_min <= gain_max,
                           "gain_min must not exceed gain_max")


register(Optimizer(
    name="local_gain",
    title="Local gains",
    build=local_gain,
    hyperparameters=(
        lr(0.01),
        Hyperparameter("beta", 0.05, "β: gains grow by +β when the gradient keeps its sign and "
                       "shrink by ×(1 − β) when it flips", r"\beta", low=0.0, high=1.0, high_open=True),
        Hyperparameter("gain_min", 0.1, "smallest gain", r"g_{\min}", low=0.0),
        Hyperparameter("gain_max", 10.0, "largest gain", r"g_{\max}", low=0.0),
    ),
    equations=(
        Equation(r"g_t = \nabla f(\theta_{t-1})"),
        Equation(r"k_t = \mathrm{clip}\Big(\begin{cases} k_{t-1} + \beta & g_t g_{t-1} > 0 \\ "
                 r"k_{t-1}(1-\beta) & g_t g_{t-1} < 0 \\ k_{t-1} & \text{otherwise} \end{cases},\ "
                 r"g_{\min},\ g_{\max}\Big), \quad k_0 = 1"),
        Equation(r"\theta_t = \theta_{t-1} - \eta\, k_t\, g_t"),
    ),
    reference="Jacobs 1988 (delta-bar-delta); Hinton, Neural Networks for ML, lecture 6d",
    summary="Each coordinate has its own gain, raised while its gradient keeps pointing the "
            "same way and cut when it oscillates.",
    constraints=(GAINS_ORDERED,),
    state_labels={"gain": "k", "previous_grad": "g_{t-1}"},
))
