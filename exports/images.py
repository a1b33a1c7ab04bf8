"""Figures as files: PNG and SVG images of a frame, interactive HTML, and the animation as GIF or MP4."""

from __future__ import annotations

import io
import json
from typing import Any

import imageio.v3 as iio
import numpy as np
import plotly.graph_objects as go
from PIL import Image

from .frames import animation_spec, still_spec
from .renderer import render, render_frames

MP4_QUALITY = 7  # imageio's 0–10 scale; for libx264, 7 is CRF 15: thin lines and small text stay sharp


def to_png(figure: go.Figure, *, width: int = 1200, height: int = 600, scale: float = 2) -> bytes:
    """PNG of the figure's last frame (`still`), `width`·`scale` × `height`·`scale` pixels."""
    _check_size(width, height)
    return render([still_spec(figure.to_dict())], {"format": "png", "width": width, "height": height,
                                                   "scale": scale})[0]


def to_svg(figure: go.Figure, *, width: int = 1200, height: int = 600) -> bytes:
    """SVG of the figure's last frame (`still`), `width` × `height` user units."""
    _check_size(width, height)
    return render([still_spec(figure.to_dict())], {"format": "svg", "width": width, "height": height})[0]


def to_html(figure: go.Figure) -> bytes:
    """A standalone HTML page: the interactive figure with its animation (frames, play button,
    slider), plotly.js embedded so that it works offline. It opens paused."""
    return figure.to_html(include_plotlyjs=True, full_html=True, auto_play=False,
                          div_id="descent-lab-figure").encode("utf-8")


def to_gif(figure: go.Figure, *, width: int = 800, height: int = 400, fps: float = 10,
           max_frames: int = 60) -> bytes:
    """The animation as a looping GIF: at most `max_frames` frames spread evenly over the
    figure's frames, the first and last included (`frame_indices`), shown at `fps` frames per second.

    A figure without frames gives a one-frame GIF. Browsers slow down GIF frames shorter than
    20 ms, so `fps` is at most 50.
    """
    _check_rate(fps, highest=50)
    frames = animation_frames(figure, width=width, height=height, max_frames=max_frames)
    return gif_bytes(frames, fps)


def to_mp4(figure: go.Figure, *, width: int = 800, height: int = 400, fps: float = 10,
           max_frames: int = 60) -> bytes:
    """The animation as an H.264 MP4 (yuv420p, so that browsers play it): frames as in `to_gif`.

    `width` and `height` must be even (a yuv420p requirement). A figure without frames gives
    a one-frame video.
    """
    _check_rate(fps, highest=120)
    _check_size(width, height)
    if width % 2 or height % 2:
        raise ValueError(f"an MP4's width and height must be even, got {width} × {height}")
    frames = animation_frames(figure, width=width, height=height, max_frames=max_frames)
    # macro_block_size=2: imageio would otherwise resize to a multiple of 16.
    return iio.imwrite("<bytes>", frames, extension=".mp4", plugin="FFMPEG", fps=fps, codec="libx264",
                       pixelformat="yuv420p", macro_block_size=2, quality=MP4_QUALITY,
                       output_params=["-movflags", "+faststart"])  # playable before fully downloaded


def animation_frames(figure: go.Figure, *, width: int, height: int, max_frames: int) -> np.ndarray:
    """The frames chosen by `frame_indices`, rendered: (F, height, width, 3) uint8 RGB, as
    `animation_spec` makes them (paths that grow, a "step k" label).

    A figure whose frames only move scatter traces (the Compare figure) is plotted once and
    stepped through its frames as a browser plays it, each frame applied on top of the ones
    before: about 0.07 s a frame. Any other figure is rendered one frame at a time as `still`
    shows it (kaleido, about 0.4 s a frame): plotly.js steps only scatter traces in place, it
    drops contours and leaves a frame's layout changes undrawn. A figure without frames gives
    its one image.
    """
    _check_size(width, height)
    spec = animation_spec(json.loads(figure.to_json()))
    frames = spec.get("frames") or []
    indices = frame_indices(len(frames), max_frames) if frames else []
    if frames and steps_in_place(spec):
        images = render_frames(spec, indices, width, height)
    else:
        stills = [still_spec(spec, k) for k in indices] if frames else [still_spec(spec)]
        images = render(stills, {"format": "png", "width": width, "height": height, "scale": 1})
    return np.stack([_on_white(iio.imread(image, extension=".png", mode="RGBA")) for image in images])


