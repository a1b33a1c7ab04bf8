"""Learning-rate schedules: torch.optim.lr_scheduler semantics plus the slides' own.

A schedule is a plain function ``(base_lr, steps, **arguments) -> lrs`` where ``lrs[t]`` is
the rate used by step t (torch: the scheduler is stepped once after every optimizer step).
Torch's recursive updates are replaced by their closed forms, equal to round-off.

>>> learning_rates(0.4, 3, {"name": "ExponentialLR", "gamma": 0.5})
array([0.4, 0.2, 0.1])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .registry import Constraint, Hyperparameter, HyperparameterError

TORCH_SCHEDULERS = "torch.optim.lr_scheduler"


@dataclass(frozen=True)
class Schedule:
    """One schedule: its name, LaTeX formula, arguments (as torch spells them) and origin.

    `torch_class` is the torch class it reproduces ("torch.optim.lr_scheduler.StepLR"), or ""
    for the slides' schedules that torch lacks: the UI can say "torch's" or "the slides'".
    """

    name: str
    title: str
    function: Callable[..., np.ndarray]
    arguments: tuple[Hyperparameter, ...]
    formula: str  # LaTeX of η_t
    torch_class: str = ""
    constraints: tuple[Constraint, ...] = ()

    @property
    def origin(self) -> str:
        """Where the schedule comes from, in words: "torch.optim.lr_scheduler.StepLR" or "the slides"."""
        return self.torch_class or "the slides (not in torch)"


SCHEDULES: dict[str, Schedule] = {}


def _schedule(name: str, title: str, formula: str, *arguments: Hyperparameter, in_torch: bool = True,
              constraints: tuple[Constraint, ...] = ()):
    def register(function: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        torch_class = f"{TORCH_SCHEDULERS}.{name}" if in_torch else ""
        SCHEDULES[name] = Schedule(name, title, function, arguments, formula, torch_class, constraints)
        return function
    return register


def _steps(steps: int) -> np.ndarray:
    return np.arange(steps, dtype=float)


GAMMA = Hyperparameter("gamma", 0.1, "multiplicative factor", r"\gamma", low=0.0)
ETA_MIN = Hyperparameter("eta_min", 0.0, "smallest learning rate", r"\eta_{\min}", low=0.0)


@_schedule("StepLR", "step decay", r"\eta_0\,\gamma^{\lfloor t/s \rfloor}",
           Hyperparameter("step_size", 30, "steps between decays", "s", low=1, kind="int"), GAMMA)
def step_lr(base_lr, steps, *, step_size, gamma=0.1):
    return base_lr * gamma ** (np.arange(steps) // step_size).astype(float)


@_schedule("MultiStepLR", "step decay at milestones", r"\eta_0\,\gamma^{\#\{m_i \le t\}}",
           Hyperparameter("milestones", (100, 200), "steps at which the rate is multiplied by γ",
                          low=0, kind="milestones"), GAMMA)
def multi_step_lr(base_lr, steps, *, milestones, gamma=0.1):
    passed = np.searchsorted(np.sort(np.asarray(milestones, dtype=float)), _steps(steps), side="right")
    return base_lr * gamma ** passed.astype(float)


@_schedule("ExponentialLR", "exponential decay", r"\eta_0\,\gamma^{t} = \eta_0 e^{-kt}",
           Hyperparameter("gamma", 0.99, "decay factor per step (e^{−k})", r"\gamma", low=0.0))
def exponential_lr(base_lr, steps, *, gamma):
    return base_lr * gamma ** _steps(steps)


@_schedule("CosineAnnealingLR", "cosine", r"\eta_{\min} + \tfrac12(\eta_0-\eta_{\min})(1+\cos\frac{\pi t}{T})",
           Hyperparameter("T_max", 100, "steps of one half cosine", "T", low=1, kind="int"), ETA_MIN)
def cosine_annealing_lr(base_lr, steps, *, T_max, eta_min=0.0):
    return eta_min + (base_lr - eta_min) * (1 + np.cos(np.pi * _steps(steps) / T_max)) / 2


@_schedule("CosineAnnealingWarmRestarts", "cosine with warm restarts",
           r"\eta_{\min} + \tfrac12(\eta_0-\eta_{\min})(1+\cos\frac{\pi t_{cur}}{T_i})",
           Hyperparameter("T_0", 50, "steps until the first restart", "T_0", low=1, kind="int"),
           Hyperparameter("T_mult", 1, "factor by which each period grows", "T_{mult}", low=1, kind="int"),
           ETA_MIN)
def cosine_annealing_warm_restarts(base_lr, steps, *, T_0, T_mult=1, eta_min=0.0):
    since_restart = np.empty(steps)
    period = np.empty(steps)
    current, length = 0, T_0
    for t in range(steps):  # the period lengths grow geometrically: a short loop, no closed form
        since_restart[t], period[t] = current, length
        current += 1
        if current >= length:
            current, length = current - length, length * T_mult
    return eta_min + (base_lr - eta_min) * (1 + np.cos(np.pi * since_restart / period)) / 2


@_schedule("LinearLR", "linear", r"\eta_0\big(f_0 + (f_1 - f_0)\min(t, T)/T\big)",
           Hyperparameter("start_factor", 1 / 3, "factor at step 0", "f_0", low=0.0, low_open=True, high=1.0),
           Hyperparameter("end_factor", 1.0, "factor from step T on", "f_1", low=0.0, high=1.0),
           Hyperparameter("total_iters", 5, "steps of the linear ramp", "T", low=1, kind="int"))
def linear_lr(base_lr, steps, *, start_factor=1 / 3, end_factor=1.0, total_iters=5):
    progress = np.minimum(_steps(steps), total_iters) / total_iters
    return base_lr * (start_factor + (end_factor - start_factor) * progress)


@_schedule("ConstantLR", "constant factor, then full rate", r"\eta_0 \cdot (f \text{ if } t < T \text{ else } 1)",
           Hyperparameter("factor", 1 / 3, "factor before step T", "f", low=0.0, high=1.0),
           Hyperparameter("total_iters", 5, "steps at the reduced rate", "T", low=0, kind="int"))
def constant_lr(base_lr, steps, *, factor=1 / 3, total_iters=5):
    return np.where(_steps(steps) < total_iters, base_lr * factor, base_lr)


@_schedule("CyclicLR", "cyclical (triangular)", r"\eta_{lo} + (\eta_{hi}-\eta_{lo})\max(0, 1-|t/s - 2c + 1|)",
           Hyperparameter("base_lr", 0.001, "lowest rate (replaces the optimizer's lr, as in torch)",
                          r"\eta_{lo}", low=0.0),
           Hyperparameter("max_lr", 0.1, "highest rate", r"\eta_{hi}", low=0.0),
           Hyperparameter("step_size_up", 2000, "steps from lowest to highest", "s", low=1, kind="int"),
           Hyperparameter("step_size_down", 0, "steps from highest to lowest (0: same as up)", low=0, kind="int"),
           Hyperparameter("mode", "triangular", "triangular, triangular2 (amplitude halves each "
                          "cycle) or exp_range", kind="choice",
                          choices=("triangular", "triangular2", "exp_range")),
           Hyperparameter("gamma", 1.0, "exp_range: amplitude factor per step", r"\gamma", low=0.0))
def cyclic_lr(base_lr_unused, steps, *, base_lr, max_lr, step_size_up=2000, step_size_down=0,
              mode="triangular", gamma=1.0):
    # torch's cycle_momentum (on by default) also cycles momentum/β₁; only the rate is modelled.
    up = float(step_size_up)
    total = up + float(step_size_down or step_size_up)
    ratio = up / total
    t = _steps(steps)
    cycle = np.floor(1 + t / total)
    position = 1.0 + t / total - cycle
    scale = np.where(position <= ratio, position / ratio, (position - 1) / (ratio - 1))
    if mode == "triangular":
        amplitude = 1.0
    elif mode == "triangular2":
        amplitude = 1 / 2.0 ** (cycle - 1)
    else:  # exp_range
        amplitude = gamma**t
    return base_lr + (max_lr - base_lr) * scale * amplitude


@_schedule("OneCycleLR", "one cycle", r"\text{warm up to } \eta_{\max} \text{, then anneal to } \eta_{\max}/(d\,d_f)",
           Hyperparameter("max_lr", 0.1, "peak rate", r"\eta_{\max}", low=0.0),
           Hyperparameter("total_steps", 500, "length of the cycle (≥ steps)", "T", low=2, kind="int"),
           Hyperparameter("pct_start", 0.3, "fraction of the cycle spent warming up", low=0.0, high=1.0),
           Hyperparameter("anneal_strategy", "cos", "cos or linear", kind="choice", choices=("cos", "linear")),
           Hyperparameter("div_factor", 25.0, "initial rate = max_lr / div_factor", "d", low=0.0, low_open=True),
           Hyperparameter("final_div_factor", 1e4, "final rate = initial rate / final_div_factor", "d_f",
                          low=0.0, low_open=True),
           Hyperparameter("three_phase", False, "annealing back to the initial rate before the "
                          "final decay", kind="bool"),
           constraints=(Constraint(("pct_start", "total_steps"),
                                   lambda pct_start, total_steps: float(pct_start * total_steps) != 1,
                                   "OneCycleLR needs pct_start × total_steps ≠ 1: the warm-up would end at "
                                   "step 0 and have no length (torch divides by zero there)"),))
def one_cycle_lr(base_lr_unused, steps, *, max_lr, total_steps, pct_start=0.3, anneal_strategy="cos",
                 div_factor=25.0, final_div_factor=1e4, three_phase=False):
    if steps > total_steps:
        raise HyperparameterError(f"OneCycleLR total_steps = {total_steps} is shorter than the run "
                                  f"({steps} steps); torch raises here too")
    initial = max_lr / div_factor
    final = initial / final_div_factor
    warm_end = float(pct_start * total_steps) - 1  # ≠ 0: the record's constraint
    if three_phase:
        phases = [(warm_end, initial, max_lr), (2 * warm_end, max_lr, initial), (total_steps - 1, initial, final)]
    else:
        phases = [(warm_end, initial, max_lr), (total_steps - 1, max_lr, final)]

    def anneal(start, end, fraction):
        if anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)
        return (end - start) * fraction + start

    rates = np.empty(steps)
    for t in range(steps):
        phase_start = 0.0
        for i, (phase_end, start, end) in enumerate(phases):
            if t <= phase_end or i == len(phases) - 1:
                rates[t] = anneal(start, end, (t - phase_start) / (phase_end - phase_start))
                break
            phase_start = phase_end
    return rates


@_schedule("PolynomialLR", "polynomial decay", r"\eta_0\,(1 - \min(t, T)/T)^p",
           Hyperparameter("total_iters", 5, "steps until the rate reaches 0", "T", low=1, kind="int"),
           Hyperparameter("power", 1.0, "exponent p", "p", low=0.0))
def polynomial_lr(base_lr, steps, *, total_iters=5, power=1.0):
    return base_lr * (1.0 - np.minimum(_steps(steps), total_iters) / total_iters) ** power


@_schedule("InverseTimeLR", "inverse time", r"\frac{\eta_0}{1 + kt}",
           Hyperparameter("k", 0.01, "decay rate", "k", low=0.0), in_torch=False)
def inverse_time_lr(base_lr, steps, *, k):
    return base_lr / (1 + k * _steps(steps))


@_schedule("InverseSqrtLR", "inverse square root", r"\frac{\eta_0}{\sqrt{1 + kt}}",
           Hyperparameter("k", 0.1, "decay rate", "k", low=0.0), in_torch=False)
def inverse_sqrt_lr(base_lr, steps, *, k):
    return base_lr / np.sqrt(1 + k * _steps(steps))


@_schedule("HalvingLR", "halving", r"\eta_0\, 2^{-\lfloor t/s \rfloor}",
           Hyperparameter("every", 50, "steps between halvings", "s", low=1, kind="int"), in_torch=False)
def halving_lr(base_lr, steps, *, every):
    return base_lr * 0.5 ** (np.arange(steps) // every).astype(float)


WARMUP = Hyperparameter("warmup", 0, "linear warmup steps in front of the schedule: "
                        "η_t = η·(t+1)/W for t < W", "W", low=0, kind="int")


def learning_rates(base_lr: float, steps: int, schedule: dict[str, Any] | str | None) -> np.ndarray:
    """The rate of every step, shape (steps,), for `schedule` = None (constant) or a dict
    ``{"name": <class name>, <torch arguments>..., "warmup": W}``."""
    if schedule is None:
        return np.full(steps, float(base_lr))
    if isinstance(schedule, str):
        schedule = {"name": schedule}
    if not isinstance(schedule, dict) or "name" not in schedule:
        raise HyperparameterError("schedule must be None or a dict with a 'name'")
    arguments = dict(schedule)
    name = arguments.pop("name")
    warmup = WARMUP.check(arguments.pop("warmup", 0))
    if name is None or name == "constant":
        def schedule_of(length: int) -> np.ndarray:
            return np.full(length, float(base_lr))
    else:
        function, checked = SCHEDULES[_known(name)].function, check_schedule_arguments(name, arguments)

        def schedule_of(length: int) -> np.ndarray:
            return function(base_lr, length, **checked)
    rates = schedule_of(max(steps - warmup, 0))
    if warmup:
        target = schedule_of(1)[0]  # the warmup ramps up to the schedule's first rate
        rates = np.concatenate((target * (np.arange(min(warmup, steps)) + 1) / warmup, rates))
    return rates.astype(float)


def _known(name: str) -> str:
    if name not in SCHEDULES:
        raise HyperparameterError(f"unknown schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
    return name


def check_schedule_arguments(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The schedule's arguments checked against their ranges, defaults filled in; unknown ones refused."""
    specs = {a.name: a for a in SCHEDULES[_known(name)].arguments}
    unknown = sorted(set(arguments) - set(specs))
    if unknown:
        raise HyperparameterError(f"{name} has no argument {', '.join(map(repr, unknown))}; "
                                  f"its arguments are {', '.join(specs)}")
    values = {key: spec.check(arguments.get(key, spec.default)) for key, spec in specs.items()}
    for constraint in SCHEDULES[name].constraints:
        constraint.check(values)
    return values
