"""Regenerate tests/data/optimizer_trajectories.json: reference trajectories from torch.optim.

The first cases ("public-…") are the ones ../shared/reference/make_reference.py made; they are
recomputed here the same way and must come out bit-identical to the stored ones (the run stops
otherwise). The optax cases are kept as stored: recomputing them needs jax and optax, which
nothing else here uses. Then the "extra-…" cases are added: RAdam, Rprop and every
torch.optim.lr_scheduler class the project supports, each stepped once after every optimizer
step, as in the original script.

tests/data/lbfgs_trajectories.json holds torch.optim.LBFGS trajectories (one ``step(closure)``
per point, ``max_iter`` iterations each, its state kept between calls), made in a child process
with ``ATEN_CPU_CAPABILITY=default``: torch's non-fused kernels, the ones "torch-exact" refers to
(its AVX-512 ``add_(…, alpha=…)`` fuses a multiply-add). torch's ``Tensor.sqrt`` is MKL's vdSqrt,
misrounded by one ulp on ~1% of inputs (near a rounding midpoint); where the strong-Wolfe
search's cubic interpolation met such an input the case also stores the trajectory with a
correctly rounded √ (`trajectory_correct_sqrt`), which the library reproduces bit for bit.

torch is a benchmark-only dependency (bench/requirements.txt), never a runtime or test one:

    .venv/bin/python -m pip install -r bench/requirements.txt
    .venv/bin/python -m bench.make_reference            # rewrites tests/data/optimizer_trajectories.json
    .venv/bin/python -m bench.make_reference --check    # only checks that the stored file is current
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import torch

torch.set_default_dtype(torch.float64)

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "optimizer_trajectories.json"
LBFGS_DATA = DATA.with_name("lbfgs_trajectories.json")

# Written as the original script wrote them: the operation order is part of the reference.
FUNCTIONS = {
    "quadratic": lambda x, y: 0.1 * x**2 + 2 * y**2,
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    "beale": lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2,
    "saddle": lambda x, y: x**2 - y**2,
    "himmelblau": lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
}

Q, R, H = ("quadratic", [-4.0, 2.0]), ("rosenbrock", [-1.5, 2.0]), ("himmelblau", [0.5, -0.5])

# (function, start, steps, optimizer, hyperparameters, schedule): the original script's list, unchanged.
PUBLIC = [
    (*Q, 100, "SGD", {"lr": 0.4}, None),
    (*Q, 100, "SGD", {"lr": 0.4, "momentum": 0.5}, None),
    (*Q, 100, "SGD", {"lr": 0.4, "momentum": 0.5, "nesterov": True}, None),
    (*Q, 100, "SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.05}, None),
    (*Q, 100, "Adagrad", {"lr": 0.4}, None),
    (*Q, 100, "RMSprop", {"lr": 0.05, "alpha": 0.9}, None),
    (*Q, 100, "RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.9, "centered": True}, None),
    (*Q, 100, "Adadelta", {"lr": 1.0, "rho": 0.9}, None),
    (*Q, 100, "Adam", {"lr": 0.2}, None),
    (*Q, 100, "Adam", {"lr": 0.2, "amsgrad": True}, None),
    (*Q, 100, "AdamW", {"lr": 0.2, "weight_decay": 0.1}, None),
    (*Q, 100, "Adamax", {"lr": 0.2}, None),
    (*Q, 100, "NAdam", {"lr": 0.2}, None),
    (*R, 300, "SGD", {"lr": 1e-3, "momentum": 0.9}, None),
    (*R, 300, "Adam", {"lr": 0.05, "betas": (0.9, 0.999)}, None),
    (*R, 300, "RMSprop", {"lr": 0.01}, None),
    (*R, 300, "Adagrad", {"lr": 0.5}, None),
    (*Q, 100, "SGD", {"lr": 0.4}, ("ExponentialLR", {"gamma": 0.97})),
    (*Q, 100, "SGD", {"lr": 0.4, "momentum": 0.5}, ("StepLR", {"step_size": 30, "gamma": 0.1})),
    (*Q, 100, "Adam", {"lr": 0.3}, ("CosineAnnealingLR", {"T_max": 100})),
    (*Q, 100, "SGD", {"lr": 0.4}, ("LinearLR", {"start_factor": 0.1, "total_iters": 20})),
]

# torch's CyclicLR and OneCycleLR also cycle momentum/β₁ by default; the project models the
# rate only, so those references switch that off (the parity test drops the argument).
NO_MOMENTUM_CYCLE = {"cycle_momentum": False}
EXTRA = [
    (*Q, 100, "RAdam", {"lr": 0.2}, None),
    (*R, 300, "RAdam", {"lr": 1e-3}, None),  # plain momentum for its first steps: a larger lr diverges
    (*Q, 100, "RAdam", {"lr": 0.1, "betas": (0.8, 0.99), "weight_decay": 0.1}, None),
    (*Q, 100, "RAdam", {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}, None),
    (*H, 200, "RAdam", {"lr": 0.1, "eps": 1e-6}, None),
    (*Q, 100, "Rprop", {"lr": 0.1}, None),
    (*R, 300, "Rprop", {"lr": 0.01}, None),
    (*Q, 100, "Rprop", {"lr": 0.5, "etas": (0.3, 1.5), "step_sizes": (1e-3, 1.0)}, None),
    (*H, 200, "Rprop", {"lr": 0.05, "etas": (0.6, 1.1), "step_sizes": (1e-4, 0.5)}, None),
    (*Q, 100, "SGD", {"lr": 0.4}, ("MultiStepLR", {"milestones": [10, 25, 60], "gamma": 0.5})),
    (*Q, 100, "Adam", {"lr": 0.3}, ("CosineAnnealingWarmRestarts", {"T_0": 15, "eta_min": 0.01})),
    (*Q, 100, "Adam", {"lr": 0.3}, ("CosineAnnealingWarmRestarts", {"T_0": 5, "T_mult": 2})),
    (*Q, 100, "SGD", {"lr": 0.4, "momentum": 0.5}, ("ConstantLR", {"factor": 0.25, "total_iters": 12})),
    (*Q, 100, "SGD", {"lr": 0.4},
     ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.4, "step_size_up": 10, **NO_MOMENTUM_CYCLE})),
    (*Q, 100, "SGD", {"lr": 0.4}, ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.4, "step_size_up": 7,
                                                 "step_size_down": 13, "mode": "triangular2",
                                                 **NO_MOMENTUM_CYCLE})),
    (*Q, 100, "Adam", {"lr": 0.3}, ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.3, "step_size_up": 10,
                                                 "mode": "exp_range", "gamma": 0.98, **NO_MOMENTUM_CYCLE})),
    (*Q, 100, "SGD", {"lr": 0.4}, ("OneCycleLR", {"max_lr": 0.5, "total_steps": 100, **NO_MOMENTUM_CYCLE})),
    (*Q, 100, "Adam", {"lr": 0.3}, ("OneCycleLR", {"max_lr": 0.5, "total_steps": 150, "pct_start": 0.25,
                                                   "anneal_strategy": "linear", "div_factor": 10.0,
                                                   "final_div_factor": 100.0, **NO_MOMENTUM_CYCLE})),
    (*Q, 100, "SGD", {"lr": 0.4}, ("OneCycleLR", {"max_lr": 0.5, "total_steps": 120, "pct_start": 0.2,
                                                  "three_phase": True, **NO_MOMENTUM_CYCLE})),
    (*Q, 100, "SGD", {"lr": 0.4}, ("PolynomialLR", {"total_iters": 40, "power": 2.0})),
    (*Q, 100, "Adam", {"lr": 0.3}, ("PolynomialLR", {"total_iters": 150, "power": 0.5})),
]


B = ("beale", [1.0, 1.0])
# (function, start, steps, hyperparameters): torch.optim.LBFGS, max_eval 25 unless given.
LBFGS = [
    (*Q, 30, {"max_iter": 1}),
    (*Q, 30, {"max_iter": 1, "line_search_fn": "strong_wolfe"}),
    (*R, 80, {"max_iter": 1}),
    (*R, 80, {"max_iter": 1, "lr": 0.5}),
    (*R, 80, {"max_iter": 1, "history_size": 5}),
    (*R, 80, {"max_iter": 1, "line_search_fn": "strong_wolfe"}),
    (*R, 80, {"max_iter": 1, "line_search_fn": "strong_wolfe", "history_size": 2}),
    (*R, 80, {"max_iter": 1, "line_search_fn": "strong_wolfe", "history_size": 5, "lr": 0.5}),
    (*R, 30, {"max_iter": 4, "max_eval": 10, "line_search_fn": "strong_wolfe", "history_size": 3}),
    (*R, 30, {"max_iter": 5}),
    (*B, 60, {"max_iter": 1}),
    (*B, 60, {"max_iter": 1, "history_size": 2}),
    (*B, 60, {"max_iter": 1, "line_search_fn": "strong_wolfe"}),
    (*B, 60, {"max_iter": 1, "line_search_fn": "strong_wolfe", "history_size": 3}),
    (*H, 60, {"max_iter": 1}),
    (*H, 60, {"max_iter": 1, "line_search_fn": "strong_wolfe", "history_size": 4}),
    ("himmelblau", [-4.0, 4.5], 60, {"max_iter": 1, "line_search_fn": "strong_wolfe"}),
    ("rosenbrock", [0.0, 3.0], 60, {"max_iter": 1, "line_search_fn": "strong_wolfe", "history_size": 10}),
]


def lbfgs_trajectory(function, start, steps, hyperparameters, correct_sqrt=False):
    """LBFGS.step(closure) `steps` times; the points and how often torch's √ misrounded."""
    p = torch.tensor(start, requires_grad=True)
    opt = torch.optim.LBFGS([p], **hyperparameters)

    def closure():
        opt.zero_grad()
        loss = FUNCTIONS[function](p[0], p[1])
        loss.backward()
        return loss

    mkl_sqrt, misrounded = torch.Tensor.sqrt, 0

    def sqrt(value):
        nonlocal misrounded
        result = mkl_sqrt(value)
        if value.dim() == 0 and float(result) != math.sqrt(float(value)) and float(value) >= 0:
            misrounded += 1
            if correct_sqrt:
                return torch.tensor(math.sqrt(float(value)))
        return result

    torch.Tensor.sqrt = sqrt
    try:
        points = [p.detach().tolist()]
        for _ in range(steps):
            opt.step(closure)
            points.append(p.detach().tolist())
    finally:
        torch.Tensor.sqrt = mkl_sqrt
    return points, misrounded


