"""The Compare page, driven through Streamlit's AppTest: what a user sees after each action."""

import base64

import numpy as np
import pytest
from apptest_helpers import comparison, figures, loss_names, open_app, summary

from figures import frame_steps
from ui.state import DEFAULT


def decode(array) -> np.ndarray:
    """A Plotly JSON array: a plain list, or a base64 typed array {"dtype", "bdata"}."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    return np.asarray(array, dtype=float)


def paths(figure: dict) -> dict[str, np.ndarray]:
    """The exact full path of every series, keyed by its name."""
    return {t["name"]: np.column_stack([decode(t["x"]), decode(t["y"])]) for t in figure["data"]
            if t.get("mode") == "lines" and t.get("xaxis") == "x" and t.get("opacity")}


def test_first_open_compares_five_optimizers_on_the_ill_conditioned_quadratic(app):
    figure = comparison(app)
    assert figure["layout"]["images"][0]["source"].startswith("data:image/png;base64,")
    assert figure["layout"]["title"]["text"] == "ill-conditioned quadratic"
    assert loss_names(figure) == ["SGD", "Momentum (classic form)", "Adagrad", "RMSProp", "Adam"]
    assert [int(f["name"]) for f in figure["frames"]] == frame_steps(DEFAULT.steps).tolist()
    assert all(frame["traces"] == figure["frames"][0]["traces"] for frame in figure["frames"])
    assert all(set(frame) == {"data", "name", "traces"} for frame in figure["frames"])
    assert figure["layout"]["yaxis2"]["type"] == "log"
    assert [row["optimizer"] for row in summary(app)] == loss_names(figure)
    assert dict(app.query_params) == {}


def open_card(app, slot: int):
    """Open a card's settings, as a click on its expander does."""
    app.session_state[f"card{slot}.open"] = True
    app.run()
    return app


def test_closed_cards_draw_no_settings_and_keep_them(app):
    assert not [w for w in app.number_input if str(w.key).startswith("card")]
    open_card(app, 0).number_input(key="card0.sgd.lr").set_value(0.01).run()
    app.session_state["card0.open"] = False
    app.run()
    assert not [w for w in app.number_input if str(w.key).startswith("card")]
    assert "sgd,lr=0.01,colour=0" in app.query_params["opt"]
    assert open_card(app, 0).number_input(key="card0.sgd.lr").value == 0.01


def test_every_card_shows_exactly_its_registry_hyperparameters(app):
    from optimizers import get_optimizer

    for state_card in DEFAULT.cards:
        open_card(app, state_card.slot)
    for state_card in DEFAULT.cards:
        spec = get_optimizer(state_card.optimizer)
        prefix = f"card{state_card.slot}.{state_card.optimizer}."
        widgets = [*app.number_input, *app.checkbox, *app.selectbox, *app.text_input]
        keys = {str(w.key).removeprefix(prefix).split(".")[0] for w in widgets if str(w.key).startswith(prefix)}
        keys.discard("schedule")
        assert keys == {h.name for h in spec.hyperparameters}


def test_changing_a_hyperparameter_changes_that_path_and_the_url(app):
    before = paths(comparison(app))
    open_card(app, 0).number_input(key="card0.sgd.lr").set_value(0.01).run()
    after = paths(comparison(app))
    assert not np.array_equal(before["SGD"], after["SGD"])
    assert np.array_equal(before["Adam"], after["Adam"])
    assert "sgd,lr=0.01,colour=0" in app.query_params["opt"]


def test_the_same_optimizer_twice_gets_names_with_its_differing_setting(app):
    app.selectbox(key="compare.add").set_value("sgd")
    app.button(key="compare.add_button").click().run()
    open_card(app, 5).number_input(key="card5.sgd.lr").set_value(0.01).run()
    assert loss_names(comparison(app))[0] == "SGD lr=0.4"
    assert loss_names(comparison(app))[-1] == "SGD lr=0.01"


def test_changing_a_cards_optimizer_keeps_its_colour(app):
    colour = comparison(app)["data"][-1]["marker"]["color"][0]
    app.selectbox(key="card0.optimizer").set_value("adamw").run()
    figure = comparison(app)
    assert loss_names(figure)[0] == "AdamW"
    assert figure["data"][-1]["marker"]["color"][0] == colour


