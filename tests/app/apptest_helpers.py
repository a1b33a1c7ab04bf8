"""Helpers for AppTest: open the app (optionally from a URL's query), read its Plotly figures.

A module of its own (not conftest): tests/browser has a conftest too, and `from conftest import`
would take whichever directory pytest put first on sys.path.
"""

import json
from html.parser import HTMLParser
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_app(query: dict | None = None, *, page: str | None = None, script: str = APP,
             timeout: float = 90) -> AppTest:
    """`script` (the app) run with `query` in its URL. With `page`, the app's default page runs
    first, then `page` is switched to with `query`, as a link to that page opens."""
    at = AppTest.from_file(script, default_timeout=timeout)
    if page is not None:
        at.run()
        assert not at.exception, at.exception
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page is not None:
        at.switch_page(page)
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


class _Table(HTMLParser):
    """The summary table's header and rows, and each cell's tooltip, from its HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self.tips: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
            self.tips.append([])
        elif tag in ("td", "th"):
            self._cell = []
            if tag == "td":
                self.tips[-1].append(dict(attrs).get("title", ""))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            (self.header if tag == "th" else self.rows[-1]).append("".join(self._cell))
            self._cell = None


def summary(at: AppTest) -> list[dict]:
    """The summary table as the page shows it: one dict per row, keyed by the column headers,
    plus the "diverged" cell's tooltip under "why"."""
    (element,) = [e for e in at.get("html") if "dl-summary" in e.proto.body and "<table" in e.proto.body]
    table = _Table()
    table.feed(element.proto.body)
    rows = [(cells, tips) for cells, tips in zip(table.rows, table.tips, strict=True) if cells]
    return [{**dict(zip(table.header, cells, strict=True)), "why": next((t for t in tips if t), "")}
            for cells, tips in rows]
