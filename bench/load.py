"""A lecture hall at once: simulated students on Streamlit's own websocket protocol, not browsers.

Run: `python -m bench.load --sessions N --seconds S [--url URL] [--replicas K]` (no URL: it serves
the app itself as the Dockerfile does, serve.py with .streamlit/config.toml, on free loopback ports).

`--replicas K` (when it starts its own servers) starts K server processes on consecutive ports, one
per core as README "More than one machine" deploys them, and plays the sticky load balancer: student
n talks only to replica n mod K (round-robin), its websocket and its downloads alike. `--url` takes
several replicas already running, comma-separated. The report gives each replica's CPU and RSS and
their total.

Each student is one websocket to `/_stcore/stream` speaking what Streamlit's browser client
speaks (`BackMsg` out, `ForwardMsg` in, the protobufs inside the streamlit package; the shapes
were read off a real Chromium session's frames): it opens the shared link (a `rerun_script` with
the link's query string and no widget states), waits for `script_finished`, then, at a human
pace (a think time drawn from `--think`, seconds), changes one thing at a time as a student
does, with the widget ids the server sent in its deltas:

- `lr`: the first card's learning rate (its "settings" expander is opened first, `open card`),
- `steps`: the Steps slider, `landscape`: the landscape picker, `click`: a start added by a
  click on the contour (the chart component's `click` trigger and its payload),
- `csv`, `png`: an export (the format picker, then the "Make the file" button), then the
  download button's media URL fetched over HTTP.

Students pick values the way a class does, from a few round ones (a lecturer says "try 0.05"),
so the same runs recur across sessions. An action's time is from the message sent to
`script_finished` (an export's includes its download). Errors: an exception or error alert in
the deltas, a script that does not finish within `ACTION_TIMEOUT`, a disconnect, a failed
download. The server's RSS and CPU are sampled every second (from /proc: loopback only, the
server must run on this machine); after every session has closed, RSS is watched for up to
`--linger` seconds to see how much of the sessions' memory comes back.

After the class, every tab closes and RSS is watched for up to `--linger` seconds; then every
tab is reopened at once from its own URL (as after a server restart: the state is in the URL),
left idle and closed again. The caches are warm by then, so what those idle sessions add and
give back is session memory alone, told apart from the shared caches the class filled.

The last line reads `load: N sessions, A actions, E errors, p95 X s, idle RSS per session Y MB,
returned Z %`: p95 over every action of the class; idle RSS per session = (RSS with every tab
reopened and idle − RSS before they reopened) / N; returned = the share of that gone within
`--linger` seconds of those tabs closing, at most 100 % (100 %: RSS came back to where the reopened
tabs found it, or below: the process also gave back heap the class had left, which is not those
sessions' memory and is not counted). The table also has the class's own RSS figures (with the
shared caches it filled).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from streamlit.components.v2.bidi_component.main import _make_trigger_id
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
LINK = "?steps=300"  # the link the lecturer shares (the default landscape and cards, 300 steps)
# The server's environment, as the Dockerfile sets it: glibc's malloc with few arenas (not one per
# script thread) and large blocks (a chart's JSON) always mapped on their own, so memory a closed
# session frees goes back to the system instead of staying in a fragmented heap.
SERVING_ENV = {"MALLOC_ARENA_MAX": "2", "MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
ACTION_TIMEOUT = 60.0  # s for one script run before the action counts as an error
WIDGET_ID = re.compile(rb"(?:\$\$STREAMLIT_INTERNAL_KEY_)?\$\$ID-[0-9a-f]{32}-[A-Za-z0-9_.]+")
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.05, 0.1)
STEP_COUNTS = (100, 200, 300, 500)
EXPORT_FORMATS = {"csv": "CSV of every trajectory", "png": "PNG image of the current view"}
# What a student does next, with its weight (a hyperparameter change is the commonest).
ACTIONS = {"lr": 5, "steps": 3, "click": 2, "landscape": 1, "csv": 1, "png": 1}


class ActionFailed(Exception):
    """An action the server did not complete: its reason."""


@dataclass
class Results:
    """Every student's timings and errors, the server's samples."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    connected: int = 0
    opened: int = 0
    finished: int = 0  # students done acting (their tab may still be open)
    by_replica: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # actions timed, per replica
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (when it finished, monotonic s; seconds)

    def error(self, action: str, reason: str) -> None:
        self.errors[action].append(reason)

    def took(self, action: str, seconds: float, replica: int) -> None:
        self.times[action].append(seconds)
        self.by_replica[replica] += 1
        self.timeline.append((time.monotonic(), seconds))