def steps_in_place(spec: dict[str, Any]) -> bool:
    """Whether plotly.js can step the figure dict through its frames without redrawing it:
    every trace a scatter trace and no frame changing the layout."""
    return (all(trace.get("type", "scatter") == "scatter" for trace in spec.get("data") or [])
            and not any(frame.get("layout") for frame in spec.get("frames") or []))


def gif_bytes(frames: np.ndarray, fps: float) -> bytes:
    """(F, H, W, 3) uint8 frames as a GIF that loops forever, with one 256-colour palette for all
    frames and no dithering.

    A pixel that does not change then keeps its exact value from frame to frame, so every frame
    stores only what moved and the background does not shimmer. For 20 frames of the Compare
    figure at 800×400 this gave 72 kB; a palette per frame with dithering (imageio's default) 740 kB.
    """
    palette = gif_palette(np.concatenate([frames[0], frames[len(frames) // 2], frames[-1]]))
    images = [Image.fromarray(frame).quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=1000 / fps, loop=0)
    return buffer.getvalue()


def gif_palette(sample: np.ndarray, size: int = 256, greys: int = 96) -> Image.Image:
    """A palette image for (…, 3) uint8 pixels `sample`: exact when they hold at most `size`
    colours; otherwise up to `greys` entries for the shades of grey and the rest for the colours.

    A figure is mostly shades of grey (paper, contours, text) with a few coloured lines. Given
    one palette for all, Pillow's quantizers trade greys against the lines' anti-aliased edges:
    max-coverage and octree palettes tinted contour bands pink or teal, median cut merged the
    blue and green lines. Greys and colours are therefore quantized apart.
    """
    flat = sample.reshape(-1, 3)
    codes = np.unique(flat.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32))
    pixels = np.stack([codes >> 16, (codes >> 8) & 255, codes & 255], axis=1).astype(np.uint8)
    grey = (pixels == pixels[:, :1]).all(axis=1)
    levels, colours = pixels[grey], pixels[~grey]
    if len(pixels) > size:
        if len(levels) > greys:  # evenly spread over the shades in use
            levels = levels[np.round(np.linspace(0, len(levels) - 1, greys)).astype(int)]
        wanted = size - len(levels)
        if len(colours) > wanted:
            coloured = Image.fromarray(flat[(flat != flat[:, :1]).any(axis=1)][None])
            reduced = coloured.quantize(colors=wanted, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
            colours = np.array([colour for _, colour in reduced.convert("RGB").getcolors(maxcolors=size)],
                               dtype=np.uint8)
    entries = np.concatenate([levels, colours])
    palette = Image.new("P", (1, 1))
    palette.putpalette(entries.ravel().tolist() + entries[:1].ravel().tolist() * (256 - len(entries)))
    return palette


def frame_indices(count: int, max_frames: int) -> list[int]:
    """Indices of at most `max_frames` of `count` frames, evenly spread, the first and last included.

    >>> frame_indices(5, 60), frame_indices(11, 3)
    ([0, 1, 2, 3, 4], [0, 5, 10])
    """
    if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 2:
        raise ValueError(f"max_frames must be a whole number ≥ 2 (the first and the last frame), got {max_frames!r}")
    if count <= max_frames:
        return list(range(count))
    # Neighbouring picks are more than one frame apart, so rounding never picks one twice.
    return np.round(np.linspace(0, count - 1, max_frames)).astype(int).tolist()


def _on_white(image: np.ndarray) -> np.ndarray:
    """(H, W, 4) RGBA -> (H, W, 3) RGB as it looks on white (a figure's background may be transparent)."""
    alpha = image[..., 3:].astype(np.float32) / 255
    return np.round(image[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)


def _check_size(width: Any, height: Any) -> None:
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a whole number of pixels ≥ 1, got {value!r}")


def _check_rate(fps: Any, highest: float) -> None:
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps <= highest:
        raise ValueError(f"fps must be a number in (0, {highest:g}], got {fps!r}")
