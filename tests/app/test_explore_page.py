"""The Explore page through AppTest: every part renders, the state round-trips through the URL, a
hyperparameter change redraws, hostile URL values give a notice and never a traceback."""

import base64
import json
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from apptest_helpers import figures, open_app

from explore import axis_names, sweep
from optimizers import optimizer_names
from ui import explore
from ui.explore import PARTS, ExploreState, from_query, to_query


def explore_page(query: dict | None = None):
    return open_app(query, page="pages/explore/page.py")


def link_buttons(at) -> list[dict]:
    return [{"label": e.proto.label, "url": e.proto.url} for e in at.get("link_button")]


def query_list(at, key: str) -> list[str]:
    value = at.query_params[key]
    return value if isinstance(value, list) else [value]


def notices(at) -> list[str]:
    return [c.value for e in at.expander for c in e.caption]


@pytest.mark.parametrize("part", list(PARTS))
def test_every_part_renders_its_figures(part):
    at = explore_page({"part": part, "landscape": "himmelblau", "sres": "12", "res": "40"})
    assert not at.error, [e.value for e in at.error]
    assert figures(at), "no figure drawn"
    assert dict(at.query_params).get("part", "basin") == part  # the default part is left out


def test_the_basin_map_arrives_as_one_image():
    at = explore_page({"landscape": "himmelblau", "res": "60"})
    (figure,) = figures(at)
    assert len(figure["layout"]["images"]) == 1
    assert figure["layout"]["meta"]["basin_map"]["columns"] == 60


def test_a_hyperparameter_change_redraws_the_map():
    at = explore_page({"landscape": "himmelblau", "res": "40"})
    before = figures(at)[0]["layout"]["images"][0]["source"]
    at.number_input(key="explore.card.sgd.lr").set_value(0.02).run()
    assert not at.exception
    after = figures(at)[0]["layout"]["images"][0]["source"]
    assert after != before
    assert any("lr=0.02" in text for text in query_list(at, "opt"))


def test_state_round_trips_through_the_url():
    state = ExploreState(setup=explore.DEFAULT.setup, part="sweep", resolution=80, picked=(1.5, -2.0),
                         sweep_x="momentum",
                         sweep_y="lr", sweep_ranges=(0.1, 0.9, 0.01, 0.5), zooms=((0.0, 0.99, 0.001, 1.0),),
                         sweep_resolution=30, metric="steps_to_tol", lr_range=(1e-3, 10.0), per_decade=3,
                         score="mean_loss", schedule="CosineAnnealingLR", warmup=20, tuned=("adam", "sgd"))
    assert from_query(to_query(state)) == state
    assert from_query(to_query(explore.DEFAULT)) == explore.DEFAULT
    assert to_query(explore.DEFAULT) == {}


def test_the_page_writes_the_state_it_was_opened_with():
    query = {"part": "sweep", "landscape": "quadratic", "sres": "10", "metric": "diverged",
             "sr": "0.01,1,0,0.9", "zoom": "0.001,1,0,0.99"}
    at = explore_page(query)
    assert {key: at.query_params[key] for key in query} == query
    (figure,) = figures(at)
    heatmap = next(t for t in figure["data"] if t["type"] == "heatmap")
    assert len(heatmap["x"]) == 10 if isinstance(heatmap["x"], list) else True
    assert [b.label for b in at.button if b.key and b.key.startswith("explore.crumb")] == ["← whole range"]


def test_backing_out_of_a_zoom_restores_the_ranges():
    at = explore_page({"part": "sweep", "landscape": "quadratic", "sres": "8", "sr": "0.1,0.5,0.2,0.6",
                       "zoom": "0.001,1,0,0.99"})
    at.button(key="explore.crumb.0").click().run()
    assert not at.exception
    assert "sr" not in at.query_params and "zoom" not in at.query_params


def test_a_box_selection_zooms_to_its_ranges():
    class Event:
        class selection:  # noqa: N801 - the shape of Streamlit's PlotlyState
            box = [{"x": [0.01, 0.1], "y": [0.2, 0.5]}]

    assert explore._selected_box(Event, "lr", "momentum", (0.001, 1.0, 0.0, 0.99)) == (0.01, 0.1, 0.2, 0.5)
    Event.selection.box = [{"x": [-2.0, -1.0], "y": [0.2, 0.5]}]  # a log axis reported in log₁₀ units
    assert explore._selected_box(Event, "lr", "momentum", (0.001, 1.0, 0.0, 0.99)) == pytest.approx(
        (0.01, 0.1, 0.2, 0.5))
    Event.selection.box = []
    assert explore._selected_box(Event, "lr", "momentum", (0.001, 1.0, 0.0, 0.99)) is None


