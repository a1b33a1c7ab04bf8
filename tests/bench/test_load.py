"""The load generator speaks Streamlit's protocol to a real server: sessions connect, every kind of
action completes (the server ran what was sent), and the command's last line parses."""

import asyncio
import concurrent.futures
import re
import subprocess
import sys
import time
from urllib.parse import parse_qs

import pytest

from bench import load

SUMMARY = re.compile(r"load: (\d+) sessions, (\d+) actions, (\d+) errors, p95 ([\d.]+) s, "
                     r"idle RSS per session (-?[\d.]+) MB, returned (-?\d+) %")


@pytest.fixture(scope="module")
def server():
    with load.Server() as running:
        yield running


async def _one_student_does_everything(base: str) -> tuple[load.Student, load.Results]:
    results = load.Results()
    me = load.Student(base, 0, results, load.random.Random(0))
    me.query = "steps=40"
    url = base.replace("http://", "ws://") + "/_stcore/stream"
    async with load.connect(url, subprotocols=["streamlit"], max_size=None) as websocket:
        me.websocket = websocket
        await me.act("open", [])
        await me.do_open_card()
        rate = next(key for key in me.ids if re.fullmatch(r"card0\.[a-z_]+\.lr", key))
        await me.act("lr", [me.widget(rate, double_value=0.0123)])
        for action in ("steps", "click", "csv", "png"):
            doer = me.do_export if action in load.EXPORT_FORMATS else getattr(me, f"do_{action}")
            await doer(action)
    return me, results


def test_each_action_is_run_by_the_server_and_changes_what_it_should(server):
    me, results = _in_a_thread(_one_student_does_everything(server.url))
    assert dict(results.errors) == {}
    assert {action: len(times) for action, times in results.times.items()} == {
        "open": 1, "open card": 1, "lr": 1, "steps": 1, "click": 1, "csv": 1, "png": 1}
    query = parse_qs(me.query)
    assert query["steps"][0] in {str(n) for n in load.STEP_COUNTS}  # the slider moved, the URL followed
    assert "lr=0.0123" in query["opt"][0]  # the first card's learning rate as sent
    assert me.download_url and me.download_url.endswith(".png")


def test_a_click_adds_a_start_where_it_was_sent(server):
    """The click reaches the chart's callback as a browser's does: the rerun names the page the
    script ran (from the `navigation` message), so Streamlit keeps the page's widget states."""
    me, results = _in_a_thread(_one_student_does_everything(server.url))
    assert dict(results.errors) == {}
    starts = parse_qs(me.query).get("start")
    assert starts and starts[-1] == "{x:g},{y:g}".format(**me.clicks[-1])  # the last start is the click


def test_the_command_runs_a_short_class_and_ends_with_its_summary(server):
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bench.load", "--sessions", "4", "--seconds", "12", "--think",
                           "1,3", "--linger", "3", "--url", server.url], cwd=load.ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    match = SUMMARY.fullmatch(last)
    assert match, last
    sessions, actions, errors = (int(v) for v in match.groups()[:3])
    assert (sessions, errors) == (4, 0), done.stdout
    assert actions >= 4  # at least every student's opening
    assert "| open | 4 |" in done.stdout and "| reopen | 4 |" in done.stdout
    assert time.monotonic() - began < 60


def _in_a_thread(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API (the browser tests) may keep an
    event loop running in the test thread, and asyncio.run refuses to start inside one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_free_ports_are_consecutive_and_free():
    ports = load.free_ports(3)
    assert ports == list(range(ports[0], ports[0] + 3))
    assert all(load._port_free(port) for port in ports)
    with load.socket.socket() as taken:
        taken.bind(("127.0.0.1", ports[1]))
        with pytest.raises(RuntimeError):
            load.free_ports(3, ports[0])  # the middle one is in use: not three from there


def test_replicas_each_serve_their_own_students_and_are_reported_apiece():
    """`--replicas 2`: two server processes; student n talks to replica n mod 2 only (the sticky
    load balancer), and each replica's own table row counts the actions it served."""
    done = subprocess.run([sys.executable, "-m", "bench.load", "--sessions", "4", "--seconds", "12", "--think",
                           "1,3", "--linger", "3", "--replicas", "2"], cwd=load.ROOT, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    match = SUMMARY.fullmatch(done.stdout.strip().splitlines()[-1])
    assert match, done.stdout
    sessions, actions, errors = (int(v) for v in match.groups()[:3])
    assert (sessions, errors) == (4, 0), done.stdout
    rows = re.findall(r"^\| ([12]) \((\d+)\) \| (\d+) \| (\d+) \| [\d ]+/[\d ]+\| (\d+) ms \|", done.stdout, re.M)
    assert [(replica, int(students)) for replica, _, students, *_ in rows] == [("1", 2), ("2", 2)], done.stdout
    ports = [int(port) for _, port, *_ in rows]
    assert ports[1] == ports[0] + 1  # consecutive ports
    served = [int(count) for *_, count, _ in rows]
    assert all(count >= 2 for count in served)  # each replica opened its two students' tabs at least
    assert sum(served) == actions
    assert all(int(ms) > 0 for *_, ms in rows)  # each process spent CPU time on its students (read from /proc)
    assert "| 2 replicas together | value |" in done.stdout



def test_returned_is_the_share_of_what_the_reopened_tabs_added_and_never_over_100():
    assert load.returned_share(before=300, idle=310, after=302) == pytest.approx(80)  # 8 of the 10 MB came back
    assert load.returned_share(before=300, idle=310, after=310) == 0
    assert load.returned_share(before=300, idle=310, after=312) == 0  # grew after closing: none came back
    # RSS fell below where the reopened tabs found it (the process also gave back heap the class had
    # left): all of their memory came back, and no more than all (it printed 596 %)
    assert load.returned_share(before=300, idle=301, after=295) == 100
    assert load.returned_share(before=300, idle=299, after=298) == 100  # they added nothing to give back
