"""The Explore page's mini-batch part: a data landscape, real mini-batch SGD on it, Smith et al.'s
batch growth. `show()` draws it all (controls in the sidebar, figures in the main area); its state
lives in the URL under query parameters prefixed ``mb_`` (and touches no other parameter)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import streamlit as st

from figures.minibatch import (
    batch_growth_figure,
    batch_growth_rows,
    batch_growth_runs,
    minibatch_figure,
    minibatch_rows,
    minibatch_runs,
)
from landscapes import DATA_MODELS, DataLandscape, data_landscape
from optimizers import HyperparameterError

PREFIX = "mb_"
KEY = "minibatch."  # session-state keys of the widgets
OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop", "adagrad": "Adagrad"}
SAMPLES = (3, 500)
MAX_EPOCHS, MAX_PATHS = 200, 32


@dataclass(frozen=True)
class MiniBatchState:
    """Everything the part shows; each field is one ``mb_<field>`` query parameter."""

    data: str = "linear"        # the data model
    seed: int = 0               # the dataset's seed
    samples: int = 32
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0       # SGD only
    batch: int = 4
    epochs: int = 20
    paths: int = 8              # shuffled copies of the start: the band
    shuffle: bool = True        # a fresh permutation each epoch (False: dataset order, as Reddi et al.)
    shuffle_seed: int = 0
    step: int = 0               # where the two gradient arrows are drawn
    grow_lr: float = 0.1        # Smith et al.'s comparison
    grow_batch: int = 2
    factor: int = 4
    phases: int = 3
    phase_epochs: int = 10


DEFAULT = MiniBatchState()
# (low, high) of each number; text fields list their choices
RANGES: dict[str, tuple[float, float]] = {
    "seed": (0, 10_000), "samples": SAMPLES, "lr": (1e-5, 10.0), "momentum": (0.0, 0.999), "batch": (1, SAMPLES[1]),
    "epochs": (1, MAX_EPOCHS), "paths": (1, MAX_PATHS), "shuffle_seed": (0, 10_000), "step": (0, 100_000),
    "grow_lr": (1e-5, 10.0), "grow_batch": (1, SAMPLES[1]), "factor": (2, 10), "phases": (1, 6),
    "phase_epochs": (1, 50)}
CHOICES = {"data": tuple(DATA_MODELS), "optimizer": tuple(OPTIMIZERS)}


def from_query(query: Mapping[str, Any]) -> tuple[MiniBatchState, list[str]]:
    """The state in `query`'s ``mb_`` parameters (defaults for the missing ones), and a notice per
    value that could not be used (it keeps its default)."""
    values: dict[str, Any] = {}
    notices: list[str] = []
    for f in fields(MiniBatchState):
        text = query.get(PREFIX + f.name)
        if isinstance(text, list):
            text = text[-1] if text else None
        if text is None:
            continue
        value = _parse(f.name, str(text), type(getattr(DEFAULT, f.name)))
        if value is None:
            notices.append(f"{PREFIX}{f.name}={text!r} is not usable here; kept {getattr(DEFAULT, f.name)!r}")
        else:
            values[f.name] = value
    state = replace(DEFAULT, **values)
    if state.data != DEFAULT.data:  # what choosing the dataset in the sidebar would set
        opening = {k: v for k, v in dataset_defaults(state.data).items() if k not in values}
        state = replace(state, **opening)
    return fitted(state), notices


def dataset_defaults(data: str) -> dict[str, Any]:
    """The settings a dataset opens with: its own size; the counterexample one sample a step, in Adam."""
    model = DATA_MODELS[data]
    opening: dict[str, Any] = {"samples": model.default_samples, "step": 0}
    if data == "reddi":
        opening.update(batch=1, optimizer="adam", shuffle=False)
    return opening


def _parse(name: str, text: str, kind: type) -> Any:
    if name in CHOICES:
        return text if text in CHOICES[name] else None
    if kind is bool:
        return {"true": True, "1": True, "false": False, "0": False}.get(text.lower())
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    low, high = RANGES[name]
    if kind is int:
        if number != int(number):
            return None
        number = int(number)
    return number if low <= number <= high else None


def fitted(state: MiniBatchState) -> MiniBatchState:
    """The state made consistent: the counterexample has 3 samples, batches fit the dataset, the
    arrows' step lies in the run."""
    samples = 3 if state.data == "reddi" else state.samples
    batch = min(state.batch, samples)
    state = replace(state, samples=samples, batch=batch, grow_batch=min(state.grow_batch, samples))
    return replace(state, step=min(state.step, steps_of(state) - 1))


