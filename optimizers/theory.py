r"""What the theory of a quadratic predicts for GD, heavy ball and Nesterov, from a landscape's exact Hessian.

Near a point θ₀ every smooth landscape is, to second order, the quadratic
f(θ₀ + d) ≈ f + ∇fᵀd + ½ dᵀHd with H the exact Hessian (from SymPy; a quadratic's is
constant). On that quadratic, each optimizer below is a linear iteration, so its rate of
convergence is the spectral radius of its iteration matrix, and the best fixed settings
have closed forms in the eigenvalues μ = λ_min ≤ L = λ_max of H and κ = L/μ:

- GD, θ ← θ − α∇f: stable iff 0 < α < 2/L; optimal α = 2/(μ+L), rate (κ−1)/(κ+1).
- Heavy ball (Polyak 1964), θ_{t+1} = θ_t − α∇f(θ_t) + β(θ_t − θ_{t−1}): optimal
  α* = (2/(√L+√μ))², β* = ((√κ−1)/(√κ+1))², rate (√κ−1)/(√κ+1).
- Nesterov, θ_{t+1} = y_t − α∇f(y_t), y_{t+1} = θ_{t+1} + β(θ_{t+1} − θ_t), tuned as in
  Lessard, Recht & Packard 2016 (SIAM J. Optim., §3): α = 4/(3L+μ),
  β = (√(3κ+1)−2)/(√(3κ+1)+2), rate 1 − 2/√(3κ+1) (exact on a quadratic: it is the
  spectral radius at both ends of [μ, L]).

Distill's (α, β) map (Goh 2017, "Why Momentum Really Works"): along an eigen-direction of
eigenvalue λ, momentum z ← βz + ∇f, w ← w − αz acts on (z, w) by

.. math:: R = \begin{pmatrix} \beta & \lambda \\ -\alpha\beta & 1 - \alpha\lambda \end{pmatrix},

whose eigenvalues σ solve σ² − (1 + β − αλ)σ + β = 0 (trace 1 + β − αλ, determinant β): they
depend on αλ and β only. The rate is max(|σ₁|, |σ₂|); stable iff 0 < αλ < 2 + 2β (0 ≤ β < 1).
When the roots are complex they are conjugate with |σ|² = det R = β, so the rate is √β (the
article's text says 2√β: a typo).

Which library settings realize these (checked by tests/optimizers/test_theory.py):
torch's SGD momentum, b ← βb + g, θ ← θ − ηb (``sgd``, ``momentum=β``), and the classic
form v ← ρv − η∇f, θ ← θ + v (``momentum``), both give θ_{t+1} = θ_t − η∇f(θ_t) + β(θ_t − θ_{t−1})
exactly: heavy ball with α = η (lr) and β = momentum, no rescaling (the velocities differ,
b = −v/η, the points do not). torch's ``nesterov=True`` and the look-ahead ``nesterov``
record both realize Nesterov's (α, β) with lr = α, momentum = β: torch's parameters are the
sequence y_t, the look-ahead form's are θ_t.

Non-convex points (an eigenvalue ≤ 0, a saddle or a maximum of the local quadratic): no
fixed setting converges to the point, so `optimal_lr`, `heavy_ball` and `nesterov` are None
and `note` says why. `condition_number` is then inf (κ = L/μ is only a convergence measure
for μ > 0); `magnitude_ratio` = max|λ|/min|λ| is always given. `max_stable_lr` = 2/λ_max is
still the largest rate at which GD does not blow up along the positive-curvature direction
(inf if no eigenvalue is positive); along a negative-curvature direction GD moves away by a
factor 1 + α|λ| per step at any α, which is how it escapes a saddle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from landscapes import Landscape, get_landscape

REGIMES = ("ripples", "monotonic decrease", "one-step convergence", "monotonic oscillations", "divergence")


@dataclass(frozen=True)
class Setting:
    """An optimal fixed setting: learning rate α, momentum β, and the rate it converges at.

    `card` is (optimizer name, hyperparameters) for this library: "use these settings".
    `multiplicity` is 2 where the iteration matrix has a repeated eigenvalue at the optimum
    (critical damping), so the distance shrinks like t·rateᵗ rather than rateᵗ.
    """

    lr: float
    momentum: float
    rate: float
    card: tuple[str, dict[str, Any]]
    multiplicity: int = 1


@dataclass(frozen=True)
class QuadraticTheory:
    """The local quadratic at `point` and what it predicts. Arrays: hessian (2, 2),
    eigenvalues (2,) ascending, eigenvectors (2, 2) with column i the unit vector of eigenvalue i."""

    point: tuple[float, float]
    hessian: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    convex: bool                 # every eigenvalue > 0: the point is a minimum of the local quadratic
    condition_number: float      # λ_max/λ_min if convex, else inf
    magnitude_ratio: float       # max|λ| / min|λ| (inf if an eigenvalue is 0)
    max_stable_lr: float         # 2/λ_max (inf if no eigenvalue is positive)
    optimal_lr: float | None     # 2/(λ_min + λ_max)
    optimal_rate: float | None   # (κ−1)/(κ+1)
    heavy_ball: Setting | None
    nesterov: Setting | None
    note: str

    def gd_rate(self, lr: float) -> float:
        """GD's rate at `lr`: max_i |1 − lr·λ_i| (≥ 1: no convergence)."""
        return float(np.max(np.abs(1 - lr * self.eigenvalues)))

    def momentum_rate(self, lr: float, momentum: float) -> float:
        """Heavy ball / SGD momentum's rate at (lr, momentum): the worst over the eigenvalues."""
        return float(np.max(momentum_rate(lr * self.eigenvalues, momentum)))

    def momentum_stable(self, lr: float, momentum: float) -> bool:
        """0 < lr·λ < 2 + 2·momentum for every eigenvalue (needs a convex point)."""
        return bool(np.all(momentum_stable(lr * self.eigenvalues, momentum)))

    def max_stable_momentum_lr(self, momentum: float) -> float:
        """The largest lr at which heavy ball with this momentum is stable: (2 + 2β)/λ_max
        (inf if no eigenvalue is positive)."""
        high = float(self.eigenvalues[-1])
        return (2 + 2 * momentum) / high if high > 0 else math.inf

    def regimes(self, lr: float, momentum: float) -> tuple[str, ...]:
        """Distill's regime along each eigen-direction, in eigenvalue order."""
        return tuple(momentum_regime(lr * lam, momentum) for lam in self.eigenvalues)

    def card_settings(self, method: str = "heavy_ball") -> tuple[str, dict[str, Any]]:
        """(optimizer, hyperparameters) for "gd", "heavy_ball" or "nesterov": use these settings.
        `ValueError` at a non-convex point, where no setting converges."""
        if not self.convex:
            raise ValueError(f"no optimal setting at a non-convex point: {self.note}")
        if method == "gd":
            return "sgd", {"lr": self.optimal_lr}
        setting = {"heavy_ball": self.heavy_ball, "nesterov": self.nesterov}.get(method)
        if setting is None:
            raise ValueError(f"method must be gd, heavy_ball or nesterov, got {method!r}")
        return setting.card


