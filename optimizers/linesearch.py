"""Line searches over a batch of starts: torch's strong-Wolfe search, and Armijo backtracking with its optimizer.

Each search works on all N starts at once, every start following its own branch of the
scalar algorithm: arrays are (N,) for scalars along the line and (2, N) for points,
gradients and directions, and a start's branch is a boolean mask. The arithmetic is
torch's, operation for operation (``a·b`` is ``a₀b₀ + a₁b₁``, as torch's dot on two
elements), so a search picks the step torch's would pick, to the bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .registry import Equation, Hyperparameter, Optimizer, Rule, register

# f and ∇f at x + t·d for every start: t (N,) -> (f (N,), ∇f (2, N))
Evaluate = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

BRACKETING, ZOOMING, DONE = 0, 1, 2


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a·b per start for (2, N) arrays, as torch's ``a.dot(b)`` on two elements: a₀b₀ + a₁b₁."""
    return a[0] * b[0] + a[1] * b[1]


def max_abs(a: np.ndarray) -> np.ndarray:
    """max(|a₀|, |a₁|) per start (NaN if either is NaN), as torch's ``a.abs().max()``."""
    return np.maximum(np.abs(a[0]), np.abs(a[1]))


def cubic_interpolate(x1, f1, g1, x2, f2, g2, low, high, tensors=None):
    """The minimizer of the cubic through (x1, f1, f′=g1) and (x2, f2, f′=g2), clamped to [low, high];
    the middle of [low, high] when the cubic has no real minimizer (torch's `_cubic_interpolate`).

    torch mixes Python floats and 0-d tensors here (f is a float, a slope a tensor, a step
    either), and divides a float by a tensor as ``tensor.reciprocal() * float``: two roundings.
    `tensors` = (x1, x2, low, high) flags, (N,) each, say which are tensors in torch; then the
    division rounds as torch's does and (value, value is a tensor) is returned.
    """
    difference = 3 * (f1 - f2)
    quotient = difference / (x1 - x2)
    if tensors is not None:
        x1_tensor, x2_tensor, low_tensor, high_tensor = tensors
        quotient = np.where(x1_tensor | x2_tensor, np.reciprocal(x1 - x2) * difference, quotient)
    d1 = g1 + g2 - quotient
    d2_square = d1**2 - g1 * g2
    real = d2_square >= 0
    d2 = np.sqrt(np.where(real, d2_square, 0.0))
    minimum = np.where(x1 <= x2,
                       x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)),
                       x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2)))
    # Python's min(max(m, low), high), NaN and ties included
    raised = low > minimum
    clamped = np.where(raised, low, minimum)
    lowered = high < clamped
    value = np.where(real, np.where(lowered, high, clamped), (low + high) / 2.0)
    if tensors is None:
        return value
    # the minimizer is a tensor (it involves √ of a tensor); a bound is what it was
    is_tensor = np.where(real, np.where(lowered, high_tensor, ~raised | low_tensor), low_tensor | high_tensor)
    return value, is_tensor


