"""The story record: a landscape, a few optimizer lines, captioned stages, and the check of its claim.

A `Preset` is plain data plus one check function. `runs()` computes exactly the trajectories
the story shows (what the Lecture page should draw); `check()` asserts the claim on them,
with a message naming the number that failed; `state()` is the Compare-page state
(`ui.state.CompareState`) that loads the same landscape, cards, starts and steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from landscapes import Landscape, get_landscape
from optimizers import Rule, Run, get_optimizer, learning_rates, simulate
from optimizers.backend import numpy_ops

if TYPE_CHECKING:  # ui is the app, not the installed library: imported only when state() is called
    from ui.state import CompareState

# A gradient the optimizer sees at step t (1, 2, ...) for the (2, N) points: (2, N).
Gradient = Callable[[int, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Stage:
    """Steps first_step..last_step of the story (inclusive, 0 = the start) and what to watch there."""

    first_step: int
    last_step: int
    sentence: str


@dataclass(frozen=True, eq=False)
class Line:
    """One optimizer of a story, drawn as one path per start.

    `optimizer` and `settings` are the registry's name and torch keywords (as on a card).
    `noise` overrides the story's gradient noise for this line only (story 14's batch sizes,
    story 4's noisy SGD). `rule` replaces the registry's update (a formulation the registry
    lacks, e.g. momentum with a (1−β) factor): `rule(xp) -> Rule`. `gradient` replaces ∇f
    (an online problem whose gradient changes with t) and `project` maps each new point back
    into a feasible set. A line with `rule`, `gradient` or `project` is stepped by `step_rule`,
    not `simulate`, and has no card of its own.
    """

    label: str
    optimizer: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    schedule: Mapping[str, Any] | None = None
    polyak: bool = False
    noise: float | None = None
    rule: Callable[[Any], Rule] | None = None
    gradient: Gradient | None = None
    project: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def custom(self) -> bool:
        return self.rule is not None or self.gradient is not None or self.project is not None


Check = Callable[[dict[str, Run], Landscape], None]


@dataclass(frozen=True, eq=False)
class Preset:
    """One story: `title`, `claim` (one sentence), captioned `stages`, and what it loads.

    `landscape` is a catalog name or, for a landscape defined in `presets.landscapes`, that
    Landscape (its `formula` text goes into the page state). `adapted` says what differs
    from the course material and why (empty when nothing does).
    """

    name: str
    title: str
    claim: str
    landscape: str | Landscape
    lines: tuple[Line, ...]
    starts: tuple[tuple[float, float], ...]
    steps: int
    stages: tuple[Stage, ...]
    checks: Check
    noise: float = 0.0
    seed: int = 0
    adapted: str = ""
    formula: str = ""  # the text of a presets landscape, for the page state

    @cached_property
    def landscape_record(self) -> Landscape:
        return get_landscape(self.landscape) if isinstance(self.landscape, str) else self.landscape

    @cached_property
    def _runs(self) -> dict[str, Run]:
        land = self.landscape_record
        runs = {}
        for line in self.lines:
            noise = self.noise if line.noise is None else line.noise
            if line.custom:
                runs[line.label] = step_rule(land, line, self.starts, self.steps, noise, self.seed)
            else:
                runs[line.label] = simulate(land, line.optimizer, self.starts, self.steps, schedule=
                                            dict(line.schedule) if line.schedule else None,
                                            noise=noise, seed=self.seed, record="full", **line.settings)
        return runs

    def runs(self) -> dict[str, Run]:
        """label -> Run (record="full") for every line: exactly what the story shows. Cached."""
        return dict(self._runs)

    @property
    def exact_state(self) -> bool:
        """Whether `state()` alone reproduces `runs()` on the Compare page: no custom line and
        no per-line noise (the page has one noise for all cards)."""
        return not any(line.custom or line.noise is not None for line in self.lines)

    def check(self) -> None:
        """Assert the claim on `runs()`; an AssertionError names the number that failed."""
        self.checks(self.runs(), self.landscape_record)

    def verify(self) -> bool:
        """True if the claim holds on the runs the story shows."""
        try:
            self.check()
        except AssertionError:
            return False
        return True

    def state(self) -> CompareState:
        """The Compare-page state of this story: landscape (or formula), one card per line
        that has one (in line order, colour = line index), starts, steps, noise, seed."""
        from ui.state import CompareState, card

        cards = tuple(card(line.optimizer, slot, dict(line.schedule) if line.schedule else None, line.polyak,
                           **line.settings)
                      for slot, line in enumerate(self.lines) if line.rule is None)
        land = self.landscape_record
        where = ({"landscape": self.landscape} if isinstance(self.landscape, str)
                 else {"formula": self.formula, "bounds": land.bounds})
        return CompareState(**where, cards=cards, starts=tuple(self.starts), steps=self.steps,
                            noise=self.noise, seed=self.seed)


def expect(condition: bool, message: str) -> None:
    """An assertion that survives `python -O` and says which number failed."""
    if not condition:
        raise AssertionError(message)


def step_rule(land: Landscape, line: Line, starts, steps: int, noise: float = 0.0, seed: int = 0) -> Run:
    """Step one line for `steps` steps from every start, as `simulate`'s batch path does
    (same Rule, same order, same noise draws), with the line's own rule, gradient or
    projection. Returns a Run with record="full" fields. No divergence handling: the
    stories stepped here stay bounded (checked by their tests).
    """
    start_points = np.asarray(starts, dtype=float)
    values = get_optimizer(line.optimizer).validate(**line.settings) if line.rule is None else dict(line.settings)
    rule = line.rule(numpy_ops) if line.rule is not None else get_optimizer(line.optimizer).build(numpy_ops, **values)
    lrs = learning_rates(values["lr"], steps, dict(line.schedule) if line.schedule else None)
    rng = np.random.default_rng(seed)
    n = len(start_points)
    param = np.ascontiguousarray(start_points.T)
    state = rule.init(param)
    path, grads, states = [param], [], []
    for t, lr in enumerate(lrs.tolist()):
        if line.gradient is not None:
            grad = line.gradient(t + 1, param)
        else:
            at = rule.lookahead(param, state) if rule.lookahead is not None else param
            grad = np.stack(land.gradient(at[0], at[1]))
        if noise:
            grad = grad + noise * rng.standard_normal((2, n))
        param, state = rule.update(grad, param, state, lr, t + 1)
        if line.project is not None:
            param = line.project(param)
        path.append(param)
        grads.append(grad)
        states.append({key: np.array(value) for key, value in state.items()})
    points = np.stack(path, axis=1).transpose(2, 1, 0).copy()
    losses = np.asarray(land.loss(points[..., 0], points[..., 1]), dtype=float)
    return Run(landscape=land, optimizer=line.optimizer, hyperparameters=values,
               schedule=dict(line.schedule) if line.schedule else None, noise=noise, seed=seed,
               starts=start_points, rates=lrs[None], final_points=points[:, -1].copy(),
               final_losses=losses[:, -1].copy(),
               diverged=np.full(n, -1), divergence_codes=np.zeros(n, dtype=np.int8),
               points=points, losses=losses,
               grads=np.stack(grads, axis=1).transpose(2, 1, 0).copy() if grads else np.empty((n, 0, 2)),
               states={key: _stacked([s[key] for s in states], n)
                       for key in (states[0] if states else {}) if not key.startswith("_")})


def _stacked(values: list[np.ndarray], n: int) -> np.ndarray:
    """A state entry's (2, N) arrays over the steps as (N, T, 2), as Run records it."""
    return np.stack([np.broadcast_to(v, (2, n)) for v in values], axis=1).transpose(2, 1, 0).copy()


