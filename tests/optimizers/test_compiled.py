"""The compiled backend: generated from the same rules, bit-identical to the NumPy path on the
polynomial landscapes and to the single-start float path on libm's functions; `auto` never
compiles small work; kernels come back from the on-disk cache."""

from __future__ import annotations

import importlib
import math
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from landscapes import get_landscape, landscape_names
from landscapes.autodiff import kernel_gradient_lines
from landscapes.custom import from_expression
from landscapes.functions import FUNCTIONS
from optimizers import OPTIMIZERS, compiled, get_optimizer, schedule_names, simulate

simulate_module = importlib.import_module("optimizers.simulate")  # the module; `simulate` is the function

ROOT = Path(__file__).resolve().parents[2]
ELEMENTWISE = [name for name, spec in OPTIMIZERS.items() if spec.elementwise and not spec.needs_landscape]
STARTS = [(-1.5, 2.0), (0.3, -0.4), (1.2, 0.8), (-1.0, -1.0), (2.0, 2.5), (0.0, 0.0), (-0.7, 1.9)]
# Settings that switch on each optimizer's variants (torch's options and the slides' ones).
VARIANTS = {
    "sgd": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    "adam": {"amsgrad": True, "weight_decay": 0.1},
    "adamw": {"weight_decay": 0.05},
    "rmsprop": {"centered": True, "momentum": 0.5, "weight_decay": 0.01},
    "adagrad": {"lr_decay": 0.01, "initial_accumulator_value": 0.1},
    "nadam": {"decoupled_weight_decay": True, "weight_decay": 0.01},
    "radam": {"weight_decay": 0.01},
}


def exact_landscapes() -> list[str]:
    """Catalog landscapes built only from + − × ÷, integer powers and √, which NumPy and libm
    both round correctly: there the NumPy path and the kernel must agree bit for bit."""
    exact = []
    for name in landscape_names():
        lines, outputs = kernel_gradient_lines(get_landscape(name).expression)
        if set(re.findall(r"([a-z_]+)\(", " ".join(lines + list(outputs)))) <= {"sqrt", "abs"}:
            exact.append(name)
    return exact


def assert_same_run(expected, actual, fields=("final_points", "final_losses", "diverged",
                                               "divergence_codes", "converged_at", "points", "losses",
                                               "grads", "lrs")):
    for name in fields:
        a, b = getattr(expected, name), getattr(actual, name)
        if a is None or b is None:
            assert a is None and b is None, name
            continue
        np.testing.assert_array_equal(a, b, err_msg=name)
    if expected.grads is not None:
        assert set(expected.states) == set(actual.states)
        for key in expected.states:
            np.testing.assert_array_equal(expected.states[key], actual.states[key], err_msg=key)


def both(land, name, starts, steps, **options):
    reference = simulate(land, name, starts, steps, backend="numpy", **options)
    kernel = simulate(land, name, starts, steps, backend="compiled", **options)
    assert kernel.backend == "compiled" and reference.backend == "numpy"
    return reference, kernel


def test_the_polynomial_catalog_entries_are_the_exact_ones():
    exact = exact_landscapes()
    assert {"quadratic", "rosenbrock", "beale", "himmelblau"} <= set(exact)
    assert not {"ackley", "rastrigin", "plateau_cliff", "six_hump_camel"} & set(exact)


@pytest.mark.parametrize("noise", [0.0, 0.3], ids=["exact-gradient", "noisy"])
@pytest.mark.parametrize(("name", "variant"), [*((name, "defaults") for name in ELEMENTWISE),
                                               *((name, "variants") for name in ELEMENTWISE if name in VARIANTS)])
def test_every_optimizer_compiled_equals_numpy_bit_for_bit(name, variant, noise):
    land = get_landscape("rosenbrock")
    options = dict(VARIANTS[name]) if variant == "variants" else {}
    options["lr"] = get_optimizer(name).defaults["lr"] * 0.5
    reference, kernel = both(land, name, STARTS, 120, noise=noise, seed=3, record="full", tol=1e-3, **options)
    assert_same_run(reference, kernel)


@pytest.mark.parametrize("schedule", schedule_names())
def test_every_schedule_compiled_equals_numpy_bit_for_bit(schedule):
    arguments = {"CyclicLR": {"base_lr": 0.001, "max_lr": 0.05, "step_size_up": 20},
                 "OneCycleLR": {"max_lr": 0.05, "total_steps": 100},
                 "CosineAnnealingLR": {"T_max": 60}, "StepLR": {"step_size": 25},
                 "CosineAnnealingWarmRestarts": {"T_0": 30}}.get(schedule, {})
    land = get_landscape("rosenbrock")
    for name, options in (("adam", {}), ("sgd", {"momentum": 0.9})):
        reference, kernel = both(land, name, STARTS, 100, lr=0.02, record="path",
                                 schedule={"name": schedule, "warmup": 5, **arguments}, **options)
        assert_same_run(reference, kernel)


