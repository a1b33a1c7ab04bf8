"""A page with one `chart.plotly_chart` of the Compare figure, for the browser tests and bench/chart.py.

Query parameters: `steps` (default 40), `starts` (default 1), `static=1` (controls=False),
`report=1` (report_step=True). The page writes every click it receives and the reported step
into elements the tests read (`st.code`: one line per click, "x y subplot seq").
"""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `streamlit run` puts only this folder on the path

import chart  # noqa: E402
from figures import comparison_figure  # noqa: E402
from landscapes import get_landscape  # noqa: E402
from optimizers import simulate  # noqa: E402

params = st.query_params
steps = int(params.get("steps", 40))
starts = [(-1.5 + 0.5 * k, 2.0 - 0.3 * k) for k in range(int(params.get("starts", 1)))]


@st.cache_data
def demo_figure(steps: int, starts: tuple[tuple[float, float], ...]):
    land = get_landscape("rosenbrock")
    runs = [simulate(land, "adam", list(starts), steps, record="path", lr=0.1),
            simulate(land, "momentum", list(starts), steps, record="path", lr=0.001)]
    return comparison_figure(land, runs, frame_duration=60)


st.session_state.setdefault("demo.clicks", [])


def remember(clicks: list[chart.Click]) -> None:
    st.session_state["demo.clicks"].extend(clicks)


result = chart.plotly_chart(demo_figure(steps, tuple(starts)), key="demo", on_click=remember,
                            controls=params.get("static") != "1", report_step=params.get("report") == "1")
st.session_state.setdefault("demo.runs", 0)
st.session_state["demo.runs"] += 1
lines = [f"{c.x:.6f} {c.y:.6f} {c.subplot} {c.seq}" for c in st.session_state["demo.clicks"]]
st.code("\n".join(lines) or "no clicks", language=None)
st.markdown(f"returned clicks this run: {len(result.clicks)}; reported step: {result.step}; "
            f"runs: {st.session_state['demo.runs']}")
