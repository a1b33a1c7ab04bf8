"""The shared browser: one per process, safe to call from several threads, and failing loudly instead of hanging."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import imageio.v3 as iio
import kaleido
import numpy as np
import pytest
from kaleido.errors import ChromeNotFoundError

from exports import renderer, still, to_gif, to_png, to_svg


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

    with pytest.raises(renderer.PlotError, match="the figure's data is not a list of traces"):
        renderer.render([{"data": 5, "layout": {}}], {"format": "png"})
    with pytest.raises(ValueError, match="cannot render 'pdf' images"):
        renderer.render([{"data": [], "layout": {}}], {"format": "pdf"})

    assert renderer._renderer is browser
    assert iio.imread(to_png(figure, width=100, height=80, scale=1), extension=".png").shape[:2] == (80, 100)


def test_images_are_kaleido_s_own_pixel_for_pixel(figure):
    """The plot tabs run kaleido's Plotly.toImage call without its reload: the same image."""
    spec = still(figure).to_dict()
    for options in ({"format": "png", "width": 420, "height": 300, "scale": 2},
                    {"format": "png", "width": 300, "height": 200, "scale": 1}):
        ours = iio.imread(renderer.render([spec], options)[0], extension=".png")
        theirs = iio.imread(kaleido.calc_fig_sync(spec, opts=options), extension=".png")

        assert ours.shape == theirs.shape == (options["height"] * options["scale"],
                                              options["width"] * options["scale"], 4)
        np.testing.assert_array_equal(ours, theirs)
    svg = to_svg(figure, width=300, height=200).decode()
    assert svg.startswith("<svg") and 'width="300"' in svg


def test_a_tab_that_served_its_calls_is_replaced_and_images_stay_right(figure, monkeypatch):
    monkeypatch.setattr(renderer, "REOPEN_AFTER", 3)
    monkeypatch.setattr(renderer, "COLLECT_EVERY", 2)
    sizes = [(100 + 10 * k, 60 + 10 * k) for k in range(7)]

    images = [to_png(figure, width=width, height=height, scale=1) for width, height in sizes]

    assert [iio.imread(png, extension=".png").shape[1::-1] for png in images] == sizes


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

    with pytest.raises(renderer.PlotError, match="plotly.js could not plot the figure"):
        renderer.render_frames({"data": [], "layout": {}, "frames": [{"data": 5}]}, [0, 1], 100, 100)

    assert renderer._renderer is browser
    assert len(renderer.render_frames(figure.to_plotly_json() | {"frames": []}, [], 100, 100)) == 0
