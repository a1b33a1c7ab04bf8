"""The shared browser: one per process, safe to call from several threads, and failing loudly instead of hanging."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import imageio.v3 as iio
import pytest
from kaleido.errors import ChromeNotFoundError, KaleidoError

from exports import renderer, to_gif, to_png


def test_threads_exporting_at_once_each_get_their_own_image(figure):
    sizes = [(200, 100), (220, 120), (240, 140), (260, 160)]

    with ThreadPoolExecutor(len(sizes)) as pool:
        images = list(pool.map(lambda size: to_png(figure, width=size[0], height=size[1], scale=1), sizes))

    assert [iio.imread(png, extension=".png").shape[1::-1] for png in images] == sizes


def test_the_browser_is_started_once_and_kept(figure):
    to_png(figure, width=100, height=100)
    browser = renderer._renderer

    to_png(figure, width=100, height=100)

    assert browser is not None and renderer._renderer is browser


def test_a_figure_plotly_js_refuses_is_an_error_and_the_browser_is_kept(figure):
    to_png(figure, width=100, height=100)
    browser = renderer._renderer

    with pytest.raises(KaleidoError):
        renderer.render([{"data": 5, "layout": {}}], {"format": "png"})

    assert renderer._renderer is browser


def test_a_missing_browser_is_an_error_not_a_hang(monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")

    with pytest.raises(ChromeNotFoundError):
        renderer.Renderer()


def test_threads_making_animations_at_once_each_get_their_own_frames(figure):
    sizes = [(120, 60), (140, 80), (160, 100)]

    with ThreadPoolExecutor(len(sizes)) as pool:
        gifs = list(pool.map(lambda size: to_gif(figure, width=size[0], height=size[1], max_frames=5), sizes))

    assert [iio.imread(gif, extension=".gif", index=None).shape[:3] for gif in gifs] == [
        (5, height, width) for width, height in sizes]


def test_frames_plotly_js_refuses_are_an_error_and_the_browser_is_kept(figure):
    to_png(figure, width=100, height=100)
    browser = renderer._renderer

    with pytest.raises(renderer.FrameRenderError, match="plotly.js could not render the frames"):
        renderer.render_frames({"data": [], "layout": {}, "frames": [{"data": 5}]}, [0, 1], 100, 100)

    assert renderer._renderer is browser
    assert len(renderer.render_frames(figure.to_plotly_json() | {"frames": []}, [], 100, 100)) == 0
