"""Per-start hyperparameters: an (N,) array gives each start its own value, so a sweep is one
call, and that call equals N separate calls bit for bit, on both backends."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from landscapes import get_landscape
from optimizers import HyperparameterError, compiled, get_optimizer, learning_rates, simulate

LAND = get_landscape("rosenbrock")
STARTS = np.array([(-1.5, 2.0), (0.3, -0.4), (1.2, 0.8), (-1.0, -1.0), (2.0, 2.5), (-0.7, 1.9)])
BACKENDS = ["numpy", "compiled"]


def separate_calls(name, steps, per_start: dict, **options):
    """The same runs one start at a time, each with its own scalar hyperparameters."""
    runs = []
    for j, start in enumerate(STARTS):
        values = {key: (tuple(v[j]) if v.ndim == 2 else float(v[j])) for key, v in per_start.items()}
        runs.append(simulate(LAND, name, [start], steps, backend="numpy", **values, **options))
    return runs


def assert_rows_equal(sweep, runs):
    for j, alone in enumerate(runs):
        np.testing.assert_array_equal(sweep.points[j], alone.points[0], err_msg=f"start {j}")
        np.testing.assert_array_equal(sweep.final_points[j], alone.final_points[0])
        np.testing.assert_array_equal(sweep.lrs[j], alone.lrs)
        assert sweep.diverged[j] == alone.diverged[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_lr_and_momentum_sweep_is_one_call_equal_to_separate_calls(backend):
    per_start = {"lr": np.array([1e-4, 5e-4, 1e-3, 1e-4, 2e-3, 1e-3]),
                 "momentum": np.array([0.0, 0.5, 0.9, 0.99, 0.0, 0.9])}
    sweep = simulate(LAND, "sgd", STARTS, 150, record="path", backend=backend, **per_start)
    assert sweep.backend == backend
    assert_rows_equal(sweep, separate_calls("sgd", 150, per_start, record="path"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_schedule_scales_each_starts_base_lr_as_torch_would(backend):
    lr = np.linspace(0.005, 0.05, len(STARTS))
    schedule = {"name": "CosineAnnealingLR", "T_max": 100, "warmup": 10}
    sweep = simulate(LAND, "adam", STARTS, 120, lr=lr, schedule=schedule, record="path", backend=backend)
    for j in range(len(STARTS)):
        np.testing.assert_array_equal(sweep.lrs[j], learning_rates(lr[j], 120, schedule))
    assert_rows_equal(sweep, separate_calls("adam", 120, {"lr": lr}, schedule=schedule, record="path"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_pair_hyperparameters_may_vary_per_start_too(backend):
    betas = np.array([(0.9, 0.999), (0.8, 0.99), (0.5, 0.9), (0.9, 0.999), (0.95, 0.9999), (0.0, 0.5)])
    sweep = simulate(LAND, "adam", STARTS, 100, lr=0.02, betas=betas, record="path", backend=backend)
    assert_rows_equal(sweep, separate_calls("adam", 100, {"betas": betas}, lr=0.02, record="path"))
    np.testing.assert_array_equal(sweep.hyperparameters["betas"], betas)


@pytest.mark.parametrize("backend", BACKENDS)
def test_settings_that_change_the_state_layout_mix_in_one_call(backend):
    """RMSProp keeps a velocity only where momentum > 0: two state layouts in one batch."""
    momentum = np.array([0.0, 0.9, 0.0, 0.5, 0.9, 0.0])
    sweep = simulate(LAND, "rmsprop", STARTS, 100, lr=0.003, momentum=momentum, record="full", backend=backend)
    runs = separate_calls("rmsprop", 100, {"momentum": momentum}, lr=0.003, record="full")
    assert_rows_equal(sweep, runs)
    for j, alone in enumerate(runs):
        np.testing.assert_array_equal(sweep.states["square_average"][j], alone.states["square_average"][0])


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4, 5], [3, 0, 5, 1, 4, 2]], ids=["sorted", "shuffled"])
@pytest.mark.parametrize("momentum", [0.9, np.array([0.9, 0.0, 0.5, 0.0, 0.9, 0.3])], ids=["one", "two programs"])
def test_a_sweep_and_its_numpy_twin_agree_with_noise(order, momentum):
    """With noise the stream is the batch's (start j draws column j), the same on both backends,
    whatever order the settings come in (the kernel runs starts sorted by setting)."""
    lr = np.linspace(1e-4, 2e-3, len(STARTS))[order]
    runs = [simulate(LAND, "sgd", STARTS, 80, lr=lr, momentum=momentum, noise=0.5, seed=7, record="full",
                     backend=backend) for backend in BACKENDS]
    np.testing.assert_array_equal(runs[0].points, runs[1].points)
    np.testing.assert_array_equal(runs[0].grads, runs[1].grads)


def test_a_per_start_value_outside_its_range_is_refused_by_name():
    with pytest.raises(HyperparameterError, match="momentum"):
        simulate(LAND, "sgd", STARTS, 5, momentum=np.array([0.1, 0.2, 1.5, 0.1, 0.1, 0.1]))


def test_a_per_start_array_of_the_wrong_length_is_refused():
    with pytest.raises(HyperparameterError, match=r"lr per start must have shape \(6,\)"):
        simulate(LAND, "sgd", STARTS, 5, lr=np.array([0.1, 0.2]))


def test_a_sweep_of_many_settings_shares_one_kernel():
    lr, momentum = np.meshgrid(np.linspace(1e-4, 1e-3, 10), np.linspace(0.0, 0.9, 10))
    starts = np.tile(STARTS[:1], (100, 1))
    sweep = simulate(LAND, "sgd", starts, 60, lr=lr.ravel(), momentum=momentum.ravel(), record="final",
                     backend="compiled")
    reference = simulate(LAND, "sgd", starts, 60, lr=lr.ravel(), momentum=momentum.ravel(), record="final",
                         backend="numpy")
    np.testing.assert_array_equal(sweep.final_points, reference.final_points)
    assert len(np.unique(sweep.final_points, axis=0)) > 90


MIXED_CASES = [
    ("adam", {"lr": "many", "betas": "pairs", "schedule": {"name": "CosineAnnealingLR", "T_max": 40, "warmup": 5}}),
    ("sgd", {"lr": "many", "momentum": "some zero"}),  # momentum = 0 traces another program: two kinds
    ("rmsprop", {"lr": "many", "momentum": "some zero", "centered": True}),
    ("radam", {"lr": "many", "betas": "pairs"}),  # warm-up variants that differ with beta2
]


def _mixed_arguments(options: dict, n: int) -> dict:
    rng = np.random.default_rng(3)
    values = {"many": rng.uniform(1e-4, 3e-3, n),
              "pairs": np.stack([rng.uniform(0.5, 0.95, n), rng.choice([0.9, 0.99, 0.999], n)], axis=1),
              "some zero": np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0.1, 0.95, n))}
    return {key: values[value] if isinstance(value, str) else value for key, value in options.items()}


@pytest.mark.parametrize(("name", "options"), MIXED_CASES, ids=[case[0] for case in MIXED_CASES])
def test_blocks_holding_many_settings_step_as_blocks_of_one(monkeypatch, name, options):
    """A sweep's few starts per setting share blocks across settings (the mixed kernel, each
    start's constants gathered from its own setting); blocks of one setting each give the same
    run bit for bit: paths, states, gradients, divergence and convergence, with noise."""
    n = 300  # 150 settings of 2 starts: blocks cut inside a run of settings and at its end
    starts = np.repeat(np.random.default_rng(4).uniform((-2, -1), (2, 3), size=(n // 2, 2)), 2, axis=0)
    arguments = _mixed_arguments(options, n // 2)
    arguments = {k: np.repeat(v, 2, axis=0) if isinstance(v, np.ndarray) else v for k, v in arguments.items()}
    chosen = []
    mixes = compiled.mixes
    monkeypatch.setattr(compiled, "mixes", lambda plan, groups: chosen.append(mixes(plan, groups)) or chosen[-1])
    common = dict(record="full", tol=1e-3, noise=0.05, seed=5, backend="compiled", **arguments)
    together = simulate(LAND, name, starts, 60, **common)
    assert chosen == [True]
    monkeypatch.setattr(compiled, "mixes", lambda plan, groups: False)
    apart = simulate(LAND, name, starts, 60, **common)
    for field in ("points", "losses", "grads", "diverged", "divergence_codes", "converged_at"):
        np.testing.assert_array_equal(getattr(together, field), getattr(apart, field), err_msg=field)
    for key, value in apart.states.items():
        np.testing.assert_array_equal(together.states[key], value, err_msg=key)


def test_only_sweeps_of_few_starts_per_setting_share_blocks_across_settings():
    adam = get_optimizer("adam")
    one = compiled.plan_for(adam, [adam.validate(lr=0.01)], np.full((1, 5), 0.01))
    assert not compiled.mixes(one, np.zeros(1000, dtype=np.int64))
    settings = [adam.validate(lr=lr) for lr in (0.01, 0.02, 0.03, 0.04)]
    four = compiled.plan_for(adam, settings, np.repeat([[0.01], [0.02], [0.03], [0.04]], 5, axis=1))
    assert not compiled.mixes(four, np.repeat(np.arange(4), 1000))  # 32 full blocks either way
    assert compiled.mixes(four, np.repeat(np.arange(4), 10))  # 4 blocks of 10 starts, or one of 40


@pytest.mark.parametrize("seed", range(5))
def test_starts_share_a_setting_exactly_when_their_values_have_the_same_bits(seed):
    """Each start's setting is the distinct row of its values, told apart bit by bit: −0.0 is
    not 0.0; every row maps back to its own values."""
    from optimizers.simulate import _unique_rows

    rng = np.random.default_rng(seed)
    pool = np.array([0.0, -0.0, 1e-3, 0.5, 0.5, np.nan, np.inf, -1.0, 2.0, 1e-300])
    columns = rng.choice(pool, size=(400, 1 + seed % 3))
    rows, groups = _unique_rows(columns)
    bits = columns.view(np.int64)
    np.testing.assert_array_equal(rows[groups].view(np.int64), bits)  # each start gets its own bits back
    assert len(rows) == len({tuple(row) for row in bits.tolist()})  # and no two rows share them


COUPLED_SWEEPS = [("newton", {"lr": np.array([1.0, 0.5, 0.25, 1.0, 0.8, 0.1]),
                               "damping": np.array([0.0, 1.0, 0.1, 10.0, 0.0, 2.0])}),
                  ("gd_backtracking", {"lr": np.array([1.0, 0.5, 0.02, 1.0, 3.0, 0.1]),
                                       "beta": np.array([0.5, 0.9, 0.5, 0.1, 0.7, 0.5]),
                                       "c": np.array([1e-4, 0.3, 1e-4, 0.5, 1e-2, 1e-4])}),
                  ("lbfgs", {"lr": np.array([1.0, 0.5, 0.1, 1.0, 0.8, 1.0]),
                             "tolerance_grad": np.array([1e-7, 1e-3, 1e-7, 1e-1, 0.0, 1e-5]),
                             "tolerance_change": np.array([1e-9, 1e-4, 1e-9, 1e-2, 0.0, 1e-6])}),
                  ("lbfgs", {"line_search_fn": "strong_wolfe", "lr": np.array([1.0, 0.5, 0.1, 1.0, 0.8, 1.0]),
                             "tolerance_change": np.array([1e-9, 1e-4, 1e-9, 1e-2, 0.0, 1e-6])})]


@pytest.mark.parametrize("schedule", [None, {"name": "StepLR", "step_size": 10, "gamma": 0.5}])
@pytest.mark.parametrize(("name", "per_start"), COUPLED_SWEEPS,
                         ids=["newton", "gd_backtracking", "lbfgs", "lbfgs-strong-wolfe"])
def test_a_coupled_sweep_steps_in_one_batch_equal_to_separate_calls(monkeypatch, schedule, name, per_start):
    """Newton's and the Armijo search's rules take per-start arrays (`per_start_arrays`): the
    NumPy path builds one for every start, and each start still moves as it would alone, its
    line search's record included."""
    module = sys.modules["optimizers.simulate"]  # the module (the package exports the function)
    batched = []
    one_setting = module._setting_per_start
    monkeypatch.setattr(module, "_setting_per_start", lambda *a: batched.append(1) or one_setting(*a))
    per_start = dict(per_start)
    fixed = {key: per_start.pop(key) for key in [k for k, v in per_start.items() if not isinstance(v, np.ndarray)]}
    sweep = simulate(LAND, name, STARTS, 40, schedule=schedule, record="full", **per_start, **fixed)
    assert sweep.backend == "numpy" and batched == [1]
    runs = separate_calls(name, 40, per_start, schedule=schedule, record="full", **fixed)
    assert_rows_equal(sweep, runs)
    for j, alone in enumerate(runs):
        for key, value in alone.states.items():
            np.testing.assert_array_equal(sweep.states[key][j], value[0], err_msg=key)


def test_a_sweep_keeps_each_base_lrs_schedule_once_and_makes_per_start_rows_on_demand():
    lr = np.repeat([0.01, 0.02, 0.03], 2)
    schedule = {"name": "StepLR", "step_size": 3, "gamma": 0.5}
    run = simulate(LAND, "adam", STARTS, 10, lr=lr, schedule=schedule, record="final", backend="numpy")
    assert run.rates.shape == (3, 10) and "lrs" not in vars(run)  # 3 schedules, no (N, T) rows yet
    np.testing.assert_array_equal(run.lrs, [learning_rates(r, 10, schedule) for r in lr])
    assert run.steps == 10
