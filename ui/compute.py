"""Cached calls into the library, so a rerun recomputes only what changed (one card, not six)."""

from __future__ import annotations

import streamlit as st

from landscapes import FormulaError, Landscape, from_expression, get_landscape
from optimizers import HyperparameterError, Run, simulate

from .state import Card, CompareState


@st.cache_resource(max_entries=64, show_spinner=False)
def catalog_landscape(name: str) -> Landscape:
    return get_landscape(name)


@st.cache_resource(max_entries=64, show_spinner="Deriving the gradient of your formula…")
def custom_landscape(formula: str, bounds: tuple[float, float, float, float] | None) -> Landscape:
    """The user's formula as a landscape; `FormulaError` (a ValueError) if refused. Refusals
    are not cached: Streamlit caches only returned values."""
    if bounds is None:
        return from_expression(formula)
    x0, x1, y0, y1 = bounds
    return from_expression(formula, bounds=((x0, x1), (y0, y1)))


def landscape_of(state: CompareState) -> Landscape:
    """The state's landscape: a catalog entry or the formula (may raise `FormulaError`)."""
    if state.formula:
        return custom_landscape(state.formula, state.bounds)
    return catalog_landscape(state.landscape)


@st.cache_resource(max_entries=256, show_spinner=False)
def _run(landscape_key: str, card: Card, starts: tuple, steps: int, noise: float, seed: int,
         _landscape: Landscape) -> Run:
    return simulate(_landscape, card.optimizer, starts, steps, schedule=card.schedule_dict, noise=noise,
                    seed=seed, record="path", **card.hyperparameters)


def run_cards(landscape: Landscape, state: CompareState, starts: tuple) -> list[Run | HyperparameterError]:
    """One run per card, each cached on its own; a card with invalid settings gives its error."""
    key = _landscape_key(landscape)
    results: list[Run | HyperparameterError] = []
    for card in state.cards:
        try:
            results.append(_run(key, card, starts, state.steps, state.noise, state.seed, landscape))
        except HyperparameterError as error:
            results.append(error)
    return results


def _landscape_key(landscape: Landscape) -> str:
    return f"{landscape.name}|{landscape.expression}|{landscape.bounds}"


def clear() -> None:
    for function in (catalog_landscape, custom_landscape, _run):
        function.clear()


__all__ = ["FormulaError", "catalog_landscape", "clear", "custom_landscape", "landscape_of", "run_cards"]
