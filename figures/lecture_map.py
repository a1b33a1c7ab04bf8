r"""Distill's (α, β) map ("Why Momentum Really Works", Goh 2017) for SGD with momentum on a quadratic.

Momentum here is the heavy ball in torch's form, α = `lr`, β = `momentum` of
``torch.optim.SGD(lr, momentum, dampening=0, nesterov=False)``: z_{k+1} = β z_k + ∇f(w_k),
w_{k+1} = w_k − α z_{k+1} (Distill's z is torch's buffer b). The classic form v ← βv − α∇f,
w ← w + v gives the same points with the same α and β (v = −αz), so the map holds for it too.
Along an eigenvector of the Hessian with eigenvalue λ the error (z, w − w*) evolves by

    R = [[β, λ], [−αβ, 1 − αλ]],

so the error shrinks like max(|σ₁|, |σ₂|)ᵏ, σ the eigenvalues of R; they depend on α and λ
only through αλ. Complex eigenvalues have modulus √(det R) = √β (Distill's text says 2√β:
a typo). The rate and the regimes are `optimizers.theory`'s. The figure is a picture (the
chart's Plotly bundle has no heatmap), one panel per
eigenvalue, x = αλ, y = β; a click at (x, y) on panel i means lr = x/λᵢ, momentum = y
(`map_click_setting`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import imageio.v3 as iio
import numpy as np
import plotly.graph_objects as go

from optimizers.theory import REGIMES, momentum_rate, momentum_regime

from .style import look

__all__ = ["REGIMES", "map_click_setting", "map_image", "momentum_map_figure", "momentum_rate", "momentum_regime"]

ALPHA_LAMBDA_MAX = 4.0
BETA_MAX = 0.999
MAP_META = "momentum_map"  # layout.meta key: {subplot id: eigenvalue}
# Where each regime's label sits, in (αλ, β): inside its region for every λ (the map depends on αλ only).
REGIME_LABELS = {"ripples": (1.0, 0.75), "monotonic decrease": (0.03, 0.015), "one-step convergence": (1.0, 0.0),
                 "monotonic oscillations": (1.3, 0.015), "divergence": (3.3, 0.35)}
LABEL_TEXT = {"monotonic decrease": "monotonic<br>decrease", "monotonic oscillations": "monotonic<br>oscillations"}
COLOURSCALE = [[0.0, "#fde725"], [0.25, "#5ec962"], [0.5, "#21918c"], [0.75, "#3b528b"], [1.0, "#440154"]]


def map_click_setting(alpha_lambda: float, beta: float, eigenvalue: float) -> tuple[float, float]:
    """(lr, momentum) of a click at (αλ, β) on the panel of `eigenvalue` λ: lr = αλ/λ, momentum = β
    (clipped to [0, 1)), in torch SGD's form (see the module docstring)."""
    if not eigenvalue > 0:
        raise ValueError(f"the map needs a positive eigenvalue, got {eigenvalue!r}")
    return max(alpha_lambda, 0.0) / eigenvalue, float(min(max(beta, 0.0), BETA_MAX))