@pytest.mark.parametrize("landscape", exact_landscapes())
def test_every_polynomial_landscape_compiled_equals_numpy_bit_for_bit(landscape):
    land = get_landscape(landscape)
    starts = np.random.default_rng(1).uniform(*zip(land.bounds.x, land.bounds.y, strict=True), size=(50, 2))
    for name, options in (("adam", {"lr": 0.05}), ("sgd", {"lr": 0.002, "momentum": 0.9, "nesterov": True})):
        reference, kernel = both(land, name, starts, 150, noise=0.1, record="path", **options)
        assert_same_run(reference, kernel)


def test_divergence_is_the_same_on_both_backends():
    """Too-large coordinates, NaN and held starts: the same steps, codes and held points."""
    land = get_landscape("rosenbrock")
    starts = np.random.default_rng(2).uniform((-3, -3), (3, 3), size=(64, 2))
    for name, lr in (("sgd", 0.01), ("momentum", 0.004), ("adam", 5.0), ("rprop", 1.0)):
        reference, kernel = both(land, name, starts, 80, lr=lr, record="full")
        if name in ("sgd", "momentum"):
            assert (reference.divergence_codes == 2).any(), name  # some starts ran off
        assert_same_run(reference, kernel)


@pytest.mark.parametrize("landscape", ["ackley", "plateau_cliff", "six_hump_camel", "rastrigin"])
def test_on_libm_functions_the_kernel_follows_the_single_start_path(landscape):
    """NumPy's SIMD exp/tanh/pow differ from libm by an ulp; the kernel and the float path both
    call libm, so they agree bit for bit (the single-start path is the reference here)."""
    land = get_landscape(landscape)
    for start in land.starts[:2]:
        for name in ("adam", "sgd", "rmsprop"):
            alone = simulate(land, name, [start], 200, lr=get_optimizer(name).defaults["lr"], record="path",
                             backend="numpy")
            kernel = simulate(land, name, [start], 200, lr=get_optimizer(name).defaults["lr"], record="path",
                              backend="compiled")
            assert kernel.backend == "compiled"
            assert alone.diverged[0] < 0
            np.testing.assert_array_equal(alone.points, kernel.points)
            np.testing.assert_array_equal(alone.final_points, kernel.final_points)


def test_a_strided_path_keeps_every_kth_point_and_the_last_on_both_backends():
    land = get_landscape("himmelblau")
    whole = simulate(land, "adam", STARTS, 103, lr=0.05, record="path", backend="numpy")
    for backend in ("numpy", "compiled"):
        strided = simulate(land, "adam", STARTS, 103, lr=0.05, record="path", every=10, backend=backend)
        np.testing.assert_array_equal(strided.path_steps, [*range(0, 101, 10), 103])
        np.testing.assert_array_equal(strided.points, whole.points[:, strided.path_steps])
        np.testing.assert_array_equal(strided.losses, whole.losses[:, strided.path_steps])
    alone = simulate(land, "adam", STARTS[:1], 103, lr=0.05, record="path", every=10, backend="numpy")
    np.testing.assert_array_equal(alone.points[0], whole.points[0, alone.path_steps])


def test_reached_names_the_nearest_minimum_of_each_final_point():
    land = get_landscape("himmelblau")
    run = simulate(land, "adam", STARTS, 400, lr=0.05, record="final", backend="compiled")
    np.testing.assert_array_equal(run.reached, land.nearest_minimum_index(run.final_points))


def test_auto_keeps_small_work_on_numpy_and_never_compiles_it(monkeypatch):
    started = []
    monkeypatch.setattr(compiled, "compile_in_background", started.append)
    run = simulate("rosenbrock", "adam", STARTS, 500, lr=0.01)
    assert run.backend == "numpy" and not started


def test_auto_compiles_large_work_in_the_background_and_uses_it_once_ready(monkeypatch, tmp_path):
    monkeypatch.setenv("DESCENT_LAB_CACHE", str(tmp_path))
    monkeypatch.setattr(simulate_module, "AUTO_MIN_WORK", 1000)
    starts = np.random.default_rng(0).uniform(-2, 2, size=(40, 2))
    first = simulate("beale", "adagrad", starts, 50, lr=0.1, record="final")
    assert first.backend == "numpy"  # not compiled yet: NumPy now, the kernel compiles meanwhile
    for thread in [t for t in __import__("threading").enumerate() if t.name == "descent-lab-compile"]:
        thread.join(120)
    second = simulate("beale", "adagrad", starts, 50, lr=0.1, record="final")
    assert second.backend == "compiled"
    np.testing.assert_array_equal(first.final_points, second.final_points)