def steps_of(state: MiniBatchState) -> int:
    return state.epochs * math.ceil(state.samples / state.batch)


def to_query(state: MiniBatchState) -> dict[str, str]:
    """The ``mb_`` parameters of the fields that differ from the defaults (short links)."""
    query = {}
    for name, value in asdict(state).items():
        if value != getattr(DEFAULT, name):
            query[PREFIX + name] = f"{value:g}" if isinstance(value, float) else str(value)
    return query


def write_query(state: MiniBatchState) -> None:
    """Set this part's parameters in the URL, dropping only ``mb_`` ones it no longer needs."""
    wanted = to_query(state)
    for key in [k for k in st.query_params if k.startswith(PREFIX) and k not in wanted]:
        del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


# -- computations, cached per setting (the runs hold the landscape object: no copies) ---------------
@st.cache_resource(max_entries=8, show_spinner=False)
def _band(data: str, seed: int, samples: int, optimizer: str, lr: float, momentum: float, batch: int,
          epochs: int, paths: int, shuffle: bool, shuffle_seed: int):
    land = data_landscape(data, seed, samples)
    settings: dict[str, Any] = {"lr": lr}
    if optimizer == "sgd" and momentum:
        settings["momentum"] = momentum
    return minibatch_runs(land, batch_size=batch, epochs=epochs, paths=paths, seed=shuffle_seed, shuffle=shuffle,
                          optimizer=optimizer, **settings)


@st.cache_resource(max_entries=8, show_spinner=False)
def _growth(data: str, seed: int, samples: int, lr: float, batch: int, factor: int, phases: int,
            phase_epochs: int, paths: int, shuffle_seed: int):
    land = data_landscape(data, seed, samples)
    return batch_growth_runs(land, lr=lr, batch_size=batch, factor=factor, phases=phases,
                             epochs_per_phase=phase_epochs, paths=paths, seed=shuffle_seed)


# -- the part -----------------------------------------------------------------------------------------
def show() -> None:
    """Draw the mini-batch part: its controls in the sidebar under a header, its figures here."""
    if KEY + "state" not in st.session_state:
        state, notices = from_query(st.query_params)
        st.session_state[KEY + "state"] = state
        st.session_state[KEY + "notices"] = notices
    _seed_widgets(st.session_state[KEY + "state"])
    for notice in st.session_state.get(KEY + "notices", []):
        st.warning(notice)
    with st.sidebar:
        state = _controls()
    st.session_state[KEY + "state"] = state
    write_query(state)
    land = data_landscape(state.data, state.seed, state.samples)
    st.subheader("Mini-batch SGD on a data landscape")
    p, q = land.model.parameters
    st.markdown(rf"**{land.title}**: $f({_tex(p)}, {_tex(q)}) = \frac{{1}}{{{land.samples}}}\sum_i \ell_i$, "
                rf"$\ell_i = {land.model.sample_latex}$. Each step uses the mean gradient of a batch of "
                f"{state.batch} sample{'s' if state.batch > 1 else ''}, visited as torch's "
                f"`DataLoader(shuffle={state.shuffle})` does.")
    if state.data == "reddi":
        st.caption("Unconstrained here: the Lecture page's AMSGrad story projects x back onto [−1, 1] "
                   "after each step, as Reddi et al. do.")
    _band_section(land, state)
    _growth_section(land, state)


def _tex(name: str) -> str:
    return name.replace("₁", "_1").replace("₂", "_2")