def map_image(*, width: int = 400, height: int = 300) -> str:
    """The rate over αλ ∈ [0, 4] (left to right), β ∈ [0, 1) (bottom to top) as a PNG data URL:
    `COLOURSCALE` from rate 0 to 1, black where the rate is ≥ 1."""
    xs = np.linspace(0, ALPHA_LAMBDA_MAX, width)
    ys = np.linspace(BETA_MAX, 0, height)
    rate = momentum_rate(*np.meshgrid(xs, ys))
    stops = np.array([s for s, _ in COLOURSCALE])
    colours = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for _, c in COLOURSCALE], dtype=float)
    clipped = np.clip(rate, 0, 1)
    rgb = np.stack([np.interp(clipped, stops, colours[:, j]) for j in range(3)], axis=-1)
    rgb[rate >= 1] = 0
    png = iio.imwrite("<bytes>", rgb.astype(np.uint8), extension=".png")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def momentum_map_figure(eigenvalues: Sequence[float], lr: float, momentum: float, *,
                        presentation: bool = False, height: int | None = None) -> go.Figure:
    """The (α, β) map, one panel per (positive) eigenvalue λ of the landscape's Hessian: colour is
    the convergence rate of momentum along that eigenvector (black: ≥ 1, divergence), the current
    setting a white point at (lr·λ, momentum), the five regimes labelled. `lr` and `momentum` are
    torch SGD's (dampening 0), equal to the classic form's; see the module docstring.

    Clicks: the chart reports (x, y, subplot); ``layout.meta["momentum_map"][subplot]`` is that
    panel's λ, and `map_click_setting(x, y, λ)` gives the (lr, momentum) to set. An invisible
    grid of points also shows each setting on hover.
    """
    eigenvalues = [float(v) for v in eigenvalues if v > 0]
    if not eigenvalues:
        raise ValueError("the momentum map needs at least one positive eigenvalue")
    sizes = look(presentation)
    count = len(eigenvalues)
    gap = 0.08
    width = (1 - gap * (count - 1)) / count
    source = map_image()
    layout: dict = {"images": [], "annotations": [], "meta": {MAP_META: {}},
                    "height": height or (560 if presentation else 420), "plot_bgcolor": "white",
                    "font": {"size": sizes.ticks}, "showlegend": False, "hovermode": "closest",
                    "margin": {"l": 20, "r": 90, "t": int(2.2 * sizes.title + 16), "b": 20},
                    "title": {"text": "momentum's convergence rate per eigen-direction (α = lr, β = momentum)",
                              "x": 0.01, "xanchor": "left", "font": {"size": sizes.title * 0.8}}}
    data: list[dict] = []
    grid_x, grid_y = np.meshgrid(np.linspace(0, ALPHA_LAMBDA_MAX, 41), np.linspace(0, 0.98, 50))
    for index, eigenvalue in enumerate(eigenvalues):
        suffix = "" if index == 0 else str(index + 1)
        x_name, y_name = f"x{suffix}", f"y{suffix}"
        left = index * (width + gap)
        layout[f"xaxis{suffix}"] = {"domain": [left, left + width], "range": [0, ALPHA_LAMBDA_MAX], "anchor": y_name,
                                    "title": {"text": f"αλ{index + 1}   (λ{index + 1} = {eigenvalue:.4g}, "
                                                      f"lr = αλ/{eigenvalue:.4g})",
                                              "font": {"size": sizes.axis_title}},
                                    "showgrid": False, "zeroline": False, "tickfont": {"size": sizes.ticks}}
        layout[f"yaxis{suffix}"] = {"range": [0, 1], "anchor": x_name, "showgrid": False, "zeroline": False,
                                    "title": {"text": "β = momentum" if index == 0 else "",
                                              "font": {"size": sizes.axis_title}},
                                    "tickfont": {"size": sizes.ticks}}
        layout["images"].append({"source": source, "xref": x_name, "yref": y_name, "x": 0, "y": BETA_MAX,
                                 "sizex": ALPHA_LAMBDA_MAX, "sizey": BETA_MAX, "sizing": "stretch",
                                 "xanchor": "left", "yanchor": "top", "layer": "below"})
        layout["meta"][MAP_META][f"{x_name}y{suffix}"] = eigenvalue
        rates = momentum_rate(grid_x, grid_y).ravel()
        data.append({"type": "scatter", "x": grid_x.ravel(), "y": grid_y.ravel(), "mode": "markers",
                     "marker": {"size": 10, "color": "rgba(0,0,0,0)"}, "name": "settings",
                     "customdata": np.stack([grid_x.ravel() / eigenvalue, grid_y.ravel(), rates], axis=1),
                     "hovertemplate": "click: lr = %{customdata[0]:.4g}, momentum = %{customdata[1]:.3g}"
                                      "<br>rate %{customdata[2]:.3f}<extra></extra>",
                     "xaxis": x_name, "yaxis": y_name})
        setting = (lr * eigenvalue, momentum)
        rate = float(momentum_rate(*setting))
        data.append({"type": "scatter", "x": [min(setting[0], ALPHA_LAMBDA_MAX)], "y": [setting[1]],
                     "mode": "markers+text", "name": "current setting",
                     "text": [f"rate {rate:.3f}" if rate < 1 else "diverges"], "textposition": "top right",
                     "textfont": {"color": "white", "size": sizes.ticks},
                     "marker": {"size": 13 * sizes.marker, "color": "white", "line": {"color": "black", "width": 2}},
                     "hovertemplate": f"lr = {lr:.4g}, momentum = {momentum:.3g}: {momentum_regime(*setting)}"
                                      "<extra></extra>", "xaxis": x_name, "yaxis": y_name})
        for regime, (x, y) in REGIME_LABELS.items():
            layout["annotations"].append({"x": x, "y": y, "xref": x_name, "yref": y_name,
                                          "text": LABEL_TEXT.get(regime, regime), "name": regime,
                                          "showarrow": regime == "one-step convergence", "ax": 0, "ay": -80,
                                          "arrowcolor": "white", "yanchor": "bottom",
                                          "xanchor": "center" if regime in ("ripples", "divergence",
                                                                            "one-step convergence") else "left",
                                          "font": {"color": "white", "size": sizes.legend}})
    data.append({"type": "scatter", "x": [None, None], "y": [None, None], "mode": "markers", "hoverinfo": "skip",
                 "marker": {"color": [0, 1], "cmin": 0, "cmax": 1, "colorscale": COLOURSCALE, "showscale": True,
                            "colorbar": {"title": {"text": "rate"}, "len": 0.9, "thickness": 14}},
                 "xaxis": "x", "yaxis": "y"})
    return go.Figure(data=data, layout=layout, _validate=False)
