"""Cached calls into the library, so a rerun recomputes only what changed (one card, not six)."""

from __future__ import annotations

import streamlit as st

from landscapes import Bounds, FormulaError, Landscape, from_expression, get_landscape
from optimizers import HyperparameterError, Run, get_optimizer, simulate
from optimizers.tuning import suggested_lr

from .state import Card, CompareState


@st.cache_resource(max_entries=64, show_spinner=False)
def catalog_landscape(name: str) -> Landscape:
    return get_landscape(name)


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
    return f"{landscape.name}|{landscape.expression}|{landscape.bounds}"


def clear() -> None:
    for function in (catalog_landscape, custom_landscape, _run, _suggested_lr):
        function.clear()


__all__ = ["FormulaError", "catalog_landscape", "clear", "custom_landscape", "landscape_of", "run_cards"]
