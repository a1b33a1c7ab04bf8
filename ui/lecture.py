"""The Lecture page's state, its URL form, and what it sends to the browser once per story.

A lecture is a story (`presets.PRESETS`) shown one update at a time, or any setup of up to
`MAX_CARDS` optimizer cards on one landscape (`Setup`: a story whose settings were changed, or
a comparison opened from Compare with `lecture_url_of`). Every setup, a story's own included,
is run by `setup_runs` from its cards, each card with its own gradient noise; only a story
with a formulation the registry lacks (its own rule, gradient or projection) runs as
`Preset.runs()`. Everything that changes with the step is in the chart's data: the arrows and
the state plots as figure frames, the substituted equations (MathML: the browser draws it
with no script) and the narration as one HTML snippet per frame. Stepping is then the
browser's alone.

Query parameters: ``story``, ``line``, ``arrows``, ``squares``, ``present`` (the view), and
for a setup that is not exactly its story's the Compare page's ``landscape``/``formula``,
``opt``, ``start``, ``steps``, ``noise``, ``seed``, ``bounds`` (see `ui.state`) plus
``cardnoise=σ₁,σ₂,…`` when the cards' noises differ.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import numpy as np
from latex2mathml.converter import convert

from figures.lecture_data import step_vectors
from figures.lecture_equations import equations_at
from figures.narration import narration_by_step
from figures.style import _unique as unique_labels  # the legend's own rule: SGD, SGD #2
from figures.style import format_value
from landscapes import Landscape, from_expression, get_landscape
from optimizers import HyperparameterError, Run, get_optimizer, simulate
from presets import PRESETS, Preset
from ui import state as compare

ARROWS = ("gradient", "velocity", "update", "lookahead", "axes")  # axes: the Hessian's eigenvectors
DEFAULT_STORY = "momentum_damps"
MAX_FRAMES = 150  # frames a lecture steps through (every step of every story but the long ones)
MAX_CARDS = 4     # the largest story (symmetry_breaking) has four lines
COMPARE_CARDS = 3  # "Lecture this" on Compare takes the first three cards
MAX_STEPS = 1000  # a lecture computes equations and narration for every frame: the longest story's steps
MAX_NOISE = 1e3
SETUP_KEYS = ("landscape", "formula", "opt", "start", "steps", "noise", "seed", "bounds")
# A momentum card: its (lr, momentum) is the heavy ball's (α, β), see optimizers.theory.
HEAVY_BALL_OPTIMIZERS = ("sgd", "momentum")


@dataclass(frozen=True)
class Setup:
    """What a lecture runs: the landscape, cards, starts, steps and seed of a Compare state
    (`compare`, its own `noise` unused) and each card's gradient noise σ (`noises`, one per card)."""

    compare: compare.CompareState
    noises: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.noises) != len(self.compare.cards):
            raise ValueError(f"{len(self.compare.cards)} cards need as many noises, got {len(self.noises)}")

    @property
    def cards(self) -> tuple[compare.Card, ...]:
        return self.compare.cards

    def with_cards(self, cards: Sequence[compare.Card], noises: Sequence[float]) -> Setup:
        return Setup(replace(self.compare, cards=tuple(cards)), tuple(float(n) for n in noises))


@dataclass(frozen=True)
class LectureState:
    """Which story, whose equations the panel shows, which arrows are drawn, projector mode."""

    story: str = DEFAULT_STORY
    line: int = 0  # index of the story's line whose equations are shown
    arrows: tuple[str, ...] = ARROWS
    accumulator: bool = True
    presentation: bool = False
    setup: Setup | None = None  # None: the story's own; else what the lecture runs instead
    step: int = 0  # the step on screen (the chart reports it when stepping rests)
    notices: tuple[str, ...] = ()

    @property
    def preset(self) -> Preset | None:
        """The story, or None for a lecture of a setup that is no story (opened from Compare)."""
        return PRESETS.get(self.story)