def _seed_widgets(state: MiniBatchState) -> None:
    """Give each widget the state's value unless it has one: on the first run, and after another
    page was shown (Streamlit forgets the values of widgets a run did not draw)."""
    for name, value in asdict(state).items():
        if KEY + name not in st.session_state:
            st.session_state[KEY + name] = value


def _controls() -> MiniBatchState:
    """The sidebar controls; returns the state they show."""
    st.header("Mini-batch SGD")
    data = st.selectbox("Dataset", CHOICES["data"], key=KEY + "data", on_change=_data_changed,
                        format_func=lambda name: DATA_MODELS[name].title)
    reddi = data == "reddi"
    left, right = st.columns(2)
    seed = left.number_input("Data seed", *RANGES["seed"], key=KEY + "seed", step=1, disabled=reddi,
                             help="The dataset is drawn from this seed.")
    samples = right.number_input("Samples M", *SAMPLES, key=KEY + "samples", step=1, disabled=reddi,
                                 help="The counterexample has 3 samples: C, −1, −1.")
    optimizer = st.selectbox("Optimizer", CHOICES["optimizer"], key=KEY + "optimizer",
                             format_func=OPTIMIZERS.get)
    left, right = st.columns(2)
    lr = left.number_input("Learning rate", *RANGES["lr"], key=KEY + "lr", format="%g", step=0.01)
    momentum = right.number_input("Momentum", *RANGES["momentum"], key=KEY + "momentum", step=0.1,
                                  disabled=optimizer != "sgd")
    samples = 3 if reddi else int(samples)
    _keep(KEY + "batch", 1, samples)  # a slider whose range changes would forget its value
    batch = st.slider("Batch size B", 1, samples, key=KEY + "batch") if samples > 1 else 1
    left, right = st.columns(2)
    epochs = left.number_input("Epochs", *RANGES["epochs"], key=KEY + "epochs", step=1)
    paths = right.number_input("Paths (shuffles)", *RANGES["paths"], key=KEY + "paths", step=1)
    shuffle = st.checkbox("Shuffle each epoch", key=KEY + "shuffle",
                          help="Off: every path visits the samples in dataset order (Reddi et al.'s sequence).")
    shuffle_seed = st.number_input("Shuffle seed", *RANGES["shuffle_seed"], key=KEY + "shuffle_seed", step=1,
                                      disabled=not shuffle)
    steps = int(epochs) * math.ceil(samples / batch)
    _keep(KEY + "step", 0, steps - 1)
    step = st.slider("Arrows at step", 0, max(steps - 1, 1), key=KEY + "step",
                     help="Where the full-batch and the mini-batch gradient arrows are drawn.")
    st.subheader("Grow the batch")
    st.caption("Smith et al. 2018: dividing lr by k or multiplying B by k cuts the noise lr·M/B alike.")
    left, right = st.columns(2)
    grow_lr = left.number_input("Starting lr", *RANGES["grow_lr"], key=KEY + "grow_lr", format="%g", step=0.01)
    _keep(KEY + "grow_batch", 1, samples)
    grow_batch = right.number_input("Starting B", 1, samples, key=KEY + "grow_batch", step=1)
    one, two, three = st.columns(3)
    factor = one.number_input("Factor k", *RANGES["factor"], key=KEY + "factor", step=1)
    phases = two.number_input("Phases", *RANGES["phases"], key=KEY + "phases", step=1)
    phase_epochs = three.number_input("Epochs each", *RANGES["phase_epochs"], key=KEY + "phase_epochs", step=1)
    return fitted(MiniBatchState(
        data=data, seed=int(seed), samples=samples, optimizer=optimizer, lr=float(lr), momentum=float(momentum),
        batch=int(batch), epochs=int(epochs), paths=int(paths), shuffle=bool(shuffle), shuffle_seed=int(shuffle_seed),
        step=int(step),
        grow_lr=float(grow_lr), grow_batch=int(grow_batch), factor=int(factor), phases=int(phases),
        phase_epochs=int(phase_epochs)))


def _keep(key: str, low: int, high: int) -> None:
    """Set a widget's value again, into [low, high], before it is drawn: Streamlit resets a slider
    whose range changed (its identity includes the range) unless the value is set anew."""
    st.session_state[key] = int(min(max(st.session_state.get(key, low), low), high))


