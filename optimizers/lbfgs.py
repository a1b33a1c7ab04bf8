"""L-BFGS with torch.optim.LBFGS's arithmetic, every start keeping its own memory of (s, y) pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .linesearch import dot, max_abs, strong_wolfe
from .registry import Condition, Equation, Hyperparameter, Optimizer, Rule, register

CURVATURE_FLOOR = 1e-10  # torch stores a pair only when yᵀs exceeds this


@dataclass
class Memory:
    """The (s, y) pairs of every start, oldest first: `steps` s and `changes` y are
    (capacity, 2, N), `inverse_curvatures` ρ = 1/(yᵀs) is (capacity, N) and `count` (N,) says
    how many are held. Kept as one object (a "_" state entry) so that recording a step does not
    copy the whole history; capacity grows up to `size` as pairs arrive."""

    size: int
    steps: np.ndarray
    changes: np.ndarray
    inverse_curvatures: np.ndarray
    count: np.ndarray

    @classmethod
    def empty(cls, size: int, n: int) -> Memory:
        return cls(size, np.zeros((0, 2, n)), np.zeros((0, 2, n)), np.zeros((0, n)), np.zeros(n, dtype=int))

    def push(self, which: np.ndarray, s: np.ndarray, y: np.ndarray, rho: np.ndarray) -> None:
        """Append (s, y, ρ) for the starts in `which`, dropping the oldest pair of a full memory."""
        full = which & (self.count == self.size)
        if full.any():
            for array in (self.steps, self.changes, self.inverse_curvatures):
                array[:-1, ..., full] = array[1:, ..., full]
        needed = int(self.count[which].max()) + 1
        if needed > len(self.steps) and len(self.steps) < self.size:
            capacity = min(self.size, max(needed, 2 * len(self.steps)))
            grow = capacity - len(self.steps)
            n = len(self.count)
            self.steps = np.concatenate((self.steps, np.zeros((grow, 2, n))))
            self.changes = np.concatenate((self.changes, np.zeros((grow, 2, n))))
            self.inverse_curvatures = np.concatenate((self.inverse_curvatures, np.zeros((grow, n))))
        slot = np.where(full, self.size - 1, self.count)
        at = np.flatnonzero(which)
        self.steps[slot[at], :, at] = s[:, at].T
        self.changes[slot[at], :, at] = y[:, at].T
        self.inverse_curvatures[slot[at], at] = rho[at]
        self.count = np.where(which & ~full, self.count + 1, self.count)

    def direction(self, grad: np.ndarray, scale: np.ndarray, which: np.ndarray) -> np.ndarray:
        """−H∇f by the two-loop recursion (Nocedal & Wright, Algorithm 7.4), H₀ = scale·I,
        in torch's order; for the starts in `which` (others get −scale·∇f)."""
        held = int(self.count[which].max(initial=0))
        alphas = [None] * held
        q = -grad
        for i in range(held - 1, -1, -1):
            alphas[i] = dot(self.steps[i], q) * self.inverse_curvatures[i]
            q = np.where(i < self.count, q + (-alphas[i]) * self.changes[i], q)
        r = q * scale
        for i in range(held):
            beta = dot(self.changes[i], r) * self.inverse_curvatures[i]
            r = np.where(i < self.count, r + (alphas[i] - beta) * self.steps[i], r)
        return r

    def clear(self, which: np.ndarray) -> None:
        self.count = np.where(which, 0, self.count)