DEFAULT = LectureState()


def story_setup(preset: Preset) -> Setup | None:
    """The story's own setup: one card per line, each with its line's noise (else the story's).
    None if a line has a formulation the registry lacks (a card cannot say it)."""
    if any(line.custom for line in preset.lines):
        return None
    state = replace(preset.state(), noise=0.0)
    noises = tuple(preset.noise if line.noise is None else line.noise for line in preset.lines)
    return Setup(state, noises)


def setup_of(state: LectureState) -> Setup | None:
    """What `state` runs: its own setup, else its story's (None: the story's `runs()`)."""
    if state.setup is not None:
        return state.setup
    return story_setup(state.preset) if state.preset is not None else None


def with_setup(state: LectureState, setup: Setup | None) -> LectureState:
    """`state` running `setup`; a setup equal to the story's own is stored as None (the story)."""
    if setup is not None and state.preset is not None and setup == story_setup(state.preset):
        setup = None
    line = min(state.line, max(len(setup.cards) - 1, 0)) if setup is not None else state.line
    return replace(state, setup=setup, line=line)


def to_query(state: LectureState) -> dict[str, str | list[str]]:
    query: dict[str, str | list[str]] = {"story": state.story} if state.story else {}
    if state.line:
        query["line"] = str(state.line)
    if state.arrows != ARROWS:
        query["arrows"] = ",".join(state.arrows) or "none"
    if not state.accumulator:
        query["squares"] = "0"
    if state.presentation:
        query["present"] = "1"
    if state.step:
        query["at"] = str(state.step)
    if state.setup is not None:
        noises = state.setup.noises
        uniform = len(set(noises)) <= 1
        written = compare.to_query(replace(state.setup.compare, noise=noises[0] if uniform and noises else 0.0,
                                           presentation=False))
        for key in SETUP_KEYS:
            if key in written:
                query[key] = written[key]
        if not uniform:
            query["cardnoise"] = ",".join(compare._number(n) for n in noises)
        if "opt" not in query:  # the landscape's default cards: say them, so the URL marks a setup
            query["opt"] = [compare._card_text(c) for c in state.setup.cards]
    return query


def from_query(query: Mapping[str, str | list[str]]) -> LectureState:
    """The state a Lecture URL describes; anything unusable falls back, with a notice. Never raises."""
    values = {k: (v[-1] if isinstance(v, list | tuple) and v else v) for k, v in query.items()}
    notices: list[str] = []
    state = DEFAULT
    given_setup = any(key in values for key in (*SETUP_KEYS, "cardnoise"))
    story = str(values.get("story", "" if given_setup else DEFAULT.story))
    if story in PRESETS or (story == "" and given_setup):
        state = replace(state, story=story)
    else:
        notices.append(f"unknown story {story[:40]!r}: showing {PRESETS[DEFAULT.story].title!r}")
    if given_setup:
        setup = _read_setup(query, notices)
        state = with_setup(state, setup) if setup is not None else state
        if setup is None and state.story == "":
            state = replace(state, story=DEFAULT.story)
    if "line" in values:
        text = str(values["line"])
        setup = setup_of(state)
        lines = len(setup.cards) if setup is not None else len(state.preset.lines)
        if text.isdigit() and int(text) < lines:
            state = replace(state, line=int(text))
        else:
            notices.append(f"ignored line={text[:20]!r}: the story has lines 0 to {lines - 1}")
    if "arrows" in values:
        asked = [a for a in str(values["arrows"]).split(",") if a and a != "none"]
        unknown = [a for a in asked if a not in ARROWS]
        if unknown:
            notices.append(f"ignored the unknown arrows {', '.join(unknown)[:60]}")
        state = replace(state, arrows=tuple(a for a in ARROWS if a in asked))
    if "at" in values:
        text = str(values["at"])
        if text.isdigit() and len(text) <= 6:
            state = replace(state, step=int(text))  # past the last step: the chart opens at the last
        else:
            notices.append(f"ignored at={text[:20]!r}: expected the step, a whole number from 0")
    for key, field in (("squares", "accumulator"), ("present", "presentation")):
        if key in values:
            flag = {"1": True, "0": False}.get(str(values[key]))
            if flag is None:
                notices.append(f"ignored {key}={str(values[key])[:20]!r}: expected 0 or 1")
            else:
                state = replace(state, **{field: flag})
    return replace(state, notices=tuple(notices))


