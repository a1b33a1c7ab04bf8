"""Figures as files: PNG and SVG images of a frame, interactive HTML, and the animation as GIF or MP4."""

from __future__ import annotations

import io
from typing import Any

import imageio.v3 as iio
import numpy as np
import plotly.graph_objects as go
from PIL import Image

from .frames import still_spec
from .renderer import render

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
    """The frames chosen by `frame_indices`, rendered: (F, height, width, 3) uint8 RGB."""
    _check_size(width, height)
    spec = figure.to_dict()
    count = len(spec.get("frames") or [])
    stills = [still_spec(spec, k) for k in frame_indices(count, max_frames)] if count else [spec]
    images = render(stills, {"format": "png", "width": width, "height": height, "scale": 1})
    return np.stack([_on_white(iio.imread(image, extension=".png", mode="RGBA")) for image in images])


def gif_bytes(frames: np.ndarray, fps: float) -> bytes:
    """(F, H, W, 3) uint8 frames as a GIF that loops forever, with one 256-colour palette for all
    frames and no dithering.

    A pixel that does not change then keeps its exact value from frame to frame, so every frame
    stores only what moved and the background does not shimmer. For 20 frames of the Compare
    figure at 800×400 this gave 72 kB; a palette per frame with dithering (imageio's default) 740 kB.
    """
    sample = Image.fromarray(np.concatenate([frames[0], frames[len(frames) // 2], frames[-1]]))
    # Max-coverage keeps the frequent colours (white paper, grey contours, the palette's lines) exact.
    palette = sample.quantize(colors=256, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE)
    images = [Image.fromarray(frame).quantize(palette=palette, dither=Image.Dither.NONE) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=1000 / fps, loop=0)
    return buffer.getvalue()


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
