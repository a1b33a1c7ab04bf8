"""The Lecture page's state and its URL: every valid state survives, anything else falls back with a notice."""

import pytest

from presets import PRESETS
from ui.lecture import ARROWS, DEFAULT, LectureState, from_query, step_panels, story_runs, to_query


@pytest.mark.parametrize("story", list(PRESETS))
def test_every_story_with_any_line_and_arrows_survives_the_url(story):
    for line in range(len(PRESETS[story].lines)):
        state = LectureState(story, line, ARROWS[::2], accumulator=False, presentation=True)
        assert from_query(to_query(state)) == state


@pytest.mark.parametrize(("query", "word"), [({"story": "warp"}, "warp"), ({"line": "9"}, "line"),
                                             ({"arrows": "gradient,laser"}, "laser"), ({"present": "yes"}, "present")])
def test_a_bad_value_falls_back_with_a_notice(query, word):
    state = from_query(query)
    assert len(state.notices) == 1 and word in state.notices[0]
    assert state.story in PRESETS


def test_no_arrows_is_written_and_read_back():
    state = LectureState(DEFAULT.story, arrows=())
    assert to_query(state)["arrows"] == "none" and from_query(to_query(state)).arrows == ()


def test_the_panel_of_a_step_carries_that_steps_numbers_as_mathml_and_the_narration():
    preset, runs = story_runs("momentum_damps")
    ordered = list(runs.values())
    panels = step_panels(ordered, list(runs), 0, ["0", "3", "7"])
    assert set(panels) == {"0", "3", "7"}
    gx = ordered[0].grads[0, 3, 0]  # the gradient step 3 used: in the panel to 4 significant digits
    assert f"{gx:.4g}".lstrip("-") in panels["3"] and "<math" in panels["3"]
    assert "Step 3:" in panels["3"] and "Step 7:" in panels["7"]
    assert "<script" not in "".join(panels.values())
