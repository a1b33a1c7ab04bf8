"""Benchmarks of the stepping core (DESIGN §7). Run: `make bench` (prints a Markdown table).

Times are the best of several repeats on this machine (one core: NumPy does not thread
element-wise work); compare ratios measured in the same run, not absolute times across machines.
"""

from __future__ import annotations

import ctypes
import platform
import resource
import sys
import time
import tracemalloc

import numpy as np

from landscapes import get_landscape
from optimizers import simulate

STARTS, STEPS = 40_000, 500


def best_time(function, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def batch_starts(n: int) -> np.ndarray:
    return np.random.default_rng(0).uniform((-2.0, -1.0), (2.0, 3.0), size=(n, 2))


def keep_freed_memory() -> bool:
    """The benchmark's opt-in, process-wide: ask glibc to keep freed blocks for reuse.

    A batch step allocates a dozen arrays of a few hundred kB and frees them again; with
    glibc's defaults each comes back from the kernel as fresh pages, paid for in page faults.
    Raising the mmap and trim thresholds (as MALLOC_MMAP_THRESHOLD_=33554432 would) removes
    that cost. An application may do the same; the library does not change its process.
    Returns False where there is no glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20)) and bool(libc.mallopt(m_trim_threshold, 512 * 2**20))


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def bench_batch() -> dict[str, float]:
    land = get_landscape("rosenbrock")
    starts = batch_starts(STARTS)
    simulate(land, "adam", starts[:100], 5, record="final", lr=0.01)  # warm up
    faults = minor_faults()
    seconds = best_time(lambda: simulate(land, "adam", starts, STEPS, record="final", lr=0.01))
    faults = (minor_faults() - faults) / 5
    tracemalloc.start()
    simulate(land, "adam", starts, STEPS, record="final", lr=0.01)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "ns_per_trajectory_step": seconds / (STARTS * STEPS) * 1e9,
            "peak_mb": peak / 2**20, "page_faults": faults}


def bench_numpy_floor() -> float:
    """The same work hand-fused for this one case: in-place NumPy, gradient written by hand,
    no divergence checks. What plain NumPy can do at best; `simulate` is measured against it."""
    starts = batch_starts(STARTS)

    def run():
        p = np.ascontiguousarray(starts.T)
        m, v, g, tmp, r = (np.zeros_like(p), np.zeros_like(p), np.empty_like(p), np.empty_like(p),
                           np.empty(STARTS))
        x, y, gx, gy = p[0], p[1], g[0], g[1]
        for t in range(1, STEPS + 1):
            np.multiply(x, x, out=r)
            np.subtract(y, r, out=r)
            np.multiply(r, 200.0, out=gy)
            np.multiply(x, r, out=gx)
            gx *= -400.0
            gx += 2 * x - 2
            m *= 0.9
            np.multiply(g, 0.1, out=tmp)
            m += tmp
            v *= 0.999
            np.multiply(g, g, out=tmp)
            tmp *= 0.001
            v += tmp
            np.sqrt(v, out=tmp)
            tmp /= (1 - 0.999**t) ** 0.5
            tmp += 1e-8
            np.divide(m, tmp, out=tmp)
            tmp *= 0.01 / (1 - 0.9**t)
            p -= tmp

    return best_time(run)


def bench_single(steps: int = 20_000) -> float:
    land = get_landscape("rosenbrock")
    simulate(land, "adam", [(-1.5, 2.0)], 10, lr=0.01)
    seconds = best_time(lambda: simulate(land, "adam", [(-1.5, 2.0)], steps, record="path", lr=0.01))
    return seconds / steps * 1e6


def bench_torch(steps: int = 2_000) -> float | None:
    """µs per step of torch.optim.Adam on one 2-parameter tensor in a Python loop."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_default_dtype(torch.float64)

    def run():
        p = torch.tensor([-1.5, 2.0], requires_grad=True)
        opt = torch.optim.Adam([p], lr=0.01)
        for _ in range(steps):
            opt.zero_grad()
            loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
            loss.backward()
            opt.step()

    run()
    return best_time(run, repeats=3) / steps * 1e6


def main() -> None:
    plain = bench_batch()  # glibc's defaults first: mallopt cannot be undone within the process
    kept = keep_freed_memory()
    batch = bench_batch() if kept else plain
    floor = bench_numpy_floor()
    single = bench_single()
    torch_us = bench_torch()
    rows = [
        ("Adam, Rosenbrock, 40,000 starts × 500 steps (record='final')", f"{batch['seconds']:.3f} s",
         "≤ 0.25 s"),
        ("… per trajectory-step", f"{batch['ns_per_trajectory_step']:.1f} ns", "≤ 12.5 ns"),
        ("… peak memory (tracemalloc)", f"{batch['peak_mb']:.0f} MB", "≤ 200 MB"),
        ("… with glibc's default malloc (the rows above opt in to keep freed memory, see "
         "keep_freed_memory)", f"{plain['seconds']:.3f} s, {plain['page_faults']:,.0f} page faults per run "
         f"(opted in: {batch['page_faults']:,.0f})", ""),
        ("… the same work hand-fused in in-place NumPy (no checks, hand-written gradient)",
         f"{floor:.3f} s ({batch['seconds'] / floor:.2f}× faster than simulate)", ""),
        ("Adam, Rosenbrock, one trajectory, per step", f"{single:.2f} µs", "≤ 10 µs"),
    ]
    if torch_us is not None:
        rows += [
            ("torch.optim.Adam in a Python loop, one trajectory, per step", f"{torch_us:.1f} µs", "≈ 120 µs"),
            ("speed-up over torch, one trajectory", f"{torch_us / single:.0f}×", ""),
            ("speed-up over torch looping over 40,000 starts",
             f"{torch_us * 1e-6 * STARTS * STEPS / batch['seconds']:.0f}×", ""),
        ]
    print(f"Python {sys.version.split()[0]}, NumPy {np.__version__}, {platform.machine()}, "
          f"{platform.processor() or 'cpu'}\n")
    print("| benchmark | measured | budget |\n|---|---|---|")
    for name, measured, budget in rows:
        print(f"| {name} | {measured} | {budget} |")


if __name__ == "__main__":
    main()
