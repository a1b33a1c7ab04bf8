"""Lecture: a story (or any comparison) stepped one update at a time, with the optimizer's state,
its equations with the step's numbers, narration, and what theory predicts.

Read top to bottom: the state (URL, sidebar; every change goes through a callback that writes
the one `LectureState`); the runs; the chart (contour with arrows and the Hessian's axes beside
the state plots, equations and narration under it, all stepped in the browser); the stages and
the phase diagram; the theory with its "use these settings" and the (α, β) map.
"""

import html
import zlib
from dataclasses import replace

import streamlit as st

import chart
from figures.lecture import lecture_figure, phase_figure, state_figure
from figures.lecture_map import map_click_setting, momentum_map_figure
from landscapes import FormulaError
from optimizers import HyperparameterError
from optimizers.theory import quadratic_theory
from presets import PRESETS
from ui import lecture
from ui.exporting import export_panel
from ui.lecture import ARROWS, LectureState

STATE_KEY = "lecture.state"
CHART_KEY = "lecture.chart"
MAP_KEY = "lecture.map"
PHASE_KEY = "lecture.phase"
FREE = ""  # the story selectbox's entry for a lecture that is no story (opened from Compare)

# -- state ---------------------------------------------------------------------------------
# The notices of the link opened live in the state (until a callback clears them): said once from there.
if STATE_KEY not in st.session_state:
    query = {key: st.query_params.get_all(key) for key in st.query_params}
    st.session_state[STATE_KEY] = lecture.from_query(query)


def current() -> LectureState:
    return st.session_state[STATE_KEY]


def keep(new: LectureState) -> None:
    st.session_state[STATE_KEY] = new


def on_story() -> None:
    keep(replace(current(), story=st.session_state["lecture.story"], setup=None, line=0, step=0, notices=()))


def on_view() -> None:
    keep(replace(current(), line=st.session_state["lecture.line"],
                 arrows=tuple(a for a in ARROWS if a in st.session_state["lecture.arrows"]),
                 accumulator=st.session_state["lecture.squares"],
                 presentation=st.session_state["lecture.present"], notices=()))


def on_map_click(clicks) -> None:
    click = clicks[-1]  # panel i is subplot "xy", "x2y2", …: its eigenvalue is the map's meta
    eigenvalue = st.session_state.get(f"{MAP_KEY}.eigenvalues", {}).get(click.subplot)
    if eigenvalue is not None:
        keep(lecture.with_momentum_setting(current(), *map_click_setting(click.x, click.y, eigenvalue)))


def use_theory(method: str, point: tuple[float, float]) -> None:
    state = current()
    keep(lecture.with_theory_setting(state, method, quadratic_theory(lecture.landscape_of(state), point)))


def back_to_story() -> None:
    keep(replace(current(), setup=None, line=0, step=0, notices=()))


state = current()
with st.sidebar:
    names = ([FREE] if state.story == FREE else []) + list(PRESETS)
    st.session_state["lecture.story"] = state.story
    st.selectbox("Story", names, key="lecture.story", on_change=on_story,
                 format_func=lambda n: PRESETS[n].title if n else "Your comparison (from Compare)")

try:
    landscape, runs = lecture.lecture_runs(state)
except (FormulaError, HyperparameterError) as error:
    st.error(f"This lecture cannot be run: {error}")
    st.stop()
labels = list(runs)
ordered = list(runs.values())
line = min(state.line, len(labels) - 1)

with st.sidebar:
    st.session_state["lecture.line"] = line
    st.selectbox("Equations of", range(len(labels)), key="lecture.line", format_func=labels.__getitem__,
                 on_change=on_view)
    st.session_state["lecture.arrows"] = list(state.arrows)
    st.multiselect("Arrows", ARROWS, key="lecture.arrows", on_change=on_view,
                   help="−∇f (the plain gradient step), the velocity or first moment, the actual update, "
                        "Nesterov's look-ahead point, and the exact Hessian's eigenvectors at the point "
                        "shown as axes")
    st.session_state["lecture.squares"] = state.accumulator
    st.toggle("Accumulator squares", key="lecture.squares", on_change=on_view,
              help="Adagrad, RMSProp, Adam: a box whose sides are each coordinate's denominator √v")
    st.session_state["lecture.present"] = state.presentation
    st.toggle("Presentation", key="lecture.present", on_change=on_view,
              help="Large fonts, thick lines: for a projector")
st.query_params.from_dict(lecture.to_query(state))

# -- the story -----------------------------------------------------------------------------
for notice in state.notices:
    st.caption(f"Note: {notice}")
preset = state.preset
if preset is not None:
    changed = state.setup is not None
    holds = lecture.story_holds(state.story)
    checked = ("*Your settings, not the story's: the claim was checked on the story's own.*" if changed
               else "*Checked on these runs: the claim holds.*" if holds
               else "**The check of this claim failed on these runs.**")
    # Title and claim only above the chart (the equations stay in view at 1280×720); the check under it.
    st.markdown(f"#### {html.escape(preset.title, quote=False)}\n{html.escape(preset.claim, quote=False)}"
                + (f" {checked}" if changed else ""))
    if changed:
        st.button("Back to the story's settings", on_click=back_to_story)
