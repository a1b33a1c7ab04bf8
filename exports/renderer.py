"""One warm headless Chromium per process (kaleido) that turns figure dicts into PNG or SVG bytes.

Starting Chromium and loading plotly.js takes seconds; a render in a warm browser a fraction
of one. So the browser is started by the first export and kept. It lives in a background
thread that runs its own event loop; any thread may submit figures to it, and threads that
submit at the same time share the browser's tabs safely.

An animation's frames are not rendered one kaleido call each: kaleido reloads its tab (and
plotly.js) after every figure. `render_frames` plots the figure once in a tab of the same
browser that keeps plotly.js loaded, and steps it through the frames there (frames_tab.js):
60 frames of the Compare figure take about 4 s; one kaleido render each, 40 took 16 s.

kaleido's own ``start_sync_server`` is not used: its ``calc_fig_sync`` may hand one thread
another thread's image when two call at once, and it waits forever if the browser failed to
start. Here an error reaches the caller, and a browser that stopped answering is replaced.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

import kaleido
import plotly.offline
from choreographer import Tab
from kaleido.errors import JavascriptError, KaleidoError

TABS = 2                # figures rendered at once: on this 2-core machine a 60-frame GIF took half the time of one tab
RENDER_TIMEOUT = 60.0   # seconds for one figure
FRAME_TIMEOUT = 2.0     # seconds more for each frame stepped in the frames tab (about 0.07 s here)
START_TIMEOUT = 120.0   # seconds for Chromium to start
FRAMES_SCRIPT = Path(__file__).with_name("frames_tab.js")


class FrameRenderError(RuntimeError):
    """plotly.js could not plot or step the figure in the frames tab (the figure's fault, not the browser's)."""


class Renderer:
    """A running kaleido browser and the event loop that drives it."""

    def __init__(self, tabs: int = TABS) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="exports-kaleido", daemon=True)
        self._thread.start()
        self._frames_lock = asyncio.Lock()
        self._frames_tab: tuple[Tab, str] | None = None  # the tab and its `window` object's id
        try:
            self._browser = self._wait(self._open(tabs), START_TIMEOUT)
        except BaseException:
            self._stop_loop()
            raise

    @staticmethod
    async def _open(tabs: int) -> kaleido.Kaleido:
        # No MathJax: the figures here use no LaTeX, and it would be fetched from a CDN on every page load.
        browser = kaleido.Kaleido(n=tabs, timeout=RENDER_TIMEOUT, mathjax=False)
        await browser.open()
        return browser

    def render(self, figures: Sequence[dict[str, Any]], options: dict[str, Any]) -> list[bytes]:
        """Every figure rendered with kaleido `options` (format, width, height, scale), in order."""
        return self._wait(self._render_all(figures, options), RENDER_TIMEOUT * (len(figures) + 1))

    async def _render_all(self, figures: Sequence[dict[str, Any]], options: dict[str, Any]) -> list[bytes]:
        # Each call takes a free tab (and waits for one when all are busy), so figures from
        # one batch or from several threads are spread over the tabs.
        return list(await asyncio.gather(*(self._browser.calc_fig(figure, opts=options) for figure in figures)))

    def render_frames(self, spec: dict[str, Any], indices: Sequence[int], width: int, height: int) -> list[bytes]:
        """PNG bytes of frames `indices` of `spec` (a JSON-ready figure dict with frames), `width` × `height`.

        Frames are applied in the given order, each as Plotly.animate applies it, to one plot.
        """
        return self._wait(self._render_frames(spec, list(indices), width, height),
                          RENDER_TIMEOUT + FRAME_TIMEOUT * len(indices))

    async def _render_frames(self, spec: dict[str, Any], indices: list[int], width: int,
                             height: int) -> list[bytes]:
        async with self._frames_lock:  # one animation at a time in the frames tab
            if self._frames_tab is None:
                self._frames_tab = await self._open_frames_tab()
            tab, window = self._frames_tab
            response = await tab.send_command("Runtime.callFunctionOn", params={
                "functionDeclaration": "function (...args) { return this.descentLabFrames(...args); }",
                "objectId": window,
                "arguments": [{"value": value} for value in (spec, indices, width, height)],
                "awaitPromise": True,
                "returnByValue": True,
            })
            return [base64.b64decode(image) for image in _javascript_value(response)]

    def layout_boxes(self, spec: dict[str, Any], width: int, height: int) -> dict[str, list[list[float]]]:
        """Where the parts of `spec` land when plotted `width` × `height`: part name ("title",
        "legend", "legend_items", "updatemenus", "sliders", "annotations", "x2_title", "y_ticks",
        "x_plot", "scene", ...) -> boxes [left, top, right, bottom] in pixels from the top left.
        An axis's "_plot" box spans only its own direction (the other is 0, 0)."""
        return self._wait(self._layout_boxes(spec, width, height), RENDER_TIMEOUT)

    async def _layout_boxes(self, spec: dict[str, Any], width: int, height: int) -> dict[str, list[list[float]]]:
        async with self._frames_lock:
            if self._frames_tab is None:
                self._frames_tab = await self._open_frames_tab()
            tab, window = self._frames_tab
            response = await tab.send_command("Runtime.callFunctionOn", params={
                "functionDeclaration": "function (...args) { return this.descentLabBoxes(...args); }",
                "objectId": window,
                "arguments": [{"value": value} for value in (spec, width, height)],
                "awaitPromise": True,
                "returnByValue": True,
            })
            return _javascript_value(response)

    async def _open_frames_tab(self) -> tuple[Tab, str]:
        tab = await self._browser.create_tab("")
        script = plotly.offline.get_plotlyjs() + "\n" + FRAMES_SCRIPT.read_text(encoding="utf-8")
        _javascript_value(await tab.send_command("Runtime.evaluate", params={"expression": script}))
        window = await tab.send_command("Runtime.evaluate", params={"expression": "window"})
        return tab, window["result"]["result"]["objectId"]

    def close(self) -> None:
        if self._loop.is_closed() or not self._thread.is_alive():
            return
        try:
            self._wait(self._browser.close(), 10.0)
        except Exception:  # noqa: BLE001  (closing is best effort: the browser may be gone already)
            pass
        self._stop_loop()

    def _wait(self, coroutine: Coroutine[Any, Any, Any], timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10.0)
        if not self._thread.is_alive():
            self._loop.close()


