"""Narration for the Lecture page: two or three sentences per step, written from the run's numbers.

Step k is the update from θ_k (as in `lecture_data`). Each sentence comes from a test on the
numbers — a gradient that flipped sign, an accumulator far larger in one coordinate, a step
that grew or shrank, the approach to a minimum, divergence, a stall near a saddle — never
from text written for one preset. The first sentence always says where the run stands.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from optimizers import Run, get_optimizer

from .lecture_data import ACCUMULATOR_SYMBOLS, StepVectors, step_vectors
from .style import legend_labels

AXES = ("x", "y")
RATIO = 4.0          # an accumulator this many times the other coordinate's is worth a sentence
GROWTH = 1.25        # a step this much longer (or 1/GROWTH shorter) than the last is worth one
GROWING = 1.2        # the loss this many times the last step's, three steps running: diverging
STALL = 0.1          # |g| below this fraction of the first |g|, away from any minimum: stalled
NEAR = 1e-2          # within this fraction of the view's size of a minimum: "approaching"
MAX_SENTENCES = 3


def _g(value: float) -> str:
    return f"{value:.3g}"


def _times(ratio: float) -> str:
    return f"{ratio:.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def sign_flips(grads: np.ndarray, k: int) -> list[int]:
    """The coordinates whose gradient at step k has the opposite sign of step k − 1's."""
    if k < 1 or k >= len(grads):
        return []
    return [i for i in range(2) if grads[k, i] * grads[k - 1, i] < 0]


def _flip_count(grads: np.ndarray, k: int, i: int, window: int = 5) -> int:
    return sum(grads[j, i] * grads[j - 1, i] < 0 for j in range(max(1, k - window + 1), k + 1))