class Student:
    """One browser tab, as the server sees it: a websocket, the widget ids it was sent, the URL."""

    def __init__(self, base: str, number: int, results: Results, rng: random.Random, replica: int = 0) -> None:
        self.base = base.rstrip("/")
        self.number = number
        self.replica = replica  # which server this tab is stuck to
        self.results = results
        self.rng = rng
        self.ids: dict[str, str] = {}  # widget key -> widget id, from the deltas
        self.options: dict[str, list[str]] = {}  # selectbox key -> its options as shown
        self.download_url: str | None = None
        self.query = LINK.lstrip("?")
        self.page_hash = ""
        self.card_open = False
        self.clicks: list[dict] = []
        self.token = f"load{number}"
        self.errors_seen: list[str] = []
        self.config = None
        self.held: dict[str, WidgetState] = {}  # every value this tab has set, resent with each rerun

    async def run(self, websocket, deadline: float, think: tuple[float, float]) -> None:
        """Open the link, then act until `deadline`; a failed action is counted and the next one tried."""
        self.websocket = websocket
        await self.attempt("open", self.act("open", []))
        self.results.opened += 1
        while True:
            pause = self.rng.uniform(*think)
            if time.monotonic() + pause >= deadline:
                return
            await asyncio.sleep(pause)
            action = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
            if action == "lr" and not self.card_open:
                self.card_open = await self.attempt("open card", self.do_open_card())
                continue
            doer = self.do_export if action in EXPORT_FORMATS else getattr(self, f"do_{action}")
            await self.attempt(action, doer(action))

    async def attempt(self, action: str, doing) -> bool:
        """Await one action; a failure is recorded under its name (a closed connection ends the tab)."""
        try:
            await doing
            return True
        except ActionFailed as failure:
            self.results.error(action, str(failure))
            if self.websocket.state.name == "CLOSED":
                raise
            return False

    # -- the actions ---------------------------------------------------------------------------
    async def do_open_card(self) -> None:
        await self.act("open card", [self.widget("card0.open", bool_value=True)])

    async def do_lr(self, action: str) -> None:
        key = next((k for k in self.ids if re.fullmatch(r"card0\.[a-z_]+\.lr", k)), None)
        if key is None:  # this card's optimizer has no learning rate: open its settings again
            self.card_open = False
            return
        await self.act(action, [self.widget(key, double_value=self.rng.choice(LEARNING_RATES))])

    async def do_steps(self, action: str) -> None:
        state = self.widget("compare.steps")
        state.double_array_value.data.append(self.rng.choice(STEP_COUNTS))
        await self.act(action, [state])

    async def do_landscape(self, action: str) -> None:
        options = self.options.get("compare.landscape") or []
        if options:
            await self.act(action, [self.widget("compare.landscape", string_value=self.rng.choice(options[:4]))])
            self.card_open = False  # a new landscape brings its own cards, closed

    async def do_click(self, action: str) -> None:
        seq = len(self.clicks) + 1
        self.clicks = [*self.clicks, {"seq": seq, "x": round(self.rng.uniform(-1, 1), 1),
                                      "y": round(self.rng.uniform(-1, 1), 1), "subplot": "xy"}][-16:]
        payload = [{"event": "click", "value": {"token": self.token, "seq": seq, "clicks": self.clicks}}]
        await self.act(action, [self.trigger("compare.chart", json_trigger_value=json.dumps(payload))])

    async def do_export(self, action: str) -> None:
        began = time.perf_counter()
        self.download_url = None
        await self.act(action, [self.widget("compare.export_format", string_value=EXPORT_FORMATS[action]),
                                self.widget("compare.export_make", trigger_value=True)], record=False)
        if self.download_url is None:
            raise ActionFailed("no download button after making the file")
        size = await asyncio.to_thread(_download, self.base + "/" + self.download_url.lstrip("/"))
        if size == 0:
            raise ActionFailed("the download was empty")
        self.results.took(action, time.perf_counter() - began, self.replica)

    # -- the protocol --------------------------------------------------------------------------
    def widget(self, key: str, **value) -> WidgetState:
        if key not in self.ids:
            raise ActionFailed(f"the server sent no widget {key!r}")
        return WidgetState(id=self.ids[key], **value)

    def trigger(self, key: str, **value) -> WidgetState:
        """A components-v2 event: the component's one trigger aggregator, named from its id."""
        return WidgetState(id=_make_trigger_id(self.widget(key).id, "events"), **value)

    async def act(self, action: str, widgets: list[WidgetState], record: bool = True) -> None:
        """Send one rerun with `widgets` changed; wait for its script to finish."""
        message = BackMsg()
        message.rerun_script.query_string = self.query
        message.rerun_script.page_script_hash = self.page_hash
        # Like the browser, resend every value set so far (Streamlit forgets an open expander's
        # state that a rerun does not carry); triggers are sent once.
        for state in widgets:
            if state.WhichOneof("value") not in ("trigger_value", "json_trigger_value"):
                self.held[state.id] = state
        once = [state for state in widgets if state.id not in self.held]
        message.rerun_script.widget_states.widgets.extend([*self.held.values(), *once])
        context = message.rerun_script.context_info
        context.timezone, context.locale, context.url = "UTC", "en-US", self.base + "/"
        self.errors_seen = []
        began = time.perf_counter()
        await self.websocket.send(message.SerializeToString())
        try:
            await asyncio.wait_for(self.until_finished(), ACTION_TIMEOUT)
        except TimeoutError:
            raise ActionFailed(f"the script did not finish within {ACTION_TIMEOUT:.0f} s") from None
        if self.errors_seen:
            raise ActionFailed(self.errors_seen[0][:200])
        if record:
            self.results.took(action, time.perf_counter() - began, self.replica)

    async def until_finished(self) -> None:
        """Read messages until a script run finishes for good (not interrupted for a rerun)."""
        async for raw in self.websocket:
            message = ForwardMsg()
            message.ParseFromString(raw)
            kind = message.WhichOneof("type")
            if kind == "delta":
                self.read_delta(message, raw)
            elif kind == "new_session":
                self.page_hash = message.new_session.page_script_hash
                self.config = message.new_session.config  # what the server told the browser of its settings
            elif kind == "navigation":
                # The page the script ran (st.navigation picked it): the browser sends its hash with
                # every rerun. new_session's is app.py's; sent back, it reads as a page switch, and
                # Streamlit drops the page's widget states, the chart's with them (a click was lost).
                self.page_hash = message.navigation.page_script_hash or self.page_hash
            elif kind == "page_info_changed":
                self.query = message.page_info_changed.query_string
            elif kind == "script_finished":
                status = message.script_finished
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    self.errors_seen.append("the script did not compile")
                if status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    return
        raise ActionFailed("the server closed the connection")

    def read_delta(self, message: ForwardMsg, raw: bytes) -> None:
        for found in WIDGET_ID.findall(raw):
            widget_id = found.decode()
            self.ids[widget_id.split("-", 2)[2]] = widget_id
        delta = message.delta
        if delta.WhichOneof("type") != "new_element":
            return
        element = delta.new_element
        kind = element.WhichOneof("type")
        if kind == "exception":
            self.errors_seen.append(f"{element.exception.type}: {element.exception.message}")
        elif kind == "alert" and element.alert.format == element.alert.ERROR:
            self.errors_seen.append(element.alert.body)
        elif kind == "selectbox":
            self.options[element.selectbox.id.split("-", 2)[2]] = list(element.selectbox.options)
        elif kind == "download_button":
            self.download_url = element.download_button.url


