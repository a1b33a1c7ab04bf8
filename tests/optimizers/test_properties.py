"""Properties of `simulate` for any catalog landscape, any optimizer and any valid hyperparameters,
and the refusals of invalid ones (hypothesis draws from each Hyperparameter's own range)."""

from __future__ import annotations

import math
import random
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, note, settings
from hypothesis import strategies as st
from strategies import hyperparameters as valid_hyperparameters  # tests/strategies.py

from landscapes import get_landscape, landscape_names
from landscapes.autodiff import gradient_source
from optimizers import LIMIT, Hyperparameter, HyperparameterError, get_optimizer, optimizer_names, simulate

PROPERTY_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def experiments(draw) -> dict:
    landscape = draw(st.sampled_from(landscape_names()))
    (x0, x1), (y0, y1) = get_landscape(landscape).bounds
    name = draw(st.sampled_from(optimizer_names()))
    n = draw(st.integers(1, 5))
    starts = draw(st.lists(st.tuples(st.floats(x0, x1), st.floats(y0, y1)), min_size=n, max_size=n))
    return {
        "landscape": landscape, "optimizer": name, "starts": starts,
        "steps": draw(st.integers(0, 60)),
        "noise": draw(st.sampled_from([0.0, 0.0, 0.01, 0.3])),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "hyperparameters": draw(valid_hyperparameters(name)),
    }


@pytest.mark.parametrize(("name", "variant"), [
    ("sgd", lambda v: v["nesterov"] and v["momentum"] != 0.0),
    ("rprop", lambda v: v["etas"] != (0.5, 1.2) and v["step_sizes"] != (1e-6, 50.0)),
    ("local_gain", lambda v: v["gain_min"] != 0.1 and v["gain_max"] != 10.0),
])
def test_the_strategies_reach_settings_a_constraint_restricts(name, variant):
    """Drawn together until the record's constraints hold, not frozen at the defaults."""
    found = find(valid_hyperparameters(name), variant,
                 settings=settings(max_examples=500, database=None, phases=[Phase.generate]))
    get_optimizer(name).validate(**found)


@pytest.mark.parametrize("name", optimizer_names())
@given(data=st.data())
@settings(max_examples=20, deadline=None)
def test_drawn_hyperparameters_pass_the_optimizers_own_validation(name, data):
    values = data.draw(valid_hyperparameters(name))
    checked = get_optimizer(name).validate(**values)
    assert set(checked) == {h.name for h in get_optimizer(name).hyperparameters}