def quadratic_theory(landscape: Landscape | str, point: tuple[float, float] | None = None) -> QuadraticTheory:
    """The local quadratic of `landscape` at `point` (default: its first known minimum, else
    its first start) and the settings and rates theory predicts there.

    >>> theory = quadratic_theory("quadratic")
    >>> theory.eigenvalues.tolist(), theory.condition_number, theory.max_stable_lr
    ([0.2, 4.0], 20.0, 0.5)
    >>> round(theory.heavy_ball.rate, 4), theory.heavy_ball.card[0]
    (0.6345, 'sgd')
    """
    land = get_landscape(landscape) if isinstance(landscape, str) else landscape
    if point is None:
        point = (land.minima[0].x, land.minima[0].y) if land.minima else land.starts[0]
    px, py = float(point[0]), float(point[1])
    hxx, hxy, hyy = (float(v) for v in land.hessian(np.float64(px), np.float64(py)))
    hessian = np.array([[hxx, hxy], [hxy, hyy]])
    if not np.isfinite(hessian).all():
        raise ValueError(f"the Hessian of {land.name} is not finite at {point}")
    eigenvalues, eigenvectors = np.linalg.eigh(hessian)
    low, high = float(eigenvalues[0]), float(eigenvalues[1])
    magnitudes = np.abs(eigenvalues)
    magnitude_ratio = math.inf if magnitudes.min() == 0 else float(magnitudes.max() / magnitudes.min())
    max_stable_lr = 2 / high if high > 0 else math.inf
    common = dict(point=(px, py), hessian=hessian, eigenvalues=eigenvalues, eigenvectors=eigenvectors,
                  magnitude_ratio=magnitude_ratio, max_stable_lr=max_stable_lr)
    if low <= 0:
        kind = "a saddle" if high > 0 else ("a maximum" if high < 0 else "flat")
        note = (f"λ_min = {low:.4g} ≤ 0: the local quadratic is {kind}, no fixed setting converges "
                f"here; GD moves away along the λ_min eigenvector by 1 + lr·|λ_min| per step")
        return QuadraticTheory(**common, convex=False, condition_number=math.inf, optimal_lr=None,
                               optimal_rate=None, heavy_ball=None, nesterov=None, note=note)

    kappa = high / low
    root = math.sqrt(kappa)
    heavy_lr = (2 / (math.sqrt(high) + math.sqrt(low))) ** 2
    heavy_momentum = ((root - 1) / (root + 1)) ** 2
    lessard = math.sqrt(3 * kappa + 1)
    nesterov_lr, nesterov_momentum = 4 / (3 * high + low), (lessard - 2) / (lessard + 2)
    return QuadraticTheory(
        **common, convex=True, condition_number=kappa,
        optimal_lr=2 / (low + high), optimal_rate=(kappa - 1) / (kappa + 1),
        heavy_ball=Setting(heavy_lr, heavy_momentum, (root - 1) / (root + 1),
                           ("sgd", {"lr": heavy_lr, "momentum": heavy_momentum}),
                           multiplicity=1 if kappa == 1 else 2),
        nesterov=Setting(nesterov_lr, nesterov_momentum, 1 - 2 / lessard,
                         ("sgd", {"lr": nesterov_lr, "momentum": nesterov_momentum, "nesterov": True}),
                         multiplicity=1 if kappa == 1 else 2),
        note=f"κ = λ_max/λ_min = {kappa:.4g}")