def test_fair_tuning_states_budget_score_grid_and_links_the_tuned_optimizers():
    at = explore_page({"part": "tuning", "landscape": "rosenbrock", "steps": "200", "tune": "sgd,adam",
                       "lrs": "0.0001,1", "decade": "2"})
    statement = " ".join(m.value for m in at.markdown)
    assert "Budget:" in statement and "200 steps" in statement and "Score:" in statement
    assert "9 learning rates from 0.0001 to 1, 2 per decade" in statement
    (link,) = [b for b in link_buttons(at) if "tuned" in b["label"]]
    query = parse_qs(urlsplit(link["url"]).query)
    assert urlsplit(link["url"]).path.endswith("/compare")
    tuned = {text.split(",")[0]: text for text in query["opt"]}
    assert set(tuned) == {"sgd", "adam"}
    from explore import log_grid, tune_lr
    from landscapes import get_landscape

    land = get_landscape("rosenbrock")
    best = tune_lr(land, "adam", land.starts, 200, log_grid(1e-4, 1, 2)).best_lr
    assert f"lr={best!r}" in tuned["adam"] or f"lr={best:g}" in tuned["adam"]


@pytest.mark.parametrize("query", [
    {"part": "<script>alert(1)</script>"},
    {"res": "1e9", "sres": "-5", "metric": "__import__('os')", "score": "nan"},
    {"part": "sweep", "sx": "nesterov", "sy": "nesterov", "sr": "nan,inf,0,1", "zoom": "1,2,3"},
    {"part": "sweep", "sr": "-1,1,0,0.5", "lrs": "0,0", "decade": "99"},
    {"part": "tuning", "tune": "eval,exec,adam", "opt": "sgd,lr=-1", "steps": "1e12"},
    {"part": "schedules", "sched": "os.system", "warmup": "-3", "landscape": "../../etc/passwd"},
])
def test_hostile_url_values_give_a_notice_not_a_traceback(query):
    at = explore_page(query)
    assert not at.exception
    assert notices(at), "the link's problems are not said"
    assert figures(at)


