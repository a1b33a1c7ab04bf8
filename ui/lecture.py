"""The Lecture page's state, its URL form, and what it sends to the browser once per story.

A lecture is a story (`presets.PRESETS`) shown one update at a time. Everything that changes
with the step is in the chart's data: the arrows and the state plots as figure frames, the
substituted equations (MathML: the browser draws it with no script) and the narration as one
HTML snippet per frame. Stepping is then the browser's alone.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from latex2mathml.converter import convert

from figures.lecture_equations import equations_by_step
from figures.narration import narration_by_step
from optimizers import HyperparameterError, Run
from presets import PRESETS, Preset

ARROWS = ("gradient", "velocity", "update", "lookahead")
DEFAULT_STORY = "momentum_damps"
MAX_FRAMES = 150  # frames a lecture steps through (every step of every story but the long ones)


@dataclass(frozen=True)
class LectureState:
    """Which story, whose equations the panel shows, which arrows are drawn, projector mode."""

    story: str = DEFAULT_STORY
    line: int = 0  # index of the story's line whose equations are shown
    arrows: tuple[str, ...] = ARROWS
    accumulator: bool = True
    presentation: bool = False
    notices: tuple[str, ...] = ()


DEFAULT = LectureState()


def to_query(state: LectureState) -> dict[str, str]:
    query = {"story": state.story}
    if state.line:
        query["line"] = str(state.line)
    if state.arrows != ARROWS:
        query["arrows"] = ",".join(state.arrows) or "none"
    if not state.accumulator:
        query["squares"] = "0"
    if state.presentation:
        query["present"] = "1"
    return query


def from_query(query: Mapping[str, str | list[str]]) -> LectureState:
    """The state a Lecture URL describes; anything unusable falls back, with a notice. Never raises."""
    values = {k: (v[-1] if isinstance(v, list | tuple) and v else v) for k, v in query.items()}
    notices: list[str] = []
    state = DEFAULT
    story = str(values.get("story", DEFAULT.story))
    if story in PRESETS:
        state = replace(state, story=story)
    else:
        notices.append(f"unknown story {story[:40]!r}: showing {PRESETS[DEFAULT.story].title!r}")
    if "line" in values:
        text = str(values["line"])
        lines = len(PRESETS[state.story].lines)
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
    for key, field in (("squares", "accumulator"), ("present", "presentation")):
        if key in values:
            flag = {"1": True, "0": False}.get(str(values[key]))
            if flag is None:
                notices.append(f"ignored {key}={str(values[key])[:20]!r}: expected 0 or 1")
            else:
                state = replace(state, **{field: flag})
    return replace(state, notices=tuple(notices))


@lru_cache(maxsize=32)
def story_runs(name: str) -> tuple[Preset, dict[str, Run]]:
    """The story and exactly the runs it shows (record="full"), computed once per process."""
    preset = PRESETS[name]
    return preset, preset.runs()


@lru_cache(maxsize=32)
def story_holds(name: str) -> bool:
    """Whether the story's claim holds on its runs (its numeric check), once per process."""
    return PRESETS[name].verify()


def step_panels(runs: Sequence[Run], labels: Sequence[str], line: int, frames: Sequence[str]) -> dict[str, str]:
    """The HTML under the chart for each frame: the equations of run `line` with that step's
    numbers (MathML), then one narrated paragraph per run. Built from numbers, the registry's
    LaTeX and escaped text only."""
    try:
        equations = equations_by_step(runs[line], 0)
    except HyperparameterError:  # a story's own formulation (no registry record): narration only
        equations = []
    stories = narration_by_step(list(runs), 0, labels=list(labels))
    panels = {}
    for name in frames:
        step = int(name)
        lines = equations[min(step, len(equations) - 1)] if equations else []
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
