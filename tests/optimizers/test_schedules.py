"""Learning-rate schedules: every rate against a closed form written here, from torch's documentation
and the slides, never from the implementation.

`learning_rates(base_lr, steps, schedule)[t]` is the rate step t uses (torch: the scheduler
is stepped once after every optimizer step, so step t sees the scheduler's epoch t).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import schedule_arguments  # tests/strategies.py

from landscapes import get_landscape
from optimizers import SCHEDULES, HyperparameterError, learning_rates, simulate
from optimizers.schedules import check_schedule_arguments

BASE = 0.4
STEPS = 120


def step_lr(t, *, step_size, gamma):
    return BASE * gamma ** math.floor(t / step_size)


def multi_step_lr(t, *, milestones, gamma):
    return BASE * gamma ** sum(1 for m in milestones if m <= t)


def exponential_lr(t, *, gamma):
    return BASE * gamma**t


def cosine_annealing_lr(t, *, T_max, eta_min):
    return eta_min + (BASE - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2


def cosine_annealing_warm_restarts(t, *, T_0, T_mult, eta_min):
    """torch's closed form: with T_mult > 1 the i-th period lasts T_0·T_mult^i steps."""
    if T_mult == 1:
        since_restart, period = t % T_0, T_0
    else:
        n = math.floor(math.log(t / T_0 * (T_mult - 1) + 1, T_mult) + 1e-12)
        since_restart = t - T_0 * (T_mult**n - 1) // (T_mult - 1)
        period = T_0 * T_mult**n
    return eta_min + (BASE - eta_min) * (1 + math.cos(math.pi * since_restart / period)) / 2


def linear_lr(t, *, start_factor, end_factor, total_iters):
    return BASE * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)


def constant_lr(t, *, factor, total_iters):
    return BASE * factor if t < total_iters else BASE


def cyclic_lr(t, *, base_lr, max_lr, step_size_up, step_size_down, mode, gamma):
    """A triangle wave between base_lr and max_lr: up in step_size_up steps, down in step_size_down."""
    down = step_size_down or step_size_up
    cycle_length = step_size_up + down
    position = t % cycle_length
    if position <= step_size_up:
        height = position / step_size_up
    else:
        height = 1 - (position - step_size_up) / down
    amplitude = {"triangular": 1.0, "triangular2": 0.5 ** (t // cycle_length), "exp_range": gamma**t}[mode]
    return base_lr + (max_lr - base_lr) * height * amplitude


def one_cycle_lr(t, *, max_lr, total_steps, pct_start, anneal_strategy, div_factor, final_div_factor,
                 three_phase):
    """Warm up from max_lr/d to max_lr until step pct·T − 1, then anneal to max_lr/(d·d_f) at T − 1
    (three_phase: back down to max_lr/d by step 2(pct·T − 1) first)."""
    initial, peak = max_lr / div_factor, max_lr
    final = initial / final_div_factor
    warm_end = pct_start * total_steps - 1

    def anneal(start, end, fraction):
        if anneal_strategy == "cos":
            return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2
        return start + (end - start) * fraction

    if t <= warm_end:
        return anneal(initial, peak, t / warm_end)
    if three_phase:
        if t <= 2 * warm_end:
            return anneal(peak, initial, (t - warm_end) / warm_end)
        return anneal(initial, final, (t - 2 * warm_end) / (total_steps - 1 - 2 * warm_end))
    return anneal(peak, final, (t - warm_end) / (total_steps - 1 - warm_end))


def polynomial_lr(t, *, total_iters, power):
    return BASE * (1 - min(t, total_iters) / total_iters) ** power


def inverse_time_lr(t, *, k):
    return BASE / (1 + k * t)


def inverse_sqrt_lr(t, *, k):
    return BASE / math.sqrt(1 + k * t)


def halving_lr(t, *, every):
    return BASE * 0.5 ** (t // every)


# (schedule name, non-default arguments, closed form). Every schedule in SCHEDULES appears.
CASES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}, step_lr),
    ("MultiStepLR", {"milestones": [10, 25, 25, 80], "gamma": 0.3}, multi_step_lr),
    ("ExponentialLR", {"gamma": 0.95}, exponential_lr),
    ("CosineAnnealingLR", {"T_max": 50, "eta_min": 0.01}, cosine_annealing_lr),
    ("CosineAnnealingWarmRestarts", {"T_0": 9, "T_mult": 1, "eta_min": 0.02}, cosine_annealing_warm_restarts),
    ("CosineAnnealingWarmRestarts", {"T_0": 5, "T_mult": 2, "eta_min": 0.0}, cosine_annealing_warm_restarts),
    ("CosineAnnealingWarmRestarts", {"T_0": 4, "T_mult": 3, "eta_min": 0.05}, cosine_annealing_warm_restarts),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.6, "total_iters": 30}, linear_lr),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.0, "total_iters": 100}, linear_lr),
    ("ConstantLR", {"factor": 0.25, "total_iters": 12}, constant_lr),
    *[("CyclicLR", {"base_lr": 0.01, "max_lr": 0.3, "step_size_up": up, "step_size_down": down,
                    "mode": mode, "gamma": 0.99}, cyclic_lr)
      for mode in ("triangular", "triangular2", "exp_range") for up, down in ((10, 0), (7, 13))],
    *[("OneCycleLR", {"max_lr": 0.5, "total_steps": total, "pct_start": 0.25, "anneal_strategy": strategy,
                      "div_factor": 10.0, "final_div_factor": 100.0, "three_phase": three_phase},
       one_cycle_lr)
      for strategy in ("cos", "linear") for three_phase in (False, True) for total in (STEPS, 200)],
    ("PolynomialLR", {"total_iters": 40, "power": 2.0}, polynomial_lr),
    ("PolynomialLR", {"total_iters": 200, "power": 0.5}, polynomial_lr),
    ("InverseTimeLR", {"k": 0.05}, inverse_time_lr),
    ("InverseSqrtLR", {"k": 0.3}, inverse_sqrt_lr),
    ("HalvingLR", {"every": 16}, halving_lr),
]


