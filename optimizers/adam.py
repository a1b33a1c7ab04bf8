"""Adam and its family: Adam (AMSGrad), AdamW, Adamax, NAdam, RAdam (torch.optim) and AdaBelief (optax)."""

from __future__ import annotations

from . import shared
from .registry import (
    Equation,
    Hyperparameter,
    Optimizer,
    Rule,
    betas,
    decoupled,
    eps,
    lr,
    register,
    switched_off,
    switched_on,
    weight_decay,
    weight_decay_equations,
)
from .shared import apply_weight_decay, average_of_squares, bias_correction, lerp

AMSGRAD = Hyperparameter("amsgrad", False, "AMSGrad: divide by the largest second moment so "
                         "far (Adam forgets large gradients too fast)", kind="bool")
BIAS_CORRECTION = Hyperparameter("bias_correction", True, "divide the moments by 1 − βᵗ; off, "
                                 "the first steps are badly scaled", kind="bool")


def adam(xp, *, lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay, bias_correction) -> Rule:
    """torch.optim.Adam, plus two variants the slides teach: bias correction off, and decoupled
    weight decay (then it is torch.optim.AdamW)."""
    beta1, beta2 = betas
    corrected = bias_correction  # the keyword (torch-style name) shadows shared.bias_correction here

    def init(param):
        state = {"first_moment": xp.zeros_like(param), "second_moment": xp.zeros_like(param)}
        if amsgrad:
            state["max_second_moment"] = xp.zeros_like(param)
        return state

    def update(grad, param, state, lr, step):
        grad, param = apply_weight_decay(grad, param, lr, weight_decay, decoupled_weight_decay)
        first_moment = lerp(state["first_moment"], grad, 1 - beta1)
        second_moment = average_of_squares(state["second_moment"], grad, beta2)
        new_state = {"first_moment": first_moment, "second_moment": second_moment}
        if amsgrad:
            second_moment = new_state["max_second_moment"] = xp.maximum(
                state["max_second_moment"], second_moment)
        step_size = lr / shared.bias_correction(beta1, step) if corrected else lr
        root_correction = shared.square_root(shared.bias_correction(beta2, step)) if corrected else 1.0
        denominator = xp.sqrt(second_moment) / root_correction + eps
        return param + (-step_size) * first_moment / denominator, new_state

    return Rule(init, update)


def adamw(xp, **hyperparameters) -> Rule:
    """torch.optim.AdamW: `adam` with decoupled weight decay on by default."""
    return adam(xp, **hyperparameters)


FIRST_MOMENT = Equation(r"m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t")
SECOND_MOMENT = Equation(r"v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2")
CORRECTED = switched_on("bias_correction")
UNCORRECTED = switched_off("bias_correction")
AMS, NOT_AMS = switched_on("amsgrad"), switched_off("amsgrad")
ADAM_EQUATIONS = (
    *weight_decay_equations(decoupled_option=True),
    FIRST_MOMENT,
    SECOND_MOMENT,
    Equation(r"v^{\max}_t = \max(v^{\max}_{t-1},\ v_t)", AMS),
    Equation(r"\hat m_t = \frac{m_t}{1-\beta_1^t}, \quad \hat v_t = \frac{v_t}{1-\beta_2^t}", CORRECTED & NOT_AMS),
    Equation(r"\hat m_t = \frac{m_t}{1-\beta_1^t}, \quad \hat v_t = \frac{v^{\max}_t}{1-\beta_2^t}", CORRECTED & AMS),
    Equation(r"\theta_t = \theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}", CORRECTED),
    Equation(r"\theta_t = \theta_{t-1} - \eta\, \frac{m_t}{\sqrt{v_t} + \epsilon}", UNCORRECTED & NOT_AMS),
    Equation(r"\theta_t = \theta_{t-1} - \eta\, \frac{m_t}{\sqrt{v^{\max}_t} + \epsilon}", UNCORRECTED & AMS),
)
MOMENT_LABELS = {"first_moment": "m", "second_moment": "v", "max_second_moment": r"\hat v^{\max}"}

register(Optimizer(
    name="adam",
    title="Adam",
    build=adam,
    hyperparameters=(lr(0.001), betas(), eps(1e-8), weight_decay(), AMSGRAD, decoupled(),
                     BIAS_CORRECTION),
    equations=ADAM_EQUATIONS,
    reference="Kingma & Ba 2015; Reddi, Kale & Kumar 2018 (AMSGrad); torch.optim.Adam",
    summary="Momentum plus RMSProp: a bias-corrected average of gradients divided by the root "
            "of a bias-corrected average of squared gradients.",
    state_labels=MOMENT_LABELS,
))

