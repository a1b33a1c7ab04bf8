"""The Compare page's widgets: landscape picker, run settings, optimizer cards.

Each widget's value lives under its key in `st.session_state`, seeded from the state when
the widget first appears (so a URL or a click can set it); each function returns the
state with what its widgets now say.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import streamlit as st

from figures import colour
from figures.style import format_value, legend_labels
from figures.summary import COLUMNS, DETAIL_COLUMNS, NUMBER_COLUMNS, shown_rows
from landscapes import Bounds, FormulaError, Landscape, formula_help, landscape_names
from landscapes.custom import DEFAULT_BOUNDS as CUSTOM_BOUNDS
from landscapes.parser import MAX_LENGTH
from optimizers import SCHEDULES, Hyperparameter, HyperparameterError, get_optimizer, optimizer_names
from optimizers.schedules import WARMUP, check_schedule_arguments

from . import compute, session
from .state import DEFAULT, MAX_CARDS, MAX_STARTS, MAX_STEPS, VIEWS, Card, CompareState, card, with_defaults_of

CUSTOM = "custom"
LANDSCAPE_KEY = "compare.landscape"
FORMULA_KEY = "compare.formula"
LAST_GOOD_KEY = "compare.last_good_formula"
STARTS_KEY = "compare.starts"
BOUNDS_KEYS = ("compare.x0", "compare.x1", "compare.y0", "compare.y1")
VIEW_OPEN_KEY = "compare.view_open"  # the "View" expander (the bounds) is open
ADD_KEY = "compare.add"
STEPS_KEY = "compare.steps"
KEPT_KEY = "compare.kept_cards"  # set when a landscape change kept the user's own cards
EXAMPLE_FORMULA = "(x**2 + y - 11)**2 / 10 + 0.5*sin(3*x)"


def _seed(key: str, value: Any) -> None:
    """A widget's value from the state, unless it has one; or, on a reconnected tab's first run,
    the browser sent the one it shows (the user's change there wins over the URL)."""
    if key not in st.session_state and not session.sent_by_browser(key):
        st.session_state[key] = value


def _row():
    """Widgets side by side, bottoms aligned: one block (st.columns sends one block per column and
    one around them, and every block is a message of every rerun of every session)."""
    return st.container(horizontal=True, vertical_alignment="bottom", wrap=False)


# -- landscape ---------------------------------------------------------------------
def landscape_picker(state: CompareState) -> tuple[CompareState, Landscape]:
    """Catalog or formula. A refused formula shows its message under the input and the page
    goes on with the last formula that worked (or the default landscape)."""
    names = [*landscape_names(), CUSTOM]
    _seed(LANDSCAPE_KEY, CUSTOM if state.formula else state.landscape)
    choice = st.selectbox("Landscape", names, key=LANDSCAPE_KEY, on_change=_landscape_changed,
                          format_func=_landscape_title)
    _offer_defaults(state)
    if choice != CUSTOM:
        landscape = compute.catalog_landscape(choice)
        show_formula(landscape.mathml)
        st.caption(landscape.lesson)
        return replace(state, landscape=choice, formula=""), landscape

    _seed(FORMULA_KEY, state.formula or EXAMPLE_FORMULA)
    formula = st.text_input("f(x, y) =", key=FORMULA_KEY, max_chars=MAX_LENGTH, help=f"```\n{formula_help()}\n```")
    try:
        landscape = compute.custom_landscape(formula, state.bounds)
        st.session_state[LAST_GOOD_KEY] = formula
    except FormulaError as error:
        formula_error(formula, str(error))
        last_good = st.session_state.get(LAST_GOOD_KEY)
        landscape = (compute.custom_landscape(last_good, state.bounds) if last_good
                     else compute.catalog_landscape(DEFAULT.landscape))
        st.caption(f"Still showing: {landscape.title}")
    return replace(state, formula=formula), landscape


_FORMULA = None


def show_formula(mathml: str) -> None:
    """f(x, y) = … as MathML, which the browser draws at once (st.latex would first load KaTeX;
    st.html's sanitizer drops MathML), in a small components-v2 element."""
    global _FORMULA
    if _FORMULA is None:
        _FORMULA = st.components.v2.component(
            "descent_lab_formula", html="<div class='dl-formula'></div>",
            css=".dl-formula { font-size: 1.1rem; color: var(--st-text-color, inherit); }",
            js="export default function ({ parentElement, data }) {"
               " parentElement.querySelector('.dl-formula').innerHTML = 'f(x, y) = ' + data.mathml; }")
    _FORMULA(data={"mathml": mathml}, key="compare.formula_shown", height="content")


def formula_error(formula: str, message: str) -> None:
    """The parser's message as plain text (never markdown: `x.__class__` must read as typed),
    under the formula with a caret at the column it names."""
    column = re.search(r"at column (\d+)", message)
    pointer = ""
    if column and len(formula) < 120:
        pointer = f"{formula}\n{' ' * (int(column.group(1)) - 1)}^\n"
    st.error("The formula was not accepted:", icon=":material/warning:")
    st.code(pointer + message, language=None, wrap_lines=True)


def _landscape_title(name: str) -> str:
    return "your own formula…" if name == CUSTOM else compute.catalog_title(name)


def _landscape_changed() -> None:
    """A new landscape opens with its own cards and steps when the user had not changed the
    previous landscape's; cards the user made are kept (with an offer to swap). Either way it
    starts from its own default starts and view."""
    state = session.load()
    choice = st.session_state[LANDSCAPE_KEY]
    landscape, formula = (state.landscape, st.session_state.get(FORMULA_KEY) or EXAMPLE_FORMULA) \
        if choice == CUSTOM else (choice, "")
    if state.has_default_cards:
        new = with_defaults_of(state, landscape, formula)
        st.session_state.pop(KEPT_KEY, None)
        _forget_widgets(cards=True)
    else:
        new = replace(state, landscape=landscape, formula=formula, starts=(), bounds=None)
        st.session_state[KEPT_KEY] = True
        _forget_widgets(cards=False)
    st.session_state[session.STATE_KEY] = new


def _offer_defaults(state: CompareState) -> None:
    if not st.session_state.get(KEPT_KEY) or state.has_default_cards:
        return
    title = "this formula" if state.formula else compute.catalog_landscape(state.landscape).title
    left, right = st.columns([3, 2], vertical_alignment="center")
    left.caption("Your optimizers were kept for the new landscape.")
    right.button(f"Use {title}'s", key="compare.use_defaults", on_click=_use_defaults,
                 help="Replace the cards and steps with the ones this landscape opens with: chosen so "
                      "that the default view shows its lesson")


def _use_defaults() -> None:
    state = session.load()
    st.session_state[session.STATE_KEY] = with_defaults_of(state, state.landscape, state.formula)
    st.session_state.pop(KEPT_KEY, None)
    _forget_widgets(cards=True)


def _forget_widgets(cards: bool) -> None:
    """Drop widget values that would otherwise override a state set from outside the widgets."""
    for key in [k for k in st.session_state if k in (STARTS_KEY, STEPS_KEY, *BOUNDS_KEYS)
                or (cards and str(k).startswith("card"))]:
        del st.session_state[key]


# -- run settings ------------------------------------------------------------------
def format_starts(starts) -> str:
    return "; ".join(f"{format_value(float(x))}, {format_value(float(y))}" for x, y in starts)


def parse_starts(text: str) -> tuple[tuple[float, float], ...]:
    """`"x, y; x, y"` as points; `ValueError` saying which part is wrong."""
    starts = []
    for number, part in enumerate(filter(None, (p.strip() for p in text.split(";"))), 1):
        pieces = part.split(",")
        try:
            x, y = (float(p) for p in pieces)
        except ValueError:
            raise ValueError(f"start {number} ({part!r}) is not 'x, y'") from None
        if not (math.isfinite(x) and math.isfinite(y)) or max(abs(x), abs(y)) > 1e6:
            raise ValueError(f"start {number} ({part!r}) must be finite numbers within ±1e6")
        starts.append((x, y))
    if len(starts) > MAX_STARTS:
        raise ValueError(f"at most {MAX_STARTS} starts, got {len(starts)}")
    return tuple(starts)


def run_settings(state: CompareState, landscape: Landscape) -> CompareState:
    """Starts (typed, or added by clicking the contour), steps, noise, seed, tolerance, view."""
    _seed(STARTS_KEY, format_starts(state.starts))
    text = st.text_input("Starts (x, y; x, y …)", key=STARTS_KEY, placeholder=format_starts(landscape.starts),
                         help="Several starts separated by ';'. Empty: the landscape's default start. "
                              "Click the contour to add a start.")
    try:
        starts = parse_starts(text)
    except ValueError as error:
        st.error(str(error), icon=":material/warning:")
        starts = state.starts
    _seed(STEPS_KEY, state.steps)
    steps = st.slider("Steps", 1, MAX_STEPS, key=STEPS_KEY)
    row = _row()
    _seed("compare.noise", state.noise)
    noise = row.number_input("Gradient noise σ", min_value=0.0, max_value=1000.0, step=0.1, format="%g",
                              key="compare.noise", help="Adds σ·N(0, I) to every gradient")
    _seed("compare.seed", state.seed)
    seed = row.number_input("Seed", min_value=0, max_value=2**32 - 1, step=1, key="compare.seed",
                              help="Same seed, same noise: the run repeats bit for bit")
    _seed("compare.tol", state.tol)
    tol = st.number_input("Tolerance for the table", min_value=1e-12, max_value=1e12, format="%g", step=1e-3,
                          key="compare.tol", help="Steps to tolerance: first step with loss ≤ lowest minimum + tol")
    bounds = _view_bounds(state, landscape)
    return replace(state, starts=starts, steps=int(steps), noise=float(noise), seed=int(seed), tol=float(tol),
                   bounds=bounds)


def _view_bounds(state: CompareState, landscape: Landscape) -> Bounds | None:
    initial = (state.bounds or landscape.bounds).flat
    # Closed (as it opens), it draws no inputs: four keyed number inputs less on every rerun of
    # every session (each keyed input makes Streamlit rebuild the session state's filtered view).
    # The bounds stay in the state and seed the inputs again when it opens.
    view = st.expander("View", key=VIEW_OPEN_KEY, on_change="rerun")
    if not view.open:
        return state.bounds
    with view:
        columns = st.columns(4)
        values = []
        for column, key, label, value in zip(columns, BOUNDS_KEYS, ("x min", "x max", "y min", "y max"), initial,
                                             strict=True):
            _seed(key, float(value))
            values.append(column.number_input(label, key=key, format="%g", step=0.5,
                                              min_value=-1e6, max_value=1e6))
    if not (values[0] < values[1] and values[2] < values[3]):
        st.error("The view needs x min < x max and y min < y max.", icon=":material/warning:")
        return state.bounds
    bounds = Bounds.of(*values)
    own = Bounds(*CUSTOM_BOUNDS) if state.formula else landscape.bounds
    return None if bounds == own else bounds  # None: the landscape's own view


# -- view, notices, link ---------------------------------------------------------
def view_settings(state: CompareState, view_column, log_column, presentation_column) -> CompareState:
    """The view switch, log loss (the animated view only) and the presentation toggle."""
    _seed("compare.view", state.view)
    view = view_column.segmented_control("View", VIEWS, key="compare.view", required=True,
                                         label_visibility="collapsed",
                                         format_func={"contour": "Contour + loss", "surface": "3D surface"}.get)
    view = view or state.view
    log_loss = state.log_loss
    if view == "contour":  # the 3D view has no loss curves
        _seed("compare.log", state.log_loss)
        log_loss = log_column.toggle("Log loss", key="compare.log")
    _seed("compare.presentation", state.presentation)
    presentation = presentation_column.toggle("Presentation", key="compare.presentation",
                                              help="Large fonts, thick lines: for a projector")
    return replace(state, view=view, log_loss=log_loss, presentation=presentation)


def link_notices(state: CompareState) -> None:
    """What the opening link said wrong, in one collapsed notice, gone at the first change."""
    notices = session.link_notices(state)
    if not notices:
        return
    count = f"{len(notices)} thing{'s' if len(notices) > 1 else ''}"
    with st.expander(f"The link asked for {count} this page could not do: it opened with defaults for them",
                     icon=":material/info:"):
        st.text("\n".join(f"• {notice}" for notice in notices))


_COPY_LINK = None


def copy_link(url: str) -> None:
    """A button that copies `url` to the clipboard in one click, in the browser (no rerun)."""
    global _COPY_LINK
    if _COPY_LINK is None:
        _COPY_LINK = st.components.v2.component(
            "descent_lab_copy_link",
            html='<button class="copy" type="button" title="Copy a link that reopens exactly this view">'
                 '<svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">'
                 '<path fill="currentColor" '
                 'd="M3.9 12a3.1 3.1 0 0 1 3.1-3.1h4V7H7a5 5 0 0 0 0 10h4v-1.9H7A3.1 3.1 0 0 1 3.9 12zM8 13h8v-2H8v2z'
                 'm9-6h-4v1.9h4a3.1 3.1 0 0 1 0 6.2h-4V17h4a5 5 0 0 0 0-10z"/></svg>'
                 '<span class="label">Copy link</span></button>',
            css=COPY_LINK_CSS, js=COPY_LINK_JS)
    _COPY_LINK(data={"url": url}, key="compare.copy_link", height=40)


COPY_LINK_CSS = """
.copy { display: flex; align-items: center; justify-content: center; gap: 0.4rem;
        width: 100%; height: 38px; border-radius: var(--st-button-radius, 0.5rem); cursor: pointer;
        border: 1px solid var(--st-border-color, #d6d6d9); background: var(--st-background-color, white);
        color: var(--st-text-color, #31333f); font: inherit; font-family: var(--st-font, sans-serif); }
.copy:hover { border-color: var(--st-primary-color, #ff4b4b); color: var(--st-primary-color, #ff4b4b); }
"""

# navigator.clipboard needs a secure context (https or localhost); a lecture-hall server on a
# plain http address gets the older execCommand("copy") on a hidden text field instead.
COPY_LINK_JS = """
export default function ({ parentElement, data }) {
  const button = parentElement.querySelector(".copy");
  const label = parentElement.querySelector(".label");
  button.dataset.url = data.url;
  button.onclick = async () => {
    const url = button.dataset.url;
    let copied = false;
    try { await navigator.clipboard.writeText(url); copied = true; } catch (error) {
      const field = document.createElement("textarea");
      field.value = url; field.style.position = "fixed"; field.style.opacity = "0";
      document.body.appendChild(field); field.select();
      try { copied = document.execCommand("copy"); } catch (ignored) { copied = false; }
      field.remove();
    }
    label.textContent = copied ? "Copied ✓" : "Press Ctrl+C";
    if (!copied) { window.prompt("Copy this link:", url); }
    setTimeout(() => { label.textContent = "Copy link"; }, 1600);
  };
}
"""


# -- optimizer cards ---------------------------------------------------------------
def optimizer_cards(state: CompareState, landscape: Landscape) -> CompareState:
    """One bordered card per optimizer: its hyperparameters (exactly its registry record's),
    schedule, Polyak averaging, equations; remove buttons; an add row below."""
    headers, cards = [], []
    for current in state.cards:
        with st.container(border=True):
            headers.append(st.empty())
            cards.append(_card(current))
    for header, read, label in zip(headers, cards, _labels(cards), strict=True):
        with header:  # st.html: no markdown-with-HTML renderer to load before the chart
            st.html(f"<div class='dl-card-title' style='font-weight: 600'><span style='color:{colour(read.slot)};"
                    f"font-size: 1.4em; line-height: 1'>■</span> {html.escape(label)}</div>")
    state = replace(state, cards=tuple(cards))
    row = _row()
    _seed(ADD_KEY, "adam")
    row.selectbox("Add an optimizer", optimizer_names(), key=ADD_KEY,
                  format_func=lambda n: get_optimizer(n).title)
    row.button("Add", key="compare.add_button", on_click=_add_card, args=(landscape,),
               disabled=len(state.cards) >= MAX_CARDS,
               help=f"At most {MAX_CARDS} optimizers. A new card's learning rate suits this landscape.")
    return state


def _labels(cards: list[Card]) -> list[str]:
    return legend_labels([as_run_like(c) for c in cards])


def as_run_like(c: Card) -> SimpleNamespace:
    """What `legend_labels` reads from a run, for a card that has not run yet."""
    return SimpleNamespace(optimizer=c.optimizer, hyperparameters={**get_optimizer(c.optimizer).defaults,
                                                                   **c.hyperparameters},
                           schedule=c.schedule_dict)


def _card(current: Card) -> Card:
    prefix = f"card{current.slot}"
    spec = get_optimizer(current.optimizer)
    row = _row()
    _seed(f"{prefix}.optimizer", current.optimizer)
    name = row.selectbox("Optimizer", optimizer_names(), key=f"{prefix}.optimizer",
                         format_func=lambda n: get_optimizer(n).title, label_visibility="collapsed")
    row.button("", icon=":material/close:", key=f"{prefix}.remove", on_click=_remove_card,
               args=(current.slot,), help="Remove this optimizer")
    if name != current.optimizer:
        spec = get_optimizer(name)
        current = Card(name, slot=current.slot)
    # A closed card draws no widgets (the page loads and reruns faster); its settings stay in
    # the state, and seed the widgets again when it opens.
    settings = st.expander("settings", key=f"{prefix}.open", on_change="rerun")
    if not settings.open:
        return current
    with settings:
        st.caption(spec.summary)
        values = {h.name: hyperparameter_input(h, f"{prefix}.{name}.{h.name}", current.hyperparameters)
                  for h in spec.hyperparameters}
        _torch_default_note(spec, values)
        schedule = _schedule_input(current, f"{prefix}.{name}.schedule")
        _seed(f"{prefix}.polyak", current.polyak)
        polyak = st.checkbox("Polyak averaging", key=f"{prefix}.polyak",
                             help="Also draw the running mean of the iterates (dashed)")
        _equations(spec, values, f"{prefix}.equations")
    try:
        spec.validate(**values)
    except HyperparameterError as error:
        st.error(str(error), icon=":material/warning:")
    return card(name, current.slot, schedule, polyak, **values)


def _torch_default_note(spec, values: dict[str, Any]) -> None:
    torch_lr = spec.defaults.get("lr")
    if torch_lr is not None and values.get("lr") != torch_lr:
        st.caption(f"lr {format_value(values['lr'])} suits this landscape; torch's default is "
                   f"{format_value(torch_lr)}.")


def _equations(spec, values: dict[str, Any], key: str) -> None:
    """The update equations these settings switch on, and the paper, from the optimizer's record
    (an invalid value shows the equations of the defaults: the card says what is wrong). Drawn
    only while the popover is open: closed, an open card's rerun sends none of them."""
    equations = st.popover("Update equations", icon=":material/functions:", width="stretch", key=key,
                           on_change="rerun")
    if not equations.open:
        return
    try:
        lines = spec.equations_for(values)
    except HyperparameterError:
        lines = spec.equations_for({})
    with equations:
        for line in lines:
            st.latex(line)
        if spec.reference:
            st.caption(spec.reference)


def hyperparameter_input(spec: Hyperparameter, key: str, given: dict[str, Any]) -> Any:
    """The widget for one hyperparameter, chosen by its kind, with its meaning and range as help."""
    value = given.get(spec.name, spec.default)
    help_text = f"{spec.meaning}. Default {format_value(spec.default)}; valid {spec.range_text}."
    label = spec.name
    if spec.kind == "bool":
        _seed(key, bool(value))
        return st.checkbox(label, key=key, help=help_text)
    if spec.kind == "choice":
        _seed(key, value)
        return st.selectbox(label, spec.choices, key=key, help=help_text)
    if spec.kind == "milestones":
        _seed(key, ", ".join(str(v) for v in value))
        text = st.text_input(label, key=key, help=help_text + " Steps separated by commas.")
        try:
            return tuple(int(float(p)) for p in text.split(",") if p.strip())
        except ValueError:
            st.error(f"{spec.name}: write whole steps separated by commas", icon=":material/warning:")
            return spec.default
    if spec.kind == "pair":
        columns = st.columns(2)
        return tuple(_number_input(spec, f"{key}.{i}", v, help_text, f"{label}[{i}]", column)
                     for i, (v, column) in enumerate(zip(value, columns, strict=True)))
    return _number_input(spec, key, value, help_text, label, st)


def _number_input(spec: Hyperparameter, key: str, value: Any, help_text: str, label: str, where) -> Any:
    whole = spec.kind == "int"
    _seed(key, int(value) if whole else float(value))
    low = spec.low if math.isfinite(spec.low) and not spec.low_open else None
    high = spec.high if math.isfinite(spec.high) and not spec.high_open else None
    if whole:
        return where.number_input(label, key=key, help=help_text, step=1,
                                  min_value=None if low is None else int(low),
                                  max_value=None if high is None else int(high))
    magnitude = abs(float(value)) or 1.0
    step = 10 ** math.floor(math.log10(magnitude)) if magnitude < 1 else 0.1
    return where.number_input(label, key=key, help=help_text, format="%g", step=float(step),
                              min_value=None if low is None else float(low),
                              max_value=None if high is None else float(high))


def _schedule_input(current: Card, key: str) -> dict[str, Any] | None:
    given = current.schedule_dict or {}
    options = ["constant", *SCHEDULES]
    _seed(key, given.get("name", "constant"))
    name = st.selectbox("Learning-rate schedule", options, key=key,
                        format_func=lambda n: "constant" if n == "constant" else f"{n} ({SCHEDULES[n].title})")
    if name == "constant":
        return None
    arguments = {a.name: hyperparameter_input(a, f"{key}.{name}.{a.name}", given if given.get("name") == name else {})
                 for a in SCHEDULES[name].arguments}
    warmup = hyperparameter_input(WARMUP, f"{key}.{name}.warmup", given)
    try:
        check_schedule_arguments(name, arguments)
        WARMUP.check(warmup)
    except HyperparameterError as error:
        st.error(str(error), icon=":material/warning:")
    return {"name": name, **arguments, **({"warmup": warmup} if warmup else {})}


def _add_card(landscape: Landscape) -> None:
    state = session.load()
    if len(state.cards) < MAX_CARDS:
        name = st.session_state[ADD_KEY]
        starts = tuple(state.starts or landscape.starts)
        settings = compute.suited_settings(landscape, name, starts, state.steps)
        new = card(name, state.free_slot(), **settings)
        st.session_state[session.STATE_KEY] = replace(state, cards=(*state.cards, new))


def _remove_card(slot: int) -> None:
    state = session.load()
    st.session_state[session.STATE_KEY] = replace(state, cards=tuple(c for c in state.cards if c.slot != slot))
    for key in [k for k in st.session_state if str(k).startswith(f"card{slot}.")]:
        del st.session_state[key]


# -- the chart and clicks on it ---------------------------------------------------
def comparison_chart(data: dict, key: str, landscape: Landscape) -> int | None:
    """The animated Compare figure (`data`: `compute.comparison_chart_data`), stepped in the
    browser (previous / play / next, the slider, ← →); a click on the landscape adds a start
    there. Returns the step on screen as the browser last reported it (after a pause or a
    step), None before it has."""
    import chart

    def clicked(clicks) -> None:
        for click in clicks:
            if click.subplot == "xy":  # the contour; clicks on the loss panel add nothing
                add_start(click.x, click.y, landscape.starts)

    result = chart.draw(data, key=key, on_click=clicked)
    st.caption("Click the landscape to add a start there. ← → step when the chart has focus.")
    return result.step


def add_start(x: float, y: float, landscape_starts) -> None:
    """Add the start (x, y) (the oldest one goes beyond `MAX_STARTS`)."""
    state = session.load()
    starts = ((state.starts or tuple(landscape_starts)) + ((x, y),))[-MAX_STARTS:]
    st.session_state[session.STATE_KEY] = replace(state, starts=starts)
    st.session_state[STARTS_KEY] = format_starts(starts)


# -- the summary table ---------------------------------------------------------------
def summary_table(rows: list[dict]) -> None:
    """The summary as a plain HTML table: it draws at once (st.dataframe would first load a
    grid and Arrow, over a megabyte of script, before the page settles) and every number is
    text with 4 significant digits. Why a run diverged is the tooltip of its "diverged" cell."""
    shown = [column for column in COLUMNS if column not in DETAIL_COLUMNS]
    head = "".join(f"<th class='{_css(c)}'>{html.escape(c)}</th>" for c in shown)
    body = []
    for row in shown_rows(rows):
        cells = []
        for column in shown:
            value = row[column]
            text = "—" if value is None or (value == "" and column != "diverged") else str(value)
            tip = row.get("why it diverged") if column == "diverged" and value else ""
            title = f" title='{html.escape(tip, quote=True)}'" if tip else ""
            cells.append(f"<td class='{_css(column)}'{title}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    st.html(f"<style>{SUMMARY_CSS}</style><table class='dl-summary'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _css(column: str) -> str:
    return "number" if column in (*NUMBER_COLUMNS, "steps to tolerance") else "text"


SUMMARY_CSS = """
.dl-summary { border-collapse: collapse; width: 100%; font-size: 0.9rem; font-variant-numeric: tabular-nums; }
.dl-summary th, .dl-summary td { padding: 0.35rem 0.6rem; border-bottom: 1px solid rgba(49, 51, 63, 0.12); }
.dl-summary th { font-weight: 600; text-align: left; color: rgba(49, 51, 63, 0.75); }
.dl-summary .number { text-align: right; }
.dl-summary td[title] { text-decoration: underline dotted; cursor: help; }
"""
