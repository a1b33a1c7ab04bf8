"""Properties of `simulate` for any catalog landscape, any optimizer and any valid hyperparameters,
and the refusals of invalid ones (hypothesis draws from each Hyperparameter's own range)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from landscapes import get_landscape, landscape_names, x, y
from optimizers import LIMIT, Hyperparameter, HyperparameterError, get_optimizer, optimizer_names, simulate

PROPERTY_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODEST_HIGH = 2.0  # upper end drawn for unbounded hyperparameters (weight decay, eps, damping, ...)


def number(spec: Hyperparameter, low: float | None = None, high: float | None = None) -> st.SearchStrategy:
    """A float inside the spec's range (open ends excluded), capped to modest values."""
    low = spec.low if low is None else max(low, spec.low)
    high = min(spec.high, max(low, 0.0) + MODEST_HIGH) if high is None else min(high, spec.high)
    if spec.low_open and low == spec.low:
        # Modest: not a subnormal eps. (Dividing by eps = 5e-324 overflows, and the single-start
        # path then warns: the bug test_an_overflowing_step_of_a_single_start_is_silent records.)
        low += 1e-12
    return st.floats(low, high, exclude_max=spec.high_open and high == spec.high, allow_nan=False)


def values_of(spec: Hyperparameter) -> st.SearchStrategy:
    """Any valid value of one hyperparameter, from its kind and range."""
    if spec.name == "lr":
        return number(spec, 1e-4, 1.0)
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "choice":
        return st.sampled_from(spec.choices)
    if spec.kind == "int":
        low = (int(math.ceil(spec.low)) if math.isfinite(spec.low) else -10) + spec.low_open
        return st.integers(low, int(min(low + 50, spec.high - spec.high_open)))
    if spec.kind == "milestones":
        return st.lists(st.integers(max(int(spec.low), 0), 100), max_size=4)
    if spec.kind == "pair":
        return st.tuples(number(spec), number(spec))
    return number(spec)


# Cross-parameter rules each optimizer's `check` enforces; drawn valid instead of filtered.
def sgd_values(draw, values: dict) -> dict:
    if values["nesterov"]:  # torch: Nesterov needs momentum and no dampening
        values["momentum"] = draw(st.floats(0.01, 1.0))
        values["dampening"] = 0.0
    return values


def rprop_values(draw, values: dict) -> dict:
    values["etas"] = (draw(st.floats(0.05, 0.95)), draw(st.floats(1.05, 2.0)))  # 0 < η₋ < 1 < η₊
    values["step_sizes"] = tuple(sorted(values["step_sizes"]))
    return values


def local_gain_values(draw, values: dict) -> dict:
    values["gain_min"], values["gain_max"] = sorted((values["gain_min"], values["gain_max"]))
    return values


CROSS_RULES = {"sgd": sgd_values, "rprop": rprop_values, "local_gain": local_gain_values}


@st.composite
def valid_hyperparameters(draw, name: str) -> dict:
    spec = get_optimizer(name)
    values = {h.name: draw(values_of(h)) for h in spec.hyperparameters}
    if name in CROSS_RULES:
        values = CROSS_RULES[name](draw, values)
    return values


POLYNOMIAL_LANDSCAPES = [name for name in landscape_names()
                         if get_landscape(name).expression.is_polynomial(x, y)]


@st.composite
def experiments(draw, polynomial_only: bool = False) -> dict:
    landscape = draw(st.sampled_from(POLYNOMIAL_LANDSCAPES if polynomial_only else landscape_names()))
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


@PROPERTY_SETTINGS
@given(experiment=experiments(polynomial_only=True))
def test_any_start_moves_alone_as_it_does_in_its_batch(experiment):
    """No noise (its draws depend on the batch size): the float path equals the NumPy path.

    Polynomial landscapes only: for tanh, exp, cos the math module and NumPy may differ by an
    ulp, which a chaotic run (lr 1 on a cliff) amplifies past any fixed tolerance.
    """
    run = simulate(experiment["landscape"], experiment["optimizer"], experiment["starts"],
                   experiment["steps"], record="path", **experiment["hyperparameters"])
    for index, start in enumerate(experiment["starts"][:2]):
        alone = simulate(experiment["landscape"], experiment["optimizer"], [start], experiment["steps"],
                         record="path", **experiment["hyperparameters"])
        assert alone.diverged[0] == run.diverged[index]
        np.testing.assert_allclose(alone.points[0], run.points[index], rtol=1e-12, atol=1e-300)


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


def test_a_hyperparameter_error_is_a_value_error():
    assert issubclass(HyperparameterError, ValueError)


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
    ({"seed": -1}, "."),
    ({"record": "all"}, "record"), ({"record": None}, "record"), ({"record": "FULL"}, "record"),
    ({"tol": -1.0}, "tol"), ({"tol": float("nan")}, "tol"), ({"tol": "small"}, "tol"),
    ({"schedule": {"name": "NoSuchLR"}}, "NoSuchLR"), ({"schedule": {"name": "StepLR", "size": 3}}, "size"),
    ({"schedule": {"name": "StepLR", "gamma": -1.0}}, "gamma"), ({"schedule": 3}, "schedule"),
]


@pytest.mark.parametrize(("change", "match"), INVALID_RUN_SETTINGS,
                         ids=[f"{next(iter(c))}={next(iter(c.values()))!r}" for c, _ in INVALID_RUN_SETTINGS])
def test_invalid_run_settings_are_refused(change, match):
    arguments = {"starts": [(-4.0, 2.0)], "steps": 5, "lr": 0.1, **change}
    with pytest.raises(ValueError, match=match):
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
