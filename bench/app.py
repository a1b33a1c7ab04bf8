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


def first_chart_seconds(opens: int = 3, script: str = "app.py", cached: bool = False) -> list[float]:
    """Seconds from opening the page to the figure drawn, for `opens` pages opened one after the
    other on a server that has served nothing yet: each in a fresh browser profile (an empty
    cache, a first visit), or with `cached` all in one (a returning visitor's cached scripts)."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port), "--server.headless",
         "true", "--browser.gatherUsageStats", "false"], cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.2)
        seconds = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--no-sandbox", "--disable-gpu"])
            shared = browser.new_context(viewport={"width": 1600, "height": 1100}) if cached else None
            for _ in range(opens):
                context = shared or browser.new_context(viewport={"width": 1600, "height": 1100})
                page = context.new_page()
                start = time.perf_counter()
                page.goto(f"http://localhost:{port}/")
                page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
                seconds.append(time.perf_counter() - start)
                page.close()
                if not cached:
                    context.close()
            browser.close()
        return seconds
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def main() -> None:
    times, payload = rerender_times()
    opens = first_chart_seconds()
    returning = first_chart_seconds(opens=5, cached=True)[1:]  # the first open fills the cache
    floor = first_chart_seconds(script="bench/floor_app.py")
    floor_returning = first_chart_seconds(opens=5, script="bench/floor_app.py", cached=True)[1:]
    print("| Compare page | measured | budget |")
    print("|---|---|---|")
    print(f"| server time to re-render after a slider change, 6 optimizers × 500 steps (median of {len(times)}) | "
          f"{statistics.median(times) * 1e3:.0f} ms (min {min(times) * 1e3:.0f}, max {max(times) * 1e3:.0f}) "
          f"| ≤ 150 ms |")
    print(f"| animated figure payload, 6 optimizers × 500 steps | {payload / 1e6:.3f} MB | ≤ 1 MB |")
    print(f"| first chart, default page, new visitor (empty browser cache), fresh server | {opens[0]:.2f} s "
          f"| ≤ 3 s |")
    print(f"| first chart, new visitor, later opens | {', '.join(f'{s:.2f}' for s in opens[1:])} s | ≤ 3 s |")
    print(f"| first chart, returning visitor (scripts in the browser's cache) | "
          f"{', '.join(f'{s:.2f}' for s in returning)} s | ≤ 3 s |")
    print(f"| … a page with only a header and a 3-point Plotly chart (the floor), new visitor | "
          f"{', '.join(f'{s:.2f}' for s in floor)} s | |")
    print(f"| … the floor, returning visitor | {', '.join(f'{s:.2f}' for s in floor_returning)} s | |")


if __name__ == "__main__":
    main()