def lbfgs_cases() -> dict:
    if torch.backends.cpu.get_cpu_capability() != "DEFAULT":
        sys.exit("run the L-BFGS references with ATEN_CPU_CAPABILITY=default (see the docstring)")
    cases = []
    for index, (function, start, steps, given) in enumerate(LBFGS):
        hyperparameters = {"max_eval": 25, **given}
        points, misrounded = lbfgs_trajectory(function, start, steps, hyperparameters)
        corrected = lbfgs_trajectory(function, start, steps, hyperparameters, correct_sqrt=True)[0]
        cases.append({
            "id": f"lbfgs-{index:02d}-{function}-{hyperparameters.get('line_search_fn') or 'fixed'}",
            "library": f"torch {torch.__version__}, ATEN_CPU_CAPABILITY=default",
            "optimizer": "torch.optim.LBFGS",
            "hyperparameters": hyperparameters,
            "function": function,
            "start": start,
            "steps": steps,
            "misrounded_sqrt": misrounded,
            "trajectory": points,
            "trajectory_correct_sqrt": corrected if corrected != points else None,
        })
    return {"functions": {name: json.loads(DATA.read_text())["functions"][name] for name in FUNCTIONS},
            "dtype": "float64", "stepped": "opt.step(closure) once per point; closure: zero_grad, f(p), backward",
            "cases": cases}