def _download(url: str) -> int:
    with urllib.request.urlopen(url, timeout=ACTION_TIMEOUT) as response:
        return len(response.read())


async def student(bases: list[str], number: int, results: Results, opens_at: float, deadline: float,
                  think: tuple[float, float], closing: asyncio.Event, seed: int, link: str = LINK) -> str:
    """One student from opening `link` to closing the tab (at `closing`), on replica `number` mod
    len(`bases`) throughout (the sticky load balancer); the tab's query string at the end (what
    reopening it would send)."""
    await asyncio.sleep(max(0.0, opens_at - time.monotonic()))
    replica = number % len(bases)
    base = bases[replica]
    parts = urlsplit(base)
    url = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream"
    rng = random.Random(seed * 100_003 + number)
    me = Student(base, number, results, rng, replica)
    me.query = link.lstrip("?")
    finished = False
    try:
        async with connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=ACTION_TIMEOUT,
                           ping_interval=None) as websocket:
            results.connected += 1
            try:
                await me.run(websocket, deadline, think)
            except ActionFailed:  # the connection closed under an action (recorded under it)
                return me.query
            results.finished += 1
            finished = True
            await closing.wait()  # idle, tab open, until every student has finished
    except (OSError, TimeoutError) as error:
        results.error("connect", f"{type(error).__name__}: {error}")
    except Exception as error:  # noqa: BLE001 - a disconnect or protocol error is a result, not a crash
        results.error("disconnect", f"{type(error).__name__}: {error}")
    finally:
        if not finished:
            results.finished += 1
    return me.query