def lbfgs(xp, *, lr, max_iter, max_eval, tolerance_grad, tolerance_change, history_size, line_search_fn,
          landscape) -> Rule:
    """One simulate step is one ``LBFGS.step(closure)`` call of torch, its state kept between
    calls: with ``max_iter=1`` (the default here) one point per L-BFGS iteration.

    Recorded per step: `direction` d (the last search direction taken, NaN if the step did
    not move), `step_length` t, `line_search_evaluations` (f and ∇f evaluations after the
    one at the step's start), `memory` (pairs held), and `s`, `y`: the pair stored at this
    step (NaN if none was; `memory_pairs` lists all pairs held after a step).
    """

    def init(param):
        n = param.shape[1]
        nan = np.full((2, n), np.nan)
        return {"direction": nan, "step_length": np.zeros(n), "line_search_evaluations": np.zeros(n),
                "memory": np.zeros(n), "s": nan, "y": nan,
                "_iterations": np.zeros(n, dtype=int), "_d": np.zeros((2, n)), "_t": np.zeros(n),
                "_prev_grad": np.zeros((2, n)), "_prev_loss": np.zeros(n), "_scale": np.ones(n),
                "_memory": Memory.empty(history_size, n)}

    def evaluate_at(points):
        f, gx, gy = landscape.value_and_gradient(points[0], points[1])
        return np.asarray(f, dtype=float), np.stack((gx, gy)).astype(float)

    def update(grad, param, state, lr, step):
        with np.errstate(all="ignore"):
            return lbfgs_step(grad, param, dict(state), lr)

    def lbfgs_step(grad, param, state, lr):
        n = param.shape[1]
        memory: Memory = state["_memory"]
        d, t, scale = state["_d"], state["_t"], state["_scale"]
        prev_grad, prev_loss, iterations = state["_prev_grad"], state["_prev_loss"], state["_iterations"]
        f, g, x = evaluate_at(param)[0], grad, param
        direction, step_length = np.full((2, n), np.nan), np.zeros(n)
        stored_s, stored_y = np.full((2, n), np.nan), np.full((2, n), np.nan)
        evaluations = np.ones(n, dtype=int)  # torch's current_evals: the closure() at the start
        active = ~(max_abs(g) <= tolerance_grad)  # torch returns at once at a stationary point

        for inner in range(1, max_iter + 1):
            if not active.any():
                break
            iterations = iterations + active
            first = active & (iterations == 1)
            later = active & ~first
            if later.any():
                y, s = g - prev_grad, d * t
                ys = dot(y, s)
                store = later & (ys > CURVATURE_FLOOR)
                if store.any():
                    memory.push(store, s, y, 1.0 / ys)
                    scale = np.where(store, ys / dot(y, y), scale)
                    stored_s, stored_y = np.where(store, s, stored_s), np.where(store, y, stored_y)
                d = np.where(later, memory.direction(g, scale, later), d)
            if first.any():
                memory.clear(first)
                scale = np.where(first, 1.0, scale)
                d = np.where(first, -g, d)
            prev_grad, prev_loss = np.where(active, g, prev_grad), np.where(active, f, prev_loss)
            inverse_l1 = 1.0 / (np.abs(g[0]) + np.abs(g[1]))
            shrunk = first & (inverse_l1 < 1.0)  # torch's t is then a tensor, else a float
            t = np.where(first, np.where(shrunk, inverse_l1, 1.0) * lr, np.where(active, lr, t))
            gtd = dot(g, d)
            moving = active & ~(gtd > -tolerance_change)  # not a descent direction: stop here

            spent = np.zeros(n, dtype=int)
            if line_search_fn == "strong_wolfe":
                def along(trial_t, x=x, d=d):
                    return evaluate_at(x + trial_t * d)
                f_ls, g_ls, t_ls, spent = strong_wolfe(along, t, d, f, g, gtd, max_eval - evaluations, moving,
                                                       shrunk, tolerance_change=tolerance_change)
                t = np.where(moving, t_ls, t)
                x = np.where(moving, x + t * d, x)
                f, g = np.where(moving, f_ls, f), np.where(moving, g_ls, g)
                optimal = max_abs(g) <= tolerance_grad
            else:
                x = np.where(moving, x + t * d, x)
                optimal = np.zeros(n, dtype=bool)
                if inner != max_iter:  # torch re-evaluates only if another iteration follows
                    f_new, g_new = evaluate_at(x)
                    f, g = np.where(moving, f_new, f), np.where(moving, g_new, g)
                    optimal = max_abs(g) <= tolerance_grad
                    spent = np.where(moving, 1, 0)
            evaluations = evaluations + np.where(moving, spent, 0)
            direction = np.where(moving, d, direction)
            step_length = np.where(moving, t, step_length)
            if inner == max_iter:
                break
            active = (moving & ~(evaluations >= max_eval) & ~optimal
                      & ~(max_abs(d * t) <= tolerance_change) & ~(np.abs(f - prev_loss) < tolerance_change))

        state.update({"direction": direction, "step_length": step_length,
                      "line_search_evaluations": (evaluations - 1).astype(float),
                      "memory": memory.count.astype(float), "s": stored_s, "y": stored_y,
                      "_iterations": iterations, "_d": d, "_t": t, "_prev_grad": prev_grad,
                      "_prev_loss": prev_loss, "_scale": scale})
        return x, state

    return Rule(init, update)


