"""Lecture: a story stepped one update at a time, with the optimizer's state, its equations with
the step's numbers, narration, and what theory predicts.

Read top to bottom: the state (URL, sidebar); the story's runs (computed once per process);
the chart (contour with arrows beside the state plots, equations and narration under it, all
stepped in the browser); the stages; the theory and the (α, β) map.
"""

import html
from dataclasses import replace
from urllib.parse import urlencode

import streamlit as st

import chart
from figures.lecture import lecture_figure, state_figure
from figures.lecture_map import map_click_setting, momentum_map_figure
from optimizers.theory import quadratic_theory
from presets import PRESETS
from ui import lecture
from ui.lecture import ARROWS, LectureState
from ui.state import card
from ui.state import to_query as compare_query

STATE_KEY = "lecture.state"
CHART_KEY = "lecture.chart"
MAP_KEY = "lecture.map"

# -- state ---------------------------------------------------------------------------------
if STATE_KEY not in st.session_state:
    query = {key: st.query_params.get_all(key) for key in st.query_params}
    st.session_state[STATE_KEY] = lecture.from_query(query)
    opened_notices = st.session_state[STATE_KEY].notices
else:
    opened_notices = ()
state: LectureState = st.session_state[STATE_KEY]

with st.sidebar:
    names = list(PRESETS)
    st.session_state.setdefault("lecture.story", state.story)
    story = st.selectbox("Story", names, key="lecture.story", format_func=lambda n: PRESETS[n].title)
    preset, runs = lecture.story_runs(story)
    labels = list(runs)
    line_key = f"lecture.line.{story}"
    st.session_state.setdefault(line_key, min(state.line, len(labels) - 1) if story == state.story else 0)
    line = st.selectbox("Equations of", range(len(labels)), key=line_key, format_func=labels.__getitem__)
    st.session_state.setdefault("lecture.arrows", list(state.arrows))
    arrows = st.multiselect("Arrows", ARROWS, key="lecture.arrows",
                            help="−∇f (the plain gradient step), the velocity or first moment, the actual "
                                 "update, and Nesterov's look-ahead point")
    st.session_state.setdefault("lecture.squares", state.accumulator)
    squares = st.toggle("Accumulator squares", key="lecture.squares",
                        help="Adagrad, RMSProp, Adam: a box whose sides are each coordinate's denominator √v")
    st.session_state.setdefault("lecture.present", state.presentation)
    presentation = st.toggle("Presentation", key="lecture.present", help="Large fonts, thick lines: for a projector")
state = LectureState(story, line, tuple(a for a in ARROWS if a in arrows), squares, presentation)
st.query_params.from_dict(lecture.to_query(state))
st.session_state[STATE_KEY] = state

# -- the story -----------------------------------------------------------------------------
for notice in opened_notices:
    st.caption(f"From the link: {notice}")
holds = lecture.story_holds(story)
st.subheader(preset.title)
st.markdown(f"{html.escape(preset.claim)}  \n"
            + ("*Checked on these runs: the claim holds.*" if holds
               else "**The check of this claim failed on these runs.**"))
if preset.adapted:
    st.caption(preset.adapted)

landscape = next(iter(runs.values())).landscape
ordered = list(runs.values())
height = 620 if state.presentation else 520  # the contour and the state plots side by side, one height
figure = lecture_figure(landscape, ordered, labels=labels, arrows=state.arrows, accumulator=state.accumulator,
                        presentation=state.presentation, max_frames=lecture.MAX_FRAMES, height=height)
states = state_figure(ordered, labels=labels, presentation=state.presentation, max_frames=lecture.MAX_FRAMES,
                      height=height)
states.update_yaxes(automargin=True)  # room for log-axis tick labels (10⁻³²) beside the narrow panels
frames = [frame.name for frame in figure.frames]
panel = lecture.step_panels(ordered, labels, line, frames)
chart.plotly_chart(figure, key=f"{CHART_KEY}.{story}", companions=[states], panel=panel, step=0)

# -- stages --------------------------------------------------------------------------------
st.markdown("**What to watch**")
st.markdown("\n".join(f"- steps {s.first_step}–{s.last_step}: {html.escape(s.sentence)}" for s in preset.stages))

# -- theory at the start -------------------------------------------------------------------
start = tuple(float(v) for v in next(iter(runs.values())).starts[0])
theory = quadratic_theory(landscape, start)
left, right = st.columns([2, 3])
with left:
    st.markdown("**Theory at the start** (the exact Hessian there)")
    lam = ", ".join(f"{v:.4g}" for v in theory.eigenvalues)
    rows = [("eigenvalues λ", lam), ("condition number κ", f"{theory.condition_number:.4g}"),
            ("largest stable GD rate 2/λmax", f"{theory.max_stable_lr:.4g}")]
    if theory.optimal_lr is not None:
        rows.append(("optimal fixed rate 2/(λmin+λmax)", f"{theory.optimal_lr:.4g} (rate {theory.optimal_rate:.4g})"))
    if theory.heavy_ball is not None:
        hb = theory.heavy_ball
        rows.append(("heavy ball α*, β*", f"{hb.lr:.4g}, {hb.momentum:.4g} (rate {hb.rate:.4g})"))
    st.table({"": [r[0] for r in rows], "value": [r[1] for r in rows]})
    st.caption(theory.note)
    if theory.heavy_ball is not None:
        optimizer, settings = theory.card_settings("heavy_ball")
        tuned = replace(preset.state(), cards=(card(optimizer, 0, **settings),))
        st.link_button("Use the heavy-ball settings in Compare", "/?" + urlencode(compare_query(tuned), doseq=True))

with right:
    positive = [v for v in theory.eigenvalues if v > 0]
    first = PRESETS[story].lines[line]
    lr = float(first.settings.get("lr", 0.01))
    momentum = float(first.settings.get("momentum", 0.0)) if first.optimizer in ("sgd", "momentum") else 0.0
    if positive and first.optimizer in ("sgd", "momentum"):
        st.markdown("**Momentum's (α, β) map** for this line's settings (click to read a setting)")
        result = chart.plotly_chart(momentum_map_figure(positive, lr, momentum, presentation=state.presentation),
                                    key=f"{MAP_KEY}.{story}.{line}", controls=False)
        for click in result.clicks:  # panel i is subplot "xy", "x2y2", …: its eigenvalue is positive[i]
            panel_index = int(click.subplot[1:].split("y")[0] or 1) - 1
            new_lr, new_momentum = map_click_setting(click.x, click.y, positive[min(panel_index, len(positive) - 1)])
            st.info(f"That point is lr = {new_lr:.4g}, momentum = {new_momentum:.4g}, rate "
                    f"{theory.momentum_rate(new_lr, new_momentum):.4g}.")
    else:
        st.caption("The (α, β) map is drawn for SGD with momentum (or the classic form) at a point whose "
                   "Hessian has a positive eigenvalue.")

st.caption(f"Landscape: {landscape.title}. {landscape.lesson}")