_renderer: Renderer | None = None
_renderer_lock = threading.Lock()


def render(figures: Sequence[dict[str, Any]], options: dict[str, Any]) -> list[bytes]:
    """Render figure dicts with the process's warm browser, starting it on first use.

    An error in a figure (plotly.js refused it) is raised and the browser kept; any other
    error (a timeout, a browser that died) is raised and the browser replaced on the next call.
    """
    renderer = _get_renderer()
    try:
        return renderer.render(figures, options)
    except (KaleidoError, JavascriptError):
        raise
    except Exception:
        _discard(renderer)
        raise


def render_frames(spec: dict[str, Any], indices: Sequence[int], width: int, height: int) -> list[bytes]:
    """`Renderer.render_frames` with the process's warm browser; errors as in `render`."""
    renderer = _get_renderer()
    try:
        return renderer.render_frames(spec, indices, width, height)
    except FrameRenderError:
        raise
    except Exception:
        _discard(renderer)
        raise


def layout_boxes(spec: dict[str, Any], width: int, height: int) -> dict[str, list[list[float]]]:
    """`Renderer.layout_boxes` with the process's warm browser; errors as in `render_frames`."""
    renderer = _get_renderer()
    try:
        return renderer.layout_boxes(spec, width, height)
    except FrameRenderError:
        raise
    except Exception:
        _discard(renderer)
        raise


def _javascript_value(response: dict[str, Any]) -> Any:
    """The value a DevTools Runtime call returned, or FrameRenderError with what JavaScript threw."""
    if "error" in response:
        raise RuntimeError(f"DevTools refused the call: {response['error'].get('message', response['error'])}")
    result = response.get("result", {})
    if "exceptionDetails" in result:
        details = result["exceptionDetails"]
        thrown = details.get("exception", {}).get("description") or details.get("text") or "an error"
        raise FrameRenderError(f"plotly.js could not render the frames: {thrown.splitlines()[0]}")
    return result.get("result", {}).get("value")


def _get_renderer() -> Renderer:
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            _renderer = Renderer()
            atexit.register(_renderer.close)
        return _renderer


def _discard(renderer: Renderer) -> None:
    global _renderer
    with _renderer_lock:
        if _renderer is renderer:
            _renderer = None
    atexit.unregister(renderer.close)
    threading.Thread(target=renderer.close, daemon=True).start()