# -- the server and what it uses -------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_ports(count: int, first: int | None = None) -> list[int]:
    """`count` consecutive free loopback ports, from `first` if given (else from a free one)."""
    for _ in range(50):
        start = first if first is not None else _free_port()
        ports = list(range(start, start + count))
        if ports[-1] < 65536 and all(map(_port_free, ports)):
            return ports
        if first is not None:
            break
    raise RuntimeError(f"no {count} consecutive free ports" + (f" from {first}" if first is not None else ""))


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base.rstrip('/')}/_stcore/health", timeout=2) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


class Server:
    """The app as `make run` and the Dockerfile serve it (serve.py, the repository's config, the
    Dockerfile's malloc settings) on a free loopback port, for a `with` block."""

    def __init__(self, log: Path | None = None, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.log = log
        self.env = env or {}
        self.port = port

    def __enter__(self) -> Server:
        port = self.port or _free_port()
        self.url = f"http://127.0.0.1:{port}"
        output = open(self.log, "w") if self.log else subprocess.DEVNULL  # noqa: SIM115 - closed in __exit__
        self.output = output
        self.process = subprocess.Popen(
            [sys.executable, "serve.py", "--server.port", str(port), "--server.address", "127.0.0.1"],
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **SERVING_ENV, **self.env})
        deadline = time.monotonic() + 90
        while not _healthy(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"streamlit did not start (see {self.log})")
            time.sleep(0.25)
        self.pid = self.process.pid
        return self

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        if self.output is not subprocess.DEVNULL:
            self.output.close()


def listening_pid(url: str) -> int | None:
    """The process listening on `url`'s port on this machine (loopback runs only), or None."""
    port = urlsplit(url).port or 80
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
        except OSError:
            continue
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def total_rss(pids: list[int]) -> float:
    """Every replica's RSS, MB, summed (nan when no server is known)."""
    return sum(map(rss_mb, pids)) if pids else float("nan")


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@dataclass
class Sampler:
    """Every replica's RSS (MB) and CPU (% of one core) and the machine's busy % every second."""

    pids: list[int]
    # (t, RSS of all, CPU of all, machine busy, RSS per replica, CPU per replica)
    samples: list[tuple[float, float, float, float, tuple, tuple]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        began = time.monotonic()
        last_cpu, last_machine, last_t = [cpu_seconds(p) for p in self.pids], machine_busy(), time.monotonic()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                pass
            now, cpu, machine = time.monotonic(), [cpu_seconds(p) for p in self.pids], machine_busy()
            busy = (machine[0] - last_machine[0]) / max(1, machine[1] - last_machine[1]) * 100
            shares = tuple((c - last) / (now - last_t) * 100 for c, last in zip(cpu, last_cpu, strict=True))
            rss = tuple(rss_mb(p) for p in self.pids)
            self.samples.append((now - began, sum(rss), sum(shares), busy, rss, shares))
            last_cpu, last_machine, last_t = cpu, machine, now


async def warm_up(bases: list[str]) -> None:
    """One visitor per replica before the class: the app's imports and the link's runs are done once."""
    for base in bases:
        results = Results()
        closing = asyncio.Event()
        closing.set()
        await student([base], -1, results, 0, time.monotonic() + 1, (5, 5), closing, 0)
        if results.errors:
            raise RuntimeError(f"the warm-up visit to {base} failed: {dict(results.errors)}")


async def wave(bases: list[str], links: list[str], seconds: float, ramp: float, think: tuple[float, float],
               seed: int, pids: list[int], results: Results) -> tuple[float, list[str], asyncio.Event, list]:
    """Every student opens its link (spread over `ramp` s) and acts until `seconds` are over, then
    sits idle with the tab open: (RSS then, the tabs' query strings, the event that closes them)."""
    closing = asyncio.Event()
    began = time.monotonic()
    deadline = began + seconds
    tasks = [asyncio.create_task(student(bases, n, results, began + ramp * n / len(links), deadline, think, closing,
                                         seed, link)) for n, link in enumerate(links)]
    while results.finished < len(links) and time.monotonic() < deadline + 2 * ACTION_TIMEOUT:
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)  # every tab open and idle
    return total_rss(pids), tasks, closing