def case_id(case) -> str:
    name, arguments, _ = case
    return name + "-" + "-".join(f"{key}={value}" for key, value in arguments.items())


def test_every_schedule_has_a_closed_form_case():
    """A new schedule must come with a case in CASES (this fails until it has one)."""
    assert {name for name, _, _ in CASES} == set(SCHEDULES)


@pytest.mark.parametrize("case", CASES, ids=[case_id(case) for case in CASES])
def test_rates_follow_the_closed_form(case):
    name, arguments, closed_form = case
    rates = learning_rates(BASE, STEPS, {"name": name, **arguments})
    expected = np.array([closed_form(t, **arguments) for t in range(STEPS)])
    assert rates.shape == (STEPS,)
    assert rates.dtype == np.float64
    np.testing.assert_allclose(rates, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", CASES, ids=[case_id(case) for case in CASES])
def test_shorter_runs_see_a_prefix_of_the_same_rates(case):
    name, arguments, _ = case
    full = learning_rates(BASE, STEPS, {"name": name, **arguments})
    for steps in (0, 1, 17):
        np.testing.assert_array_equal(learning_rates(BASE, steps, {"name": name, **arguments}), full[:steps])


@pytest.mark.parametrize("case", CASES, ids=[case_id(case) for case in CASES])
@pytest.mark.parametrize("warmup", [1, 6])
def test_warmup_ramps_linearly_to_the_schedules_first_rate_then_runs_it_from_its_start(case, warmup):
    name, arguments, _ = case
    rates = learning_rates(BASE, STEPS, {"name": name, **arguments, "warmup": warmup})
    schedule = learning_rates(BASE, STEPS - warmup, {"name": name, **arguments})
    ramp = np.array([(t + 1) / warmup * schedule[0] for t in range(warmup)])
    assert rates.shape == (STEPS,)
    np.testing.assert_allclose(rates[:warmup], ramp, rtol=1e-15)
    np.testing.assert_array_equal(rates[warmup:], schedule)


@pytest.mark.parametrize(("name", "arguments"), [
    ("CyclicLR", {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 4}),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 10}),
])
def test_a_warmup_longer_than_the_run_still_ramps_to_the_schedules_first_rate(name, arguments):
    long_run = learning_rates(BASE, 10, {"name": name, **arguments, "warmup": 5})
    short_run = learning_rates(BASE, 3, {"name": name, **arguments, "warmup": 5})
    np.testing.assert_array_equal(short_run, long_run[:3])