def _read_setup(query: Mapping[str, Any], notices: list[str]) -> Setup | None:
    """The setup the Compare keys of a Lecture URL describe (at most `MAX_CARDS` cards), or None
    (with a notice) if they give no usable card. Never raises."""
    read = compare.from_query({key: query[key] for key in SETUP_KEYS if key in query})
    notices.extend(read.notices)
    cards = read.cards
    if not cards:
        notices.append("no optimizer to lecture on in the link: showing a story")
        return None
    if len(cards) > MAX_CARDS:
        notices.append(f"kept the first {MAX_CARDS} optimizers: a lecture shows at most {MAX_CARDS}")
        cards = cards[:MAX_CARDS]
    if read.steps > MAX_STEPS:
        notices.append(f"kept the first {MAX_STEPS} steps: a lecture steps through at most {MAX_STEPS}")
        read = replace(read, steps=MAX_STEPS)
    noises = (read.noise,) * len(cards)
    if "cardnoise" in query:
        raw = query["cardnoise"]
        text = str(raw[-1] if isinstance(raw, list | tuple) and raw else raw)
        values = [compare._real(part, 0.0, MAX_NOISE) for part in text.split(",")]
        if len(values) != len(cards) or None in values:
            notices.append(f"ignored cardnoise={text[:40]!r}: expected {len(cards)} numbers ≥ 0, one per optimizer")
        else:
            noises = tuple(values)
    return Setup(replace(read, cards=cards, noise=0.0, presentation=False, notices=()), noises)


def lecture_url_of(state: compare.CompareState, *, presentation: bool | None = None) -> str:
    """The Lecture page's link for a Compare state: its landscape, starts, steps, noise and
    seed and its first `COMPARE_CARDS` cards, no story ("Lecture this" on Compare)."""
    cards = state.cards[:COMPARE_CARDS]
    setup = Setup(replace(state, cards=cards, noise=0.0, notices=()), (state.noise,) * len(cards))
    lecture = LectureState(story="", setup=setup,
                           presentation=state.presentation if presentation is None else presentation)
    return "/lecture?" + urlencode(to_query(lecture), doseq=True)


# -- what a setup runs ---------------------------------------------------------------------------
@lru_cache(maxsize=32)
def _catalog(name: str) -> Landscape:
    return get_landscape(name)


@lru_cache(maxsize=32)
def _formula(text: str, bounds) -> Landscape:
    return from_expression(text) if bounds is None else from_expression(text, bounds=bounds)


def landscape_of(state: LectureState) -> Landscape:
    """The landscape `state` lectures on: the story's own record where the setup keeps the story's
    landscape (its known minima and lesson), else the catalog's or the formula's (`FormulaError`
    if the formula is refused)."""
    setup = setup_of(state)
    preset = state.preset
    if preset is not None and (setup is None or _where(setup.compare) == _where(preset.state())):
        return preset.landscape_record
    if setup.compare.formula:
        return _formula(setup.compare.formula, setup.compare.bounds)
    return _catalog(setup.compare.landscape)


def _where(state: compare.CompareState) -> tuple:
    return (state.formula or state.landscape, state.bounds)


