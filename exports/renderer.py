"""One warm headless Chromium per process that turns figure dicts into PNG or SVG bytes.

Starting Chromium takes seconds, so the browser is started by the first export and kept. It
lives in a background thread that runs its own event loop; any thread may submit figures to it.

The figures are plotted in the browser's plot tabs (`TABS` of them), each with plotly.js loaded
once and plot_tab.js beside it; a call takes a free tab and waits while every tab is busy.
kaleido starts the browser, but its own render is not used: kaleido reloads its tab, and so
parses plotly.js again, after every figure. For the Compare figure's PNG (300 steps, 2400 × 1200
px) that took 0.72 s of Chromium's CPU; the same Plotly.toImage in a tab that stays loaded takes
0.32 s, the same pixels (tests/exports/test_renderer.py). An animation's frames are plotted
once and stepped through in place (`render_frames`): 60 frames of the Compare figure take about
4 s; one image each, 40 took 16 s.

kaleido's own ``start_sync_server`` is not used either: its ``calc_fig_sync`` may hand one thread
another thread's image when two call at once, and it waits forever if the browser failed to
start. Here an error reaches the caller, and a browser that stopped answering is replaced.
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kaleido
import plotly.offline
from choreographer import Tab

TABS = 2                # figures plotted at once: on this 2-core machine a 60-frame GIF took half the time of one tab
# A tab that stays loaded keeps what each figure left (canvases, images) until V8 collects it, and
# it collects lazily: a tab grew from 230 to 460-550 MB within 25 PNGs and stayed there. A full
# collection every 10 calls keeps it at 220-230 MB for about 14 ms a call (one costs 0.14 s).
COLLECT_EVERY = 10
REOPEN_AFTER = 1000     # calls a tab serves before a fresh one replaces it (whatever a collection misses)
RENDER_TIMEOUT = 60.0   # seconds for one figure
FRAME_TIMEOUT = 2.0     # seconds more for each frame stepped in place (about 0.07 s here)
START_TIMEOUT = 120.0   # seconds for Chromium to start
DEFAULT_SIZE = (700, 500)  # px, for a figure whose layout and options give no size (kaleido's default)
TEXT_FORMATS = ("svg",)
FORMATS = ("png", "jpeg", "webp", *TEXT_FORMATS)
PLOT_SCRIPT = Path(__file__).with_name("plot_tab.js")


class PlotError(RuntimeError):
    """plotly.js could not plot the figure (the figure's fault, not the browser's): the browser is kept."""


@dataclass
class _PlotTab:
    tab: Tab
    window: str  # the id of the tab's `window` object, whose functions plot_tab.js defines
    calls: int = 0


class Renderer:
    """A running headless Chromium, its plot tabs and the event loop that drives them."""

    def __init__(self, tabs: int = TABS) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="exports-kaleido", daemon=True)
        self._thread.start()
        try:
            self._browser, self._free = self._wait(self._open(tabs), START_TIMEOUT)
        except BaseException:
            self._stop_loop()
            raise

    @staticmethod
    async def _open(tabs: int) -> tuple[kaleido.Kaleido, asyncio.Queue[_PlotTab | None]]:
        # No MathJax: the figures here use no LaTeX, and it would be fetched from a CDN on every page load.
        browser = kaleido.Kaleido(n=1, timeout=RENDER_TIMEOUT, mathjax=False)
        await browser.open()
        free: asyncio.Queue[_PlotTab | None] = asyncio.Queue()
        for _ in range(tabs):  # a place for a tab, opened when first needed
            free.put_nowait(None)
        return browser, free

    def render(self, figures: Sequence[dict[str, Any]], options: dict[str, Any]) -> list[bytes]:
        """Every figure rendered with `options` (format, width, height, scale, as kaleido's), in order."""
        return self._wait(self._render_all(figures, options), RENDER_TIMEOUT * (len(figures) + 1))

    async def _render_all(self, figures: Sequence[dict[str, Any]], options: dict[str, Any]) -> list[bytes]:
        # Each figure takes a free tab, so the figures of one batch or of several threads are spread over them.
        return list(await asyncio.gather(*(self._image(figure, options) for figure in figures)))

    async def _image(self, figure: dict[str, Any], options: dict[str, Any]) -> bytes:
        image_format = options.get("format", "png")
        if image_format not in FORMATS:
            raise ValueError(f"cannot render {image_format!r} images; formats: {', '.join(FORMATS)}")
        layout = figure.get("layout") if isinstance(figure, dict) else None
        layout = layout if isinstance(layout, dict) else {}
        width = options.get("width") or layout.get("width") or DEFAULT_SIZE[0]
        height = options.get("height") or layout.get("height") or DEFAULT_SIZE[1]
        image = await self._call("descentLabImage", figure, image_format, width, height, options.get("scale", 1))
        return image.encode("utf-8") if image_format in TEXT_FORMATS else base64.b64decode(image)

    def render_frames(self, spec: dict[str, Any], indices: Sequence[int], width: int, height: int) -> list[bytes]:
        """PNG bytes of frames `indices` of `spec` (a JSON-ready figure dict with frames), `width` × `height`.

        Frames are applied in the given order, each as Plotly.animate applies it, to one plot.
        """
        images = self._wait(self._call("descentLabFrames", spec, list(indices), width, height),
                            RENDER_TIMEOUT + FRAME_TIMEOUT * len(indices))
        return [base64.b64decode(image) for image in images]

    def layout_boxes(self, spec: dict[str, Any], width: int, height: int) -> dict[str, list[list[float]]]:
        """Where the parts of `spec` land when plotted `width` × `height`: part name ("title",
        "legend", "legend_items", "updatemenus", "sliders", "annotations", "x2_title", "y_ticks",
        "x_plot", "scene", ...) -> boxes [left, top, right, bottom] in pixels from the top left.
        An axis's "_plot" box spans only its own direction (the other is 0, 0)."""
        return self._wait(self._call("descentLabBoxes", spec, width, height), RENDER_TIMEOUT)

    async def _call(self, function: str, *arguments: Any) -> Any:
        """`window[function](...arguments)` in a free plot tab, its promise's value."""
        plot = await self._free.get()
        try:
            if plot is not None and plot.calls >= REOPEN_AFTER:
                await self._browser.close_tab(plot.tab.target_id)
                plot = None
            if plot is None:
                plot = await self._open_plot_tab()
            plot.calls += 1
            response = await plot.tab.send_command("Runtime.callFunctionOn", params={
                "functionDeclaration": f"function (...args) {{ return this.{function}(...args); }}",
                "objectId": plot.window,
                "arguments": [{"value": value} for value in arguments],
                "awaitPromise": True,
                "returnByValue": True,
            })
            if plot.calls % COLLECT_EVERY == 0:
                await plot.tab.send_command("HeapProfiler.collectGarbage")
            return _javascript_value(response)
        finally:
            self._free.put_nowait(plot)

    async def _open_plot_tab(self) -> _PlotTab:
        tab = await self._browser.create_tab("", window=True)  # a window each: a hidden tab gets no animation frames
        script = plotly.offline.get_plotlyjs() + "\n" + PLOT_SCRIPT.read_text(encoding="utf-8")
        _javascript_value(await tab.send_command("Runtime.evaluate", params={"expression": script}))
        window = await tab.send_command("Runtime.evaluate", params={"expression": "window"})
        return _PlotTab(tab, window["result"]["result"]["objectId"])

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

    An error in a figure (plotly.js refused it: PlotError; a format it cannot make: ValueError) is
    raised and the browser kept; any other error (a timeout, a browser that died) is raised and the
    browser replaced on the next call.
    """
    return _with_renderer(Renderer.render, figures, options)


def render_frames(spec: dict[str, Any], indices: Sequence[int], width: int, height: int) -> list[bytes]:
    """`Renderer.render_frames` with the process's warm browser; errors as in `render`."""
    return _with_renderer(Renderer.render_frames, spec, indices, width, height)


def layout_boxes(spec: dict[str, Any], width: int, height: int) -> dict[str, list[list[float]]]:
    """`Renderer.layout_boxes` with the process's warm browser; errors as in `render`."""
    return _with_renderer(Renderer.layout_boxes, spec, width, height)


def _with_renderer(method: Callable[..., Any], *arguments: Any) -> Any:
    renderer = _get_renderer()
    try:
        return method(renderer, *arguments)
    except (PlotError, ValueError):  # the figure's fault: the browser is fine
        raise
    except Exception:
        _discard(renderer)
        raise


def _javascript_value(response: dict[str, Any]) -> Any:
    """The value a DevTools Runtime call returned, or PlotError with what JavaScript threw."""
    if "error" in response:
        raise RuntimeError(f"DevTools refused the call: {response['error'].get('message', response['error'])}")
    result = response.get("result", {})
    if "exceptionDetails" in result:
        details = result["exceptionDetails"]
        thrown = details.get("exception", {}).get("description") or details.get("text") or "an error"
        raise PlotError(f"plotly.js could not plot the figure: {thrown.splitlines()[0]}")
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
