"""Real-browser fixtures: the app served by `streamlit run`, one Chromium, a fresh page per test.

Every test leaves a full-page screenshot in tests/artifacts/<test name>.png, also when it fails.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1600, "height": 1100}
STARTUP_SECONDS = 60


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the served app in a real Chromium (slow)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


def _stop(process: subprocess.Popen) -> None:
    """End the server and everything it started (its own process group)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts (git-ignored): screenshots, timings, the server's log."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@contextlib.contextmanager
def _served(script: str, log_name: str):
    """`streamlit run <script>` on a free port until the block ends; yields its base URL. The app
    itself is served as `make run` serves it (serve.py)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = open(ARTIFACTS / log_name, "w")  # closed at teardown
    command = ["serve.py"] if script == "app.py" else ["-m", "streamlit", "run", script]
    process = subprocess.Popen(
        [sys.executable, *command, "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         # Others edit the sources while this runs: a hot reload mid-session would test a mix of versions.
         "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(f"streamlit exited with code {process.returncode}; see {log.name}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer {url}/_stcore/health within {STARTUP_SECONDS} s; "
                            f"see {log.name}")
            time.sleep(0.25)
        yield url
    finally:
        _stop(process)
        log.close()


@pytest.fixture(scope="session")
def app_url():
    """The app as a user runs it, on a free port; its base URL."""
    with _served("app.py", "streamlit_server.log") as url:
        yield url


@pytest.fixture(scope="session")
def chart_demo_url():
    """tests/chart/demo_app.py (one `chart.plotly_chart`) served on a free port; its base URL."""
    with _served("tests/chart/demo_app.py", "chart_demo_server.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Debian's) for the whole session."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _screenshot(page, path: Path) -> None:
    """The whole page. Streamlit scrolls inside its main section, not the document, so the viewport is
    first made as tall as that section's content (the width stays the same)."""
    try:
        height = page.evaluate("() => document.querySelector('[data-testid=stMain]')?.scrollHeight ?? 0")
        if height > VIEWPORT["height"]:
            page.set_viewport_size({"width": VIEWPORT["width"], "height": min(int(height), 8000)})
            page.wait_for_timeout(500)
    except Exception as error:  # a broken page still gets its screenshot
        print(f"could not measure the page for {path.name}: {error}")
    page.screenshot(path=str(path), full_page=True)


@pytest.fixture
def new_page(browser, request):
    """A factory of pages, each in its own fresh context; every one is screenshotted at teardown.

    The first is saved as <test name>.png, later ones as <test name>-2.png, -3.png ...
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    contexts = []

    def make():
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for number, context in enumerate(contexts, start=1):
        suffix = "" if number == 1 else f"-{number}"
        try:
            for page in context.pages:
                _screenshot(page, ARTIFACTS / f"{request.node.name}{suffix}.png")
        finally:
            context.close()


@pytest.fixture
def page(new_page):
    return new_page()


# -- a server restart mid-session --------------------------------------------------------------
class RestartableServer:
    """serve.py on one port that can be stopped and started again on the same port, as a lecturer's
    server restarts under the students' open tabs."""

    def __init__(self, log) -> None:
        self.port = _free_port()
        self.url = f"http://localhost:{self.port}"
        self.log = log
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "serve.py", "--server.port", str(self.port), "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(self.url):
            assert self.process.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not answer its health check"
            time.sleep(0.25)

    def stop(self) -> None:
        _stop(self.process)


@pytest.fixture
def restartable(artifacts):
    with open(artifacts / "restarted_server.log", "w") as log:
        server = RestartableServer(log)
        server.start()
        yield server
        server.stop()
