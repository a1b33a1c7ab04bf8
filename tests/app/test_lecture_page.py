"""The Lecture page through AppTest: every story loads, its chart carries the steps, the state
plots, the equations and the narration for the browser to step through; the URL holds the state."""

import json

import pytest
from apptest_helpers import open_app

from presets import PRESETS


def lecture(query: dict | None = None):
    at = open_app()
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page("pages/lecture/page.py")
    at.run()
    assert not at.exception, at.exception
    return at


def chart(at) -> dict:
    (element,) = [e for e in at.get("bidi_component") if e.proto.component_name == "descent-lab.chart"
                  and "panel" in json.loads(e.proto.json)]
    return json.loads(element.proto.json)


@pytest.mark.parametrize("story", list(PRESETS))
def test_every_story_loads_with_a_panel_and_the_state_plots_for_every_frame(story):
    at = lecture({"story": story})
    data = chart(at)
    assert data["controls"] and data["step"] == "0"
    assert set(data["panel"]) == set(data["frames"])           # every frame has its equations and narration
    (companion,) = data["companions"]
    assert [f["name"] for f in json.loads(companion)["frames"]] == data["frames"]  # the state plots step along
    assert "<math" in data["panel"][data["frames"][1]]
    assert at.query_params["story"] == story
    assert at.markdown[0].value.startswith(f"#### {PRESETS[story].title}")


def test_the_equations_follow_the_line_chosen_and_the_url_keeps_it():
    at = lecture({"story": "adam_bias_correction"})
    labels = [line.label for line in PRESETS["adam_bias_correction"].lines]
    first = chart(at)["panel"]["3"]
    at.selectbox(key="lecture.line").set_value(1).run()
    second = chart(at)["panel"]["3"]
    assert labels[0] in first and labels[1] in second and first != second
    assert at.query_params["line"] == "1"


def test_presentation_mode_enlarges_the_figure_and_reaches_the_url():
    at = lecture({"story": "sgd_ill_conditioned"})
    small = json.loads(chart(at)["figure"])["layout"]
    at.toggle(key="lecture.present").set_value(True).run()
    large = json.loads(chart(at)["figure"])["layout"]
    assert large["height"] > small["height"] and at.query_params["present"] == "1"


def test_theory_and_the_momentum_map_on_a_momentum_story():
    at = lecture({"story": "momentum_damps", "line": "1"})
    table = at.table[0].value
    assert "condition number κ" in list(table.iloc[:, 0]) and "20" in list(table.iloc[:, 1])
    maps = [e for e in at.get("bidi_component") if e.proto.component_name == "descent-lab.chart"
            and "panel" not in json.loads(e.proto.json)]
    assert len(maps) == 1 and json.loads(maps[0].proto.json)["controls"] is False


def test_a_bad_lecture_link_says_so_and_opens_a_story():
    at = lecture({"story": "warp_drive"})
    assert any("warp_drive" in c.value for c in at.caption)
    assert chart(at)["frames"]