def decoded(values) -> list:
    """A figure array as plotly.js reads it (typed arrays arrive as {"dtype", "bdata"})."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def opened(url: str) -> dict:
    """A link's query as open_app takes it."""
    return {k: v if len(v) > 1 else v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def picked_by_click(at, x: float, y: float):
    """What the basin chart's on_click does with a click at (x, y) (AppTest cannot click a component): the
    state's picked start set, then the rerun the click causes."""
    from dataclasses import replace

    at.session_state[explore.STATE_KEY] = replace(at.session_state[explore.STATE_KEY], picked=(x, y))
    return at.run()


def test_a_basin_click_offers_that_start_on_compare_and_on_lecture_with_the_same_settings():
    at = explore_page({"landscape": "himmelblau", "res": "20", "opt": "adam,lr=0.05", "steps": "300",
                       "bounds": "-4.5,5,-5,4.5", "seed": "3"})
    assert not [b for b in link_buttons(at) if b["label"].startswith("Open on")]  # nothing picked yet
    picked_by_click(at, 2.3, -3.3)  # cells 0.475 wide: column 14, row 3, centred on (2.3875, -3.3375)
    assert not at.exception
    start = (2.3875, -3.3375)
    assert query_list(at, "pick") == ["2.3875,-3.3375"]
    links = {b["label"]: b["url"] for b in link_buttons(at) if b["label"].startswith("Open on")}
    assert set(links) == {"Open on Compare", "Open on Lecture"}
    assert urlsplit(links["Open on Compare"]).path.endswith("/compare")
    assert urlsplit(links["Open on Lecture"]).path == "/lecture"
    for url in links.values():
        query = opened(url)
        assert query["start"] == "2.3875,-3.3375" and query["opt"].startswith("adam,lr=0.05")
        assert query["steps"] == "300" and query["bounds"] == "-4.5,5,-5,4.5" and query["seed"] == "3"
    # what the caption says is the map's own record of that cell
    from explore import basin_map

    basins = basin_map("himmelblau", "adam", 20, 300, bounds=((-4.5, 5), (-5, 4.5)), lr=0.05, seed=3)
    row, column = basins.cell_at(*start)
    said = next(c.value for c in at.caption if c.value.startswith("Start (2.3875, -3.3375)"))
    label, steps = basins.labels[row, column], basins.steps[row, column]
    assert said == f"Start (2.3875, -3.3375) → minimum {label + 1} in {steps} steps"

    compare = open_app(opened(links["Open on Compare"]))
    shown = compare.session_state["compare.state"]
    assert shown.starts == (start,) and shown.landscape == "himmelblau" and shown.steps == 300
    assert [(c.optimizer, c.hyperparameters) for c in shown.cards] == [("adam", {"lr": 0.05})]
    assert shown.bounds is not None and shown.bounds.flat == (-4.5, 5, -5, 4.5)

    lecture = open_app(opened(links["Open on Lecture"]), page="pages/lecture/page.py")
    assert not lecture.exception
    setup = lecture.session_state["lecture.state"].setup.compare
    assert setup.starts == (start,) and setup.landscape == "himmelblau" and setup.steps == 300
    assert [(c.optimizer, c.hyperparameters) for c in setup.cards] == [("adam", {"lr": 0.05})]
    (starts,) = [t for t in figures(lecture)[0]["data"] if t.get("name") == "starts"]
    assert [(x, y) for x, y in zip(decoded(starts["x"]), decoded(starts["y"]), strict=True)] == [start]


def test_the_picked_start_is_in_the_url_and_follows_the_map():
    at = explore_page({"landscape": "himmelblau", "res": "20", "pick": "2.125,-3.25"})
    assert [b["label"] for b in link_buttons(at) if b["label"].startswith("Open on")] == ["Open on Compare",
                                                                                           "Open on Lecture"]
    at.slider(key="explore.res").set_value(10).run()  # a coarser map: the same place, its new cell centre
    assert query_list(at, "pick") == ["2.5,-3.5"]
    at = explore_page({"landscape": "himmelblau", "res": "20", "pick": "40,0"})  # outside the view: dropped
    assert "pick" not in at.query_params
    assert not [b for b in link_buttons(at) if b["label"].startswith("Open on")]
    assert from_query({"pick": "nan,1"}).notices and from_query({"pick": "nan,1"}).picked is None


def test_basin_cells_map_clicks_to_their_centres():
    from explore import basin_map

    basins = basin_map("himmelblau", "sgd", 20, 10, lr=0.01)
    start = basins.start_at(-4.9, 4.9)
    assert start == (float(basins.xs[0]), float(basins.ys[-1]))
    assert np.isclose(start[0], -4.75) and np.isclose(start[1], 4.75)
    json.dumps(start)


def test_a_new_landscape_brings_its_own_optimizer_and_steps():
    from landscapes import get_landscape

    at = explore_page({"landscape": "himmelblau", "res": "20"})
    at.selectbox(key="compare.landscape").set_value("rosenbrock").run()
    assert not at.exception
    rosenbrock = get_landscape("rosenbrock")
    assert at.query_params["landscape"] == "rosenbrock"
    assert at.slider(key="explore.steps").value == rosenbrock.steps
    assert at.selectbox(key="explore.card.optimizer").value == rosenbrock.optimizers[0][0]
    (figure,) = figures(at)
    assert figure["layout"]["meta"]["basin_map"]["bounds"] == [*rosenbrock.bounds.x, *rosenbrock.bounds.y]


@pytest.mark.parametrize("optimizer", [name for name in optimizer_names() if len(axis_names(name)) >= 2])
def test_every_sweep_axis_opens_on_a_range_the_optimizer_accepts(optimizer):
    """Both ends of each axis's opening range, beside every other axis at its own, run (open bounds such as
    Armijo's β ∈ (0, 1) moved inside; η₊ > 1; decades on a log axis, never from 0)."""
    names = axis_names(optimizer)
    for x_name in names:
        for y_name in (n for n in names if n != x_name):
            axes = {name: explore.axis_values(name, *explore.axis_range(optimizer, name), 2)
                    for name in (x_name, y_name)}
            for name, values in axes.items():
                assert values[0] < values[1], (name, values)
                assert not explore.is_log_axis(name) or values[0] > 0, name
            result = sweep("quadratic", optimizer, [(-1.0, 1.0)], 1, axes, backend="numpy")
            assert result.grid.shape == (2, 2)


def test_a_coupled_optimizers_sweep_opens_within_seconds_and_says_what_it_costs():
    steps = 400
    at = explore_page({"part": "sweep", "landscape": "himmelblau", "opt": "lbfgs", "steps": str(steps)})
    side = explore.coupled_opening("lbfgs", steps)
    assert 4 <= side < explore.MAX_SWEEP_RESOLUTION  # L-BFGS is the slowest: its default grid is smaller
    assert explore.coupled_seconds("lbfgs", side, steps) <= explore.COUPLED_OPENING_SECONDS
    assert explore.coupled_seconds("lbfgs", side + 1, steps) > explore.COUPLED_OPENING_SECONDS
    assert at.slider(key="explore.sres").value == side
    assert at.slider(key="explore.sres").max == explore.MAX_SWEEP_RESOLUTION  # the same grids as any optimizer
    (heatmap,) = [f for f in figures(at) if f["data"][0]["type"] == "heatmap"]
    assert len(decoded(heatmap["data"][0]["x"])) == side
    (said,) = [c.value for c in at.caption if "all settings in one batch" in c.value]
    assert f"{side} × {side} settings × {steps} steps take about" in said
    newton = explore_page({"part": "sweep", "landscape": "himmelblau", "opt": "newton", "sres": "60", "steps": "20"})
    assert newton.slider(key="explore.sres").value == 60  # a grid the link asks for is kept


def test_switching_to_a_coupled_optimizer_opens_its_sweep_at_what_takes_seconds():
    at = explore_page({"part": "sweep", "landscape": "himmelblau", "opt": "sgd", "steps": "400"})
    assert at.slider(key="explore.sres").value == explore.DEFAULT.sweep_resolution
    at.selectbox(key="explore.card.optimizer").set_value("lbfgs").run()
    assert not at.exception
    opening = explore.coupled_opening("lbfgs", 400)
    assert at.slider(key="explore.sres").value == opening < explore.DEFAULT.sweep_resolution