register(Optimizer(
    name="adamw",
    title="AdamW",
    build=adamw,
    hyperparameters=(lr(0.001), betas(), eps(1e-8), weight_decay(0.01), AMSGRAD, decoupled(True),
                     BIAS_CORRECTION),
    equations=ADAM_EQUATIONS,
    reference="Loshchilov & Hutter 2019; torch.optim.AdamW",
    summary="Adam with decoupled weight decay: θ shrinks by ηλ directly instead of through "
            "the rescaled gradient.",
    state_labels=MOMENT_LABELS,
))


def adamax(xp, *, lr, betas, eps, weight_decay) -> Rule:
    beta1, beta2 = betas

    def init(param):
        return {"first_moment": xp.zeros_like(param), "infinity_norm": xp.zeros_like(param)}

    def update(grad, param, state, lr, step):
        grad, param = apply_weight_decay(grad, param, lr, weight_decay, False)
        first_moment = lerp(state["first_moment"], grad, 1 - beta1)
        infinity_norm = xp.maximum(state["infinity_norm"] * beta2, xp.abs(grad) + eps)
        step_size = lr / bias_correction(beta1, step)
        return param + (-step_size) * first_moment / infinity_norm, {
            "first_moment": first_moment, "infinity_norm": infinity_norm}

    return Rule(init, update)


register(Optimizer(
    name="adamax",
    title="Adamax",
    build=adamax,
    hyperparameters=(lr(0.002), betas(), eps(1e-8), weight_decay()),
    equations=(
        *weight_decay_equations(decoupled_option=False),
        FIRST_MOMENT,
        Equation(r"u_t = \max(\beta_2 u_{t-1},\ |g_t| + \epsilon)"),
        Equation(r"\theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\, \frac{m_t}{u_t}"),
    ),
    reference="Kingma & Ba 2015, §7; torch.optim.Adamax",
    summary="Adam with the infinity norm: the denominator is a decaying maximum of |g|.",
    state_labels={"first_moment": "m", "infinity_norm": "u"},
))


def nadam(xp, *, lr, betas, eps, weight_decay, momentum_decay, decoupled_weight_decay) -> Rule:
    beta1, beta2 = betas

    def mu(step: int) -> float:
        return beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))

    def init(param):
        return {"first_moment": xp.zeros_like(param), "second_moment": xp.zeros_like(param),
                "_mu_product": 1.0}

    def update(grad, param, state, lr, step):
        grad, param = apply_weight_decay(grad, param, lr, weight_decay, decoupled_weight_decay)
        mu_now, mu_next = mu(step), mu(step + 1)
        mu_product = state["_mu_product"] * mu_now
        first_moment = lerp(state["first_moment"], grad, 1 - beta1)
        second_moment = average_of_squares(state["second_moment"], grad, beta2)
        denominator = xp.sqrt(second_moment / bias_correction(beta2, step)) + eps
        param = param + (-lr * (1.0 - mu_now) / (1.0 - mu_product)) * grad / denominator
        param = param + ((-lr * mu_next) / (1.0 - mu_product * mu_next)) * first_moment / denominator
        return param, {"first_moment": first_moment, "second_moment": second_moment,
                       "_mu_product": mu_product}

    return Rule(init, update)


register(Optimizer(
    name="nadam",
    title="NAdam",
    build=nadam,
    hyperparameters=(
        lr(0.002), betas(), eps(1e-8), weight_decay(),
        Hyperparameter("momentum_decay", 0.004, "ψ: schedule of the momentum coefficient "
                       "μ_t = β₁(1 − ½·0.96^{tψ})", r"\psi", low=0.0),
        decoupled(),
    ),
    equations=(
        *weight_decay_equations(decoupled_option=True),
        Equation(r"\mu_t = \beta_1\big(1 - \tfrac12\, 0.96^{t\psi}\big)"),
        FIRST_MOMENT,
        SECOND_MOMENT,
        Equation(r"\theta_t = \theta_{t-1} - \frac{\eta}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}"
                 r"\Big(\frac{(1-\mu_t)\, g_t}{1-\prod_{i\le t}\mu_i} + \frac{\mu_{t+1}\, m_t}"
                 r"{1-\prod_{i\le t+1}\mu_i}\Big)"),
    ),
    reference="Dozat 2016; torch.optim.NAdam",
    summary="Adam with Nesterov momentum: the step uses the momentum it is about to have.",
    state_labels={"first_moment": "m", "second_moment": "v"},
))


