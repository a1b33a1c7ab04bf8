"""Benchmarks of `chart.plotly_chart` in headless Chromium (issue 8, DESIGN §7), in one run:

- first chart: the demo page (tests/chart/demo_app.py with the real Compare figure, 6 optimizers ×
  500 steps) against the floor (bench/floor_app.py: one 3-point `st.plotly_chart`), new visitors;
- click → paint of a step (Next), over `clicks` presses: from the pointerdown's event time to the
  first animation frame after the step label changed;
- playback at 1× and 4×: animation frames advanced per second and frames painted per second,
  against what the speed asks (1000 / frame_ms × speed);
- the same figure's Plotly Play (redraw: true, every frame redrawn, as st.plotly_chart plays it)
  in the same bundle, and with redraw: false, to show where the time goes.

Run: `python -m bench.chart` (prints a Markdown table).
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1600, "height": 1100}
DEMO = "tests/chart/demo_app.py"
COMPARE = "?figure=compare&steps=500"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run script` on a free port, for a `with` block."""

    def __init__(self, script: str):
        self.script = script

    def __enter__(self) -> str:
        port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", self.script, "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        url = f"http://localhost:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    return url
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.script} did not start")

    def __exit__(self, *exc) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)


def first_chart(browser, url: str, selector: str) -> float:
    """Seconds from goto to `selector` present, in a fresh profile (a new visitor)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(selector, timeout=60_000)
    seconds = time.perf_counter() - start
    context.close()
    return seconds


def open_demo(browser, url: str):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_function("() => document.querySelector('.dl-chart')?.paints?.length >= 1", timeout=60_000)
    page.wait_for_timeout(500)
    return context, page, errors


CLICK_TO_PAINT = """async (before) => {
  const root = document.querySelector('.dl-chart');
  const pressed = window.__pressed;
  await new Promise(resolve => {
    const check = () => root.dataset.step !== before
      ? requestAnimationFrame(() => resolve()) : requestAnimationFrame(check);
    check();
  });
  return performance.now() - pressed;
}"""


def click_to_paint(page, clicks: int) -> list[float]:
    page.evaluate("() => document.addEventListener('pointerdown', e => { window.__pressed = e.timeStamp; }, true)")
    page.fill(".dl-chart .dl-scrub", "0")
    page.wait_for_function("() => document.querySelector('.dl-chart').dataset.step === '0'")
    button = page.locator(".dl-chart .dl-next").bounding_box()
    times = []
    for _ in range(clicks):
        page.mouse.move(button["x"] + button["width"] / 2, button["y"] + button["height"] / 2)
        before = page.get_attribute(".dl-chart", "data-step")
        page.mouse.down()
        page.mouse.up()
        times.append(page.evaluate(CLICK_TO_PAINT, before))
        page.wait_for_timeout(100)
    return times


def playback(page, speed: str, seconds: float = 3.0) -> tuple[float, float, float]:
    """(frames advanced per second, frames painted per second, frames per second asked)."""
    page.select_option(".dl-chart .dl-speed", speed)
    page.fill(".dl-chart .dl-scrub", "0")
    page.wait_for_function("() => document.querySelector('.dl-chart').dataset.step === '0'")
    page.wait_for_timeout(200)
    frames = page.evaluate("() => document.querySelector('.dl-chart .js-plotly-plot')._transitionData._frames.length")
    seconds = min(seconds, 0.8 * frames * 0.060 / float(speed))  # stop before the last frame
    start = page.evaluate("() => ({t: performance.now(), n: document.querySelector('.dl-chart').paints.length})")
    page.click(".dl-chart .dl-play")
    page.wait_for_timeout(seconds * 1000)
    end = page.evaluate("""() => { const r = document.querySelector('.dl-chart');
        const names = Array.from(r.querySelectorAll('.dl-scrub')).map(s => Number(s.value));
        return {t: performance.now(), n: r.paints.length, index: names[0], playing: r.dataset.playing}; }""")
    page.click(".dl-chart .dl-play") if end["playing"] == "true" else None
    elapsed = (end["t"] - start["t"]) / 1000
    asked = 1000 / 60 * float(speed)
    return end["index"] / elapsed, (end["n"] - start["n"]) / elapsed, asked


PLOTLY_PLAY = """async (redraw) => {
  const gd = document.querySelector('.dl-chart .js-plotly-plot');
  const names = gd._transitionData._frames.map(f => f.name).slice(0, 40);
  let painted = 0;
  const onFrame = () => { painted += 1; };
  gd.on('plotly_animatingframe', onFrame);
  const t0 = performance.now();
  await window.Plotly.animate(gd, names, {frame: {duration: 60, redraw}, transition: {duration: 0}, mode: 'immediate'})
    .catch(() => {});
  const seconds = (performance.now() - t0) / 1000;
  gd.removeListener('plotly_animatingframe', onFrame);
  return names.length / seconds;
}"""


def _progress(message: str) -> None:
    print(f"[bench.chart] {message}", file=sys.stderr, flush=True)


def main(clicks: int = 15) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        with Server(DEMO) as demo_url, Server("bench/floor_app.py") as floor_url:
            first_chart(browser, f"{demo_url}/{COMPARE}", ".dl-chart .js-plotly-plot .main-svg")  # server warm-up
            first_chart(browser, floor_url, ".js-plotly-plot .main-svg")
            _progress("servers warm")
            ours, floor = [], []
            for _ in range(5):  # interleaved, so both see the same machine load
                ours.append(first_chart(browser, f"{demo_url}/{COMPARE}", ".dl-chart .js-plotly-plot .main-svg"))
                floor.append(first_chart(browser, floor_url, ".js-plotly-plot .main-svg"))
            context, page, errors = open_demo(browser, f"{demo_url}/{COMPARE}")
            _progress("first charts measured")
            paints = click_to_paint(page, clicks)
            _progress("click to paint measured")
            one = playback(page, "1")
            four = playback(page, "4")
            _progress("playback measured")
            plotly_redraw = page.evaluate(PLOTLY_PLAY, True)
            plotly_fast = page.evaluate(PLOTLY_PLAY, False)
            context.close()
        browser.close()
    ratios = [o / f for o, f in zip(ours, floor, strict=True)]
    print("| chart.plotly_chart, Compare figure 6 optimizers × 500 steps | measured |")
    print("|---|---|")
    print(f"| first chart, demo page, new visitor (5 opens) | median {statistics.median(ours):.2f} s "
          f"({min(ours):.2f}–{max(ours):.2f}) |")
    print(f"| first chart, floor (one 3-point st.plotly_chart), same run | median {statistics.median(floor):.2f} s "
          f"({min(floor):.2f}–{max(floor):.2f}) |")
    print(f"| ratio demo / floor, pairwise | median {statistics.median(ratios):.2f} "
          f"({min(ratios):.2f}–{max(ratios):.2f}) |")
    print(f"| Next click → paint ({len(paints)} clicks) | median {statistics.median(paints):.0f} ms "
          f"({min(paints):.0f}–{max(paints):.0f}) |")
    for label, (advanced, painted, asked) in (("1×", one), ("4×", four)):
        print(f"| playback {label}: frames advanced / painted per second (asked {asked:.1f}) | "
              f"{advanced:.1f} / {painted:.1f} |")
    print(f"| Plotly's own play of 40 frames at 60 ms, redraw: true (as st.plotly_chart) | "
          f"{plotly_redraw:.1f} frames/s |")
    print(f"| … redraw: false | {plotly_fast:.1f} frames/s (asked 16.7) |")
    print(f"| page errors / console errors | {len(errors)} |")


if __name__ == "__main__":
    main()