def card_labels(setup: Setup, preset: Preset | None = None) -> list[str]:
    """A legend name per card: the story line's label where the card (and its noise) is the
    line's own, else the optimizer's title with the settings that tell it from its siblings."""
    own = story_setup(preset) if preset is not None else None
    labels = []
    for index, (c, noise) in enumerate(zip(setup.cards, setup.noises, strict=True)):
        if (own is not None and index < len(own.cards) and own.cards[index] == c
                and own.noises[index] == noise):
            labels.append(preset.lines[index].label)
            continue
        siblings = [(o, n) for o, n in zip(setup.cards, setup.noises, strict=True) if o.optimizer == c.optimizer]
        settings = dict(get_optimizer(c.optimizer).defaults, **c.hyperparameters)
        parts = [f"{name}={format_value(value)}" for name, value in settings.items()
                 if any(dict(get_optimizer(o.optimizer).defaults, **o.hyperparameters).get(name) != value
                        for o, _ in siblings)]
        if any(o.schedule != c.schedule for o, _ in siblings) and c.schedule:
            parts.append(str(dict(c.schedule)["name"]))
        if any(n != noise for _, n in siblings):
            parts.append(f"σ={format_value(noise)}")
        labels.append(" ".join([get_optimizer(c.optimizer).title, *parts]))
    return unique_labels(labels)


@lru_cache(maxsize=32)
def setup_runs(setup: Setup, landscape: Landscape, labels: tuple[str, ...]) -> dict[str, Run]:
    """label -> Run (record="full") for each card of `setup` on `landscape`, each with its own
    noise and the setup's seed: exactly as `Preset.runs()` steps a story's lines. A card whose
    settings are refused raises `HyperparameterError` naming it."""
    starts = setup.compare.starts or landscape.starts
    runs = {}
    for label, c, noise in zip(labels, setup.cards, setup.noises, strict=True):
        try:
            runs[label] = simulate(landscape, c.optimizer, starts, setup.compare.steps, schedule=c.schedule_dict,
                                   noise=noise, seed=setup.compare.seed, record="full", **c.hyperparameters)
        except HyperparameterError as error:
            raise HyperparameterError(f"{label}: {error}") from error
    return runs


def lecture_runs(state: LectureState) -> tuple[Landscape, dict[str, Run]]:
    """The landscape and label -> Run of what `state` shows: its setup's cards through
    `setup_runs`, or for a story with a formulation of its own, `Preset.runs()`."""
    setup = setup_of(state)
    if setup is None:
        _, runs = story_runs(state.story)
        return state.preset.landscape_record, runs
    landscape = landscape_of(state)
    return landscape, setup_runs(setup, landscape, tuple(card_labels(setup, state.preset)))


@lru_cache(maxsize=32)
def story_runs(name: str) -> tuple[Preset, dict[str, Run]]:
    """The story and exactly the runs it shows (record="full"), computed once per process."""
    preset = PRESETS[name]
    return preset, preset.runs()


# -- changing the settings -------------------------------------------------------------------------
def _momentum_of(c: compare.Card) -> float:
    return float(c.hyperparameters.get("momentum", get_optimizer(c.optimizer).defaults.get("momentum", 0.0)))


def heavy_ball_cards(setup: Setup) -> list[int]:
    """The indices of the cards that are heavy ball: SGD with momentum > 0 (not Nesterov) or the
    classic form."""
    return [i for i, c in enumerate(setup.cards)
            if c.optimizer == "momentum" or (c.optimizer == "sgd" and _momentum_of(c) > 0
                                             and not c.hyperparameters.get("nesterov", False))]


def _with_settings(c: compare.Card, **settings: Any) -> compare.Card:
    return compare.card(c.optimizer, c.slot, c.schedule_dict, c.polyak, **{**c.hyperparameters, **settings})