def test_auto_compiles_a_sweep_of_many_settings_at_once(monkeypatch, tmp_path):
    """One start per setting: the NumPy path would step each setting alone, slower than compiling."""
    monkeypatch.setenv("DESCENT_LAB_CACHE", str(tmp_path))
    started = []
    monkeypatch.setattr(compiled, "compile_in_background", started.append)
    lr = np.linspace(1e-4, 1e-3, 1000)
    run = simulate("rosenbrock", "sgd", np.zeros((1000, 2)), 300, lr=lr, momentum=0.9, record="final")
    assert run.backend == "compiled" and not started
    reference = simulate("rosenbrock", "sgd", np.zeros((1000, 2)), 300, lr=lr, momentum=0.9, record="final",
                         backend="numpy")
    np.testing.assert_array_equal(run.final_points, reference.final_points)


def test_auto_keeps_a_small_sweep_on_numpy(monkeypatch):
    started = []
    monkeypatch.setattr(compiled, "compile_in_background", started.append)
    run = simulate("rosenbrock", "sgd", np.zeros((20, 2)), 100, lr=np.linspace(1e-4, 1e-3, 20), record="final")
    assert run.backend == "numpy" and not started


def test_coupled_optimizers_stay_on_numpy_even_when_compiled_is_asked_for():
    run = simulate("quadratic", "newton", STARTS, 5, backend="compiled")
    assert run.backend == "numpy"