def lbfgs_text() -> str:
    """The L-BFGS reference file's text, computed in a child process with non-fused kernels."""
    child = subprocess.run([sys.executable, "-m", "bench.make_reference", "--lbfgs-child"],
                           env={**os.environ, "ATEN_CPU_CAPABILITY": "default"},
                           capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return child.stdout


def torch_trajectory(function, start, steps, optimizer, hyperparameters, schedule=None):
    """opt.zero_grad(); f(p).backward(); opt.step(); sched.step() — the original script's loop."""
    p = torch.tensor(start, requires_grad=True)
    opt = getattr(torch.optim, optimizer)([p], **hyperparameters)
    scheduler = None
    if schedule:
        kind, arguments = schedule
        scheduler = getattr(torch.optim.lr_scheduler, kind)(opt, **arguments)
    points, rates = [p.detach().tolist()], []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        loss = FUNCTIONS[function](p[0], p[1])
        loss.backward()
        opt.step()
        if scheduler:
            scheduler.step()
        points.append(p.detach().tolist())
    return points, rates


def torch_case(prefix: str, index: int, case) -> dict:
    function, start, steps, optimizer, hyperparameters, schedule = case
    points, rates = torch_trajectory(function, start, steps, optimizer, hyperparameters, schedule)
    name = f"{prefix}-{index:02d}-{function}-{optimizer}"
    if prefix != "public" and schedule:
        name += f"-{schedule[0]}"
    return {
        "id": name,
        "library": f"torch {torch.__version__}",
        "optimizer": f"torch.optim.{optimizer}",
        "hyperparameters": {k: list(v) if isinstance(v, tuple) else v for k, v in hyperparameters.items()},
        "schedule": None if not schedule else {"torch_class": f"torch.optim.lr_scheduler.{schedule[0]}",
                                               **schedule[1], "stepped": "once after every optimizer step"},
        "function": function,
        "start": start,
        "steps": steps,
        "learning_rates": rates,
        "trajectory": points,
    }


def torch_schedulers() -> list[str]:
    """The lr_scheduler classes this torch has (the tests tell torch's schedules from the slides')."""
    base = torch.optim.lr_scheduler.LRScheduler
    return sorted(name for name, value in vars(torch.optim.lr_scheduler).items()
                  if isinstance(value, type) and issubclass(value, base) and value is not base
                  and not name.startswith("_"))


def build(stored: dict) -> dict:
    public = [torch_case("public", i, case) for i, case in enumerate(PUBLIC)]
    by_id = {case["id"]: case for case in stored["cases"]}
    changed = [case["id"] for case in public if by_id.get(case["id"]) != case]
    if changed:
        sys.exit(f"these stored cases do not reproduce bit for bit with torch {torch.__version__}: {changed}")
    optax_cases = [case for case in stored["cases"] if case["optimizer"].startswith("optax.")]
    extra = [torch_case("extra", i, case) for i, case in enumerate(EXTRA)]
    return {
        "functions": stored["functions"],
        "dtype": stored["dtype"],
        "torch_lr_schedulers": torch_schedulers(),
        "cases": public + optax_cases + extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the stored files are current")
    parser.add_argument("--lbfgs-child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.lbfgs_child:
        sys.stdout.write(json.dumps(lbfgs_cases(), indent=1))
        return
    stored_text = DATA.read_text()
    data = build(json.loads(stored_text))
    text = json.dumps(data, indent=1)
    lbfgs = lbfgs_text()
    if arguments.check:
        stale = [str(path) for path, new in ((DATA, text), (LBFGS_DATA, lbfgs))
                 if not path.exists() or path.read_text() != new]
        sys.exit(f"{', '.join(stale)}: not what this script writes; regenerate" if stale else 0)
    DATA.write_text(text)
    LBFGS_DATA.write_text(lbfgs)
    print(f"{len(data['cases'])} cases -> {DATA}; {len(LBFGS)} L-BFGS cases -> {LBFGS_DATA}")


if __name__ == "__main__":
    main()