def with_momentum_setting(state: LectureState, lr: float, momentum: float) -> LectureState:
    """`state` with (lr, momentum) set on its heavy-ball card(s) (an (α, β) map click); with none,
    on the card whose equations are shown if it is SGD or the classic form. Unchanged (with a
    notice) where nothing can take the setting."""
    setup = setup_of(state)
    if setup is None:
        return replace(state, notices=("this story's lines are its own formulations: their settings "
                                       "cannot be changed here",))
    targets = heavy_ball_cards(setup)
    line = min(state.line, len(setup.cards) - 1)
    if not targets and setup.cards[line].optimizer in HEAVY_BALL_OPTIMIZERS:
        targets = [line]
    if not targets:
        return replace(state, notices=("no SGD or momentum card to take the (α, β) setting",))
    cards = [(_with_settings(c, lr=float(lr), momentum=float(momentum)) if i in targets else c)
             for i, c in enumerate(setup.cards)]
    return replace(with_setup(state, setup.with_cards(cards, setup.noises)), notices=())


THEORY_METHODS = {"gd": "GD", "heavy_ball": "heavy ball", "nesterov": "Nesterov"}  # "Use …" buttons


def _kind(c: compare.Card) -> str | None:
    """Which of theory's methods a card is: "gd" (plain SGD), "heavy_ball" or "nesterov"; else None."""
    values = c.hyperparameters
    if c.optimizer == "nesterov" or (c.optimizer == "sgd" and values.get("nesterov", False)):
        return "nesterov"
    if c.optimizer == "momentum" or (c.optimizer == "sgd" and _momentum_of(c) > 0):
        return "heavy_ball"
    return "gd" if c.optimizer == "sgd" else None


def with_theory_setting(state: LectureState, method: str, theory) -> LectureState:
    """`state` using theory's tuned setting `method` ("gd", "heavy_ball", "nesterov"; theory is a
    `QuadraticTheory` at a convex point): set on every card of that kind (their lr and momentum,
    each keeping its own form); with none, added as a card (or, with `COMPARE_CARDS` cards
    already, put in place of the card whose equations are shown), and that card's equations shown."""
    setup = setup_of(state)
    if setup is None:
        return replace(state, notices=("this story's lines are its own formulations: their settings "
                                       "cannot be changed here",))
    optimizer, settings = theory.card_settings(method)
    values = {"lr": float(settings["lr"])}
    if method != "gd":
        values["momentum"] = float(settings["momentum"])
    targets = [i for i, c in enumerate(setup.cards) if _kind(c) == method]
    cards, noises = list(setup.cards), list(setup.noises)
    line = min(state.line, len(cards) - 1)
    if targets:
        cards = [(_with_settings(c, **values) if i in targets else c) for i, c in enumerate(cards)]
        line = targets[0]
    else:
        slot = next(s for s in range(compare.MAX_CARDS + 1) if s not in {c.slot for c in cards})
        new = compare.card(optimizer, slot, **settings)
        if len(cards) < COMPARE_CARDS:
            cards.append(new)
            noises.append(noises[line])
            line = len(cards) - 1
        else:
            cards[line] = replace(new, slot=cards[line].slot)
    changed = with_setup(state, setup.with_cards(cards, noises))
    return replace(changed, line=line, notices=())


@lru_cache(maxsize=32)
def story_holds(name: str) -> bool:
    """Whether the story's claim holds on its runs (its numeric check), once per process."""
    return PRESETS[name].verify()


def step_panels(runs: Sequence[Run], labels: Sequence[str], line: int, frames: Sequence[str]) -> dict[str, str]:
    """The HTML under the chart for each frame: the equations of run `line` with that step's
    numbers (MathML), then one narrated paragraph per run. Built from numbers, the registry's
    LaTeX and escaped text only."""
    run = runs[line]
    try:
        data = step_vectors(run)
        equations = {int(name): equations_at(run, 0, min(int(name), run.steps - 1), data=data) for name in frames}
    except HyperparameterError:  # a story's own formulation (no registry record): narration only
        equations = {}
    stories = narration_by_step(list(runs), 0, labels=list(labels))
    panels = {}
    for name in frames:
        step = int(name)
        lines = equations.get(step, []) if run.steps else []
        maths = "".join(f"<div class='dl-equation'>{_mathml(latex)}</div>" for latex in lines)
        said = stories[min(step, len(stories) - 1)] if stories else ""
        told = "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in said.split("\n\n") if paragraph)
        panels[name] = (f"<div class='dl-lecture-step'><div class='dl-equations'><b>{html.escape(labels[line])}"
                        f"</b>, step {step}:{maths}</div><div class='dl-narration'>{told}</div></div>")
    return panels