async def closed(tasks: list, closing: asyncio.Event, pids: list[int], linger: float,
                 low: float) -> tuple[float, float]:
    """Close every tab; watch RSS for up to `linger` s (until it is back within 5 % of `low`):
    (RSS at the end, seconds watched)."""
    closing.set()
    await asyncio.gather(*tasks)
    at = time.monotonic()
    rss = total_rss(pids)
    top = rss
    while pids and time.monotonic() - at < linger:
        await asyncio.sleep(5)
        rss = total_rss(pids)
        if top - rss >= 0.95 * (top - low):
            break
    return rss, time.monotonic() - at


async def load(bases: list[str], sessions: int, seconds: float, think: tuple[float, float], linger: float,
               seed: int, pids: list[int]) -> dict:
    """The class (students act, sit idle, close), then the same tabs reopened at once from their own
    URLs (as after a server restart), idle, closed: with the caches now warm, what those idle
    sessions add and give back is session memory alone."""
    await warm_up(bases)
    await asyncio.sleep(2)
    baseline = total_rss(pids)
    baselines = [rss_mb(p) for p in pids]
    results, reopened = Results(), Results()
    stop = asyncio.Event()
    sampler = Sampler(pids) if pids else None
    sampling = asyncio.create_task(sampler.run(stop)) if sampler else None
    began, own = time.monotonic(), time.process_time()
    server_cpu = [cpu_seconds(p) for p in pids]
    idle, tasks, closing = await wave(bases, [LINK] * sessions, seconds, min(60.0, seconds / 4), think, seed, pids,
                                      results)
    wall = time.monotonic() - began
    replica_cpu = [cpu_seconds(p) - before for p, before in zip(pids, server_cpu, strict=True)]
    replica_idle = [rss_mb(p) for p in pids]
    own = (time.process_time() - own) / wall * 100  # this generator's CPU, % of one core
    # The class's tabs: watched long enough for ui/session.py to shut their sessions down (what stays
    # is the caches they filled); the budget is read on the reopened tabs below.
    after, watched = await closed(tasks, closing, pids, min(linger, 75.0), baseline)
    links = ["?" + task.result() for task in tasks]
    # Reopened: every tab at once from its own URL (each opens, nothing more: `seconds` 0).
    reopen_idle, tasks, closing = await wave(bases, links, 0, min(10.0, sessions / 20), think, seed, pids, reopened)
    reopen_after, reopen_watched = await closed(tasks, closing, pids, linger, after)
    stop.set()
    if sampling:
        await sampling
    return {"results": results, "reopened": reopened, "baseline": baseline, "idle": idle, "after": after,
            "watched": watched, "reopen_idle": reopen_idle, "reopen_after": reopen_after,
            "reopen_watched": reopen_watched, "samples": sampler.samples if sampler else [], "wall": wall,
            "server_cpu": sum(replica_cpu) if pids else float("nan"), "replica_cpu": replica_cpu,
            "baselines": baselines, "replica_idle": replica_idle, "bases": bases, "own_cpu": own}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def returned_share(before: float, idle: float, after: float) -> float:
    """% of what the reopened tabs added (RSS `idle` with them open − `before` they opened) that is
    gone `after` they closed: 0–100. RSS falling below `before` gives 100, not more: what else the
    process gave back then (heap the class had left) is not those sessions' memory."""
    added = idle - before
    if added <= 0:
        return 100.0
    return min(100.0, max(0.0, (idle - after) / added * 100))