def test_removing_a_card_leaves_the_other_colours_alone(app):
    colours = {t["name"]: t["line"]["color"] for t in comparison(app)["data"] if t.get("xaxis") == "x2"
               and t.get("showlegend")}
    app.button(key="card1.remove").click().run()
    after = {t["name"]: t["line"]["color"] for t in comparison(app)["data"] if t.get("xaxis") == "x2"
             and t.get("showlegend")}
    assert "Momentum (classic form)" not in after
    assert all(after[name] == colours[name] for name in after)


def test_changing_the_landscape_redraws_it_from_its_own_start(app):
    app.selectbox(key="compare.landscape").set_value("rosenbrock").run()
    figure = comparison(app)
    assert figure["layout"]["title"]["text"] == "Rosenbrock"
    assert all(np.allclose(path[0], (-1.5, 2.0)) for path in paths(figure).values())
    assert app.query_params["landscape"] == "rosenbrock"


def test_a_custom_formula_is_drawn(app):
    app.selectbox(key="compare.landscape").set_value("custom").run()
    app.text_input(key="compare.formula").set_value("x**2 + 3*y**2").run()
    assert not app.exception and not app.error
    assert comparison(app)["layout"]["title"]["text"] == "f(x, y) = x**2 + 3*y**2"
    assert app.query_params["formula"] == "x**2 + 3*y**2"


def test_a_refused_formula_shows_why_and_keeps_the_last_good_landscape(app):
    app.selectbox(key="compare.landscape").set_value("custom").run()
    app.text_input(key="compare.formula").set_value("x**2 + y**2").run()
    app.text_input(key="compare.formula").set_value("__import__(1).system(2)").run()
    assert not app.exception
    assert len(app.error) == 1
    formula, caret, message = app.code[0].value.split("\n")
    assert formula == "__import__(1).system(2)" and caret == " " * 13 + "^"   # points at '.system'
    assert message.startswith("attribute access '.system' at column 14 is not allowed")
    assert comparison(app)["layout"]["title"]["text"] == "f(x, y) = x**2 + y**2"


def test_typed_starts_each_get_a_path_and_bad_ones_are_explained(app):
    app.text_input(key="compare.starts").set_value("-4, 2; 3, -1").run()
    figure = comparison(app)
    assert sum(1 for t in figure["data"] if t.get("name") == "SGD" and t.get("xaxis") == "x") == 2 + 0
    assert app.query_params["start"] == ["-4,2", "3,-1"]
    app.text_input(key="compare.starts").set_value("-4, 2; oops").run()
    assert "start 2" in app.error[0].value
    assert app.query_params["start"] == ["-4,2", "3,-1"]


def test_a_url_reopens_the_same_state_in_a_new_session(app):
    app.selectbox(key="compare.landscape").set_value("beale").run()
    open_card(app, 3).number_input(key="card3.adam.lr").set_value(0.02).run()
    app.slider(key="compare.steps").set_value(80).run()
    app.text_input(key="compare.starts").set_value("1, 1; -2, 2").run()
    app.number_input(key="compare.noise").set_value(0.2).run()
    app.button(key="card2.remove").click().run()
    query = {key: app.query_params[key] for key in app.query_params}
    reopened = open_app({key: value if len(value) > 1 else value[0] for key, value in query.items()})
    assert reopened.query_params == app.query_params
    assert comparison(reopened)["data"] == comparison(app)["data"]
    assert reopened.slider(key="compare.steps").value == 80
    assert open_card(reopened, 3).number_input(key="card3.adam.lr").value == 0.02
    assert not [e for e in reopened.expander if "could not do" in e.label]


def test_a_tampered_url_opens_with_defaults_for_the_bad_values_and_says_so():
    at = open_app({"steps": "lots", "landscape": "everest", "opt": ["sgd,lr=-1", "warp_drive", "adam,lr=0.05"],
                   "bogus": "1"})
    (notice,) = [e for e in at.expander if "could not do" in e.label]
    notices = " ".join(text.value for text in notice.text)
    for fragment in ("steps", "everest", "lr", "warp_drive", "bogus"):
        assert fragment in notices
    figure = comparison(at)
    assert figure["layout"]["title"]["text"] == "ill-conditioned quadratic"
    assert loss_names(figure) == ["SGD", "Adam"]
    assert [int(f["name"]) for f in figure["frames"]] == frame_steps(DEFAULT.steps).tolist()


