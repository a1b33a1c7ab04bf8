"""optimizers.theory: the predictions of the quadratic model, checked against simulate's trajectories."""

import math

import numpy as np
import pytest
import sympy as sp

from landscapes import Landscape, get_landscape, x, y
from optimizers import simulate
from optimizers.theory import (
    REGIMES,
    iteration_matrix,
    measured_rate,
    momentum_eigenvalues,
    momentum_rate,
    momentum_regime,
    momentum_stable,
    quadratic_theory,
)

COS, SIN = sp.sqrt(3) / 2, sp.Rational(1, 2)
# The catalog quadratic 0.1u² + 2v² turned by 30°: eigenvectors off the axes, minimum at 0 (no round-off floor).
ROTATED = Landscape(name="rotated_quadratic", title="rotated quadratic",
                    expression=sp.Rational(1, 10) * (COS * x + SIN * y) ** 2 + 2 * (-SIN * x + COS * y) ** 2,
                    bounds=((-5, 5), (-5, 5)), minima=(), starts=((-4.0, 2.0),))


def distances(land, optimizer, settings, start, point, steps=200):
    run = simulate(land, optimizer, [start], steps, **settings)
    assert run.diverged[0] == -1
    return np.linalg.norm(run.points[0] - np.asarray(point), axis=1)


def test_quadratic_eigenvalues_condition_number_and_rates():
    theory = quadratic_theory(get_landscape("quadratic"), (1.0, -2.0))  # constant Hessian: any point
    assert theory.eigenvalues.tolist() == [0.2, 4.0]
    np.testing.assert_allclose(np.abs(theory.eigenvectors), np.eye(2))
    assert theory.condition_number == pytest.approx(20.0)
    assert theory.max_stable_lr == pytest.approx(0.5)
    assert theory.optimal_lr == pytest.approx(2 / 4.2)
    assert theory.optimal_rate == pytest.approx(19 / 21)
    k = math.sqrt(20)
    assert theory.heavy_ball.lr == pytest.approx((2 / (2 + math.sqrt(0.2))) ** 2)
    assert theory.heavy_ball.momentum == pytest.approx(((k - 1) / (k + 1)) ** 2)
    assert theory.heavy_ball.rate == pytest.approx((k - 1) / (k + 1))
    assert theory.nesterov.lr == pytest.approx(4 / (3 * 4 + 0.2))
    assert theory.nesterov.momentum == pytest.approx((math.sqrt(61) - 2) / (math.sqrt(61) + 2))
    assert theory.nesterov.rate == pytest.approx(1 - 2 / math.sqrt(61))


def test_rotated_quadratic_has_the_same_spectrum_and_diagonal_eigenvectors():
    theory = quadratic_theory(ROTATED, (0.0, 0.0))
    np.testing.assert_allclose(theory.eigenvalues, [0.2, 4.0], rtol=1e-12)
    shallow = theory.eigenvectors[:, 0]
    np.testing.assert_allclose(np.abs(shallow), [math.sqrt(3) / 2, 0.5], rtol=1e-12)
    np.testing.assert_allclose(theory.hessian @ shallow, 0.2 * shallow, atol=1e-12)


def test_booth_is_a_rotated_bowl_with_eigenvalues_2_and_18():
    theory = quadratic_theory("booth")
    np.testing.assert_allclose(theory.eigenvalues, [2.0, 18.0])
    np.testing.assert_allclose(np.abs(theory.eigenvectors), np.full((2, 2), math.sqrt(0.5)))
    assert theory.condition_number == pytest.approx(9.0)


def cases(theory):
    """(label, optimizer, settings, predicted rate, multiplicity) for every setting theory offers."""
    hb, nesterov = theory.heavy_ball, theory.nesterov
    return [
        ("gd", *theory.card_settings("gd"), theory.optimal_rate, 1),
        ("heavy ball (torch sgd)", *theory.card_settings("heavy_ball"), hb.rate, hb.multiplicity),
        ("heavy ball (classic)", "momentum", {"lr": hb.lr, "momentum": hb.momentum}, hb.rate, hb.multiplicity),
        ("nesterov (torch sgd)", *theory.card_settings("nesterov"), nesterov.rate, nesterov.multiplicity),
        ("nesterov (look-ahead)", "nesterov", {"lr": nesterov.lr, "momentum": nesterov.momentum},
         nesterov.rate, nesterov.multiplicity),
        ("gd at lr 0.3", "sgd", {"lr": 0.3}, theory.gd_rate(0.3), 1),
    ]


@pytest.mark.parametrize("land", [get_landscape("quadratic"), ROTATED], ids=["quadratic", "rotated"])
@pytest.mark.parametrize("start", [(-4.0, 2.0), (3.0, 3.0)])
def test_measured_rate_of_a_200_step_run_matches_the_prediction(land, start):
    theory = quadratic_theory(land, (0.0, 0.0))
    for label, optimizer, settings, rate, multiplicity in cases(theory):
        d = distances(land, optimizer, settings, start, (0.0, 0.0))
        measured = measured_rate(d, window=100, multiplicity=multiplicity)
        assert measured == pytest.approx(rate, abs=1e-3), label


def test_booth_gd_and_heavy_ball_rates_until_round_off_of_the_minimum():
    land = get_landscape("booth")
    theory = quadratic_theory(land)
    for label, optimizer, settings, rate, multiplicity in cases(theory)[:3]:
        d = distances(land, optimizer, settings, land.starts[0], (1.0, 3.0))
        assert measured_rate(d, multiplicity=multiplicity) == pytest.approx(rate, abs=1e-3), label