# -- Distill's (αλ, β) map ------------------------------------------------------------------
def iteration_matrix(alpha_lambda: float, beta: float, lam: float = 1.0) -> np.ndarray:
    """[[β, λ], [−αβ, 1 − αλ]] acting on (z, w) along one eigen-direction (λ = 1 by default)."""
    alpha = alpha_lambda / lam
    return np.array([[beta, lam], [-alpha * beta, 1 - alpha_lambda]])


def momentum_eigenvalues(alpha_lambda, beta) -> tuple[np.ndarray, np.ndarray]:
    """The two roots σ of σ² − (1 + β − αλ)σ + β = 0 (complex arrays, broadcast shape)."""
    trace = 1 + np.asarray(beta, dtype=float) - np.asarray(alpha_lambda, dtype=float)
    root = np.sqrt((trace * trace - 4 * np.asarray(beta, dtype=float)).astype(complex))
    return (trace + root) / 2, (trace - root) / 2


def momentum_rate(alpha_lambda, beta) -> np.ndarray:
    """max(|σ₁|, |σ₂|) of the iteration matrix, vectorized over arrays of αλ and β (a heatmap:
    ``momentum_rate(al[None, :], b[:, None])``). ≥ 1 means divergence; √β where the roots are complex."""
    first, second = momentum_eigenvalues(alpha_lambda, beta)
    return np.maximum(np.abs(first), np.abs(second))


def momentum_stable(alpha_lambda, beta) -> np.ndarray:
    """0 < αλ < 2 + 2β: where the rate is below 1 (for 0 ≤ β < 1)."""
    alpha_lambda, beta = np.asarray(alpha_lambda, dtype=float), np.asarray(beta, dtype=float)
    return (alpha_lambda > 0) & (alpha_lambda < 2 + 2 * beta)


def momentum_regime(alpha_lambda: float, beta: float, tol: float = 1e-9) -> str:
    """Distill's name for the behaviour at (αλ, β), one of `REGIMES`:

    - divergence: rate ≥ 1;
    - one-step convergence: both roots 0 (β = 0, αλ = 1), within `tol`;
    - ripples: complex roots (decaying oscillation of period 2π/arg σ, modulus √β);
    - monotonic decrease: real roots, the dominant one positive;
    - monotonic oscillations: real roots, the dominant one negative (the sign flips every step).
    """
    first, second = (complex(s) for s in momentum_eigenvalues(alpha_lambda, beta))
    rate = max(abs(first), abs(second))
    if rate >= 1:
        return "divergence"
    if rate <= tol:
        return "one-step convergence"
    trace = 1 + beta - alpha_lambda
    if trace * trace - 4 * beta < 0:
        return "ripples"
    dominant = first if abs(first) >= abs(second) else second
    return "monotonic decrease" if dominant.real > 0 else "monotonic oscillations"


# -- measuring a rate on a trajectory ---------------------------------------------------------
def measured_rate(distances: np.ndarray, window: int = 50, floor: float = 1e-11, multiplicity: int = 1) -> float:
    """The per-step rate r of a distance sequence d_t = ‖θ_t − θ*‖, (T+1,): exp of the
    least-squares slope of log d_t over the last `window` steps whose distance is above
    `floor` × d_0 (below it, the round-off of θ* dominates).

    `multiplicity` = 2 for a repeated root of the iteration matrix (heavy ball and Nesterov at
    their optimal settings): then d_t = rᵗ·‖a + t·b‖, so the fit is
    log d_t = c + t·log r + log t + k₁/t + k₂/t² (the series of log(1 + a/(t·b)), truncated).
    """
    distances = np.asarray(distances, dtype=float)
    steps = np.arange(len(distances))
    usable = np.flatnonzero((distances > floor * distances[0]) & (steps > 0))
    if len(usable) < 4:
        raise ValueError("fewer than 4 usable steps to measure a rate on")
    chosen = usable[-window:].astype(float)
    logs = np.log(distances[chosen.astype(int)])
    columns = [np.ones_like(chosen), chosen]
    if multiplicity == 2:
        logs = logs - np.log(chosen)
        columns += [1 / chosen, 1 / chosen**2]
    elif multiplicity != 1:
        raise ValueError(f"multiplicity must be 1 or 2, got {multiplicity!r}")
    coefficients = np.linalg.lstsq(np.stack(columns, axis=1), logs, rcond=None)[0]
    return float(np.exp(coefficients[1]))
