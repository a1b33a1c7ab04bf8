"""Benchmarks of the stepping engine (DESIGN §7). Run: `make bench` (prints the README's engine table).

The machine is shared and noisy, so every budget is a ratio measured in this one run: the
contenders are timed in interleaved rounds (numpy, compiled ×1/×2 threads, JAX ×1/×2, torch,
the divider floor), each figure the best of its rounds, with the spread (best–worst) beside it.
JAX and torch run in worker processes pinned to 1 or 2 cores (XLA sizes its thread pool at
start-up). Peers are benchmark-only (bench/requirements.txt): JAX + optax, torch.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from landscapes import get_landscape
from optimizers import compiled, simulate

STARTS, STEPS, LR = 40_000, 500, 0.01
ROUNDS = 5
ROOT = Path(__file__).resolve().parents[1]


def batch_starts(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform((-2.0, -1.0), (2.0, 3.0), size=(n, 2))


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


# -- the divider-bound floor ------------------------------------------------------------------

FLOOR_SOURCE = '''
import math
import numba
import numpy as np


@numba.njit(nogil=True, error_model="numpy")
def floor(values, steps, scale):
    """Only the divider's work of an Adam step on one 2-D start: per coordinate
    m / (sqrt(v) / c + eps) is 2 divisions and 1 root, so 4 divisions + 2 roots per
    trajectory-step, in the kernel's layout (blocks of 128, block-local arrays)."""
    n = values.shape[1]
    a = np.empty(128)
    b = np.empty(128)
    for lo in range(0, n, 128):
        hi = min(lo + 128, n)
        for j in range(hi - lo):
            a[j] = values[0, lo + j]
            b[j] = values[1, lo + j]
        for t in range(steps):
            c = scale[t]
            for j in range(hi - lo):
                a[j] = 1.0 + a[j] / (math.sqrt(a[j]) / c + 1e-8)
                b[j] = 1.0 + b[j] / (math.sqrt(b[j]) / c + 1e-8)
        for j in range(hi - lo):
            values[0, lo + j] = a[j]
            values[1, lo + j] = b[j]
'''


def divider_floor():
    namespace: dict = {}
    exec(compile(FLOOR_SOURCE, "<floor>", "exec"), namespace)  # benchmark code, fixed text
    floor = namespace["floor"]
    scale = np.array([math.sqrt(1 - 0.999**t) for t in range(1, STEPS + 1)])
    values = np.abs(batch_starts(STARTS).T) + 1.0
    floor(values.copy(), 2, scale)
    return lambda: floor(values.copy(), STEPS, scale)


# -- peers in worker processes ------------------------------------------------------------------

JAX_WORKER = '''
import os, sys, time
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import optax

n, steps, lr = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
starts = np.random.default_rng(0).uniform((-2.0, -1.0), (2.0, 3.0), size=(n, 2))