def test_a_fresh_process_loads_the_kernel_from_the_disk_cache(tmp_path):
    script = textwrap.dedent("""
        import time
        from optimizers import simulate, compiled
        run = simulate("booth", "adam", [(0.0, 0.0), (1.0, 1.0)], 30, lr=0.1, backend="compiled")
        print(len(compiled._LOADED), run.final_points.tolist())
    """)
    env = {"DESCENT_LAB_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert list(tmp_path.glob("k_*.o")), "no object code in the cache"
    second = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert first.stdout == second.stdout
    assert compiled.is_ready.__doc__


def test_the_kernel_is_generated_from_the_rule_not_written_by_hand():
    """Every array operation of Adam's update appears once per coordinate, in its order."""
    spec = get_optimizer("adam")
    plan = compiled.Plan(spec, [spec.validate()], np.full((1, 3), 0.001))
    source = compiled.kernel_source(get_landscape("quadratic"), plan, "final")
    for c in "xy":
        assert f'%"u7_{c}" = call double @"llvm.sqrt.f64"(double %"u6_{c}")' in source
        assert f'%"u11_{c}" = fdiv double %"u10_{c}", %"u9_{c}"' in source
    assert len(plan.programs) == 1 and plan.variant_rows.shape == (1, 4)  # a row per step and one for the final check
    # The step sizes are the rule's own Python floats: η/(1 − β₁ᵗ) and √(1 − β₂ᵗ) per step.
    third = [slot_value(plan, 0, k, group=0, step=2) for k in range(plan.base.shape[1])]
    assert len(third) == 6
    assert third.count(-0.001 / (1 - 0.9**3)) == 1
    assert third.count(math.sqrt(1 - 0.999**3)) == 1
    assert slot_value(plan, 0, third.index(math.sqrt(1 - 0.999**3)), group=0, step=3) == math.sqrt(1 - 0.999**3)


def slot_value(plan, variant, slot, group, step):
    """The constant the kernel reads for this slot (as the generated code indexes it)."""
    return float(plan.constants[plan.base[variant, slot] + group * plan.group_stride[variant, slot]
                                + step * plan.step_stride[variant, slot]])


def test_settings_trace_together_and_split_only_where_a_branch_differs():
    """SGD's `momentum == 0` splits a sweep in two; each slot is stored as compactly as it varies."""
    spec = get_optimizer("sgd")
    lr = np.array([0.01, 0.02, 0.03, 0.04])
    momentum = np.array([0.0, 0.5, 0.0, 0.9])
    groups = [spec.validate(lr=a, momentum=b) for a, b in zip(lr.tolist(), momentum.tolist(), strict=True)]
    plan = compiled.Plan(spec, groups, np.repeat(lr[:, None], 5, axis=1))
    rows = plan.variant_rows[plan.row_of_group]
    assert (rows[0] == rows[2]).all() and (rows[1] == rows[3]).all() and not (rows[0] == rows[1]).all()
    assert len(plan.programs) == 3  # plain steps; momentum's first step (b = g) and the later ones
    # a per-group slot (the rate, the momentum) is one number per group, not one per step
    assert set(plan.group_stride[plan.step_stride == 0].tolist()) <= {0, 1}
    assert plan.constants.size < 4 * 6 * 4
    for g in range(4):
        later = rows[g, 3]
        values = [slot_value(plan, later, k, g, 3) for k in range(plan.base.shape[1])]
        assert (-lr[g] if momentum[g] else lr[g]) in values  # θ + (−η)b, or θ − ηg
        if momentum[g]:
            assert momentum[g] in values


def test_ten_thousand_settings_in_one_call_equal_separate_calls():
    """A 100 × 100 (lr, momentum) sweep, one start per setting, traced once for all settings:
    sampled settings run alone give the same bits."""
    land = get_landscape("rosenbrock")
    lr, momentum = np.meshgrid(np.geomspace(1e-5, 2e-3, 100), np.linspace(0.0, 0.99, 100))
    lr, momentum = lr.ravel(), momentum.ravel()
    starts = np.random.default_rng(4).uniform((-2.0, -1.0), (2.0, 3.0), size=(10_000, 2))
    sweep = simulate(land, "sgd", starts, 200, lr=lr, momentum=momentum, nesterov=False, record="final",
                     backend="compiled")
    assert sweep.backend == "compiled"
    for j in np.random.default_rng(5).choice(10_000, 12, replace=False).tolist() + [0, 9_999]:
        alone = simulate(land, "sgd", starts[j:j + 1], 200, lr=float(lr[j]), momentum=float(momentum[j]),
                         record="final", backend="numpy")
        np.testing.assert_array_equal(sweep.final_points[j], alone.final_points[0], err_msg=f"setting {j}")
        assert sweep.diverged[j] == alone.diverged[0]
    assert len(np.unique(sweep.final_points, axis=0)) > 9_000


def test_a_sweep_of_betas_and_a_schedule_equals_separate_calls():
    """Per-start betas make Adam's bias corrections (β ** t, by Python's float power) differ per
    setting, and a schedule makes the rate differ per step and setting: the densest tables."""
    land = get_landscape("himmelblau")
    beta1 = np.linspace(0.5, 0.95, 40)
    beta2 = np.repeat([0.9, 0.99, 0.999, 0.9999], 10)
    lr = np.tile(np.linspace(0.01, 0.1, 10), 4)
    starts = np.random.default_rng(6).uniform(-4, 4, size=(40, 2))
    schedule = {"name": "CosineAnnealingLR", "T_max": 50, "warmup": 5}
    betas = np.stack([beta1, beta2], axis=1)
    sweep = simulate(land, "adam", starts, 80, lr=lr, betas=betas, schedule=schedule, record="path",
                     backend="compiled")
    for j in (0, 7, 13, 22, 39):
        alone = simulate(land, "adam", starts[j:j + 1], 80, lr=float(lr[j]), betas=tuple(betas[j]),
                         schedule=schedule, record="path", backend="numpy")
        np.testing.assert_array_equal(sweep.points[j], alone.points[0], err_msg=f"setting {j}")


def test_loading_a_kernel_imports_neither_numba_nor_scipy(tmp_path):
    """The kernel is LLVM IR compiled by llvmlite: a fresh process compiles it and then loads
    its object code, with no numba or SciPy start-up."""
    script = textwrap.dedent("""
        import sys
        from optimizers import simulate
        run = simulate("booth", "sgd", [(0.0, 0.0), (1.0, 1.0)], 10, lr=0.1, backend="compiled")
        print(run.backend, "numba" in sys.modules, "scipy.linalg" in sys.modules)
    """)
    env = {"DESCENT_LAB_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    for _ in range(2):  # compiled, then from the disk cache
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
        assert out.stdout.split() == ["compiled", "False", "False"]


# A term using each formula function; SymPy writes cot for tan(· + π/2), and abs's gradient is sign.
USING = {**{name: f"{name}(x / 4)" for name in FUNCTIONS if name not in ("cot", "sign")},
         "cot": "tan(x / 4 + pi / 2)", "sign": "abs(x / 4)"}


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_formula_function_has_a_kernel_form_that_follows_the_single_start_path(function):
    """Each function a landscape may call is emitted in the kernel (none falls back to NumPy)
    and computes what the single-start float path's libm call does."""
    land = from_expression(f"{USING[function]} + y**2 + x**2 / 8", name=f"uses_{function}")
    lines, outputs = kernel_gradient_lines(land.expression)
    assert f"{function}(" in " ".join(lines + list(outputs))
    starts = [(0.5, -0.3), (1.1, 0.7), (-0.9, 0.2)]
    kernel = simulate(land, "adam", starts, 40, lr=0.05, backend="compiled")
    assert kernel.backend == "compiled"
    for k, start in enumerate(starts):
        alone = simulate(land, "adam", [start], 40, lr=0.05, backend="numpy")
        np.testing.assert_array_equal(kernel.final_points[k], alone.final_points[0])