def _sentences(run: Run, data: StepVectors, start: int, k: int, name: str) -> list[str]:
    points, losses = data.points[start], run.losses[start]
    steps = run.steps
    diverged = int(run.diverged[start])
    size = max(np.ptp(run.landscape.bounds[0]), np.ptp(run.landscape.bounds[1]))
    out: list[str] = []
    if 0 <= diverged <= k + 1:
        reason = run.divergence_reason(start) or "it left the finite numbers"
        return [f"{name} diverged at step {diverged}: {reason}; it stays at its last finite point."]
    loss = losses[k]
    if k == 0:
        out.append(f"{name} starts at ({_g(points[0, 0])}, {_g(points[0, 1])}) with loss {_g(loss)}.")
    else:
        change = loss - losses[k - 1]
        trend = "down" if change < 0 else "up" if change > 0 else "unchanged"
        if trend != "unchanged":
            trend += f" {abs(change) / max(abs(losses[k - 1]), 1e-300):.0%}"
        out.append(f"Step {k}: {name} is at ({_g(points[k, 0])}, {_g(points[k, 1])}), loss {_g(loss)} ({trend}).")
    if k >= 3 and all(0 < losses[j - 1] and GROWING * losses[j - 1] < losses[j] for j in range(k - 2, k + 1)):
        out.append(f"The loss has grown three steps running ({_times(loss / losses[k - 3])} since step {k - 3}): "
                   "each step overshoots further than the last, the run is diverging.")
    if k >= steps:
        return out
    grads = data.grads[start]
    update = data.update[start]
    events: list[str] = []
    flips = sign_flips(grads, k)
    if flips:
        axis = " and ".join(f"{AXES[i]}-" for i in flips) + "gradient"
        again = " again" if any(_flip_count(grads, k, i) >= 2 for i in flips) else ""
        sentence = f"The {axis} flipped sign{again}"
        if data.momentum is not None or data.first_moment is not None:
            velocity = data.momentum if data.momentum is not None else data.first_moment
            calm = [i for i in range(2) if i not in flips]
            axis_index = flips[0]
            before, now = abs(velocity[start, k - 1, axis_index]), abs(velocity[start, k, axis_index])
            verb = "cancels" if now < before else "still carries on"
            sentence += (f": momentum in {AXES[axis_index]} {verb} (|{AXES[axis_index]}-velocity| "
                         f"{_g(before)} → {_g(now)})")
            if calm and abs(update[k, calm[0]]) > abs(update[k - 1, calm[0]]):
                sentence += f" while {AXES[calm[0]]} keeps accelerating"
        events.append(sentence + ".")
    if data.root is not None and np.isfinite(data.root[start, k]).all() and data.root[start, k].min() > 0:
        root = data.root[start, k]
        squared = root**2 if data.accumulator != "infinity_norm" else root
        big = int(np.argmax(root))
        ratio = squared[big] / squared[1 - big]
        if ratio >= RATIO:
            title = get_optimizer(run.optimizer).title
            symbol = ACCUMULATOR_SYMBOLS[data.accumulator]
            rates = data.effective_step[start, k]
            events.append(f"{title}'s {AXES[big]} accumulator {symbol} is {_times(ratio)} its {AXES[1 - big]} "
                          f"accumulator, so its {AXES[big]} step is {_times(rates[1 - big] / rates[big])} smaller.")
    length, previous = np.hypot(*update[k]), np.hypot(*update[k - 1]) if k else np.nan
    if k and previous > 0 and length > GROWTH * previous:
        events.append(f"The step grew {_times(length / previous)} to {_g(length)}.")
    elif k and previous > 0 and length == 0:
        events.append("Its next update is exactly zero: it stays here.")
    elif k and previous > 0 and length < previous / GROWTH:
        events.append(f"The step shrank to {_g(length)}, {_times(previous / length)} shorter than the last.")
    if run.landscape.minima:
        distance = float(run.landscape.nearest_minimum_distance(points[k][None])[0])
        if distance < NEAR * size:
            events.append(f"It is {_g(distance)} from the minimum.")
    gradient = np.hypot(*grads[k])
    first = np.hypot(*grads[0])
    if run.noise == 0 and 0 < first and gradient < STALL * first and _negative_curvature(run, points[k]):
        events.append(f"The gradient is only {_g(gradient)} ({gradient / first:.1%} of the first) at a point that "
                      "is no minimum: the path is stalled near a saddle.")
    # Sign flips first: they are what a lecturer points at, and they are always told.
    return out + events[: MAX_SENTENCES - 1]


def _negative_curvature(run: Run, point: np.ndarray) -> bool:
    hxx, hxy, hyy = (float(np.asarray(v)) for v in run.landscape.hessian(np.float64(point[0]), np.float64(point[1])))
    return bool(np.linalg.eigvalsh(np.array([[hxx, hxy], [hxy, hyy]]))[0] < 0)


def narration(runs: Run | Sequence[Run], start: int, step: int, *, labels: Sequence[str] | None = None,
              vectors: Sequence[StepVectors] | None = None) -> str:
    """Two or three sentences about step `step` (the update from θ_step) of start `start` of each
    run, one paragraph per run (separated by a blank line)."""
    runs = [runs] if isinstance(runs, Run) else list(runs)
    labels = list(labels) if labels is not None else legend_labels(runs)
    vectors = list(vectors) if vectors is not None else [step_vectors(run) for run in runs]
    return "\n\n".join(" ".join(_sentences(run, data, start, min(step, run.steps), label))
                       for run, data, label in zip(runs, vectors, labels, strict=True))


def narration_by_step(runs: Run | Sequence[Run], start: int = 0, *,
                      labels: Sequence[str] | None = None) -> list[str]:
    """`narration` for every step 0 … T, computed once (the page sends them to the browser)."""
    runs = [runs] if isinstance(runs, Run) else list(runs)
    labels = list(labels) if labels is not None else legend_labels(runs)
    vectors = [step_vectors(run) for run in runs]
    steps = max((run.steps for run in runs), default=0)
    return [narration(runs, start, k, labels=labels, vectors=vectors) for k in range(steps + 1)]