def test_the_3d_view_shows_a_surface_with_the_paths(app):
    app.get("button_group")[0]  # the view switch exists
    app.session_state["compare.view"] = "surface"
    app.run()
    (figure,) = figures(app)
    assert figure["data"][0]["type"] == "surface"
    assert sum(t["type"] == "scatter3d" for t in figure["data"]) == 5
    assert app.query_params["view"] == "surface"


def test_the_3d_view_hides_the_loss_scale_and_gives_it_back_unchanged(app):
    app.toggle(key="compare.log").set_value(False).run()

    app.session_state["compare.view"] = "surface"
    app.run()
    assert [w.key for w in app.toggle] == ["compare.presentation"]
    assert app.query_params["log"] == "0"

    app.session_state["compare.view"] = "contour"
    app.run()
    assert app.toggle(key="compare.log").value is False
    assert comparison(app)["layout"]["yaxis2"]["type"] == "linear"


def made_file(app, file_format: str) -> bytes:
    app.selectbox(key="compare.export_format").set_value(file_format).run()
    app.button(key="compare.export_make").click().run()
    assert not app.exception and not app.error
    made_format, _, data = app.session_state["compare.export"]
    assert made_format == file_format
    assert app.get("download_button")
    return data


def test_png_export_is_a_png_image(app):
    assert made_file(app, "png").startswith(b"\x89PNG\r\n\x1a\n")


def test_csv_export_has_a_row_per_point_of_every_path(app):
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(made_file(app, "csv").decode())))
    assert len(rows) == 5 * (DEFAULT.steps + 1)
    assert {row["optimizer"] for row in rows} == {"SGD", "Momentum (classic form)", "Adagrad", "RMSProp", "Adam"}
    assert list(rows[0]) == ["step", "optimizer", "settings", "start", "x", "y", "loss", "lr"]


def test_json_export_is_valid_json_with_every_trajectory(app):
    import json

    document = json.loads(made_file(app, "json"))
    assert len(document["trajectories"]) == 5
    assert all(len(t["x"]) == DEFAULT.steps + 1 for t in document["trajectories"])


def test_a_made_file_is_not_offered_once_the_state_changed(app):
    made_file(app, "csv")
    app.slider(key="compare.steps").set_value(40).run()
    assert not app.get("download_button")


def test_a_schedule_chosen_on_a_card_drives_its_run_and_reaches_the_url(app):
    open_card(app, 0).selectbox(key="card0.sgd.schedule").set_value("StepLR").run()
    app.number_input(key="card0.sgd.schedule.StepLR.step_size").set_value(10).run()
    assert not app.exception and not app.error
    (opt,) = [o for o in app.query_params["opt"] if o.startswith("sgd")]
    assert "schedule=StepLR" in opt and "schedule.step_size=10" in opt
    csv_rows = made_file(app, "csv").decode().splitlines()
    sgd_rates = [row.rsplit(",", 1)[1] for row in csv_rows[1:] if ",SGD," in row][:12]
    assert [float(r) for r in sgd_rates[:10]] == [0.4] * 10 and float(sgd_rates[10]) == 0.4 * 0.1


def test_polyak_averaging_adds_a_dashed_average_path(app):
    open_card(app, 1).checkbox(key="card1.polyak").check().run()
    figure = comparison(app)
    averaged = [t for t in figure["data"] if "Polyak" in str(t.get("name"))]
    assert len(averaged) == 1 and averaged[0]["line"]["dash"] == "dash"
    assert len(summary(app)) == 6 and summary(app)[2]["optimizer"] == "Momentum (classic form) (Polyak average)"


def test_removing_every_card_leaves_a_working_page(app):
    for slot in range(5):
        app.button(key=f"card{slot}.remove").click().run()
    assert not app.exception
    assert not figures(app)
    assert any("Add an optimizer" in message.value for message in app.info)
    assert app.query_params["opt"] == "none"


