"""The least a Streamlit page with one Plotly chart can be: the floor for the first-chart time."""

import plotly.graph_objects as go
import streamlit as st

st.header("Floor")
st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2])))
