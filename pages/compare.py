"""Compare: one landscape, one optimizer, its path on the contour beside its loss curve."""

import streamlit as st

from figures import contour_paths, loss_curves
from landscapes import get_landscape, landscape_names
from optimizers import HyperparameterError, get_optimizer, optimizer_names, simulate

st.title("Descent Lab")
st.caption("See how optimizers move on a loss landscape.")

with st.sidebar:
    name = st.selectbox("Landscape", landscape_names(), format_func=lambda n: get_landscape(n).title)
    landscape = get_landscape(name)
    st.caption(landscape.lesson)
    optimizer = st.selectbox("Optimizer", optimizer_names(), index=optimizer_names().index("adam"),
                             format_func=lambda n: get_optimizer(n).title)
    lr_spec = next(h for h in get_optimizer(optimizer).hyperparameters if h.name == "lr")
    lr = st.number_input("Learning rate", min_value=0.0, value=float(lr_spec.default) * 10,
                         format="%.5f", help=lr_spec.meaning)
    steps = st.slider("Steps", 1, 2000, 300)

try:
    run = simulate(landscape, optimizer, landscape.starts, steps, record="path", lr=lr)
except HyperparameterError as error:
    st.error(str(error))
    st.stop()

left, right = st.columns(2)
left.plotly_chart(contour_paths(landscape, [run]), use_container_width=True)
right.plotly_chart(loss_curves([run]), use_container_width=True)
