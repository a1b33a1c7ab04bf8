"""Per-coordinate adaptive step sizes: Adagrad, RMSProp, Adadelta, Rprop (torch.optim semantics)."""

from __future__ import annotations

from .registry import (
    Constraint,
    Equation,
    Hyperparameter,
    Optimizer,
    Rule,
    eps,
    lr,
    ordered_pair,
    positive,
    register,
    switched_off,
    switched_on,
    weight_decay,
    weight_decay_equations,
    zero,
)
from .shared import apply_weight_decay, average_of_squares, lerp


def adagrad(xp, *, lr, lr_decay, weight_decay, initial_accumulator_value, eps) -> Rule:
    def init(param):
        return {"sum_of_squares": xp.full_like(param, initial_accumulator_value)}

    def update(grad, param, state, lr, step):
        grad, param = apply_weight_decay(grad, param, lr, weight_decay, False)
        decayed_lr = lr / (1 + (step - 1) * lr_decay)
        sum_of_squares = state["sum_of_squares"]
        sum_of_squares += grad * grad
        return param + (-decayed_lr) * grad / (xp.sqrt(sum_of_squares) + eps), {
            "sum_of_squares": sum_of_squares}

    return Rule(init, update)


register(Optimizer(
    name="adagrad",
    title="Adagrad",
    build=adagrad,
    hyperparameters=(
        lr(0.01),
        Hyperparameter("lr_decay", 0.0, "learning-rate decay k: η_t = η / (1 + (t−1)k)", "k", low=0.0),
        weight_decay(),
        Hyperparameter("initial_accumulator_value", 0.0, "starting value of the sum of squared "
                       "gradients", "G_0", low=0.0),
        eps(1e-10),
    ),
    equations=(
        *weight_decay_equations(decoupled_option=False),
        Equation(r"G_t = G_{t-1} + g_t^2"),
        Equation(r"\theta_t = \theta_{t-1} - \frac{\eta}{\sqrt{G_t} + \epsilon}\, g_t", zero("lr_decay")),
        Equation(r"\eta_t = \frac{\eta}{1 + (t-1)\,k}", positive("lr_decay")),
        Equation(r"\theta_t = \theta_{t-1} - \frac{\eta_t}{\sqrt{G_t} + \epsilon}\, g_t", positive("lr_decay")),
    ),
    reference="Duchi, Hazan & Singer 2011; torch.optim.Adagrad",
    summary="Divides each coordinate's step by the root of its summed squared gradients: "
            "steep directions are damped, flat ones sped up, and every step shrinks to zero.",
    state_labels={"sum_of_squares": "G"},
))


def rmsprop(xp, *, lr, alpha, eps, weight_decay, momentum, centered) -> Rule:
    def init(param):
        state = {"square_average": xp.zeros_like(param)}
        if centered:
            state["mean_gradient"] = xp.zeros_like(param)
        if momentum > 0:
            state["velocity"] = xp.zeros_like(param)
        return state

    def update(grad, param, state, lr, step):
        grad, param = apply_weight_decay(grad, param, lr, weight_decay, False)
        square_average = average_of_squares(state["square_average"], grad, alpha)
        new_state = {"square_average": square_average}
        if centered:
            mean_gradient = lerp(state["mean_gradient"], grad, 1 - alpha)
            new_state["mean_gradient"] = mean_gradient
            root = xp.sqrt(square_average - mean_gradient * mean_gradient) + eps
        else:
            root = xp.sqrt(square_average) + eps
        if momentum > 0:
            velocity = state["velocity"]
            velocity *= momentum
            velocity += grad / root
            new_state["velocity"] = velocity
            return param + (-lr) * velocity, new_state
        return param + (-lr) * grad / root, new_state

    return Rule(init, update)


register(Optimizer(
    name="rmsprop",
    title="RMSProp",
    build=rmsprop,
    hyperparameters=(
        lr(0.01),
        Hyperparameter("alpha", 0.99, "smoothing α of the running average of squared gradients",
                       r"\alpha", low=0.0, high=1.0),
        eps(1e-8),
        weight_decay(),
        Hyperparameter("momentum", 0.0, "momentum applied to the scaled step", r"\mu", low=0.0, high=1.0),
        Hyperparameter("centered", False, "divide by the gradient's variance instead of its raw "
                       "second moment", kind="bool"),
    ),
    equations=(
        *weight_decay_equations(decoupled_option=False),
        Equation(r"v_t = \alpha v_{t-1} + (1-\alpha)\, g_t^2"),
        Equation(r"\bar g_t = \alpha \bar g_{t-1} + (1-\alpha)\, g_t", switched_on("centered")),
        Equation(r"\theta_t = \theta_{t-1} - \eta\, \frac{g_t}{\sqrt{v_t} + \epsilon}",
                 zero("momentum") & switched_off("centered")),
        Equation(r"\theta_t = \theta_{t-1} - \eta\, \frac{g_t}{\sqrt{v_t - \bar g_t^2} + \epsilon}",
                 zero("momentum") & switched_on("centered")),
        Equation(r"b_t = \mu\, b_{t-1} + \frac{g_t}{\sqrt{v_t} + \epsilon}",
                 positive("momentum") & switched_off("centered")),
        Equation(r"b_t = \mu\, b_{t-1} + \frac{g_t}{\sqrt{v_t - \bar g_t^2} + \epsilon}",
                 positive("momentum") & switched_on("centered")),
        Equation(r"\theta_t = \theta_{t-1} - \eta\, b_t", positive("momentum")),
    ),
    reference="Hinton, Neural Networks for ML, lecture 6e (2012); torch.optim.RMSprop",
    summary="Leaky Adagrad: a running average of squared gradients forgets the distant past, "
            "so steps do not shrink to zero.",
    state_labels={"square_average": "v", "mean_gradient": r"\bar g", "velocity": "b"},
))


