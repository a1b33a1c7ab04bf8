"""`still`: one frame of an animated Plotly figure as a static figure, the way plotly.js would show it."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

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
    return {key: value for key, value in layout.items() if key not in PLAYBACK_CONTROLS}


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
