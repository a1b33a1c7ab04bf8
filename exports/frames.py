"""`still`: one frame of an animated Plotly figure as a static figure, the way plotly.js would show it;
`animation_spec`: the frames of an exported animation, paths growing and each frame labelled."""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
import plotly.graph_objects as go

from figures.animation import CONTROLS_ROOM

PLAYBACK_CONTROLS = ("sliders", "updatemenus")


def still(figure: go.Figure, frame: int | None = None) -> go.Figure:
    """A static copy of `figure` showing animation frame `frame` (None: the last; negative
    counts from the end, as in a list).

    The frame's ``data[i]`` updates trace ``traces[i]`` (trace i if the frame names no
    traces) and its ``layout`` updates the layout, as ``Plotly.animate`` would; then the
    frames, sliders and play buttons are dropped. A still never carries playback controls:
    a figure without frames (say, one whose frames a caller dropped) comes back as a copy
    without its sliders and buttons. `figure` itself is never modified.

    >>> figure = go.Figure([go.Scatter(y=[0])], frames=[go.Frame(data=[go.Scatter(y=[k])]) for k in range(3)])
    >>> still(figure, 1).data[0].y
    (1,)
    """
    return go.Figure(still_spec(figure.to_dict(), frame), skip_invalid=False)


def still_spec(spec: dict[str, Any], frame: int | None = None) -> dict[str, Any]:
    """`still` on a figure's dict (``figure.to_dict()``): a new dict; `spec` is not modified.

    Parts of `spec` that the frame does not change are shared, not copied, so rendering
    many frames of one big figure stays cheap.
    """
    frames = spec.get("frames") or []
    if not frames:
        return {"data": spec.get("data") or [], "layout": _without_controls(spec.get("layout") or {})}
    shown = frames[_frame_index(frame, len(frames))]
    updates = shown.get("data") or []
    targets = shown.get("traces")
    targets = range(len(updates)) if targets is None else targets
    data = list(spec.get("data") or [])
    for target, update in zip(targets, updates, strict=False):
        # plotly.py gives every frame trace a type ("scatter" when none was given), so the
        # type says nothing about the trace being updated: plotly.js keeps the base trace's.
        data[target] = merge(data[target], {key: value for key, value in update.items() if key != "type"})
    layout = merge(spec.get("layout") or {}, shown.get("layout") or {})
    return {"data": data, "layout": _without_controls(layout)}


def _without_controls(layout: dict[str, Any]) -> dict[str, Any]:
    """The layout without play buttons and slider, and without the room they took under the
    plots when the figure says how much that was (``layout.meta.controls_room``, px)."""
    bare = {key: value for key, value in layout.items() if key not in PLAYBACK_CONTROLS}
    meta = layout.get("meta")
    room = meta.get(CONTROLS_ROOM) if isinstance(meta, dict) else None
    if room and any(key in layout for key in PLAYBACK_CONTROLS):
        margin = dict(bare.get("margin") or {})
        margin["b"] = max(0, margin.get("b", 0) - room)
        bare["margin"] = margin
        if isinstance(bare.get("height"), int | float):
            bare["height"] = bare["height"] - room
    return bare


def animation_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """`spec` (a figure dict whose frames are named by step, "0", "12", ...) as a GIF or MP4
    shows it: each frame also updates

    - every trace whose ``meta`` holds ``"grows": true`` to its points 0..k in the frame of
      step k (point i of such a trace is step i): the path grows with the animation;
    - every trace whose ``meta`` holds ``"step_label"`` (a template such as "step {step}") to
      that text.

    The interactive figure leaves this out: its frames carry only what moves, a few numbers
    each. A new dict; `spec` is not modified. Frames not named by a whole number are kept as they are.

    >>> spec = {"data": [{"x": [0, 1, 2], "y": [5, 6, 7], "meta": {"grows": True}},
    ...                  {"text": [""], "meta": {"step_label": "step {step}"}}],
    ...         "frames": [{"name": "1", "data": [], "traces": []}]}
    >>> animation_spec(spec)["frames"][0]["data"]
    [{'x': [0.0, 1.0], 'y': [5.0, 6.0]}, {'text': ['step 1']}]
    """
    data = spec.get("data") or []
    growing = {index: (_values(trace.get("x")), _values(trace.get("y"))) for index, trace in enumerate(data)
               if _meta(trace).get("grows")}
    labels = {index: str(_meta(trace)["step_label"]) for index, trace in enumerate(data)
              if "step_label" in _meta(trace)}
    if not growing and not labels:
        return spec
    frames = []
    for frame in spec.get("frames") or []:
        name = str(frame.get("name", ""))
        if not name.isdigit():
            frames.append(frame)
            continue
        step = int(name)
        updates = list(frame.get("data") or [])
        traces = list(frame.get("traces") if frame.get("traces") is not None else range(len(updates)))
        for index, (xs, ys) in growing.items():
            traces.append(index)
            updates.append({"x": _shown(xs[: step + 1]), "y": _shown(ys[: step + 1])})
        for index, template in labels.items():
            traces.append(index)
            updates.append({"text": [template.format(step=step)]})
        frames.append({**frame, "data": updates, "traces": traces})
    return {**spec, "frames": frames}


def _meta(trace: dict[str, Any]) -> dict[str, Any]:
    meta = trace.get("meta")
    return meta if isinstance(meta, dict) else {}


def _values(value: Any) -> np.ndarray:
    """A trace's array as floats: a list, or a typed array as ``figure.to_json`` writes NumPy arrays."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).astype(float)
    return np.array([math.nan if v is None else v for v in value or []], dtype=float)


def _shown(values: np.ndarray) -> list[float | None]:
    # Lists, not typed arrays: plotly.js decodes typed arrays when plotting, not in Plotly.animate.
    return [float(v) if math.isfinite(v) else None for v in values.tolist()]


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """`base` updated by `update`, plotly.js style: nested objects merge, anything else
    (numbers, strings, arrays, typed arrays) is replaced. Neither argument is modified."""
    merged = dict(base)
    for key, value in update.items():
        old = merged.get(key)
        merged[key] = merge(old, value) if _is_object(old) and _is_object(value) else value
    return merged


def _is_object(value: Any) -> bool:
    # A dict holding "bdata" is a typed array (how to_dict stores NumPy arrays): a value, not an object.
    return isinstance(value, dict) and "bdata" not in value


def _frame_index(frame: int | None, count: int) -> int:
    if frame is None:
        return count - 1
    if not -count <= frame < count:
        raise IndexError(f"frame {frame} is out of range: the figure has {count} frames")
    return frame % count