@settings(PROPERTY_SETTINGS,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(experiment=experiments())
def test_any_valid_run_is_finite_silent_and_well_shaped(experiment, capsys):
    steps, n = experiment["steps"], len(experiment["starts"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = simulate(experiment["landscape"], experiment["optimizer"], experiment["starts"], steps,
                       noise=experiment["noise"], seed=experiment["seed"], record="full",
                       **experiment["hyperparameters"])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""

    assert run.points.shape == (n, steps + 1, 2)
    assert run.losses.shape == (n, steps + 1)
    assert run.lrs.shape == (steps,)
    assert run.grads.shape == (n, steps, 2)
    assert run.diverged.shape == (n,)
    np.testing.assert_array_equal(run.points[:, 0], experiment["starts"])
    # Every recorded point is finite and within the limit: a start that left it was stopped.
    assert np.isfinite(run.points).all()
    assert np.abs(run.points).max() <= LIMIT
    assert np.isfinite(run.losses).all()
    np.testing.assert_array_equal(run.final_points, run.points[:, -1])
    np.testing.assert_array_equal(run.final_losses, run.losses[:, -1])
    land = get_landscape(experiment["landscape"])
    np.testing.assert_allclose(run.losses, land.loss(run.points[..., 0], run.points[..., 1]),
                               rtol=1e-9, atol=1e-9)
    for start, step in enumerate(run.diverged.tolist()):
        if step == -1:
            assert run.divergence_reason(start) is None
            continue
        assert 1 <= step <= steps
        assert run.divergence_reason(start)
        assert (run.points[start, step:] == run.points[start, step - 1]).all(), "a diverged start moved"


# -- one start alone (Python floats, math module) vs the same start in a batch (NumPy) ----------------
#
# The single-start path (Python floats, glibc's libm through the math module) is the reference;
# the batch path calls NumPy's SIMD pow/exp/log/tanh (AVX-512 here), which differ from libm by
# one ulp on a few percent of inputs (measured on 20,000 points in [0.1, 2]: x**4.0 misrounded
# by NumPy 5.6%, by libm 0.1%; exp 5.5% vs 0.1%). x**4.0 at x = 1.6153329529800633 is
# 6.808449354924506 from libm (the correctly rounded value) and 6.808449354924505 from NumPy.
# Where the source of f and ∇f uses only correctly rounded operations (+ − × ÷, sqrt, abs,
# and the powers the gradient source writes as products) the two paths must agree bit for bit.
# Elsewhere they may not, and a chaotic run amplifies the ulp: six-hump camel, Adadelta, lr 1,
# ρ 0.5, ε 1 from (0, 1) turned it into 32 ulps of the
# gradient at step 11 and 4.4e-12 relative at step 13. There the allowed gap is measured on
# the run itself: how far the float path moves when every evaluation is nudged by 2⁻⁴⁴
# (≈ 250 ulps, in the point and in the gradient), times a safety factor, over the steps
# before the nudged runs separate, plus 4 ulps. (Measured over 2,000 drawn runs: the observed
# gap never exceeded 1.4 times the nudged one; chaotic runs, Ackley or a cliff at lr ≈ 1, diverge
# by O(1) from any perturbation, which is why the comparison stops where they separate.)
CORRECTLY_ROUNDED_CALLS = {"sqrt", "abs", "sign"}
NUDGE = 2.0**-44
SAFETY = 8.0
CHAOS = 1e-6  # a nudged gap this large (relative to the coordinates) marks the run chaotic


def correctly_rounded(landscape: str) -> bool:
    """True when f and ∇f use only correctly rounded operations: NumPy and math give the same bits."""
    source = gradient_source(get_landscape(landscape).expression, with_value=True).split(":", 1)[1]
    return "**" not in source and set(re.findall(r"\b([a-z_]+)\(", source)) <= CORRECTLY_ROUNDED_CALLS


class Nudged:
    """A landscape whose single-start evaluations are perturbed by ±NUDGE (relative) at the point
    and in the gradient, with signs from a seeded generator: a model of a one-ulp library error,
    generously sized."""

    def __init__(self, landscape, seed: int) -> None:
        self._landscape = landscape
        self._random = random.Random(seed)

    def __getattr__(self, name):
        return getattr(self._landscape, name)

    def _nudge(self, value: float) -> float:
        return value * (1.0 + self._random.choice((-NUDGE, NUDGE)))

    @property
    def scalar_value_and_gradient(self):
        evaluate = self._landscape.scalar_value_and_gradient

        def nudged(px, py):
            loss, gx, gy = evaluate(self._nudge(px), self._nudge(py))
            return loss, self._nudge(gx), self._nudge(gy)
        return nudged

    @property
    def scalar_gradient(self):
        evaluate = self._landscape.scalar_gradient

        def nudged(px, py):
            gx, gy = evaluate(self._nudge(px), self._nudge(py))
            return self._nudge(gx), self._nudge(gy)
        return nudged


def sensitivity(experiment: dict, start, alone) -> tuple[np.ndarray, set[int]]:
    """How far the float path moves under nudged evaluations, per step and coordinate
    (T+1, 2), and the divergence steps the nudged runs reach."""
    land = get_landscape(experiment["landscape"])
    gaps, diverged = np.zeros_like(alone.points[0]), {int(alone.diverged[0])}
    for seed in range(3):
        nudged = simulate(Nudged(land, seed), experiment["optimizer"], [start], experiment["steps"],
                          record="path", **experiment["hyperparameters"])
        gaps = np.maximum(gaps, np.abs(nudged.points[0] - alone.points[0]))
        diverged.add(int(nudged.diverged[0]))
    return gaps, diverged


def test_the_nudge_measures_a_real_sensitivity():
    """The chaotic case above moves by more than its observed gap; a tame run by almost nothing."""
    chaotic = {"landscape": "six_hump_camel", "optimizer": "adadelta", "steps": 13,
               "hyperparameters": {"lr": 1.0, "rho": 0.5, "eps": 1.0}}
    alone = simulate("six_hump_camel", "adadelta", [(0.0, 1.0)], 13, record="path", lr=1.0, rho=0.5, eps=1.0)
    batch = simulate("six_hump_camel", "adadelta", [(0.0, 1.0), (0.5, -0.5)], 13, record="path",
                     lr=1.0, rho=0.5, eps=1.0)
    gaps, _ = sensitivity(chaotic, (0.0, 1.0), alone)
    observed = np.abs(alone.points[0] - batch.points[0])
    assert observed.max() > 0  # the ulp difference is real on this machine's NumPy ...
    assert (observed <= SAFETY * gaps).all()  # ... and inside the measured allowance
    assert correctly_rounded("rosenbrock") and not correctly_rounded("six_hump_camel")
    assert not correctly_rounded("ackley") and not correctly_rounded("plateau_cliff")


@PROPERTY_SETTINGS
@given(experiment=experiments())
def test_any_start_moves_alone_as_it_does_in_its_batch(experiment):
    """No noise (its draws depend on the batch size): the float path equals the NumPy path,
    bit for bit on correctly rounded landscapes, within the run's measured sensitivity elsewhere."""
    exact = correctly_rounded(experiment["landscape"])
    run = simulate(experiment["landscape"], experiment["optimizer"], experiment["starts"],
                   experiment["steps"], record="path", **experiment["hyperparameters"])
    for index, start in enumerate(experiment["starts"][:2]):
        alone = simulate(experiment["landscape"], experiment["optimizer"], [start], experiment["steps"],
                         record="path", **experiment["hyperparameters"])
        if exact:
            assert alone.diverged[0] == run.diverged[index]
            np.testing.assert_array_equal(alone.points[0], run.points[index])
            continue
        gaps, divergences = sensitivity(experiment, start, alone)
        # Where ulp-sized nudges grow into visible gaps the run is chaotic: from there on the two
        # paths are different but equally valid, and only the well-conditioned steps before it
        # are compared. (Whole runs are compared bit for bit on the correctly rounded landscapes.)
        chaotic = gaps.max(axis=1) > CHAOS * (1.0 + np.abs(alone.points[0]).max(axis=1))
        steps = int(np.argmax(chaotic)) if chaotic.any() else len(gaps)
        note(f"start {start}: nudged runs move by up to {gaps[:steps].max(initial=0):.3g} over the "
             f"{steps} well-conditioned steps")
        if len(divergences) == 1 and steps == len(gaps):  # well conditioned: the same divergence step
            assert alone.diverged[0] == run.diverged[index]
        np.testing.assert_array_less(np.abs(alone.points[0, :steps] - run.points[index, :steps]),
                                     SAFETY * gaps[:steps] + 4 * np.spacing(np.abs(run.points[index, :steps])))


@PROPERTY_SETTINGS
@given(experiment=experiments())
def test_a_run_records_only_what_it_is_asked_and_ends_the_same(experiment):
    arguments = {key: experiment[key] for key in ("starts", "steps", "noise", "seed")}
    arguments.update(experiment["hyperparameters"])
    full = simulate(experiment["landscape"], experiment["optimizer"], record="full", **arguments)
    final = simulate(experiment["landscape"], experiment["optimizer"], record="final", **arguments)
    assert final.points is None and final.grads is None
    np.testing.assert_array_equal(final.final_points, full.final_points)
    np.testing.assert_array_equal(final.diverged, full.diverged)


# -- refusals -------------------------------------------------------------------------------------

def hyperparameters_of_kind(*kinds: str, bounded: str = "") -> list:
    """(optimizer, hyperparameter) pairs of the given kinds; `bounded`="low"/"high": with a finite bound."""
    return [pytest.param(name, h.name, id=f"{name}.{h.name}")
            for name in optimizer_names() for h in get_optimizer(name).hyperparameters
            if h.kind in kinds and (not bounded or math.isfinite(getattr(h, bounded)))]


def spec_of(name: str, parameter: str) -> Hyperparameter:
    return next(h for h in get_optimizer(name).hyperparameters if h.name == parameter)


def refuse(name: str, match: str, **hyperparameters) -> None:
    with pytest.raises(HyperparameterError, match=match):
        simulate("quadratic", name, [(-4.0, 2.0)], 5, **hyperparameters)
    with pytest.raises(HyperparameterError, match=match):
        get_optimizer(name).validate(**hyperparameters)


def test_a_refusal_names_the_value_and_its_valid_range():
    with pytest.raises(HyperparameterError) as refusal:
        simulate("quadratic", "adam", [(-4.0, 2.0)], 5, betas=(0.9, 1.5))
    assert "betas" in str(refusal.value)
    assert "1.5" in str(refusal.value)
    assert "each in [0, 1)" in str(refusal.value)


@pytest.mark.parametrize("name", optimizer_names())
def test_a_negative_learning_rate_is_refused(name):
    refuse(name, "lr", lr=-0.1)


@pytest.mark.parametrize(("name", "parameter"), hyperparameters_of_kind("float"))
def test_nan_is_refused_for_every_float_hyperparameter(name, parameter):
    refuse(name, parameter, **{parameter: float("nan")})


@pytest.mark.parametrize(("name", "parameter"), hyperparameters_of_kind("pair"))
def test_nan_is_refused_inside_every_pair(name, parameter):
    refuse(name, parameter, **{parameter: (float("nan"), 0.5)})
    refuse(name, parameter, **{parameter: (0.5, float("nan"))})


@pytest.mark.parametrize(("name", "parameter"),
                         hyperparameters_of_kind("float", "int", "pair", bounded="low"))
def test_values_below_the_range_are_refused(name, parameter):
    spec = spec_of(name, parameter)
    below = spec.low if spec.low_open else spec.low - 0.5
    refuse(name, parameter, **{parameter: (below, below) if spec.kind == "pair" else below})


@pytest.mark.parametrize(("name", "parameter"),
                         hyperparameters_of_kind("float", "int", "pair", bounded="high"))
def test_values_above_the_range_are_refused(name, parameter):
    spec = spec_of(name, parameter)
    above = spec.high if spec.high_open else spec.high + 0.5
    refuse(name, parameter, **{parameter: (above, above) if spec.kind == "pair" else above})


def optimizers_with(parameter: str) -> list[str]:
    return [name for name in optimizer_names() if parameter in get_optimizer(name).defaults]


@pytest.mark.parametrize("name", optimizers_with("betas"))
@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.9), (0.9, -0.5), (0.9,),
                                   (0.9, 0.99, 0.9), 0.9, "ab", None])
