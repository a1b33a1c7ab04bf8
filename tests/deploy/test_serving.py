"""The deployment: the server started with the repository's .streamlit/config.toml serves the app
as a class needs it (CI has no Docker engine, so the image is built only where one answers), and
the Dockerfile holds what README "Run it for a class" promises."""

import asyncio
import concurrent.futures
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bench import load

ROOT = load.ROOT
DOCKERFILE = (ROOT / "Dockerfile").read_text()
CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


async def _open(base: str) -> load.Student:
    results = load.Results()
    me = load.Student(base, 0, results, load.random.Random(0))
    async with load.connect(base.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"],
                            max_size=None) as websocket:
        me.websocket = websocket
        await me.act("open", [])
    assert dict(results.errors) == {}
    return me


def test_the_server_started_with_the_config_serves_the_app_as_configured():
    with load.Server() as server:
        # In a thread of its own: Playwright's sync API (the browser tests) may keep an event loop
        # running in this one, and asyncio.run refuses to start inside a running loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            opened = pool.submit(asyncio.run, _open(server.url)).result()
        assert "compare.chart" in opened.ids  # the Compare page ran to its chart, no exception, no error
        assert opened.config.toolbar_mode == opened.config.VIEWER
        assert opened.config.gather_usage_stats is False
        # Streamlit's server loop is uvloop's when it is installed: a message a script thread hands
        # the loop wakes it without a self-pipe write that gives up the GIL (README "Run it for a class").
        assert "uvloop" in Path(f"/proc/{server.pid}/maps").read_text()


def test_the_config_is_sized_for_serving_the_app():
    server = CONFIG["server"]
    assert CONFIG["browser"]["gatherUsageStats"] is False
    assert CONFIG["client"]["toolbarMode"] == "viewer"
    assert server["headless"] is True and server["fileWatcherType"] == "none"
    assert server["maxUploadSize"] == 1  # the app takes no uploads
    assert 20 <= server["maxMessageSize"] <= 64  # the largest URL state's chart is about 17 MB
    # ui/session.py shuts a closed tab's session down after REAP_AFTER + REAP_EVERY seconds; Streamlit
    # must still hold it then (an expired session is never shut down by Streamlit itself).
    from ui import session

    assert session.REAP_AFTER + 2 * session.REAP_EVERY < server["disconnectedSessionTTL"]
    shown = subprocess.run([sys.executable, "-m", "streamlit", "config", "show"], cwd=ROOT, capture_output=True,
                           text=True, timeout=60).stdout
    for name, value in [("fileWatcherType", '"none"'), ("maxUploadSize", "1"), ("toolbarMode", '"viewer"')]:
        assert re.search(rf"^{name} = {value}$", shown, re.MULTILINE), f"streamlit did not read {name}"


def test_the_dockerfile_is_slim_non_root_healthchecked_and_has_chromium():
    assert re.search(r"^FROM python:3\.11-slim", DOCKERFILE, re.MULTILINE)
    assert re.search(r"apt-get install[^\n]*\bchromium\b", DOCKERFILE)
    users = re.findall(r"^USER (\S+)", DOCKERFILE, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r"^HEALTHCHECK .*\n?.*/_stcore/health", DOCKERFILE, re.MULTILINE)
    assert re.search(r'^CMD \["python", "serve.py"', DOCKERFILE, re.MULTILINE)
    for name, value in load.SERVING_ENV.items():  # the load figures were measured with these
        assert re.search(rf"\b{name}={value}\b", DOCKERFILE), name
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "tests"} <= set(ignored)


def _docker_answers() -> bool:
    docker = shutil.which("docker")
    return bool(docker) and subprocess.run([docker, "info"], capture_output=True, timeout=30).returncode == 0


@pytest.mark.skipif(not _docker_answers(), reason="no Docker engine here (CI has none): the image is not built")
def test_the_image_builds():
    subprocess.run(["docker", "build", "-t", "descent-lab:test", "."], cwd=ROOT, check=True, timeout=1800)
