"""Cached calls into the library, so a rerun recomputes only what changed (one card, not six)."""

from __future__ import annotations

import json
import weakref
from collections.abc import Sequence
from typing import Any

import streamlit as st

import chart
from figures.animation import comparison_spec
from landscapes import Bounds, FormulaError, Landscape, from_expression, get_landscape, landscape_names
from optimizers import HyperparameterError, Run, get_optimizer, simulate
from optimizers.tuning import suggested_lr

from .state import Card, CompareState, to_query

# The Compare chart's data (what the browser is sent) is the same for every session showing the
# same state: a class opening one link, or choosing the same round values, shares one copy.
# Bounded: entries are 0.2-1 MB for common states (17 MB for the largest a URL allows).
CHART_ENTRIES = 48
CHART_TTL = "30m"


@st.cache_resource(max_entries=64, show_spinner=False)
def catalog_landscape(name: str) -> Landscape:
    return get_landscape(name)


def catalog_title(name: str) -> str:
    """The catalog landscape's title (the picker shows one per option, every run: one dict look-up)."""
    return _catalog_titles()[name]


@st.cache_resource(show_spinner=False)
def _catalog_titles() -> dict[str, str]:
    return {name: catalog_landscape(name).title for name in landscape_names()}


@st.cache_resource(max_entries=64, show_spinner="Deriving the gradient of your formula…")
def custom_landscape(formula: str, bounds: Bounds | None) -> Landscape:
    """The user's formula as a landscape; `FormulaError` if refused. Refusals are not cached:
    Streamlit caches only returned values."""
    return from_expression(formula) if bounds is None else from_expression(formula, bounds=bounds)


def landscape_of(state: CompareState) -> Landscape:
    """The state's landscape: a catalog entry or the formula (may raise `FormulaError`)."""
    if state.formula:
        return custom_landscape(state.formula, state.bounds)
    return catalog_landscape(state.landscape)


# A cache hit costs what Streamlit spends making its key: it hashes every argument not named with
# a leading "_" (a `Card` through its generic hasher) and reads the function's signature again for
# each positional one. So each cached call here is keyed by one short string, passed by keyword,
# and everything else rides along unhashed.
@st.cache_resource(max_entries=256, show_spinner=False)
def _run(*, key: str, _landscape: Landscape, _card: Card, _starts: tuple, _steps: int, _noise: float,
         _seed: int) -> Run:
    return simulate(_landscape, _card.optimizer, _starts, _steps, schedule=_card.schedule_dict, noise=_noise,
                    seed=_seed, record="path", **_card.hyperparameters)


def run_cards(landscape: Landscape, state: CompareState, starts: tuple) -> list[Run | HyperparameterError]:
    """One run per card, each cached on its own; a card with invalid settings gives its error."""
    shared = f"{_landscape_key(landscape)}|{starts!r}|{state.steps}|{state.noise!r}|{state.seed}"
    results: list[Run | HyperparameterError] = []
    for card in state.cards:
        try:  # the colour and Polyak averaging do not change the run
            results.append(_run(key=f"{shared}|{card.optimizer}|{card.settings!r}|{card.schedule!r}",
                                _landscape=landscape, _card=card, _starts=starts, _steps=state.steps,
                                _noise=state.noise, _seed=state.seed))
        except HyperparameterError as error:
            results.append(error)
    return results


def comparison_chart_data(state: CompareState, landscape: Landscape, runs: Sequence[Run], labels: Sequence[str],
                          slots: Sequence[int], averaged: Sequence[bool], frame_ms: int) -> dict[str, Any]:
    """The Compare chart's data (`chart.chart_data` of `figures.animation.comparison_spec`) for
    `state`, made once per state and view settings for every session (`runs` etc. are what
    `state` gives: `run_cards`, the page's labels, slots and averaging)."""
    key = f"{json.dumps(to_query(state), sort_keys=True)}|{frame_ms}|{_landscape_key(landscape)}"
    return _comparison_chart_data(key=key, _landscape=landscape, _runs=list(runs), _labels=list(labels),
                                  _slots=list(slots), _averaged=list(averaged), _state=state, _frame_ms=frame_ms)


@st.cache_data(max_entries=CHART_ENTRIES, ttl=CHART_TTL, show_spinner=False)
def _comparison_chart_data(*, key: str, _landscape: Landscape, _runs: list[Run], _labels: list[str],
                           _slots: list[int], _averaged: list[bool], _state: CompareState,
                           _frame_ms: int) -> dict[str, Any]:
    spec = comparison_spec(_landscape, _runs, labels=_labels, slots=_slots, averaged=_averaged,
                           log_loss=_state.log_loss, bounds=_state.bounds, frame_duration=_frame_ms,
                           presentation=_state.presentation)
    return chart.chart_data(spec, speed=_state.speed, report_step=True)


def suited_settings(landscape: Landscape, optimizer: str, starts: tuple, steps: int) -> dict:
    """Settings for a new card: the landscape's own for this optimizer if it has them, else the
    learning rate that does best on it within the page's steps (`suggested_lr`)."""
    for name, settings in landscape.optimizers:
        if name == optimizer:
            return dict(settings)
    if "lr" not in get_optimizer(optimizer).defaults:
        return {}
    return {"lr": _suggested_lr(_landscape_key(landscape), optimizer, starts, steps, landscape)}


@st.cache_data(max_entries=512, show_spinner="Finding a learning rate that suits this landscape…")
def _suggested_lr(landscape_key: str, optimizer: str, starts: tuple, steps: int, _landscape: Landscape) -> float:
    return suggested_lr(_landscape, optimizer, starts, steps)


def _landscape_key(landscape: Landscape) -> str:
    """What tells landscapes apart in the caches' keys: made once per landscape (printing its SymPy
    expression took a few ms, on every rerun)."""
    key = _LANDSCAPE_KEYS.get(landscape)
    if key is None:
        key = _LANDSCAPE_KEYS[landscape] = f"{landscape.name}|{landscape.expression}|{landscape.bounds}"
    return key


_LANDSCAPE_KEYS: weakref.WeakKeyDictionary[Landscape, str] = weakref.WeakKeyDictionary()


def clear() -> None:
    for function in (catalog_landscape, _catalog_titles, custom_landscape, _run, _suggested_lr,
                     _comparison_chart_data):
        function.clear()


__all__ = ["FormulaError", "catalog_landscape", "catalog_title", "clear", "comparison_chart_data", "custom_landscape",
           "landscape_of", "run_cards"]