def test_betas_outside_zero_to_one_or_not_a_pair_are_refused(name, betas):
    refuse(name, "betas", betas=betas)


@pytest.mark.parametrize("name", optimizers_with("eps"))
@pytest.mark.parametrize("eps", [0.0, -1e-8])
def test_eps_must_be_positive(name, eps):
    refuse(name, "eps", eps=eps)


@pytest.mark.parametrize("name", optimizer_names())
def test_an_unknown_keyword_is_refused_by_name(name):
    refuse(name, "learning_rate", learning_rate=0.1)
    refuse(name, "bogus_option", bogus_option=1)


@pytest.mark.parametrize(("name", "parameter"), hyperparameters_of_kind("float"))
@pytest.mark.parametrize("value", ["fast", None, [0.1], {"value": 0.1}])
def test_a_float_hyperparameter_of_the_wrong_type_is_refused(name, parameter, value):
    refuse(name, parameter, **{parameter: value})


@pytest.mark.parametrize(("name", "parameter"), hyperparameters_of_kind("bool"))
@pytest.mark.parametrize("value", ["yes", 2, 0.5, None])
def test_a_switch_that_is_not_true_or_false_is_refused(name, parameter, value):
    refuse(name, parameter, **{parameter: value})


@pytest.mark.parametrize(("parameters", "match"), [
    ({"nesterov": True}, "nesterov"),
    ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov"),
])
def test_sgd_nesterov_needs_momentum_and_no_dampening(parameters, match):
    refuse("sgd", match, **parameters)