def loss(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

optimizer = optax.adam(lr)

def trajectory(p):
    def step(carry, _):
        p, state = carry
        updates, state = optimizer.update(jax.grad(loss)(p), state, p)
        return (optax.apply_updates(p, updates), state), None
    (p, _), _ = jax.lax.scan(step, (p, optimizer.init(p)), None, length=steps)
    return p

run = jax.jit(jax.vmap(trajectory))
x = jnp.asarray(starts)
t = time.perf_counter(); run(x).block_until_ready(); print("compile", time.perf_counter() - t, flush=True)
for line in sys.stdin:
    t = time.perf_counter(); run(x).block_until_ready(); print("run", time.perf_counter() - t, flush=True)
'''

TORCH_WORKER = '''
import sys, time
import numpy as np
import torch
torch.set_default_dtype(torch.float64)
n, steps, lr, threads = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
starts = np.random.default_rng(0).uniform((-2.0, -1.0), (2.0, 3.0), size=(n, 2))
print("compile 0", flush=True)

def run():
    # fused=True: torch's fastest Adam here (foreach took minutes on this tensor, default 1.5x fused)
    p = torch.tensor(starts, requires_grad=True)
    opt = torch.optim.Adam([p], lr=lr, fused=True)
    for _ in range(steps):
        opt.zero_grad()
        x, y = p.unbind(1)
        loss = ((1 - x) ** 2 + 100 * (y - x ** 2) ** 2).sum()
        loss.backward()
        opt.step()

for line in sys.stdin:
    t = time.perf_counter(); run(); print("run", time.perf_counter() - t, flush=True)
'''


class Worker:
    """A peer in its own process, pinned to `cores`; each `time()` is one timed run there."""

    def __init__(self, source: str, cores: int, *arguments: str) -> None:
        env = dict(os.environ)
        if cores == 1:
            env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        self.process = subprocess.Popen(
            ["taskset", "-c", ",".join(str(c) for c in range(cores)), sys.executable, "-c", source, *arguments],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.compile_seconds = float(self.process.stdout.readline().split()[1])

    def time(self) -> float:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline().split()[1])

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


def peers() -> dict[str, Worker]:
    workers = {}
    try:
        import jax  # noqa: F401
        import optax  # noqa: F401
        for cores in (1, 2):
            workers[f"jax{cores}"] = Worker(JAX_WORKER, cores, str(STARTS), str(STEPS), str(LR))
    except ImportError:
        pass
    try:
        import torch  # noqa: F401
        workers["torch"] = Worker(TORCH_WORKER, 2, str(STARTS), str(STEPS), str(LR), "2")
    except ImportError:
        pass
    return workers


# -- compile and cache-load times in fresh processes ----------------------------------------------

FRESH = '''
import json, time
t = time.perf_counter(); import llvmlite.binding; llvm_import = time.perf_counter() - t
from optimizers import simulate
simulate("rosenbrock", "adam", [(0.0, 0.0), (1.0, 1.0)], 5, backend="numpy")  # landscape built
t = time.perf_counter()
simulate("rosenbrock", "adam", [(0.0, 0.0), (1.0, 1.0)], 5, lr=0.01, record="final", backend="compiled")
print(json.dumps({"llvm_import": llvm_import, "first_call": time.perf_counter() - t}))
'''


def fresh_process_times() -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "DESCENT_LAB_CACHE": cache, "PYTHONPATH": str(ROOT)}

        def once() -> dict:
            out = subprocess.run([sys.executable, "-c", FRESH], env=env, capture_output=True, text=True,
                                 check=True)
            return json.loads(out.stdout.strip().splitlines()[-1])

        compiling = once()
        loading = min((once() for _ in range(3)), key=lambda r: r["first_call"])
    return compiling, loading


# -- per-start sweeps and the basin map (the Explore page's work) -----------------------------------

def explore_work() -> dict[str, list[float]]:
    """Two calls the Explore page makes, kernel loaded, best of ROUNDS: a 100 × 100 (lr, momentum)
    SGD sweep on the quadratic (one start per setting: 10,000 settings traced together) and a
    200 × 200 basin map (Adam, Himmelblau, one setting), each with its plan traced anew
    ("first") and kept ("again")."""
    lr, momentum = np.meshgrid(np.geomspace(1e-3, 0.3, 100), np.linspace(0.0, 0.99, 100))
    sweep_starts = np.tile([[-4.0, 2.0]], (10_000, 1))
    xs, ys = np.meshgrid(np.linspace(-5, 5, 200), np.linspace(-5, 5, 200))
    grid = np.stack([xs.ravel(), ys.ravel()], axis=1)

    def sweep():
        return simulate("quadratic", "sgd", sweep_starts, STEPS, lr=lr.ravel(), momentum=momentum.ravel(),
                        record="final", backend="compiled")

    def basin():
        return simulate("himmelblau", "adam", grid, STEPS, lr=0.05, record="final", backend="compiled")

    sweep()
    basin()  # compiled (or loaded) now
    times: dict[str, list[float]] = {"sweep first": [], "sweep again": [], "basin first": [], "basin again": []}
    for _ in range(ROUNDS):
        for name, function in (("sweep", sweep), ("basin", basin)):
            compiled._PLANS.clear()
            times[f"{name} first"].append(timed(function))
            times[f"{name} again"].append(timed(function))
    return times


# -- the rounds ------------------------------------------------------------------------------------

def main() -> None:
    land = get_landscape("rosenbrock")
    starts = batch_starts(STARTS)

    def run_simulate(backend: str, threads: int | None = None):
        if threads:
            os.environ["DESCENT_LAB_THREADS"] = str(threads)
        try:
            return simulate(land, "adam", starts, STEPS, lr=LR, record="final", backend=backend)
        finally:
            os.environ.pop("DESCENT_LAB_THREADS", None)

    reference = run_simulate("numpy")
    kernel = run_simulate("compiled", 1)
    assert np.array_equal(reference.final_points, kernel.final_points), "compiled ≠ NumPy"
    floor = divider_floor()
    workers = peers()
    contenders = {"numpy": lambda: run_simulate("numpy"), "compiled1": lambda: run_simulate("compiled", 1),
                  "compiled2": lambda: run_simulate("compiled", 2), "floor": floor}
    times: dict[str, list[float]] = {name: [] for name in [*contenders, *workers]}
    for _ in range(ROUNDS):
        for name, function in contenders.items():
            times[name].append(timed(function))
        for name, worker in workers.items():
            times[name].append(worker.time())
    jax_compile = workers["jax1"].compile_seconds if "jax1" in workers else math.nan
    for worker in workers.values():
        worker.close()

    tracemalloc.start()
    run_simulate("compiled", 2)
    compiled_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    tracemalloc.start()
    run_simulate("numpy")
    numpy_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    single_steps = 20_000
    start = [(-1.5, 2.0)]
    simulate(land, "adam", start, single_steps, lr=LR, record="path", backend="compiled")  # plan traced
    single_compiled = min(timed(lambda: simulate(land, "adam", start, single_steps, lr=LR, record="path",
                                                 backend="compiled")) for _ in range(3)) / single_steps
    compiled._PLANS.clear()
    single_traced = timed(lambda: simulate(land, "adam", start, single_steps, lr=LR, record="path",
                                           backend="compiled")) / single_steps
    single_float = min(timed(lambda: simulate(land, "adam", start, single_steps, lr=LR, record="path",
                                              backend="numpy")) for _ in range(3)) / single_steps
    compiling, loading = fresh_process_times()

    # The Compare page's work (6 optimizers × 500 steps × 12 starts): `auto` must stay on NumPy.
    compare_starts = batch_starts(12)
    names = ["sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"]

    def compare_page(backend: str):
        return [simulate(land, name, compare_starts, 500, record="path", backend=backend) for name in names]

    compare_page("numpy")
    compare_rounds: dict[str, list[float]] = {"numpy": [], "auto": []}
    for _ in range(ROUNDS):  # interleaved
        for backend, values in compare_rounds.items():
            values.append(timed(lambda b=backend: compare_page(b)))
    compare_times = {backend: min(values) for backend, values in compare_rounds.items()}
    compare_backends = {run.backend for run in compare_page("auto")}

    explore = explore_work()
    times.update(explore)
    best = {name: min(values) for name, values in times.items()}
    worst = {name: max(values) for name, values in times.items()}

    def figure(name: str) -> str:
        return f"{best[name] * 1e3:.0f} ms ({best[name] * 1e3:.0f}–{worst[name] * 1e3:.0f})"

    ns = STARTS * STEPS / 1e9
    rows = [
        ("`simulate`, NumPy path (backend='numpy')", figure("numpy"), f"{best['numpy'] / ns:.1f} ns", ""),
        ("`simulate`, compiled, 1 thread", figure("compiled1"), f"{best['compiled1'] / ns:.1f} ns",
         f"≤ 1.0× JAX 1 thread: **{best['compiled1'] / best.get('jax1', math.nan):.2f}×**; "
         f"≤ 1.2× floor: **{best['compiled1'] / best['floor']:.2f}×**"),
        ("`simulate`, compiled, 2 threads", figure("compiled2"), f"{best['compiled2'] / ns:.1f} ns",
         f"≤ 0.5× JAX 1 thread: **{best['compiled2'] / best.get('jax1', math.nan):.2f}×**"),
        ("JAX + optax `jit(vmap(scan))`, float64, 1 core", figure("jax1") if "jax1" in best else "n/a",
         f"{best.get('jax1', math.nan) / ns:.1f} ns", f"compile {jax_compile:.2f} s"),
        ("JAX + optax, 2 cores", figure("jax2") if "jax2" in best else "n/a",
         f"{best.get('jax2', math.nan) / ns:.1f} ns", ""),
        ("torch.optim.Adam(fused=True) on one (N, 2) tensor, 2 threads", figure("torch") if "torch" in best else "n/a",
         f"{best.get('torch', math.nan) / ns:.1f} ns", ""),
        ("divider floor: 4 divisions + 2 roots per trajectory-step, same layout, 1 thread", figure("floor"),
         f"{best['floor'] / ns:.1f} ns", ""),
        ("first-call compile, fresh process (empty cache; + `import llvmlite` "
         f"{compiling['llvm_import']:.2f} s)", f"{compiling['first_call']:.2f} s", "", "≤ 1 s"),
        ("cached load, fresh process (+ `import llvmlite` "
         f"{loading['llvm_import']:.2f} s)", f"{loading['first_call']:.2f} s", "", "≤ 0.3 s"),
        ("one trajectory, per step: compiled (plan cached) / first call (tracing) / float path",
         f"{single_compiled * 1e6:.2f} µs / {single_traced * 1e6:.1f} µs / {single_float * 1e6:.2f} µs", "",
         "≤ 1 µs compiled, ≤ 10 µs float"),
        ("Compare page's work, 6 optimizers × 500 steps × 12 starts: backend='auto' / 'numpy'",
         f"{compare_times['auto'] * 1e3:.0f} ms / {compare_times['numpy'] * 1e3:.0f} ms "
         f"(auto ran {', '.join(sorted(compare_backends))})", "", "auto never slower"),
        ("100 × 100 (lr, momentum) SGD sweep, quadratic, one start per setting: plan traced / kept",
         f"{figure('sweep first')} / {figure('sweep again')}", f"{best['sweep first'] / (10_000 * STEPS / 1e9):.1f} ns",
         ""),
        ("200 × 200 basin map, Adam, Himmelblau: plan traced / kept",
         f"{figure('basin first')} / {figure('basin again')}", f"{best['basin first'] / (40_000 * STEPS / 1e9):.1f} ns",
         f"≤ 0.1 s: **{best['basin first']:.3f} s**"),
        ("peak memory, record='final' (tracemalloc): compiled / NumPy",
         f"{compiled_peak:.0f} MB / {numpy_peak:.0f} MB", "", "≤ 200 MB"),
    ]
    load = os.getloadavg()
    print(f"Python {sys.version.split()[0]}, NumPy {np.__version__}, {platform.machine()}, "
          f"{os.cpu_count()} cores, load average {load[0]:.1f} during the run; "
          f"Adam, Rosenbrock, {STARTS:,} starts × {STEPS} steps, record='final'; best of {ROUNDS} "
          f"interleaved rounds (range)\n")
    print("| engine | time | per trajectory-step | budget |\n|---|---|---|---|")
    for name, measured, per_step, budget in rows:
        print(f"| {name} | {measured} | {per_step} | {budget} |")


if __name__ == "__main__":
    main()