def test_gd_diverges_above_max_stable_lr_and_converges_below():
    land = get_landscape("quadratic")
    theory = quadratic_theory(land)
    below = distances(land, "sgd", {"lr": 0.99 * theory.max_stable_lr}, (-4.0, 2.0), (0, 0))
    above = distances(land, "sgd", {"lr": 1.01 * theory.max_stable_lr}, (-4.0, 2.0), (0, 0))
    assert below[-1] < below[0] and above[-1] > 20 * above[0]  # 1.02ᵗ: 200 steps, ×52


def test_card_settings_use_the_registry_names_and_keywords():
    theory = quadratic_theory("quadratic")
    name, settings = theory.card_settings("nesterov")
    assert name == "sgd" and settings["nesterov"] is True
    with pytest.raises(ValueError, match="gd, heavy_ball or nesterov"):
        theory.card_settings("adam")


def test_a_saddle_has_no_optimal_setting_and_says_why():
    theory = quadratic_theory("saddle", (0.0, 0.0))
    assert theory.eigenvalues.tolist() == [-2.0, 2.0]
    assert not theory.convex and theory.condition_number == math.inf and theory.magnitude_ratio == 1.0
    assert theory.max_stable_lr == pytest.approx(1.0)  # from the positive eigenvalue
    assert theory.optimal_lr is None and theory.heavy_ball is None and theory.nesterov is None
    assert "saddle" in theory.note
    with pytest.raises(ValueError, match="non-convex"):
        theory.card_settings()
    flat = quadratic_theory("monkey_saddle", (0.0, 0.0))
    assert flat.magnitude_ratio == math.inf and flat.max_stable_lr == math.inf and "flat" in flat.note


def test_momentum_rate_is_the_spectral_radius_of_the_iteration_matrix():
    rng = np.random.default_rng(0)
    for alpha_lambda, beta in zip(rng.uniform(0, 4, 200), rng.uniform(0, 1, 200), strict=True):
        for lam in (0.2, 4.0):
            radius = max(abs(np.linalg.eigvals(iteration_matrix(alpha_lambda, beta, lam))))
            assert momentum_rate(alpha_lambda, beta) == pytest.approx(radius, rel=1e-6, abs=1e-9)


def test_momentum_rate_is_sqrt_beta_where_the_roots_are_complex():
    al, beta = np.meshgrid(np.linspace(0, 4, 81), np.linspace(0, 0.99, 100))
    first, _ = momentum_eigenvalues(al, beta)
    complex_regime = np.abs(first.imag) > 1e-9
    assert complex_regime.sum() > 1000
    np.testing.assert_allclose(momentum_rate(al, beta)[complex_regime], np.sqrt(beta[complex_regime]), rtol=1e-12)
    assert not np.allclose(momentum_rate(al, beta)[complex_regime], 2 * np.sqrt(beta[complex_regime]))


def test_stable_region_is_where_the_rate_is_below_one():
    al, beta = np.meshgrid(np.linspace(0.01, 4, 120), np.linspace(0, 0.98, 99))
    rate = momentum_rate(al, beta)
    margin = np.abs(al - (2 + 2 * beta)) > 1e-6
    np.testing.assert_array_equal((rate < 1)[margin], momentum_stable(al, beta)[margin])
    assert momentum_rate(al, beta).shape == al.shape


@pytest.mark.parametrize(("alpha_lambda", "beta", "regime"), [
    (0.5, 0.0, "monotonic decrease"), (0.05, 0.5, "monotonic decrease"), (1.0, 0.0, "one-step convergence"),
    (1.5, 0.0, "monotonic oscillations"), (2.4, 0.25, "monotonic oscillations"), (1.0, 0.5, "ripples"),
    (0.2, 0.9, "ripples"), (2.5, 0.0, "divergence"), (3.9, 0.9, "divergence"),
])
def test_distill_regimes(alpha_lambda, beta, regime):
    assert momentum_regime(alpha_lambda, beta) == regime
    assert regime in REGIMES


def test_regimes_agree_with_the_eigenvalues_and_the_trajectory():
    """Along each eigen-direction of the quadratic, the regime predicts the sign pattern of the path."""
    land = get_landscape("quadratic")
    theory = quadratic_theory(land)
    for lr, momentum in [(0.1, 0.0), (0.4, 0.0), (0.05, 0.9), (0.45, 0.0), (0.6, 0.0)]:
        path = simulate(land, "sgd", [(-4.0, 2.0)], 60, lr=lr, momentum=momentum).points[0]
        for axis, regime in enumerate(theory.regimes(lr, momentum)):
            coordinate = path[:, axis]
            flips = np.count_nonzero(np.diff(np.sign(coordinate)) != 0)
            if regime == "monotonic decrease":
                assert flips == 0 and abs(coordinate[-1]) < abs(coordinate[0]), (lr, momentum, axis)
            elif regime == "monotonic oscillations":
                assert flips == 60 and abs(coordinate[-1]) < abs(coordinate[0]), (lr, momentum, axis)
            elif regime == "ripples":
                assert 0 < flips < 60, (lr, momentum, axis)
            elif regime == "divergence":
                assert abs(coordinate[-1]) > abs(coordinate[0]), (lr, momentum, axis)
    assert theory.regimes(0.6, 0.0) == ("monotonic decrease", "divergence")
    assert theory.regimes(0.05, 0.9) == ("ripples", "ripples")


def test_measured_rate_refuses_too_short_a_sequence():
    with pytest.raises(ValueError, match="usable"):
        measured_rate(np.array([1.0, 0.0, 0.0, 0.0]))
