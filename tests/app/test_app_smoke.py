"""The minimal Compare page renders a contour with a path and a loss curve, without exceptions."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
    at.run()
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def test_default_page_draws_contour_and_loss_curve(app):
    assert not app.exception
    contour, losses = charts(app)
    assert contour["data"][0]["type"] == "contour"
    assert any(trace.get("mode") == "lines+markers" for trace in contour["data"][1:])
    assert losses["layout"]["yaxis"]["type"] == "log"


def test_changing_the_landscape_redraws_it(app):
    app.sidebar.selectbox[0].set_value("himmelblau").run()
    assert not app.exception
    contour, _ = charts(app)
    assert contour["layout"]["title"]["text"] == "Himmelblau"
