"""A Plotly chart for Streamlit that steps its animation frames in the browser (see `plotly_chart`)."""

from .component import ChartResult, Click, chart_data, draw, figure_of, head_start, plotly_chart

__all__ = ["ChartResult", "Click", "chart_data", "draw", "figure_of", "head_start", "plotly_chart"]
