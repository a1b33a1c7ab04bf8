"""Colours, line styles and legend names shared by every figure, so a run looks the same everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from optimizers import Run, get_optimizer

# Okabe–Ito: distinguishable with the common colour-vision deficiencies. Yellow last: it
# is the one that fades on a light background.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
DASHES = ("solid", "dot", "dash", "longdash")

# Light greys, low loss light: coloured paths stay readable on every part of the contour.
CONTOUR_COLOURS = [[0.0, "#ffffff"], [1.0, "#8c8c8c"]]


def colour(slot: int) -> str:
    """The colour of palette slot `slot`; slots past the palette reuse it with another dash."""
    return PALETTE[slot % len(PALETTE)]


def dash(slot: int) -> str:
    return DASHES[(slot // len(PALETTE)) % len(DASHES)]


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    return str(value)


def schedule_text(schedule: dict | None) -> str:
    if not schedule:
        return "constant"
    arguments = ", ".join(f"{k}={format_value(v)}" for k, v in schedule.items() if k != "name")
    return f"{schedule['name']}({arguments})" if arguments else str(schedule["name"])


def legend_labels(runs: Sequence[Run]) -> list[str]:
    """A legend name per run: the optimizer's title plus the settings that tell it apart
    from other runs of the same optimizer (``SGD lr=0.1`` beside ``SGD lr=0.01``)."""
    labels = []
    for run in runs:
        siblings = [other for other in runs if other.optimizer == run.optimizer]
        differing = [name for name, value in run.hyperparameters.items()
                     if any(other.hyperparameters.get(name) != value for other in siblings)]
        parts = [f"{name}={format_value(run.hyperparameters[name])}" for name in differing]
        if any(schedule_text(other.schedule) != schedule_text(run.schedule) for other in siblings):
            parts.append(schedule_text(run.schedule))
        labels.append(" ".join([get_optimizer(run.optimizer).title, *parts]))
    return _unique(labels)


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return unique


@dataclass(frozen=True)
class Look:
    """Sizes of text, lines and markers: `SCREEN` for a monitor, `PRESENTATION` for a projector
    (a 1280 × 720 image read from the back of a lecture room)."""

    ticks: int         # tick labels, px
    axis_title: int    # axis titles, px
    title: int         # the figure's title, px
    legend: int        # legend entries, px
    line: float        # path and loss-curve width, px
    marker: float      # scale of every marker size


SCREEN = Look(ticks=12, axis_title=14, title=17, legend=12, line=2, marker=1.0)
PRESENTATION = Look(ticks=18, axis_title=22, title=28, legend=18, line=4, marker=1.6)


def look(presentation: bool) -> Look:
    return PRESENTATION if presentation else SCREEN
