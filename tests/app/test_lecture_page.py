"""The Lecture page through AppTest: every story loads, its chart carries the steps, the state
plots, the equations and the narration for the browser to step through; the URL holds the state."""

import json

import pytest
from apptest_helpers import open_app

from presets import PRESETS


def lecture(query: dict | None = None):
    return open_app(query, page="pages/lecture/page.py")


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
    assert any("Checked on these runs: the claim holds." in c.value for c in at.caption)


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
            and e.key.startswith("lecture.map")]
    assert len(maps) == 1 and json.loads(maps[0].proto.json)["controls"] is False
    rows = list(table.iloc[:, 0])
    assert "momentum's stable region" in rows and "Nesterov (Lessard) 4/(3L+μ), β" in rows


def charts_keyed(at, prefix: str) -> list:
    return [e for e in at.get("bidi_component") if e.proto.component_name == "descent-lab.chart"
            and e.key.startswith(prefix)]


@pytest.mark.parametrize(("story", "shown"), [("momentum_damps", True), ("sgd_ill_conditioned", True),
                                               ("newton_one_step", False)])
def test_the_phase_diagram_is_shown_where_the_story_is_about_momentum_or_oscillation(story, shown):
    at = lecture({"story": story, "line": "1" if story == "momentum_damps" else "0"})
    phases = charts_keyed(at, "lecture.phase")
    assert bool(phases) == shown
    if shown:
        figure = json.loads(json.loads(phases[0].proto.json)["figure"])
        assert len(figure["frames"]) > 1 and "velocity" in json.dumps(figure["layout"])


def test_use_nesterovs_settings_adds_a_nesterov_card_and_the_url_keeps_it():
    at = lecture({"story": "momentum_damps"})
    at.button(key="lecture.use.nesterov").click().run()
    assert not at.exception
    panel = chart(at)["panel"]
    assert "nesterov=True" in panel["3"] or "SGD nesterov" in panel["3"]  # its equations are shown
    assert "0.3172" in at.query_params["opt"][-1] or "nesterov=1" in at.query_params["opt"][-1]
    assert at.query_params["story"] == "momentum_damps"
    assert any("not the story" in m.value for m in at.markdown)
    assert not any("claim holds" in c.value for c in at.caption)
    at.button[0].click().run()  # back to the story's settings
    assert "opt" not in at.query_params and chart(at)["frames"]


def test_newtons_panel_has_the_hessian_its_eigenvalues_and_the_step():
    at = lecture({"story": "damped_newton", "line": "1"})
    panel = chart(at)["panel"]["0"]
    assert panel.count("<math") >= 4 and "positive&#x000A0;definite" in panel  # MathML: non-breaking spaces


def test_a_lecture_of_a_compare_state_opens_with_its_cards():
    from urllib.parse import parse_qs, urlsplit

    from ui.lecture import lecture_url_of
    from ui.state import CompareState, card

    compare = CompareState(landscape="rosenbrock", cards=(card("sgd", 0, lr=0.001), card("adam", 1, lr=0.05)),
                           starts=((-1.0, 2.0),), steps=40)
    query = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(urlsplit(lecture_url_of(compare)).query).items()}
    at = lecture(query)
    data = chart(at)
    assert data["frames"][-1] == "40" and "Adam" in data["panel"]["1"]
    assert any(m.value.startswith("#### Your comparison") for m in at.markdown)


def test_a_bad_lecture_link_says_so_and_opens_a_story():
    at = lecture({"story": "warp_drive"})
    assert any("warp_drive" in c.value for c in at.caption)
    assert chart(at)["frames"]


def test_compare_links_to_a_lecture_of_its_first_three_cards():
    from urllib.parse import parse_qs, urlsplit

    from ui.lecture import from_query

    at = open_app({"landscape": "rosenbrock"})
    (link,) = [b for b in at.get("link_button") if b.proto.label == "Lecture this"]
    url = link.proto.url
    assert url.startswith("/lecture?")
    state = from_query(parse_qs(urlsplit(url).query))
    assert state.story == "" and 1 <= len(state.setup.cards) <= 3
    assert state.setup.compare.landscape == "rosenbrock"


def test_a_refused_formula_in_a_lecture_link_says_why_and_raises_nothing():
    at = lecture({"formula": "__import__('os').system('true')", "opt": "sgd,lr=0.1"})
    assert at.error and "cannot be run" in at.error[0].value


def test_the_step_is_in_the_url_and_the_chart_opens_there():
    at = lecture({"story": "momentum_damps", "at": "7"})
    data = chart(at)
    assert data["step"] == "7" and data["report_step"] is True  # the chart reports where stepping rests
    assert at.query_params["at"] == "7"
    at.selectbox(key="lecture.story").set_value("adagrad").run()  # another story starts at its step 0
    assert chart(at)["step"] == "0" and "at" not in at.query_params


def test_a_bad_step_in_the_url_is_explained():
    at = lecture({"story": "momentum_damps", "at": "-3"})
    assert chart(at)["step"] == "0"
    assert any("ignored at='-3'" in c.value for c in at.caption)


def test_the_lecture_figure_exports_at_the_step_on_screen_with_its_arrows():
    at = lecture({"story": "momentum_damps", "at": "5"})
    at.selectbox(key="compare.export_format").set_value("csv").run()
    at.button(key="compare.export_make").click().run()
    assert not at.exception, at.exception
    chosen, _, data = at.session_state["compare.export"]
    header = data.decode().splitlines()[0]
    assert chosen == "csv" and header.startswith("step,optimizer")
    assert "SGD" in data.decode()


def test_a_link_past_the_lectures_steps_says_once_that_it_kept_the_first_of_them():
    from urllib.parse import parse_qs, urlsplit

    from ui.lecture import MAX_STEPS, lecture_url_of
    from ui.state import CompareState, card

    compare = CompareState(landscape="himmelblau", cards=(card("sgd", 0, lr=0.01, momentum=0.9),),
                           starts=((-1.0, 2.0),), steps=MAX_STEPS + 500)  # a basin pick's "Open on Lecture"
    query = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(urlsplit(lecture_url_of(compare)).query).items()}
    at = lecture(query)
    notes = [c.value for c in at.caption if c.value.startswith("Note:")]
    assert notes == [f"Note: kept the first {MAX_STEPS} steps: a lecture steps through at most {MAX_STEPS}"]
    assert chart(at)["frames"][-1] == str(MAX_STEPS)


def test_every_note_of_a_bad_link_is_said_once():
    at = lecture({"story": "warp_drive", "at": "-3"})
    notes = [c.value for c in at.caption if c.value.startswith("Note:")]
    assert len(notes) == 2 and len(set(notes)) == 2, notes
