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
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def comparison(at: AppTest) -> dict:
    (figure,) = figures(at)
    return figure


def loss_names(figure: dict) -> list[str]:
    return [t["name"] for t in figure["data"] if t.get("xaxis") == "x2" and t.get("showlegend")]
