"""One warm headless Chromium per process (kaleido) that turns figure dicts into PNG or SVG bytes.

Starting Chromium and loading plotly.js takes seconds; a render in a warm browser a fraction
of one. So the browser is started by the first export and kept. It lives in a background
thread that runs its own event loop; any thread may submit figures to it, and threads that
submit at the same time share the browser's tabs safely.

kaleido's own ``start_sync_server`` is not used: its ``calc_fig_sync`` may hand one thread
another thread's image when two call at once, and it waits forever if the browser failed to
start. Here an error reaches the caller, and a browser that stopped answering is replaced.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Coroutine, Sequence
from typing import Any

import kaleido
from kaleido.errors import JavascriptError, KaleidoError

TABS = 2                # figures rendered at once: on this 2-core machine a 60-frame GIF took half the time of one tab
RENDER_TIMEOUT = 60.0   # seconds for one figure
START_TIMEOUT = 120.0   # seconds for Chromium to start


class Renderer:
    """A running kaleido browser and the event loop that drives it."""

    def __init__(self, tabs: int = TABS) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="exports-kaleido", daemon=True)
        self._thread.start()
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
