"""AppTest: the mini-batch part of the Explore page (ui.minibatch.show) on a harness page."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from apptest_helpers import open_app
from streamlit.testing.v1 import AppTest

from figures.minibatch import gradient_pair, minibatch_runs
from landscapes import data_landscape
from ui.minibatch import DEFAULT, MiniBatchState, from_query, to_query

HARNESS = str(Path(__file__).with_name("minibatch_harness.py"))


def open_part(query: dict | None = None) -> AppTest:
    return open_app(query, script=HARNESS, timeout=120)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def widget(at: AppTest, kind: str, label: str):
    (found,) = [w for w in getattr(at.sidebar, kind) if w.label == label]
    return found


def mb_query(at: AppTest) -> dict[str, str]:
    return {k: v for k, v in at.query_params.items() if k.startswith("mb_")}


def test_it_opens_with_both_figures_and_the_gradient_numbers():
    at = open_part()
    band, growth = charts(at)
    assert band["layout"]["meta"]["step"] == 0
    assert "Smith et al. 2018" in growth["layout"]["title"]["text"]
    assert "angle(g, ∇f)" in band["layout"]["title"]["text"]
    assert "over the 8 shuffles" in " ".join(c.value for c in at.caption)
    assert not at.error and not at.warning
    assert mb_query(at) == {}  # defaults make no parameters
    assert "Mini-batch SGD" in [h.value for h in at.sidebar.header]


def test_the_figure_is_the_librarys_for_the_settings_shown():
    at = open_part({"mb_batch": "8", "mb_step": "3", "mb_paths": "4", "mb_lr": "0.05"})
    band_figure = charts(at)[0]
    band, _ = minibatch_runs(data_landscape("linear"), batch_size=8, epochs=DEFAULT.epochs, paths=4,
                             seed=0, lr=0.05)
    pair = gradient_pair(band, 3)
    assert band_figure["layout"]["meta"]["angle"] == pytest.approx(pair.angle)
    assert f"angle(g, ∇f) {pair.angle:.0f}°" in band_figure["layout"]["title"]["text"]
    assert widget(at, "slider", "Batch size B").value == 8
    assert widget(at, "number_input", "Learning rate").value == 0.05
    names = [t.get("name", "") for t in band_figure["data"]]
    assert "batch 8, 4 shuffles" in names


def test_the_url_holds_the_state_and_other_parameters_are_kept():
    at = open_part({"landscape": "rosenbrock", "mb_paths": "3"})
    widget(at, "slider", "Batch size B").set_value(16).run()
    widget(at, "number_input", "Epochs").set_value(5).run()
    assert mb_query(at) == {"mb_batch": "16", "mb_epochs": "5", "mb_paths": "3"}
    assert at.query_params["landscape"] == "rosenbrock"
    again = open_part(dict(at.query_params))
    assert widget(again, "slider", "Batch size B").value == 16
    assert widget(again, "number_input", "Epochs").value == 5
    widget(again, "slider", "Batch size B").set_value(DEFAULT.batch).run()
    assert "mb_batch" not in mb_query(again)  # back to the default: the parameter goes


def test_the_settings_survive_another_page_forgetting_the_widgets():
    at = open_part()
    widget(at, "slider", "Batch size B").set_value(16).run()
    widget(at, "selectbox", "Dataset").select("logistic").run()
    at.session_state["harness.elsewhere"] = True  # another page: Streamlit forgets the part's widgets
    at.run()
    assert not at.sidebar.slider
    at.session_state["harness.elsewhere"] = False
    at.run()
    assert widget(at, "slider", "Batch size B").value == 16
    assert widget(at, "selectbox", "Dataset").value == "logistic"
    assert mb_query(at)["mb_batch"] == "16"


def test_a_new_dataset_keeps_the_batch_and_takes_its_own_size():
    at = open_part({"mb_batch": "8"})
    widget(at, "selectbox", "Dataset").select("logistic").run()
    assert not at.exception
    assert widget(at, "slider", "Batch size B").value == 8
    assert widget(at, "number_input", "Samples M").value == 40
    assert mb_query(at)["mb_data"] == "logistic"
    assert charts(at)[0]["layout"]["xaxis"]["title"]["text"] == "w₁"


def test_the_counterexample_has_three_samples_and_no_batch_growth():
    at = open_part()
    widget(at, "selectbox", "Dataset").select("reddi").run()
    assert not at.exception and not at.error
    assert widget(at, "number_input", "Samples M").value == 3
    assert widget(at, "number_input", "Samples M").disabled
    assert widget(at, "selectbox", "Optimizer").value == "adam"
    assert len(charts(at)) == 1
    assert any("no noise to trade" in i.value for i in at.info)


def test_unusable_url_values_are_named_and_replaced_by_defaults():
    at = open_part({"mb_batch": "abc", "mb_data": "mnist", "mb_lr": "-1"})
    texts = " ".join(w.value for w in at.warning)
    assert "mb_batch='abc'" in texts and "mb_data='mnist'" in texts and "mb_lr='-1'" in texts
    assert widget(at, "slider", "Batch size B").value == DEFAULT.batch
    assert len(charts(at)) == 2


def test_a_diverging_learning_rate_is_told_not_raised():
    at = open_part({"mb_lr": "5", "mb_epochs": "3"})
    assert not at.exception
    assert any("diverged" in w.value for w in at.warning)


def test_the_paths_can_be_downloaded_as_csv():
    at = open_part({"mb_epochs": "2", "mb_paths": "2"})
    buttons = [b for b in at.get("download_button")]
    assert len(buttons) == 2  # one CSV per figure; images are made on request
    assert any(b.label == "PNG / SVG" for b in at.button)


def test_images_are_made_on_request_and_dropped_when_the_settings_change():
    at = open_part({"mb_epochs": "2", "mb_paths": "2", "mb_data": "reddi"})
    (make,) = [b for b in at.button if b.label == "PNG / SVG"]
    make.click().run()
    assert not at.exception and not at.error
    downloads = {b.label for b in at.get("download_button")}
    assert {"Download PNG", "Download SVG"} <= downloads
    png, svg = at.session_state["minibatch.band.image"][1]
    assert png.startswith(b"\x89PNG") and b"<svg" in svg[:200]
    widget(at, "slider", "Arrows at step").set_value(3).run()
    assert "Download PNG" not in {b.label for b in at.get("download_button")}  # made for other settings


@pytest.mark.parametrize("state", [DEFAULT, MiniBatchState(data="logistic", samples=40, batch=5, lr=0.03, momentum=0.9,
                                                           step=7, factor=2, phases=4, shuffle=False)])
def test_query_round_trip(state):
    assert from_query(to_query(state)) == (state, [])


def test_a_dataset_in_the_url_opens_as_choosing_it_would():
    assert from_query({"mb_data": "reddi"})[0] == replace(DEFAULT, data="reddi", samples=3, batch=1,
                                                          optimizer="adam", shuffle=False, grow_batch=2)
    assert from_query({"mb_data": "reddi", "mb_optimizer": "sgd"})[0].optimizer == "sgd"
    at = open_part({"mb_data": "reddi"})
    assert widget(at, "selectbox", "Optimizer").value == "adam"
    assert widget(at, "slider", "Batch size B").value == 1
    assert charts(at)[0]["layout"]["yaxis2"]["type"] == "linear"  # f falls below 0 off the box
    assert widget(at, "checkbox", "Shuffle each epoch").value is False
    assert "batch 1, in dataset order" in [t.get("name") for t in charts(at)[0]["data"]]
    assert "in dataset order" in " ".join(c.value for c in at.caption)


def test_the_step_and_batch_are_fitted_to_the_run():
    state, notices = from_query({"mb_batch": "64", "mb_samples": "20", "mb_step": "999", "mb_epochs": "2"})
    assert notices == []
    assert state.batch == 20 and state.step == 1  # 2 epochs of one batch: steps 0 and 1
    assert np.isclose(from_query({"mb_lr": "0.5"})[0].lr, 0.5)
