"""Benchmarks of the Compare page (DESIGN §7): server time to re-render after a slider change,
the animated figure's payload, and the time to the first chart in headless Chromium.

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
import urllib.request
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


def first_chart_pairs(pairs: int = 6) -> list[tuple[float, float]]:
    """(app, floor) seconds to the first chart, new visitors (a fresh browser profile each), the
    two pages opened alternately on two servers that run side by side: the machine's load
    changes between pairs but hardly within one, so each pair's ratio is a fair comparison."""
    from playwright.sync_api import sync_playwright

    results = []
    with _Server("app.py") as app, _Server("bench/floor_app.py") as floor, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])

        def seconds(url: str) -> float:
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            began = time.perf_counter()
            page.goto(url)
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
            elapsed = time.perf_counter() - began
            context.close()
            return elapsed

        seconds(app), seconds(floor)  # each server's first page: its caches warm, as after a lecture's first visitor
        for index in range(pairs):
            first, second = (app, floor) if index % 2 == 0 else (floor, app)
            a, b = seconds(first), seconds(second)
            results.append((a, b) if first == app else (b, a))
        browser.close()
    return results


def main() -> None:
    times, payload = rerender_times()
    pairs = first_chart_pairs()
    ratios = [a / f for a, f in pairs]
    print("| Compare page | measured | budget |")
    print("|---|---|---|")
    print(f"| server time to re-render after a slider change, 6 optimizers × 500 steps (median of {len(times)}) | "
          f"{statistics.median(times) * 1e3:.0f} ms (min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}) "
          f"| ≤ 150 ms |")
    print(f"| animated figure payload, 6 optimizers × 500 steps | {payload / 1e6:.3f} MB | ≤ 1 MB |")
    print(f"| first chart of the whole app, new visitor: app / floor, {len(pairs)} alternating pairs | "
          f"median {statistics.median(ratios):.2f}× (range {min(ratios):.2f}–{max(ratios):.2f}×) | ≤ 0.8× |")
    print(f"| … the app's first chart | {statistics.median(a for a, _ in pairs):.2f} s "
          f"({min(a for a, _ in pairs):.2f}–{max(a for a, _ in pairs):.2f}) | |")
    floors = [f for _, f in pairs]
    print(f"| … the floor: a bare page with one 3-point st.plotly_chart | {statistics.median(floors):.2f} s "
          f"({min(floors):.2f}–{max(floors):.2f}) | |")


if __name__ == "__main__":
    main()
