"""Helpers for AppTest: open the app (optionally from a URL's query), read its Plotly figures.

A module of its own (not conftest): tests/browser has a conftest too, and `from conftest import`
would take whichever directory pytest put first on sys.path.
"""

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def figures(at: AppTest) -> list[dict]:
    """Every Plotly figure on the page: the 2D ones from the chart component's data (what the
    browser receives), the 3D one from st.plotly_chart."""
    drawn = [json.loads(element.proto.spec) for element in at.get("plotly_chart")]
    for element in at.get("bidi_component"):
        if element.proto.component_name == "descent-lab.chart":
            drawn.append(json.loads(json.loads(element.proto.json)["figure"]))
    return drawn


def chart_data(at: AppTest) -> dict:
    """What the chart component received besides the figure: frame names, opening step, speed."""
    (element,) = [e for e in at.get("bidi_component") if e.proto.component_name == "descent-lab.chart"]
    return json.loads(element.proto.json)


def comparison(at: AppTest) -> dict:
    (figure,) = figures(at)
    return figure


def loss_names(figure: dict) -> list[str]:
    return [t["name"] for t in figure["data"] if t.get("xaxis") == "x2" and t.get("showlegend")]