def strong_wolfe(evaluate: Evaluate, t: np.ndarray, d: np.ndarray, f: np.ndarray, g: np.ndarray,
                 gtd: np.ndarray, max_ls: np.ndarray, searching: np.ndarray, t_is_tensor: np.ndarray,
                 c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9):
    """torch.optim.lbfgs._strong_wolfe for every start where `searching` (others are left alone).

    Finds t with f(x + td) ≤ f + c₁ t ∇fᵀd and |∇f(x + td)ᵀd| ≤ c₂ |∇fᵀd| (Nocedal & Wright,
    Algorithms 3.5 and 3.6): first bracket a step (growing t by cubic interpolation, up to
    10× per trial), then zoom into the bracket. `max_ls` (N,) caps the trials after the
    first; `t_is_tensor` (N,) says whether torch's initial t is a tensor (see
    `cubic_interpolate`: it changes how one division rounds). Returns (f (N,), ∇f (2, N),
    t (N,), evaluations (N,)) at the chosen step.
    """
    n = len(t)
    d_norm = max_abs(d)
    f_new, g_new = evaluate(t)
    evaluations = np.where(searching, 1, 0)
    gtd_new = dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = np.zeros(n), f, g, gtd
    t_tensor, t_prev_tensor = t_is_tensor.copy(), np.zeros(n, dtype=bool)  # torch's t_prev starts as int 0
    trials = np.zeros(n, dtype=int)  # torch's ls_iter
    phase = np.where(searching, BRACKETING, DONE)
    # The bracket [a₀, a₁]: steps, values, gradients and slopes at both ends; `low` is the better end.
    steps, values = np.zeros((2, n)), np.zeros((2, n))
    grads, slopes = np.zeros((2, 2, n)), np.zeros((2, n))
    steps_tensor = np.zeros((2, n), dtype=bool)
    low = np.zeros(n, dtype=int)
    insufficient = np.zeros(n, dtype=bool)
    columns = np.arange(n)

    def hold(where, ends, slope0=None, slope1=None):
        for end, (step, is_tensor, value, grad) in enumerate(ends):
            steps[end], steps_tensor[end] = np.where(where, step, steps[end]), np.where(where, is_tensor,
                                                                                        steps_tensor[end])
            values[end], grads[end] = np.where(where, value, values[end]), np.where(where, grad, grads[end])
        if slope0 is not None:
            slopes[0], slopes[1] = np.where(where, slope0, slopes[0]), np.where(where, slope1, slopes[1])
        low[where] = np.where(values[0] <= values[1], 0, 1)[where]

    while True:
        bracketing = phase == BRACKETING
        growing = np.zeros(n, dtype=bool)
        if bracketing.any():
            exhausted = bracketing & (trials >= max_ls)
            open_ = bracketing & ~exhausted
            too_high = open_ & ((f_new > f + c1 * t * gtd) | ((trials > 1) & (f_new >= f_prev)))
            wolfe = open_ & ~too_high & (np.abs(gtd_new) <= -c2 * gtd)
            uphill = open_ & ~too_high & ~wolfe & (gtd_new >= 0)
            growing = open_ & ~too_high & ~wolfe & ~uphill
            bracketed = too_high | uphill
            trial_end = (t, t_tensor, f_new, g_new)
            hold(bracketed, ((t_prev, t_prev_tensor, f_prev, g_prev), trial_end), gtd_prev, gtd_new)
            hold(exhausted, ((0.0, False, f, g), trial_end))
            hold(wolfe, (trial_end, trial_end))
            phase[exhausted | wolfe] = DONE
            phase[bracketed] = ZOOMING
            # Extrapolate: the cubic's minimizer in [t + 0.01 (t − t_prev), 10 t]
            grown, grown_tensor = cubic_interpolate(
                t_prev, f_prev, gtd_prev, t, f_new, gtd_new, t + 0.01 * (t - t_prev), t * 10,
                tensors=(t_prev_tensor, t_tensor, t_tensor | t_prev_tensor, t_tensor))
            t_prev, f_prev = np.where(growing, t, t_prev), np.where(growing, f_new, f_prev)
            g_prev, gtd_prev = np.where(growing, g_new, g_prev), np.where(growing, gtd_new, gtd_prev)
            t_prev_tensor = np.where(growing, t_tensor, t_prev_tensor)
            t, t_tensor = np.where(growing, grown, t), np.where(growing, grown_tensor, t_tensor)

        zooming = phase == ZOOMING
        if zooming.any():
            finished = zooming & ((trials >= max_ls) | (np.abs(steps[1] - steps[0]) * d_norm < tolerance_change))
            phase[finished] = DONE
            zooming &= ~finished
            ordered = steps[0] <= steps[1]
            bounds = [np.where(ordered, steps[i], steps[1 - i]) for i in (0, 1)]
            bounds_tensor = [np.where(ordered, steps_tensor[i], steps_tensor[1 - i]) for i in (0, 1)]
            t_zoom, zoom_tensor = cubic_interpolate(steps[0], values[0], slopes[0], steps[1], values[1],
                                                    slopes[1], *bounds, tensors=(*steps_tensor, *bounds_tensor))
            # Too close to an end of the bracket twice running (or outside it): 10% inside instead.
            smallest = np.where(steps[1] < steps[0], steps[1], steps[0])  # Python's min(bracket)
            largest = np.where(steps[1] > steps[0], steps[1], steps[0])
            eps = 0.1 * (largest - smallest)
            to_largest, to_smallest = largest - t_zoom, t_zoom - smallest
            near_end = np.where(to_smallest < to_largest, to_smallest, to_largest) < eps
            at_end = insufficient | (t_zoom >= largest) | (t_zoom <= smallest)
            moved = near_end & at_end
            t_zoom = np.where(moved, np.where(np.abs(t_zoom - largest) < np.abs(t_zoom - smallest),
                                              largest - eps, smallest + eps), t_zoom)
            zoom_tensor = np.where(moved, steps_tensor[0] | steps_tensor[1], zoom_tensor)
            insufficient = np.where(zooming, near_end & ~at_end, insufficient)
            t, t_tensor = np.where(zooming, t_zoom, t), np.where(zooming, zoom_tensor, t_tensor)

        trying = growing | zooming
        if not trying.any():
            break
        f_trial, g_trial = evaluate(t)
        f_new, g_new = np.where(trying, f_trial, f_new), np.where(trying, g_trial, g_new)
        gtd_new = np.where(trying, dot(g_new, d), gtd_new)
        evaluations += trying
        trials += trying

        if zooming.any():
            high = 1 - low
            worse = zooming & ((f_new > f + c1 * t * gtd) | (f_new >= values[low, columns]))
            better = zooming & ~worse
            done = better & (np.abs(gtd_new) <= -c2 * gtd)
            flip = better & ~done & (gtd_new * (steps[high, columns] - steps[low, columns]) >= 0)
            # worse: the trial replaces the high end; flip: the old low end becomes the high end
            old_low = (steps[low, columns], steps_tensor[low, columns], values[low, columns],
                       grads[low, :, columns].T, slopes[low, columns])
            for where, end, (step, is_tensor, value, grad, slope) in (
                    (worse, high, (t, t_tensor, f_new, g_new, gtd_new)),
                    (flip, high, old_low),
                    (better, low, (t, t_tensor, f_new, g_new, gtd_new))):
                rows, at = end[where], columns[where]
                steps[rows, at], steps_tensor[rows, at], values[rows, at] = step[where], is_tensor[where], value[where]
                grads[rows, :, at], slopes[rows, at] = grad[:, where].T, slope[where]
            low[worse] = np.where(values[0] <= values[1], 0, 1)[worse]
            phase[done] = DONE

    return values[low, columns], grads[low, :, columns].T, steps[low, columns], evaluations