else:
    st.markdown(f"#### Your comparison, one update at a time\n{html.escape(landscape.title)}: "
                + ", ".join(html.escape(label) for label in labels) + ".")

height = lecture.chart_height(landscape, state.presentation)  # the first equations stay in view at 1280×720
figure = lecture_figure(landscape, ordered, labels=labels, arrows=[a for a in state.arrows if a != "axes"],
                        accumulator=state.accumulator, presentation=state.presentation,
                        max_frames=lecture.MAX_FRAMES, height=height,
                        eigen_axes=line if "axes" in state.arrows else None, title="")
states = state_figure(ordered, labels=labels, presentation=state.presentation, max_frames=lecture.MAX_FRAMES,
                      height=height)
states.update_yaxes(automargin=True)  # room for log-axis tick labels (10⁻³²) beside the narrow panels
frames = [frame.name for frame in figure.frames]
panel = lecture.step_panels(ordered, labels, line, frames)
# Keyed by the setup too: new settings are a new chart (its panel shows their numbers from step 0).
setup_key = zlib.crc32(repr(state.setup).encode()) if state.setup is not None else 0


def on_step(step: int) -> None:
    """The step on screen, reported when stepping rests: kept in the state and the URL."""
    keep(replace(current(), step=step, notices=()))  # the URL follows: written from the state above


chart.plotly_chart(figure, key=f"{CHART_KEY}.{state.story}.{setup_key}", companions=[states], panel=panel,
                   step=state.step, height=height, report_step=True, on_step=on_step)
export_panel(figure, ordered, labels, landscape, None, state.step, view=lecture.to_query(state), click_trace=None)

# -- stages and the phase diagram ------------------------------------------------------------
if preset is not None:
    st.caption(" ".join(part for part in ("" if changed else checked, f"Landscape: {landscape.title}.",
                                          preset.adapted) if part))
if preset is not None:
    st.markdown("**What to watch**")
    st.markdown("\n".join(f"- steps {s.first_step}–{s.last_step}: {html.escape(s.sentence)}" for s in preset.stages))

shown = ordered[line]
if lecture.oscillates(shown):
    with st.expander(f"Phase diagram of {labels[line]}: velocity against position along each eigen-direction",
                     expanded=preset is None or lecture.has_momentum(shown)):
        st.caption("A spiral is momentum's ripple, a zig-zag across 0 an oscillation. It steps on its own "
                   "(its own Prev / Next).")
        chart.plotly_chart(phase_figure(landscape, shown, presentation=state.presentation, label=labels[line],
                                        max_frames=lecture.MAX_FRAMES),
                           key=f"{PHASE_KEY}.{state.story}.{line}", step=0)

# -- theory at the start -------------------------------------------------------------------
start = tuple(float(v) for v in shown.starts[0])
theory = quadratic_theory(landscape, start)
settings = shown.hyperparameters
momentum = float(settings.get("momentum", 0.0)) if shown.optimizer in lecture.HEAVY_BALL_OPTIMIZERS else 0.0
left, right = st.columns([2, 3])
with left:
    st.markdown("**Theory at the start** (the exact Hessian there)")
    rows = lecture.theory_rows(theory, momentum)
    st.table({"": [r[0] for r in rows], "value": [r[1] for r in rows]})
    st.caption(theory.note)
    editable = lecture.setup_of(state) is not None
    buttons = st.columns(3)
    for column, (method, title) in zip(buttons, lecture.THEORY_METHODS.items(), strict=True):
        column.button(f"Use {title}", key=f"lecture.use.{method}", on_click=use_theory, args=(method, start),
                      disabled=not (theory.convex and editable), use_container_width=True,
                      help="Set this tuning on the matching card (added if there is none)" if editable
                      else "This story's lines are its own formulations: their settings cannot be changed")
    st.link_button("Open these settings on Compare", lecture.compare_url_of(state, landscape))

with right:
    positive = [float(v) for v in theory.eigenvalues if v > 0]
    if positive and shown.optimizer in lecture.HEAVY_BALL_OPTIMIZERS:
        st.markdown("**Momentum's (α, β) map** for this line's settings: click to set lr and momentum")
        drawn = momentum_map_figure(positive, float(settings.get("lr", 0.01)), momentum,
                                    presentation=state.presentation)
        st.session_state[f"{MAP_KEY}.eigenvalues"] = drawn.layout.meta["momentum_map"]
        chart.plotly_chart(drawn, key=f"{MAP_KEY}.{state.story}.{line}", controls=False, on_click=on_map_click)
    else:
        st.caption("The (α, β) map is drawn for SGD with momentum (or the classic form) at a point whose "
                   "Hessian has a positive eigenvalue.")

st.caption(f"Landscape: {landscape.title}. {landscape.lesson}")