@lru_cache(maxsize=4096)
def _mathml(latex: str) -> str:
    try:
        return convert(latex)
    except Exception:  # noqa: BLE001 - a line the converter cannot read is shown as its LaTeX text
        return f"<code>{html.escape(latex)}</code>"


# -- what the page shows beside the chart ------------------------------------------------------
def theory_rows(theory, momentum: float = 0.0) -> list[tuple[str, str]]:
    """The theory table: (what, value) rows for a `QuadraticTheory`, `momentum` the β of the line
    shown (for momentum's stable region)."""
    rows = [("eigenvalues λ", ", ".join(f"{v:.4g}" for v in theory.eigenvalues)),
            ("condition number κ", f"{theory.condition_number:.4g}"),
            ("largest stable GD rate 2/λmax", f"{theory.max_stable_lr:.4g}"),
            ("momentum's stable region", f"0 < lr·λ < 2 + 2β: at β = {momentum:.4g}, lr < "
                                         f"{theory.max_stable_momentum_lr(momentum):.4g}")]
    if theory.optimal_lr is not None:
        rows.append(("GD optimal rate 2/(λmin+λmax)", f"lr {theory.optimal_lr:.4g} (rate {theory.optimal_rate:.4g})"))
    for name, setting in (("heavy ball α*, β*", theory.heavy_ball),
                          ("Nesterov (Lessard) 4/(3L+μ), β", theory.nesterov)):
        if setting is not None:
            rows.append((name, f"lr {setting.lr:.4g}, momentum {setting.momentum:.4g} (rate {setting.rate:.4g})"))
    return rows


def has_momentum(run: Run) -> bool:
    """Whether the run carries a velocity or first moment (momentum is what it is about)."""
    moving = "velocity" in run.states and float(run.hyperparameters.get("momentum", 1.0)) > 0
    return moving or "first_moment" in run.states


def oscillates(run: Run, flips: int = 3) -> bool:
    """Whether the phase diagram has something to show: momentum, or a gradient coordinate that
    flips sign at least `flips` times."""
    if has_momentum(run):
        return True
    if run.grads is None or run.grads.shape[1] < 2:
        return False
    signs = np.sign(run.grads[0])
    return bool(((signs[1:] * signs[:-1]) < 0).sum(axis=0).max() >= flips)


def compare_url_of(state: LectureState, landscape: Landscape) -> str:
    """The Compare page's link for what `state` runs (one noise for all cards there: the first
    card's when they differ)."""
    setup = setup_of(state)
    if setup is None:
        where = state.preset.state()
    else:
        where = replace(setup.compare, noise=setup.noises[0] if setup.noises else 0.0)
    if not where.starts:
        where = replace(where, starts=tuple(tuple(float(v) for v in s) for s in landscape.starts))
    return "/?" + urlencode(compare.to_query(replace(where, presentation=state.presentation)), doseq=True)


PLOT_WIDTH = 480  # px: the contour's width beside the state plots at 1280×720 with the sidebar open


def chart_height(landscape: Landscape, presentation: bool = False) -> int:
    """The lecture chart's height: the contour's aspect at `PLOT_WIDTH` plus its title, axis and
    legend, at most what leaves the first equations in view at 1280×720."""
    (x0, x1), (y0, y1) = landscape.bounds
    overhead = 150 if presentation else 110
    return int(min(max(PLOT_WIDTH * (y1 - y0) / (x1 - x0) + overhead, 330), 420))