# -- gradient descent with Armijo backtracking ------------------------------------------------------

def armijo_backtracking(evaluate: Evaluate, f: np.ndarray, slope: np.ndarray, lr, beta, c,
                        max_backtracks: int) -> tuple[np.ndarray, np.ndarray]:
    """The first t in lr, lr·β, lr·β², … with f(x + td) ≤ f + c·t·slope (slope = ∇fᵀd < 0),
    checking at most `max_backtracks` of them; lr·β^max_backtracks, unchecked, if none passes.
    lr, β and c are numbers or (N,) arrays, one per start.

    Returns (t (N,), evaluations (N,)).
    """
    t = np.array(np.broadcast_to(np.asarray(lr, dtype=float), len(f)))
    evaluations = np.zeros(len(f), dtype=int)
    searching = np.ones(len(f), dtype=bool)
    for _ in range(max_backtracks):
        evaluations += searching
        searching &= ~(evaluate(t)[0] <= f + c * t * slope)
        if not searching.any():
            break
        t = np.where(searching, t * beta, t)
    return t, evaluations


def gd_backtracking(xp, *, lr, beta, c, max_backtracks, landscape) -> Rule:
    """Steepest descent d = −∇f with the step chosen by Armijo backtracking: start at lr and
    shrink by β until f decreases by at least c·t·‖∇f‖² (the sufficient-decrease condition)."""

    def init(param):
        zeros = np.zeros(param.shape[1])
        return {"step_length": zeros, "line_search_evaluations": zeros.copy()}

    def update(grad, param, state, lr, step):
        with np.errstate(all="ignore"):
            f = landscape.loss(param[0], param[1])

            def evaluate(t):
                trial = param - t * grad
                return landscape.loss(trial[0], trial[1]), None

            t, evaluations = armijo_backtracking(evaluate, f, -dot(grad, grad), lr, beta, c, max_backtracks)
            return param - t * grad, {"step_length": t, "line_search_evaluations": evaluations.astype(float)}

    return Rule(init, update)


LINE_SEARCH_LABELS = {"step_length": r"\alpha_t", "line_search_evaluations": r"n_{\mathrm{eval}}"}

register(Optimizer(
    name="gd_backtracking",
    title="GD + backtracking (Armijo)",
    build=gd_backtracking,
    hyperparameters=(
        Hyperparameter("lr", 1.0, "initial step length tried at every step", r"\eta", low=0.0),
        Hyperparameter("beta", 0.5, "shrink factor: a rejected step length is multiplied by β",
                       r"\beta", low=0.0, high=1.0, low_open=True, high_open=True),
        Hyperparameter("c", 1e-4, "sufficient-decrease constant of the Armijo condition", "c",
                       low=0.0, high=1.0, low_open=True, high_open=True),
        Hyperparameter("max_backtracks", 30, "most step lengths checked per step (if none passes, "
                       "the step is η·β^K)", "K", low=0, kind="int"),
    ),
    equations=(
        Equation(r"g_t = \nabla f(\theta_{t-1})"),
        Equation(r"\alpha_t = \eta\, \beta^{j},\ j = \min\{\, j < K : f(\theta_{t-1} - \eta\beta^{j} g_t)"
                 r" \le f(\theta_{t-1}) - c\, \eta\beta^{j} \|g_t\|^2 \,\}\ (\text{else } K)"),
        Equation(r"\theta_t = \theta_{t-1} - \alpha_t\, g_t"),
    ),
    reference="Armijo, Minimization of functions having Lipschitz continuous first partial "
              "derivatives, Pacific J. Math. 16(1), 1966; Nocedal & Wright, Numerical Optimization, "
              "Algorithm 3.1",
    summary="Gradient descent that picks its own step: try η, halve (×β) until f drops by enough. "
            "No learning rate to tune, at the price of extra function evaluations per step; "
            "torch.optim has no such optimizer.",
    elementwise=False,
    needs_landscape=True,
    per_start_arrays=True,  # lr, β and c broadcast over the starts (each start searches on its own)
    state_labels=LINE_SEARCH_LABELS,
))