WINDOW = 30.0  # s: the report's p95 over time


def _p95_over_time(timeline: list[tuple[float, float]]) -> str:
    """p95 of the actions that finished in each `WINDOW` from the first one: whether the tail is the
    first minute's arrivals or lasts the whole class."""
    if not timeline:
        return ""
    first = min(when for when, _ in timeline)
    windows: dict[int, list[float]] = defaultdict(list)
    for when, seconds in timeline:
        windows[int((when - first) // WINDOW)].append(seconds)
    return " ".join(f"{percentile(windows[k], 95):.2f}" for k in sorted(windows))


def report(sessions: int, outcome: dict) -> str:
    results: Results = outcome["results"]
    reopened: Results = outcome["reopened"]
    results.times["reopen"] = reopened.times.get("open", [])
    results.errors["reopen"] = [e for v in reopened.errors.values() for e in v]
    lines = ["| action | n | p50 s | p95 s | max s | errors |", "|---|---|---|---|---|---|"]
    every = []
    named = ["open", "open card", *ACTIONS, "reopen"]
    for action in named + sorted(set(results.errors) - set(named)):
        times = results.times.get(action, [])
        if action != "reopen":
            every += times
        errors = len(results.errors.get(action, []))
        if times or errors:
            lines.append(f"| {action} | {len(times)} | {percentile(times, 50):.3f} | {percentile(times, 95):.3f} | "
                         f"{max(times, default=float('nan')):.3f} | {errors} |")
    errors = sum(len(v) for v in results.errors.values())
    samples = outcome["samples"]
    o = outcome
    if samples:
        rss = [s[1] for s in samples]
        during = [s for s in samples if s[0] <= o["wall"]] or samples  # CPU while the class acts
        cpu, machine = [s[2] for s in during], [s[3] for s in during]
        replicas = len(o["bases"])
        if replicas > 1:  # each replica on its own, then the rest of the table for all of them together
            lines += ["", "| replica | students | actions | server CPU, % of one core: p50 / p95 | CPU time per action "
                      "| RSS before / peak / idle after acting |", "|---|---|---|---|---|---|"]
            for index, base in enumerate(o["bases"]):
                share, mine = [s[5][index] for s in during], [s[4][index] for s in samples]
                actions = results.by_replica.get(index, 0)
                lines.append(f"| {index + 1} ({urlsplit(base).port}) | {len(range(index, sessions, replicas))} | "
                             f"{actions} | {percentile(share, 50):.0f} / {percentile(share, 95):.0f} | "
                             f"{o['replica_cpu'][index] / max(1, actions) * 1e3:.0f} ms | "
                             f"{o['baselines'][index]:.0f} / {max(mine):.0f} / {o['replica_idle'][index]:.0f} MB |")
        every_server = f"{replicas} replicas together" if replicas > 1 else "server"
        lines += ["", f"| {every_server} | value |", "|---|---|",
                  f"| RSS before the class (after one warm-up visit) | {o['baseline']:.0f} MB |",
                  f"| RSS peak / every tab open and idle after acting | {max(rss):.0f} MB / {o['idle']:.0f} MB "
                  f"(+{(o['idle'] - o['baseline']) / sessions:.1f} MB per session, shared caches included) |",
                  f"| RSS {o['watched']:.0f} s after every tab closed | {o['after']:.0f} MB |",
                  f"| every tab reopened from its own URL, idle / {o['reopen_watched']:.0f} s after closing | "
                  f"{o['reopen_idle']:.0f} MB / {o['reopen_after']:.0f} MB |",
                  f"| server CPU during the class, % of one core{' (summed)' if replicas > 1 else ''}: "
                  f"p50 / p95 / max | {percentile(cpu, 50):.0f} / "
                  f"{percentile(cpu, 95):.0f} / {max(cpu):.0f} |",
                  f"| whole machine busy during the class ({os.cpu_count()} cores, all processes): p50 / max | "
                  f"{percentile(machine, 50):.0f} % / {max(machine):.0f} % |",
                  f"| this generator's CPU during the class, % of one core | {o['own_cpu']:.0f} |",
                  # CPU time, not wall time: what an action costs the server whatever else the machine runs
                  f"| server CPU time per action of the class | {o['server_cpu'] / max(1, len(every)) * 1e3:.0f} ms |",
                  "| load average at the end (1, 5 min) | {:.1f} / {:.1f} |".format(*os.getloadavg()[:2]),
                  f"| RSS over time, MB | {' '.join(f'{v:.0f}' for v in rss[:: max(1, len(rss) // 16)])} |",
                  f"| p95 of every action, by {WINDOW:.0f} s of the class, s | {_p95_over_time(results.timeline)} |"]
    for action, reasons in results.errors.items():
        for reason in sorted(set(reasons))[:3]:
            lines.append(f"error ({action}): {reason}")
    growth = o["reopen_idle"] - o["after"]
    per_session = growth / sessions
    returned = returned_share(o["after"], o["reopen_idle"], o["reopen_after"])
    lines.append(f"load: {sessions} sessions, {len(every)} actions, {errors} errors, "
                 f"p95 {percentile(every, 95):.2f} s, idle RSS per session {per_session:.1f} MB, "
                 f"returned {returned:.0f} %")
    return "\n".join(lines)


# -- one session, three ways ---------------------------------------------------------------------
VERIFY_RATES = (0.01, 0.03, 0.05, 0.1)  # cycled: after the first round every run is cached, as in class


def verify(repeats: int = 8) -> str:
    """The same action (the first card's learning rate on the shared link, one session) timed by this
    generator, by Chromium's own websocket frames and by AppTest: the generator's time should agree
    with Chromium's, and exceed AppTest's page time by what the server does around the script."""
    with Server(Path(tempfile.gettempdir()) / "descent-lab-verify-server.log") as server:
        protocol = asyncio.run(_protocol_times(server.url, repeats))
        browser = _browser_times(server.url, repeats)
    page, wall = _apptest_times(repeats)
    rows = [("this generator: rerun_script sent → script_finished received", protocol),
            ("Chromium: its rerun_script frame sent → script_finished frame received", browser),
            ("AppTest: the page script's own time (bench/app.py's measure)", page),
            ("AppTest: run() wall time (adds its polling)", wall)]
    lines = [f"| one session, first card's lr, {LINK}, {repeats} changes | median s | min–max s |", "|---|---|---|"]
    lines += [f"| {name} | {percentile(t, 50):.3f} | {min(t):.3f}–{max(t):.3f} |" for name, t in rows]
    return "\n".join(lines)


async def _protocol_times(base: str, repeats: int) -> list[float]:
    results = Results()
    me = Student(base, 0, results, random.Random(0))
    async with connect(base.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"],
                       max_size=None) as websocket:
        me.websocket = websocket
        await me.act("open", [])
        await me.do_open_card()
        key = next(k for k in me.ids if re.fullmatch(r"card0\.[a-z_]+\.lr", k))
        for index in range(len(VERIFY_RATES) + repeats):
            await asyncio.sleep(0.5)
            await me.act("lr", [me.widget(key, double_value=VERIFY_RATES[index % len(VERIFY_RATES)])])
    return results.times["lr"][len(VERIFY_RATES):]


def _browser_times(base: str, repeats: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    sent: list[float] = []
    finished: list[float] = []

    def on_sent(payload) -> None:
        message = BackMsg()
        if isinstance(payload, bytes):
            message.ParseFromString(payload)
            if message.WhichOneof("type") == "rerun_script":
                sent.append(time.perf_counter())

    def on_received(payload) -> None:
        if isinstance(payload, bytes):
            message = ForwardMsg()
            message.ParseFromString(payload)
            if (message.WhichOneof("type") == "script_finished"
                    and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN):
                finished.append(time.perf_counter())

    def watch(websocket) -> None:
        websocket.on("framesent", on_sent)
        websocket.on("framereceived", on_received)

    def settle(count: int) -> None:
        deadline = time.monotonic() + ACTION_TIMEOUT
        while len(finished) < count and time.monotonic() < deadline:
            page.wait_for_timeout(20)

    times = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        page.on("websocket", watch)
        page.goto(base + "/" + LINK)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=90_000)
        settle(1)
        card = page.locator("[data-testid=stExpander]").filter(has_text="settings").first
        before = len(finished)
        card.locator("summary").click()
        settle(before + 1)
        rate = card.locator("input[type=number]").first
        rate.wait_for()
        for index in range(len(VERIFY_RATES) + repeats):
            page.wait_for_timeout(500)
            before_sent, before = len(sent), len(finished)
            rate.fill(str(VERIFY_RATES[index % len(VERIFY_RATES)]))
            rate.press("Enter")
            settle(before + 1)
            if index >= len(VERIFY_RATES) and len(sent) > before_sent:
                times.append(finished[before] - sent[before_sent])
        browser.close()
    return times


def _apptest_times(repeats: int) -> tuple[list[float], list[float]]:
    from streamlit.testing.v1 import AppTest

    from bench.app import _timed_pages

    page_seconds = _timed_pages()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["steps"] = LINK.split("=")[1]
    at.run()
    at.session_state["card0.open"] = True
    at.run()
    key = next(w.key for w in at.number_input if w.key and re.fullmatch(r"card0\.[a-z_]+\.lr", w.key))
    pages, walls = [], []
    for index in range(len(VERIFY_RATES) + repeats):
        at.number_input(key=key).set_value(VERIFY_RATES[index % len(VERIFY_RATES)])
        began = time.perf_counter()
        at.run()
        if index >= len(VERIFY_RATES):
            walls.append(time.perf_counter() - began)
            pages.append(page_seconds[-1])
    assert not at.exception, at.exception
    return pages, walls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, help="students, each one websocket")
    parser.add_argument("--seconds", type=float, help="how long they act")
    parser.add_argument("--verify", action="store_true",
                        help="time one session's action here, in Chromium and in AppTest, and stop")
    parser.add_argument("--url", help="a running app on this machine, or several replicas comma-separated "
                                      "(default: start them)")
    parser.add_argument("--replicas", type=int, default=1,
                        help="server processes to start on consecutive ports, each student stuck to one (round-robin)")
    parser.add_argument("--port", type=int, help="the first replica's port (default: a free one)")
    parser.add_argument("--think", default="3,12", help="think time between actions, min,max seconds")
    parser.add_argument("--linger", type=float, default=120, help="seconds to watch RSS come back after closing")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.verify:
        print(verify(), flush=True)
        return
    if args.sessions is None or args.seconds is None:
        parser.error("--sessions and --seconds are required (or --verify)")
    if urlsplit(args.url or "http://127.0.0.1").hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("loopback only: --url must be on this machine (127.0.0.1 or localhost)")
    think = tuple(float(v) for v in args.think.split(","))
    if args.sessions < 1 or args.sessions > 1000 or args.seconds <= 0 or args.seconds > 3600:
        parser.error("--sessions must be 1..1000 and --seconds 0..3600")
    if not 1 <= args.replicas <= 16 or (args.url and args.replicas != 1):
        parser.error("--replicas must be 1..16, and is for the servers it starts (with --url, list every replica)")

    def run(bases: list[str], pids: list[int]) -> None:
        outcome = asyncio.run(load(bases, args.sessions, args.seconds, think, args.linger, args.seed, pids))
        print(report(args.sessions, outcome), flush=True)

    if args.url:
        bases = [url.strip() for url in args.url.split(",") if url.strip()]
        pids = [listening_pid(url) for url in bases]
        run(bases, [pid for pid in pids if pid] if all(pids) else [])
    else:
        with contextlib.ExitStack() as servers:
            started = [servers.enter_context(Server(Path(tempfile.gettempdir()) / f"descent-lab-load-server-{port}.log",
                                                    port=port))
                       for port in free_ports(args.replicas, args.port)]
            run([server.url for server in started], [server.pid for server in started])


if __name__ == "__main__":
    main()