def adadelta(xp, *, lr, rho, eps, weight_decay) -> Rule:
    def init(param):
        return {"square_average": xp.zeros_like(param), "delta_average": xp.zeros_like(param)}

    def update(grad, param, state, lr, step):
        grad, param = apply_weight_decay(grad, param, lr, weight_decay, False)
        square_average = average_of_squares(state["square_average"], grad, rho)
        delta = xp.sqrt(state["delta_average"] + eps) / xp.sqrt(square_average + eps) * grad
        delta_average = average_of_squares(state["delta_average"], delta, rho)
        return param + (-lr) * delta, {"square_average": square_average, "delta_average": delta_average}

    return Rule(init, update)


register(Optimizer(
    name="adadelta",
    title="Adadelta",
    build=adadelta,
    hyperparameters=(
        Hyperparameter("lr", 1.0, "learning rate: scales the step (1 in the paper)", r"\eta", low=0.0),
        Hyperparameter("rho", 0.9, "decay ρ of both running averages", r"\rho", low=0.0, high=1.0),
        eps(1e-6),
        weight_decay(),
    ),
    equations=(
        *weight_decay_equations(decoupled_option=False),
        Equation(r"v_t = \rho v_{t-1} + (1-\rho)\, g_t^2"),
        Equation(r"\Delta_t = \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t"),
        Equation(r"u_t = \rho u_{t-1} + (1-\rho)\, \Delta_t^2"),
        Equation(r"\theta_t = \theta_{t-1} - \eta\, \Delta_t"),
    ),
    reference="Zeiler 2012; torch.optim.Adadelta",
    summary="RMSProp whose step is measured in the units of past updates: no learning rate to tune.",
    state_labels={"square_average": "v", "delta_average": "u"},
))


def rprop(xp, *, lr, etas, step_sizes) -> Rule:
    eta_minus, eta_plus = etas
    smallest, largest = step_sizes

    def init(param):
        return {"step_size": xp.zeros_like(param), "previous_grad": xp.zeros_like(param)}

    def update(grad, param, state, lr, step):
        # torch fills the step sizes with the lr current at the first step.
        step_size = xp.full_like(param, lr) if step == 1 else state["step_size"]
        agreement = grad * state["previous_grad"]
        factor = xp.where(agreement > 0, eta_plus, xp.where(agreement < 0, eta_minus, 1.0))
        step_size = xp.clip(step_size * factor, smallest, largest)
        # After a sign flip, skip this coordinate's step and forget its gradient.
        grad = xp.where(agreement < 0, 0.0, grad)
        return param - xp.sign(grad) * step_size, {"step_size": step_size, "previous_grad": grad}

    return Rule(init, update)


ETAS_STRADDLE_ONE = Constraint(("etas",), lambda etas: 0 < etas[0] < 1 < etas[1],
                               "etas = (η₋, η₊) must satisfy 0 < η₋ < 1 < η₊")


register(Optimizer(
    name="rprop",
    title="Rprop",
    build=rprop,
    hyperparameters=(
        Hyperparameter("lr", 0.01, "initial step size of every coordinate", r"\Delta_0", low=0.0),
        Hyperparameter("etas", (0.5, 1.2), "(η₋, η₊): step-size factors after a sign flip / "
                       "a kept sign", r"\eta_-, \eta_+", low=0.0, kind="pair"),
        Hyperparameter("step_sizes", (1e-6, 50.0), "(min, max) allowed step size",
                       r"\Delta_{\min}, \Delta_{\max}", low=0.0, kind="pair"),
    ),
    equations=(
        Equation(r"g_t = \nabla f(\theta_{t-1}), \quad \Delta_0 = \eta"),
        Equation(r"\Delta_t = \mathrm{clip}\Big(\Delta_{t-1} \cdot \begin{cases} \eta_+ & g_t g_{t-1} > 0 \\ "
                 r"\eta_- & g_t g_{t-1} < 0 \\ 1 & \text{otherwise} \end{cases},\ \Delta_{\min},\ "
                 r"\Delta_{\max}\Big)"),
        Equation(r"g_t \leftarrow 0 \quad \text{where } g_t g_{t-1} < 0"),
        Equation(r"\theta_t = \theta_{t-1} - \operatorname{sign}(g_t)\, \Delta_t"),
    ),
    reference="Riedmiller & Braun 1993; torch.optim.Rprop",
    summary="Uses only the gradient's sign: each coordinate's step grows while the sign holds "
            "and shrinks when it flips.",
    constraints=(ETAS_STRADDLE_ONE, ordered_pair("step_sizes", "step_sizes must be (min, max) with min ≤ max")),
    state_labels={"step_size": r"\Delta", "previous_grad": "g_{t-1}"},
))