def radam(xp, *, lr, betas, eps, weight_decay, decoupled_weight_decay) -> Rule:
    beta1, beta2 = betas
    rho_infinity = 2 / (1 - beta2) - 1

    def init(param):
        return {"first_moment": xp.zeros_like(param), "second_moment": xp.zeros_like(param)}

    def update(grad, param, state, lr, step):
        grad, param = apply_weight_decay(grad, param, lr, weight_decay, decoupled_weight_decay)
        first_moment = lerp(state["first_moment"], grad, 1 - beta1)
        second_moment = average_of_squares(state["second_moment"], grad, beta2)
        new_state = {"first_moment": first_moment, "second_moment": second_moment}
        correction2 = bias_correction(beta2, step)
        corrected_first_moment = first_moment / bias_correction(beta1, step)
        rho = rho_infinity - 2 * step * beta2**step / correction2
        if rho <= 5.0:  # the variance of the adaptive rate is intractable: plain momentum
            return param + (-1.0) * (corrected_first_moment * lr), new_state
        rectification = ((rho - 4) * (rho - 2) * rho_infinity
                         / ((rho_infinity - 4) * (rho_infinity - 2) * rho)) ** 0.5
        adaptive_lr = correction2**0.5 / (xp.sqrt(second_moment) + eps)
        return param + (-1.0) * (corrected_first_moment * lr * adaptive_lr * rectification), new_state

    return Rule(init, update)


register(Optimizer(
    name="radam",
    title="RAdam",
    build=radam,
    hyperparameters=(lr(0.001), betas(), eps(1e-8), weight_decay(), decoupled()),
    equations=(
        *weight_decay_equations(decoupled_option=True),
        FIRST_MOMENT,
        SECOND_MOMENT,
        Equation(r"\hat m_t = \frac{m_t}{1-\beta_1^t}, \quad \rho_t = \rho_\infty - \frac{2t\beta_2^t}"
                 r"{1-\beta_2^t}, \quad \rho_\infty = \frac{2}{1-\beta_2} - 1"),
        Equation(r"r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}}"),
        Equation(r"\theta_t = \theta_{t-1} - \eta\, \hat m_t \cdot \begin{cases} r_t\, \frac{\sqrt{1-\beta_2^t}}"
                 r"{\sqrt{v_t}+\epsilon} & \rho_t > 5 \\ 1 & \text{otherwise} \end{cases}"),
    ),
    reference="Liu et al. 2020; torch.optim.RAdam",
    summary="Adam that starts as plain momentum until enough squared gradients are averaged "
            "for the adaptive rate to be trusted (a built-in warmup).",
    state_labels={"first_moment": "m", "second_moment": "v"},
))


def adabelief(xp, *, lr, betas, eps, eps_root) -> Rule:
    """optax.adabelief: the second moment tracks (g − m)², the gradient's spread around its mean."""
    beta1, beta2 = betas

    def init(param):
        return {"first_moment": xp.zeros_like(param), "belief": xp.zeros_like(param)}

    def update(grad, param, state, lr, step):
        first_moment = (1 - beta1) * grad + beta1 * state["first_moment"]
        surprise = grad - first_moment
        belief = (1 - beta2) * (surprise * surprise) + beta2 * state["belief"] + eps_root
        corrected_first = first_moment / bias_correction(beta1, step)
        corrected_belief = belief / bias_correction(beta2, step)
        direction = corrected_first / (xp.sqrt(corrected_belief) + eps)
        return param + -lr * direction, {"first_moment": first_moment, "belief": belief}

    return Rule(init, update)


register(Optimizer(
    name="adabelief",
    title="AdaBelief",
    build=adabelief,
    hyperparameters=(
        lr(0.001), betas(), eps(1e-16),
        Hyperparameter("eps_root", 1e-16, "ε added inside the square root", r"\epsilon_{root}", low=0.0),
    ),
    equations=(
        Equation(r"g_t = \nabla f(\theta_{t-1})"),
        FIRST_MOMENT,
        Equation(r"s_t = \beta_2 s_{t-1} + (1-\beta_2)\,(g_t - m_t)^2 + \epsilon_{root}"),
        Equation(r"\theta_t = \theta_{t-1} - \eta\, \frac{m_t/(1-\beta_1^t)}{\sqrt{s_t/(1-\beta_2^t)} + \epsilon}"),
    ),
    reference="Zhuang et al. 2020; optax.adabelief",
    summary="Adam whose denominator is the gradient's variance around its running mean: big "
            "steps where the gradient is predictable, small ones where it surprises.",
    state_labels={"first_moment": "m", "belief": "s"},
))
