"""A page with one `chart.plotly_chart`, for the browser tests and bench/chart.py.

Query parameters: `steps` (default 40), `starts` (default 2), `static=1` (controls=False),
`report=1` (report_step=True), `figure=compare` (the real Compare figure, 6 optimizers, instead of
the stand-in of demo_figure.py). The page writes every click it receives, one line per click
("x y subplot seq"), and the step the chart reported.
"""

import sys
from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]  # `streamlit run` puts only this folder on the path

from demo_figure import demo_figure  # noqa: E402

import chart  # noqa: E402

params = st.query_params
steps = int(params.get("steps", 40))
starts = int(params.get("starts", 2))


@st.cache_resource
def compare_figure(steps: int):
    from figures import comparison_figure
    from landscapes import get_landscape
    from optimizers import simulate

    land = get_landscape("rosenbrock")
    settings = [("sgd", 0.001), ("momentum", 0.001), ("adagrad", 0.5), ("rmsprop", 0.01), ("adam", 0.1),
                ("nadam", 0.1)]
    runs = [simulate(land, name, [(-1.5, 2.0)], steps, record="path", lr=lr) for name, lr in settings]
    return comparison_figure(land, runs, frame_duration=60)


figure = compare_figure(steps) if params.get("figure") == "compare" else demo_figure(steps, starts)
st.session_state.setdefault("demo.clicks", [])


def remember(clicks: list[chart.Click]) -> None:
    st.session_state["demo.clicks"].extend(clicks)


result = chart.plotly_chart(figure, key="demo", on_click=remember, controls=params.get("static") != "1",
                            report_step=params.get("report") == "1")
st.session_state["demo.runs"] = st.session_state.get("demo.runs", 0) + 1
lines = [f"{c.x:.6f} {c.y:.6f} {c.subplot} {c.seq}" for c in st.session_state["demo.clicks"]]
st.code("\n".join(lines) or "no clicks", language=None)
st.markdown(f"returned clicks this run: {len(result.clicks)}; reported step: {result.step}; "
            f"runs: {st.session_state['demo.runs']}")