def test_warmup_in_front_of_a_constant_rate():
    for schedule in ({"name": None, "warmup": 4}, {"name": "constant", "warmup": 4}):
        np.testing.assert_allclose(learning_rates(BASE, 7, schedule),
                                   [0.1, 0.2, 0.3, 0.4, 0.4, 0.4, 0.4], rtol=1e-15)


def test_no_schedule_means_a_constant_rate():
    rates = learning_rates(BASE, 9, None)
    assert rates.shape == (9,)
    assert (rates == BASE).all()
    assert learning_rates(BASE, 0, None).shape == (0,)


def test_cyclic_lr_ignores_the_optimizers_lr():
    arguments = {"name": "CyclicLR", "base_lr": 0.01, "max_lr": 0.3, "step_size_up": 10}
    np.testing.assert_array_equal(learning_rates(0.4, 30, arguments), learning_rates(123.0, 30, arguments))


def test_one_cycle_lr_refuses_a_run_longer_than_its_cycle():
    schedule = {"name": "OneCycleLR", "max_lr": 0.5, "total_steps": 50}
    assert learning_rates(BASE, 50, schedule).shape == (50,)
    with pytest.raises(ValueError, match="total_steps"):
        learning_rates(BASE, 51, schedule)
    with pytest.raises(ValueError, match="total_steps"):
        simulate("quadratic", "sgd", [(-4.0, 2.0)], 51, lr=BASE, schedule=schedule)


@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_lr_with_a_warmup_ending_at_step_zero_is_refused_by_name(three_phase):
    """pct_start × total_steps = 1 puts the end of the warm-up at step 0: torch divides by zero
    (ZeroDivisionError in OneCycleLR.get_lr); the project refuses it, naming both arguments."""
    schedule = {"name": "OneCycleLR", "max_lr": 1.0, "total_steps": 10, "pct_start": 0.1,
                "three_phase": three_phase}
    with pytest.raises(HyperparameterError, match=r"pct_start × total_steps") as refusal:
        learning_rates(BASE, 10, schedule)
    assert "total_steps = 10" in str(refusal.value)
    with pytest.raises(HyperparameterError, match="pct_start"):
        check_schedule_arguments("OneCycleLR", {k: v for k, v in schedule.items() if k != "name"})
    # Just beside it the warm-up has a length and the rates start at max_lr / div_factor.
    rates = learning_rates(BASE, 10, {**schedule, "pct_start": 0.2})
    assert np.isfinite(rates).all()
    assert rates[0] == pytest.approx(1.0 / 25)


def test_unknown_schedule_name_is_refused_by_name():
    with pytest.raises(ValueError, match="CosineLR"):
        learning_rates(BASE, 10, {"name": "CosineLR"})
    with pytest.raises(ValueError, match="Bogus"):
        simulate("quadratic", "sgd", [(-4.0, 2.0)], 10, schedule={"name": "Bogus"})


@pytest.mark.parametrize("schedule", [42, ["StepLR"], {"step_size": 3}])
def test_a_schedule_that_is_not_a_named_dict_is_refused(schedule):
    with pytest.raises(ValueError, match="schedule"):
        learning_rates(BASE, 10, schedule)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_unknown_argument_is_refused_by_name(name):
    with pytest.raises(HyperparameterError, match="wobble"):
        learning_rates(BASE, 10, {"name": name, "wobble": 1})