@pytest.mark.parametrize("etas", [(1.2, 0.5), (0.5, 1.0), (1.0, 1.2), (0.0, 1.2)])
def test_rprop_etas_must_straddle_one(etas):
    refuse("rprop", "etas", etas=etas)


def test_rprop_step_sizes_must_be_ordered():
    refuse("rprop", "step_sizes", step_sizes=(1.0, 0.1))


def test_local_gain_limits_must_be_ordered():
    refuse("local_gain", "gain_min", gain_min=5.0, gain_max=1.0)


@pytest.mark.parametrize(("name", "parameter"), [("sgd", "lr"), ("adam", "eps"), ("adagrad", "weight_decay")])
def test_infinity_is_outside_a_range_that_reads_zero_to_infinity(name, parameter):
    with pytest.raises(HyperparameterError, match=parameter):
        get_optimizer(name).validate(**{parameter: math.inf})


INVALID_RUN_SETTINGS = [
    ({"steps": -1}, "steps"), ({"steps": 2.5}, "steps"), ({"steps": "10"}, "steps"),
    ({"steps": True}, "steps"), ({"steps": None}, "steps"), ({"steps": 10**9}, "steps"),
    ({"starts": []}, "starts"), ({"starts": [(1.0, 2.0, 3.0)]}, "starts"), ({"starts": "ab"}, "starts"),
    ({"starts": [(float("nan"), 0.0)]}, "start"), ({"starts": [(math.inf, 0.0)]}, "start"),
    ({"starts": [[1.0], [2.0]]}, "starts"), ({"starts": [[(1.0, 2.0)]]}, "starts"),
    ({"starts": None}, "starts"),
    ({"noise": -0.1}, "noise"), ({"noise": float("nan")}, "noise"), ({"noise": math.inf}, "noise"),
    ({"noise": "loud"}, "noise"),
    ({"seed": 1.5}, "seed"), ({"seed": "0"}, "seed"), ({"seed": None}, "seed"), ({"seed": True}, "seed"),
    ({"seed": -1}, "seed"), ({"seed": np.int64(-3)}, "seed"),
    ({"record": "all"}, "record"), ({"record": None}, "record"), ({"record": "FULL"}, "record"),
    ({"tol": -1.0}, "tol"), ({"tol": float("nan")}, "tol"), ({"tol": "small"}, "tol"),
    ({"schedule": {"name": "NoSuchLR"}}, "NoSuchLR"), ({"schedule": {"name": "StepLR", "size": 3}}, "size"),
    ({"schedule": {"name": "StepLR", "gamma": -1.0}}, "gamma"), ({"schedule": 3}, "schedule"),
]


@pytest.mark.parametrize(("change", "match"), INVALID_RUN_SETTINGS,
                         ids=[f"{next(iter(c))}={next(iter(c.values()))!r}" for c, _ in INVALID_RUN_SETTINGS])
def test_invalid_run_settings_are_refused(change, match):
    """With a HyperparameterError naming the setting: the page shows those and catches nothing else."""
    arguments = {"starts": [(-4.0, 2.0)], "steps": 5, "lr": 0.1, **change}
    with pytest.raises(HyperparameterError, match=match):
        simulate("quadratic", "sgd", **arguments)


def test_an_unknown_landscape_is_refused_by_name():
    with pytest.raises(ValueError, match="nowhere"):
        simulate("nowhere", "sgd", [(0.0, 0.0)], 5)


@pytest.mark.parametrize("starts", [(1.0, 2.0), [(1.0, 2.0)], np.array([[1.0, 2.0], [3.0, 4.0]]),
                                    [[1, 2], [3, 4], [5, 6]]])
def test_starts_may_be_one_pair_or_any_list_of_pairs(starts):
    run = simulate("quadratic", "sgd", starts, 3, record="path")
    assert run.points.shape == (np.atleast_2d(starts).shape[0], 4, 2)
    assert run.points.dtype == np.float64
