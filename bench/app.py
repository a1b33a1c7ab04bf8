"""Benchmarks of the Compare page (DESIGN §7): server time to re-render after a slider change,
the animated figure's payload, the time to the first chart in headless Chromium, and a step's
click-to-paint on the page (six cards × 500 steps).

Run: `make bench` (prints a Markdown table). Server time is measured with Streamlit's AppTest,
which runs the page script as the server does (widgets, caches, figure building, serialising
the figure into the chart's data): the time the Compare page's script takes, measured by
wrapping Streamlit's own `StreamlitPage.run` here in the benchmark (the app has no timing hook;
`AppTest.run`'s wall time would add its polling, up to ~0.1 s). The browser figures use a real
`streamlit run` and Chromium.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
SIX_CARDS = ["sgd,lr=0.1,colour=0", "momentum,lr=0.05,colour=1", "adagrad,lr=0.5,colour=2",
             "rmsprop,lr=0.05,colour=3", "adam,lr=0.1,colour=4", "nadam,lr=0.1,colour=5"]
QUERY = {"opt": SIX_CARDS, "steps": "500"}


def _timed_pages() -> list[float]:
    """Seconds of every page script run from now on (Streamlit's `StreamlitPage.run`, wrapped)."""
    from streamlit.navigation.page import StreamlitPage

    seconds: list[float] = []
    run = StreamlitPage.run

    def timed(self) -> None:
        began = time.perf_counter()
        try:
            run(self)
        finally:
            seconds.append(time.perf_counter() - began)

    StreamlitPage.run = timed
    return seconds


def rerender_times(repeats: int = 15) -> tuple[list[float], int]:
    """Server seconds per rerun after moving one card's learning rate (the Compare page's script,
    from its first widget to its last element); the chart's payload in bytes."""
    page_seconds = _timed_pages()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in QUERY.items():
        at.query_params[key] = value
    at.run()
    at.session_state["card0.open"] = True  # the user opened the card whose slider moves
    at.run()
    times = []
    for index in range(repeats):
        widget = at.number_input(key="card0.sgd.lr")
        widget.set_value(0.1 + 0.001 * (index + 1))
        at.run()
        times.append(page_seconds[-1])
    assert not at.exception, at.exception
    (chart,) = [e for e in at.get("bidi_component") if e.proto.component_name == "descent-lab.chart"]
    data = chart.proto.json
    json.loads(json.loads(data)["figure"])
    return times, len(data.encode())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """`streamlit run script` on a free port, for a `with` block; its base URL."""

    def __init__(self, script: str) -> None:
        self.script = script

    def __enter__(self) -> str:
        port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, *(["serve.py"] if self.script == "app.py" else ["-m", "streamlit", "run", self.script]),
             "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false"], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.2)
        return f"http://localhost:{port}/"

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)