def test_an_invalid_hyperparameter_is_explained_and_the_other_cards_still_draw(app):
    open_card(app, 4).number_input(key="card4.adam.eps").set_value(0.0).run()
    assert not app.exception
    assert "eps = 0.0 is outside its valid range (0, ∞)" in app.error[0].value
    assert "Adam is not drawn" in app.warning[0].value
    assert loss_names(comparison(app)) == ["SGD", "Momentum (classic form)", "Adagrad", "RMSProp"]


def test_the_table_says_where_a_run_diverged_and_reads_its_huge_loss():
    app = open_app({"opt": ["sgd,lr=1.2,colour=0", "sgd,lr=0.4,colour=1"], "steps": "100"})
    diverged, calm = summary(app)

    assert diverged["diverged"].startswith("step ") and calm["diverged"] == ""
    assert "exceeded" in diverged["why"] or "non-finite" in diverged["why"]    # the reason, as its tooltip
    assert "e+" in diverged["final loss"] and float(diverged["final loss"]) > 1e15
    assert float(calm["final loss"]) < 1
    assert calm["steps to tolerance"].isdigit() and diverged["steps to tolerance"] == "—"


def test_each_landscape_opens_with_its_own_cards_and_steps(app):
    from landscapes import get_landscape

    app.selectbox(key="compare.landscape").set_value("rosenbrock").run()
    rosenbrock = get_landscape("rosenbrock")
    assert len(loss_names(comparison(app))) == len(rosenbrock.optimizers)
    assert app.slider(key="compare.steps").value == rosenbrock.steps
    assert "opt" not in app.query_params and "steps" not in app.query_params  # the defaults: a short link
    assert open_card(app, 0).number_input(key="card0.sgd.lr").value == rosenbrock.optimizers[0][1]["lr"]


def test_cards_the_user_changed_survive_a_landscape_change_with_an_offer_to_swap(app):
    open_card(app, 0).number_input(key="card0.sgd.lr").set_value(0.02).run()
    app.selectbox(key="compare.landscape").set_value("beale").run()
    assert "sgd,lr=0.02,colour=0" in app.query_params["opt"]
    app.button(key="compare.use_defaults").click().run()
    assert "opt" not in app.query_params
    assert not [b for b in app.button if b.key == "compare.use_defaults"]


def test_a_new_card_starts_with_a_learning_rate_suited_to_the_landscape_and_says_so(app):
    from optimizers import get_optimizer

    app.selectbox(key="compare.add").set_value("adamax").run()
    app.button(key="compare.add_button").click().run()
    lr = open_card(app, 5).number_input(key="card5.adamax.lr").value
    assert lr != get_optimizer("adamax").defaults["lr"]
    assert any("torch's default is 0.002" in c.value for c in app.caption)


def test_a_hand_written_link_without_colours_opens_without_notices():
    at = open_app({"opt": ["adam", "sgd"]})
    assert not at.expander or not [e for e in at.expander if "could not do" in e.label]
    figure = comparison(at)
    colours = [t["line"]["color"] for t in figure["data"] if t.get("xaxis") == "x2" and t.get("showlegend")]
    assert len(set(colours)) == 2


def test_too_many_optimizers_give_one_notice_that_goes_at_the_next_change():
    at = open_app({"opt": ["sgd"] * 20})
    (notice,) = [e for e in at.expander if "could not do" in e.label]
    assert len(notice.text) == 1 and "first 16" in notice.text[0].value
    assert len(loss_names(comparison(at))) == 16
    at.slider(key="compare.steps").set_value(40).run()
    assert not [e for e in at.expander if "could not do" in e.label]


def test_the_chart_gets_the_frames_and_the_speed_from_the_link():
    from apptest_helpers import chart_data

    at = open_app({"speed": "2"})
    data = chart_data(at)
    assert data["speed"] == 2.0 and data["controls"] is True
    assert data["frames"] == [str(k) for k in frame_steps(DEFAULT.steps)]
    assert data["report_step"] is True


@pytest.mark.parametrize("formula", ["tan(x+pi/2)+y**2", "__import__('os').system('true')", "x" * 400,
                                     "1/(x**2+y**2)", "log(x)", "abs(x)**0.5 + y**2", "x + y^2"])