@pytest.mark.parametrize(("name", "argument", "value"), [
    ("StepLR", "step_size", 0),
    ("StepLR", "gamma", -0.1),
    ("MultiStepLR", "milestones", [5, -3]),
    ("MultiStepLR", "milestones", [2.5]),
    ("ExponentialLR", "gamma", float("nan")),
    ("CosineAnnealingLR", "T_max", 0),
    ("CosineAnnealingLR", "eta_min", -1.0),
    ("CosineAnnealingWarmRestarts", "T_0", 0),
    ("CosineAnnealingWarmRestarts", "T_mult", 0),
    ("CosineAnnealingWarmRestarts", "T_0", 2.5),
    ("LinearLR", "start_factor", 0.0),
    ("LinearLR", "end_factor", 1.5),
    ("ConstantLR", "factor", 1.5),
    ("ConstantLR", "total_iters", -1),
    ("CyclicLR", "mode", "sine"),
    ("CyclicLR", "step_size_up", 0),
    ("OneCycleLR", "anneal_strategy", "exp"),
    ("OneCycleLR", "pct_start", 1.5),
    ("OneCycleLR", "div_factor", 0.0),
    ("PolynomialLR", "total_iters", 0),
    ("InverseTimeLR", "k", -0.5),
    ("InverseSqrtLR", "k", "fast"),
    ("HalvingLR", "every", 0),
])
def test_out_of_range_argument_is_refused_by_name(name, argument, value):
    schedule = {"name": name, argument: value}
    with pytest.raises(HyperparameterError, match=argument):
        learning_rates(BASE, 10, schedule)


@pytest.mark.parametrize("warmup", [-1, 2.5, "two"])
def test_invalid_warmup_is_refused(warmup):
    with pytest.raises(ValueError, match="warmup"):
        learning_rates(BASE, 10, {"name": "ExponentialLR", "gamma": 0.9, "warmup": warmup})


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_every_schedule_record_documents_itself(name):
    schedule = SCHEDULES[name]
    assert schedule.title and schedule.formula
    assert schedule.origin == (schedule.torch_class or "the slides (not in torch)")
    for argument in schedule.arguments:
        assert argument.meaning, f"{name}.{argument.name} has no meaning"


def test_a_schedule_moves_sgd_exactly_as_its_rates_say():
    """θ_{t+1} = θ_t − η_t ∇f(θ_t) on 0.1x² + 2y² (∇f = (0.2x, 4y)), iterated by hand."""
    schedule = {"name": "StepLR", "step_size": 5, "gamma": 0.5, "warmup": 3}
    rates = learning_rates(BASE, 20, schedule)
    expected = [(-4.0, 2.0)]
    for rate in rates:
        x, y = expected[-1]
        expected.append((x - rate * 0.2 * x, y - rate * 4 * y))
    for starts in ([(-4.0, 2.0)], [(-4.0, 2.0), (1.0, 1.0)]):
        run = simulate(get_landscape("quadratic"), "sgd", starts, 20, lr=BASE, schedule=schedule,
                       record="path")
        np.testing.assert_array_equal(run.lrs, rates)
        np.testing.assert_allclose(run.points[0], expected, rtol=1e-13, atol=1e-15)
    constant = simulate("quadratic", "sgd", [(-4.0, 2.0)], 20, lr=BASE, record="path")
    assert not np.allclose(constant.points[0], expected)


# -- any schedule, any valid arguments ---------------------------------------------------------------

@st.composite
def schedules(draw) -> tuple[int, dict]:
    name = draw(st.sampled_from(sorted(SCHEDULES)))
    steps = draw(st.integers(0, 150))
    arguments = draw(schedule_arguments(name))
    if name == "OneCycleLR":  # a run may not outlast the cycle (torch raises): a rule of the run, not the record
        arguments["total_steps"] = draw(st.integers(max(steps, 2), steps + 100).filter(
            lambda total: float(arguments["pct_start"] * total) != 1))
    if name == "CyclicLR":  # exp_range with γ > 1 grows without bound (as in torch); keep it decaying
        arguments["gamma"] = draw(st.floats(0.0, 1.0))
    warmup = draw(st.integers(0, max(steps - 1, 0)))
    return steps, {"name": name, **arguments, "warmup": warmup}


@settings(max_examples=300, deadline=None)
@given(case=schedules(), base_lr=st.floats(0.0, 1.0))
def test_any_valid_schedule_gives_finite_nonnegative_rates_and_shorter_runs_a_prefix(case, base_lr):
    steps, schedule = case
    rates = learning_rates(base_lr, steps, schedule)
    assert rates.shape == (steps,)
    assert rates.dtype == np.float64
    assert np.isfinite(rates).all()
    assert (rates >= 0).all()
    shorter = steps // 2
    if shorter > schedule["warmup"]:
        np.testing.assert_array_equal(learning_rates(base_lr, shorter, schedule), rates[:shorter])