# In the page, from its navigation start: when the first chart has painted (the frame after its
# SVG appeared), and when every widget is shown (the sidebar's first selectbox is there and no
# element is still a placeholder).
TIMINGS = """
new MutationObserver((records, observer) => {
  if (!document.querySelector('.js-plotly-plot .main-svg')) return;
  observer.disconnect();
  requestAnimationFrame(() => setTimeout(() => { window.__painted = performance.now(); }, 0));
}).observe(document, {subtree: true, childList: true});
new MutationObserver((records, observer) => {
  if (!document.querySelector('[data-testid=stSidebar] [data-testid=stSelectbox]')
      || document.querySelector('[data-testid=stSkeleton]')) return;
  observer.disconnect();
  window.__widgets = performance.now();
}).observe(document, {subtree: true, childList: true});
"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@dataclass(frozen=True)
class Open:
    """A new visitor's open: seconds from `goto` to the chart's SVG (Playwright's clock), and in
    the page, from its navigation start, to the chart painted and to every widget shown (None
    for the floor, which has none)."""

    seconds: float
    painted: float
    widgets: float | None


def first_chart_pairs(pairs: int = 8) -> list[tuple[Open, Open]]:
    """(app, floor) opens, new visitors (a fresh browser profile each), the two pages opened
    alternately on two servers that run side by side: the machine's load changes between pairs
    but hardly within one, so each pair's ratio is a fair comparison."""
    from playwright.sync_api import sync_playwright

    results = []
    with _Server("app.py") as app, _Server("bench/floor_app.py") as floor, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

        def opened(url: str) -> Open:
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_init_script(TIMINGS)
            page = context.new_page()
            began = time.perf_counter()
            page.goto(url)
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
            elapsed = time.perf_counter() - began
            page.wait_for_function("() => window.__painted !== undefined", timeout=30_000)
            widgets = None
            if url == app:
                page.wait_for_function("() => window.__widgets !== undefined", timeout=60_000)
                widgets = page.evaluate("() => window.__widgets") / 1000
            result = Open(elapsed, page.evaluate("() => window.__painted") / 1000, widgets)
            context.close()
            return result

        opened(app), opened(floor)  # each server's first page: its caches warm, as after a lecture's first visitor
        for index in range(pairs):
            first, second = (app, floor) if index % 2 == 0 else (floor, app)
            a, b = opened(first), opened(second)
            results.append((a, b) if first == app else (b, a))
        browser.close()
    return results


def step_click_to_paint(presses: int = 15) -> list[float]:
    """Milliseconds from pressing Next on the Compare page (six cards × 500 steps) to the frame
    painted, `presses` times (bench.chart's measure, on the app instead of the demo page)."""
    from playwright.sync_api import sync_playwright

    from bench.chart import click_to_paint

    query = urllib.parse.urlencode([(key, item) for key, value in QUERY.items()
                                    for item in (value if isinstance(value, list) else [value])])
    with _Server("app.py") as app, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{app}?{query}")
        page.wait_for_function("() => document.querySelector('.dl-chart')?.paints?.length >= 1", timeout=90_000)
        page.wait_for_timeout(1000)  # the rest of the page settles
        times = click_to_paint(page, presses)
        browser.close()
    return times


def _spread(values: list[float], unit: str = " s", digits: int = 2) -> str:
    return (f"{statistics.median(values):.{digits}f}{unit} ({min(values):.{digits}f}–{max(values):.{digits}f})")


def main() -> None:
    times, payload = rerender_times()
    pairs = first_chart_pairs()
    paints = step_click_to_paint()
    load = os.getloadavg()
    ratios = [a.seconds / f.seconds for a, f in pairs]
    painted = [a.painted / f.painted for a, f in pairs]
    print("| Compare page | measured | budget |")
    print("|---|---|---|")
    print(f"| server time to re-render after a slider change, 6 optimizers × 500 steps (median of {len(times)}) | "
          f"{statistics.median(times) * 1e3:.0f} ms (min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}) "
          f"| ≤ 150 ms |")
    print(f"| animated figure payload, 6 optimizers × 500 steps | {payload / 1e6:.3f} MB | ≤ 1 MB |")
    print(f"| first chart of the whole app, new visitor: app / floor, {len(pairs)} alternating pairs | "
          f"median {_spread(ratios, '×')} | ≤ 0.8× |")
    print(f"| … the same, painted, in the page's own clock | median {_spread(painted, '×')} | |")
    print(f"| … the app's first chart | {_spread([a.seconds for a, _ in pairs])} | |")
    print(f"| … the floor: a bare page with one 3-point st.plotly_chart | {_spread([f.seconds for _, f in pairs])} | |")
    shown = _spread([a.painted for a, _ in pairs])
    print(f"| … every widget of the app shown (page clock; the chart painted: {shown}) "
          f"| {_spread([a.widgets for a, _ in pairs])} | |")
    print(f"| step: press Next → the frame painted, Compare page, 6 optimizers × 500 steps ({len(paints)} presses) | "
          f"median {_spread(paints, ' ms', 0)} | ≤ 100 ms |")
    print(f"| load average (1, 5, 15 min) after the run | {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} | |")


if __name__ == "__main__":
    main()
