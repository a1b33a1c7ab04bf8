"""Stories: one-click presets that each demonstrate one phenomenon of the course, with a numeric check.

>>> from presets import PRESETS
>>> story = PRESETS["learning_rate"]
>>> story.title, [stage.first_step for stage in story.stages]
('Too high explodes, too low crawls', [0, 0, 15])
>>> story.verify()
True
"""

from __future__ import annotations

from .core import Line, Preset, Stage, step_rule
from .stories import PRESETS

__all__ = ["PRESETS", "Line", "Preset", "Stage", "step_rule"]