def memory_pairs(run, start: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """The (s, y) pairs an `lbfgs` run (``max_iter=1``, record="full") held after step `step`
    (1-based), oldest first: (s (m, 2), y (m, 2))."""
    if run.optimizer != "lbfgs" or run.hyperparameters["max_iter"] != 1:
        raise ValueError("memory_pairs reads an lbfgs run with max_iter=1: one pair at most per step")
    held = int(run.states["memory"][start, step - 1, 0])
    stored = ~np.isnan(run.states["s"][start, :step, 0])
    s, y = run.states["s"][start, :step][stored], run.states["y"][start, :step][stored]
    return s[len(s) - held:], y[len(y) - held:]


class _LineSearchChoice(Hyperparameter):
    """A choice that also takes torch's None for "none"."""

    def check(self, value):
        return super().check("none" if value is None else value)


STRONG_WOLFE = Condition('line_search_fn = "strong_wolfe"', lambda values: values["line_search_fn"] == "strong_wolfe")
FIXED_STEP = Condition("line_search_fn = None", lambda values: values["line_search_fn"] != "strong_wolfe")

register(Optimizer(
    name="lbfgs",
    title="L-BFGS",
    build=lbfgs,
    hyperparameters=(
        Hyperparameter("lr", 1.0, "step length along the L-BFGS direction (1: the quasi-Newton step); "
                       "the strong-Wolfe search starts from it", r"\eta", low=0.0),
        Hyperparameter("max_iter", 1, "L-BFGS iterations per step (torch's default is 20; 1 draws "
                       "every iteration)", r"k_{\max}", low=1, high=50, kind="int"),
        Hyperparameter("max_eval", 25, "most f and ∇f evaluations per step, the one at its start "
                       "included (torch: max_iter·5/4 = 25 for its default max_iter)", r"e_{\max}",
                       low=1, high=200, kind="int"),
        Hyperparameter("tolerance_grad", 1e-7, "stop when max|∇f| is at most this", r"\epsilon_g", low=0.0),
        Hyperparameter("tolerance_change", 1e-9, "stop when f, the step or the slope ∇fᵀd changes "
                       "by less than this", r"\epsilon_f", low=0.0),
        Hyperparameter("history_size", 100, "pairs (s, y) kept: the memory m", "m", low=1, high=1000,
                       kind="int"),
        _LineSearchChoice("line_search_fn", "none", "none: fixed step t = η; strong_wolfe: a line "
                          "search for the strong Wolfe conditions (c₁ = 1e-4, c₂ = 0.9)",
                          kind="choice", choices=("none", "strong_wolfe")),
    ),
    equations=(
        Equation(r"g_t = \nabla f(\theta_{t-1})"),
        Equation(r"s_{t-1} = \alpha_{t-1} d_{t-1},\quad y_{t-1} = g_t - g_{t-1}"
                 r"\quad \text{(kept if } y_{t-1}^\top s_{t-1} > 10^{-10}\text{; the last } m\text{ pairs)}"),
        Equation(r"H_t^0 = \frac{y_{t-1}^\top s_{t-1}}{y_{t-1}^\top y_{t-1}}\, I,\quad"
                 r" \rho_i = \frac{1}{y_i^\top s_i}"),
        Equation(r"H_t = H_t^0 \text{ updated by each held pair, oldest first: } H \leftarrow V_i^\top H V_i"
                 r" + \rho_i s_i s_i^\top,\ V_i = I - \rho_i y_i s_i^\top \ \text{(two-loop recursion)}"),
        Equation(r"d_t = -H_t\, g_t \quad (d_1 = -g_1)"),
        Equation(r"\alpha_t = \eta \quad \big(\alpha_1 = \eta \min(1, 1/\|g_1\|_1)\big)", FIXED_STEP),
        Equation(r"\alpha_t:\ f(\theta_{t-1} + \alpha_t d_t) \le f(\theta_{t-1}) + c_1 \alpha_t\, g_t^\top d_t,\ "
                 r"|\nabla f(\theta_{t-1} + \alpha_t d_t)^\top d_t| \le c_2\, |g_t^\top d_t|", STRONG_WOLFE),
        Equation(r"\theta_t = \theta_{t-1} + \alpha_t\, d_t"),
    ),
    reference="Liu & Nocedal, On the limited memory BFGS method for large scale optimization, "
              "Math. Programming 45, 1989; Nocedal & Wright, Numerical Optimization, ch. 7 "
              "(Algorithm 7.4) and ch. 3 (Algorithms 3.5, 3.6); PyTorch's LBFGS, whose arithmetic this follows "
              "(its references: tests/data/lbfgs_trajectories.json)",
    summary="A quasi-Newton method: builds curvature from the last m gradient changes, so it "
            "takes Newton-like steps without a Hessian.",
    elementwise=False,
    per_start_arrays=True,  # lr and the tolerances broadcast over the starts (each start's branch is a mask)
    needs_landscape=True,
    state_labels={"direction": r"d_t", "step_length": r"\alpha_t", "line_search_evaluations": r"n_{\mathrm{eval}}",
                  "memory": r"|\mathcal{M}_t|", "s": r"s_{t-1}", "y": r"y_{t-1}"},
))