def test_any_formula_in_a_link_gives_a_chart_or_a_refusal_never_a_traceback(formula):
    at = open_app({"formula": formula})  # open_app asserts there is no exception element
    if at.error:
        assert at.code and at.code[0].value  # the parser's message, as plain text
        assert comparison(at)["layout"]["title"]["text"] == "ill-conditioned quadratic"  # still a chart
    else:
        assert comparison(at)["layout"]["title"]["text"] == f"f(x, y) = {formula}"


LINKS = [
    {},
    {"landscape": "rosenbrock"},
    {"landscape": "six_hump_camel", "start": ["1,1", "-1,0.5"], "steps": "77", "noise": "0.3", "seed": "4"},
    {"opt": ["adam,lr=0.05,betas=0.8/0.99,amsgrad=1,colour=3", "sgd,lr=0.2,momentum=0.5,nesterov=1,colour=5",
             "rmsprop,lr=0.01,centered=1,momentum=0.3,schedule=StepLR,schedule.step_size=10,polyak=1"]},
    {"formula": "x**2 + 3*sin(y)", "bounds": "-2,2,-1,3", "tol": "0.01"},
    {"view": "surface", "log": "0", "present": "1", "speed": "2"},
    {"opt": ["sgd,schedule=MultiStepLR,schedule.milestones=10/20,schedule.warmup=5"]},
]


@pytest.mark.parametrize("query", LINKS, ids=lambda q: ",".join(q) or "default")
def test_the_controls_reproduce_the_state_a_link_opens_so_the_early_chart_is_the_final_one(query):
    """On a session's first run the chart is drawn from the URL's state before the controls; the
    controls must then give back exactly that state (else the page would have to draw again)."""
    at = open_app(query)
    assert at.session_state["compare.state"] == at.session_state["compare.opened"]
    assert len(figures(at)) == 1


def test_the_sidebar_shows_the_landscapes_formula_as_mathml(app):
    import json

    (formula,) = [e for e in app.get("bidi_component") if e.proto.component_name == "descent_lab_formula"]
    mathml = json.loads(formula.proto.json)["mathml"]
    assert mathml.startswith("<math") and "<mfrac>" in mathml  # x²/10 + 2y²


def test_sessions_showing_the_same_state_share_one_chart_and_a_change_makes_a_new_one(monkeypatch):
    """The chart's data is made once per state for every session (a class opening one link),
    and what a changed setting draws is never another state's chart."""
    from ui import compute

    built = []
    real = compute.comparison_spec
    monkeypatch.setattr(compute, "comparison_spec", lambda *a, **k: built.append(1) or real(*a, **k))
    compute.clear()
    link = {"opt": ["sgd,lr=0.1,colour=0", "adam,lr=0.05,colour=1"], "steps": "60"}
    first, second = open_app(link), open_app(link)
    assert len(built) == 1
    assert figures(first) == figures(second)
    open_card(second, 0).number_input(key="card0.sgd.lr").set_value(0.02).run()
    assert len(built) == 2
    changed = paths(comparison(second))
    assert not np.array_equal(changed["SGD"], paths(comparison(first))["SGD"])
    assert np.array_equal(paths(comparison(open_app({**link, "opt": ["sgd,lr=0.02,colour=0",
                                                                     "adam,lr=0.05,colour=1"]})))["SGD"],
                          changed["SGD"])
    assert len(built) == 2  # the third session's state is the second's: its chart again


def test_a_file_made_for_one_session_is_handed_to_another_showing_the_same_state(monkeypatch):
    import exports
    from ui.exporting import made_file as shared

    calls = []
    real = exports.to_csv
    monkeypatch.setattr(exports, "to_csv", lambda *a, **k: calls.append(1) or real(*a, **k))
    shared.clear()
    link = {"steps": "30"}
    first, second = open_app(link), open_app(link)
    assert made_file(first, "csv") == made_file(second, "csv")
    assert len(calls) == 1
    open_card(second, 0).number_input(key="card0.sgd.lr").set_value(0.02).run()
    assert made_file(second, "csv") != made_file(first, "csv")  # another state: its own file
    assert len(calls) == 2
