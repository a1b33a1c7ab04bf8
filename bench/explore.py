"""Benchmarks of the Explore library (DESIGN §7): `python -m bench.explore` prints the README's table.

Budgets: a basin map of 200 × 200 starts × 500 steps ≤ 0.1 s of compute, a sweep of 100 × 100
settings × 500 steps ≤ 0.1 s, ≤ 200 MB. Each figure is the best of its rounds with the worst beside
it (the machine is shared); the plain `simulate` call of the same starts with one setting is timed in
the same rounds, so the ratio says what the map or the sweep adds on top of the engine. A "cold" sweep
uses settings the process has not seen (a new grid each round): what a zoom costs. The basin figure's
size as the chart component sends it, with and without the hover layer (`figures.explore.basin_hover_traces`),
and the time to build it, close the table; then the sweep heatmap's (100 × 100 with theory's lines) as
st.plotly_chart sends it (plotly.io.to_json).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import plotly.io as pio

from chart import chart_data
from explore import analytic_rate, basin_map, sweep
from figures.explore import basin_figure, sweep_figure
from landscapes import get_landscape
from optimizers import simulate

RESOLUTION, SETTINGS, STEPS = 200, 100, 500


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def peak_mb(function) -> float:
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--numpy", action="store_true", help="also time the NumPy backend (the sweep: ~40 s)")
    parser.add_argument("--coupled", action="store_true",
                        help="only the coupled optimizers' sweeps as the page opens them (~15 s)")
    options = parser.parse_args()
    if options.coupled:
        coupled_sweeps()
        return
    himmelblau, quadratic = get_landscape("himmelblau"), get_landscape("quadratic")
    grid = np.stack([a.ravel() for a in np.meshgrid(np.linspace(-5, 5, RESOLUTION),
                                                    np.linspace(-5, 5, RESOLUTION))], axis=1)
    settings = {"lr": 0.01, "momentum": 0.9}

    def basins(backend="compiled"):
        return basin_map(himmelblau, "sgd", RESOLUTION, STEPS, backend=backend, **settings)

    def plain_batch():
        return simulate(himmelblau, "sgd", grid, STEPS, record="final", tol=1e-3, backend="compiled", **settings)

    def momentum_sweep(shift=0.0, backend="compiled", metric="final_loss"):
        return sweep(quadratic, "sgd", [(-4.0, 2.0)], STEPS,
                     {"lr": np.logspace(-3, 0, SETTINGS) * (1 + shift), "momentum": np.linspace(0, 0.99, SETTINGS)},
                     metric=metric, backend=backend)

    one_setting = np.tile([(-4.0, 2.0)], (SETTINGS * SETTINGS, 1))

    def plain_sweep_batch():
        return simulate(quadratic, "sgd", one_setting, STEPS, record="final", tol=1e-3, backend="compiled",
                        lr=0.1, momentum=0.5)

    first_map, result = timed(basins)  # compiles the kernel, or loads it from the on-disk cache
    assert result.backend == "compiled"
    first_sweep, _ = timed(momentum_sweep)
    rows = {"basin map": [], "same starts, plain simulate": [], "sweep (settings seen)": [],
            "sweep (new settings)": [], "same count, one setting": []}
    for round_ in range(options.rounds):
        rows["basin map"].append(timed(basins)[0])
        rows["same starts, plain simulate"].append(timed(plain_batch)[0])
        rows["sweep (settings seen)"].append(timed(momentum_sweep)[0])
        rows["sweep (new settings)"].append(timed(lambda r=round_: momentum_sweep(1e-6 * (r + 1)))[0])
        rows["same count, one setting"].append(timed(plain_sweep_batch)[0])
    print(f"first basin map (kernel load or compile): {first_map:.2f} s; first sweep: {first_sweep:.2f} s")
    print(f"| {'work':<34} | best (s) | worst (s) | vs budget 0.1 s |")
    print(f"|{'-' * 36}|---------:|----------:|----------------:|")
    for name, times in rows.items():
        print(f"| {name:<34} | {min(times):8.3f} | {max(times):9.3f} | {min(times) / 0.1:14.2f}× |")
    print(f"basin map / plain simulate: {min(rows['basin map']) / min(rows['same starts, plain simulate']):.2f}; "
          f"sweep seen / one setting: {min(rows['sweep (settings seen)']) / min(rows['same count, one setting']):.2f}; "
          f"sweep new / one setting: {min(rows['sweep (new settings)']) / min(rows['same count, one setting']):.1f}")
    print(f"peak memory: basin map {peak_mb(basins):.0f} MB, sweep {peak_mb(momentum_sweep):.0f} MB, "
          f"sweep with metric='rate' (paths kept) {peak_mb(lambda: momentum_sweep(metric='rate')):.0f} MB")
    figure_sizes(himmelblau, settings, options.rounds)
    sweep_figure_size(momentum_sweep(), options.rounds)
    if options.numpy:
        numpy_map, _ = timed(lambda: basins("numpy"))
        numpy_sweep, _ = timed(lambda: momentum_sweep(0.5, "numpy"))
        print(f"NumPy backend: basin map {numpy_map:.2f} s, sweep {numpy_sweep:.2f} s")


def figure_sizes(landscape, settings: dict, rounds: int) -> None:
    """The basin figure sent to the browser (JSON characters) with and without its hover layer, per cell
    side and step budget (the steps are one byte a cell under 256 steps, two from 256; the cell indices one
    byte up to 256 cells a side, two above), and the best time to build and serialize each."""
    print("| cells a side, steps | figure without hover | with hover | hover per cell | build without / with |")
    print("|---|---:|---:|---:|---:|")
    for resolution, steps in ((150, 150), (150, STEPS), (200, STEPS), (300, STEPS)):
        basins = basin_map(landscape, "sgd", resolution, steps, **settings)
        sizes, times = {}, {}
        for hover in (False, True):
            def build(basins=basins, hover=hover):
                return chart_data(basin_figure(basins, hover=hover), controls=False)["figure"]
            times[hover] = min(timed(build)[0] for _ in range(rounds))
            sizes[hover] = len(build())
        print(f"| {resolution}, {steps} | {sizes[False] / 1e3:.0f} kB | {sizes[True] / 1e3:.0f} kB | "
              f"{(sizes[True] - sizes[False]) / basins.labels.size:.1f} B | "
              f"{times[False] * 1e3:.0f} / {times[True] * 1e3:.0f} ms |")


def sweep_figure_size(result, rounds: int) -> None:
    """The sweep heatmap with theory's lines as Streamlit sends it: its size, the best time to build the
    figure and to serialize it."""
    theory = analytic_rate(result)
    build = min(timed(lambda: sweep_figure(result, analytic=theory))[0] for _ in range(rounds))
    figure = sweep_figure(result, analytic=theory)
    serialize = min(timed(lambda: pio.to_json(figure, validate=False))[0] for _ in range(rounds))
    size = len(pio.to_json(figure, validate=False))
    print(f"sweep figure {len(result.x_values)} x {len(result.y_values)} with theory: {size / 1e3:.0f} kB "
          f"({size / result.grid.size:.0f} B a cell), build {build * 1e3:.1f} ms, JSON {serialize * 1e3:.1f} ms")


def coupled_sweeps(sides=(16, 50, 100)) -> None:
    """Newton, L-BFGS and the Armijo line search step on NumPy, every setting in one batch (their rules
    take per-start arrays): their sweep as the Explore page opens it (Himmelblau's starts and budget, the
    optimizer's default axes over their opening ranges) at a few sizes, and its cost per setting and step
    at the largest (`ui.explore.COUPLED_SECONDS`)."""
    from optimizers import get_optimizer, optimizer_names
    from ui.explore import DEFAULT, axis_range, axis_values, default_axes

    land = get_landscape(DEFAULT.landscape_name)
    starts, steps = list(DEFAULT.setup.starts or land.starts), DEFAULT.setup.steps
    print(f"| coupled optimizer: sweep axes ({len(starts)} starts × {steps} steps) | "
          + " | ".join(f"{side} × {side} (s)" for side in sides) + " | per setting and step |")
    print("|---|" + "---:|" * (len(sides) + 1))
    for name in (n for n in optimizer_names() if not get_optimizer(n).elementwise):
        names, seconds = default_axes(name), []
        for side in sides:
            axes = {axis: axis_values(axis, *axis_range(name, axis), side) for axis in names}
            seconds.append(timed(lambda axes=axes, name=name: sweep(land, name, starts, steps, axes))[0])
        each = seconds[-1] / (sides[-1] ** 2 * steps)
        print(f"| {name}: {' × '.join(names)} | " + " | ".join(f"{s:.2f}" for s in seconds)
              + f" | {each * 1e6:.2g} µs |")


if __name__ == "__main__":
    main()