def _data_changed() -> None:
    """A new dataset opens with its own size and a batch that fits it."""
    for name, value in dataset_defaults(st.session_state[KEY + "data"]).items():
        st.session_state[KEY + name] = value


def _band_section(land: DataLandscape, state: MiniBatchState) -> None:
    try:
        with st.spinner("Running mini-batch SGD…"):
            band, full = _band(state.data, state.seed, state.samples, state.optimizer, state.lr, state.momentum,
                               state.batch, state.epochs, state.paths, state.shuffle, state.shuffle_seed)
            figure = minibatch_figure(land, band, full, step=state.step)
    except (HyperparameterError, ValueError) as error:
        st.error(f"These settings cannot run: {error}")
        return
    if band.diverged.max() >= 0 or full.diverged[0] >= 0:
        st.warning("Some paths diverged (loss or coordinates out of range): lower the learning rate.")
    st.plotly_chart(figure, key=KEY + "band_chart", width="stretch")
    spread = band.final_losses
    over = f"over the {state.paths} shuffles" if state.shuffle else "in dataset order"
    st.caption(f"After {band.steps} steps ({state.epochs} epochs): loss {spread.min():.4g} – {spread.max():.4g} "
               f"{over}, {full.final_losses[0]:.4g} with the full batch. The arrows are at step {state.step} "
               f"of the first path: the batch's gradient g beside the full one ∇f.")
    _downloads(figure, minibatch_rows(band, full), "minibatch_paths", KEY + "band", repr(state))


def _growth_section(land: DataLandscape, state: MiniBatchState) -> None:
    st.subheader("Increase the batch size instead of decaying the learning rate")
    if state.data == "reddi":
        st.info("The counterexample has no noise to trade: pick linear or logistic regression for this.")
        return
    try:
        with st.spinner("Running both schedules…"):
            schedules = _growth(state.data, state.seed, state.samples, state.grow_lr, state.grow_batch,
                                state.factor, state.phases, state.phase_epochs, state.paths, state.shuffle_seed)
            figure = batch_growth_figure(land, schedules)
    except (HyperparameterError, ValueError) as error:
        st.error(f"These settings cannot run: {error}")
        return
    decay, grow = schedules
    st.markdown(f"Same samples seen ({state.phases * state.phase_epochs} epochs); growing the batch takes "
                f"**{int(grow.updates[-1])}** parameter updates, decaying lr **{int(decay.updates[-1])}**.")
    st.plotly_chart(figure, key=KEY + "growth_chart", width="stretch")
    _downloads(figure, batch_growth_rows(schedules), "batch_growth", KEY + "growth", repr(state))


def _downloads(figure, rows: list[dict], name: str, key: str, version: str) -> None:
    """CSV at once (cheap); PNG and SVG made on request (the exporter's browser renders them).
    Images made for another `version` of the settings are not offered."""
    columns = st.columns([1, 1, 3])
    columns[0].download_button("CSV", _csv(rows), f"{name}.csv", "text/csv", key=key + ".csv")
    stored = st.session_state.get(key + ".image")
    made = stored[1] if stored and stored[0] == version else None
    hint = "Render the figure as images: the first starts the exporter's browser (seconds), later ones about a second."
    if columns[1].button("PNG / SVG", key=key + ".make", help=hint):
        from exports import images  # Kaleido and its browser: loaded only when an image is asked for

        try:
            with st.spinner("Rendering images…"):
                made = (images.to_png(figure, width=1400, height=600), images.to_svg(figure, width=1400, height=600))
        except Exception as error:  # noqa: BLE001 - the exporter's browser may be missing or stopped
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            st.error(f"The images could not be made: {reason}")
            made = None
        st.session_state[key + ".image"] = (version, made)
    if made:
        png, svg = made
        with columns[2]:
            left, right = st.columns(2)
            left.download_button("Download PNG", png, f"{name}.png", "image/png", key=key + ".png")
            right.download_button("Download SVG", svg, f"{name}.svg", "image/svg+xml", key=key + ".svg")


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
