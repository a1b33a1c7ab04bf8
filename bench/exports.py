"""Benchmarks of the Compare page's exports (DESIGN §7: PNG ≤ 1 s with a warm exporter).

Run: `make bench` (prints a Markdown table). Each format is made the way the page's Export
button makes it (`ui.exporting.makers`), for the page's default comparison (5 optimizers ×
150 steps). The first image starts the export browser; later ones reuse it. Each row gives the
wall time and the CPU time the export browser's processes spent on it (read from /proc): what a
class's exports cost the server's machine beside the app's own CPU.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from figures import comparison_figure, legend_labels
from optimizers import Run
from ui import compute
from ui.exporting import ANIMATION_FRAMES, makers
from ui.state import CompareState

# (format, what the row measures): formats in the order they are made.
ORDER = (("png", "PNG, cold: starts the export browser"), ("png", "PNG, warm"), ("svg", "SVG"),
         ("html", "HTML (plotly.js inside)"), ("gif", "GIF, first"),
         ("gif", "GIF, warm"), ("mp4", "MP4"), ("csv", "CSV"), ("json", "JSON"))
WARM_ROUNDS = 5  # a warm PNG and SVG are made this many times more; the row gives the median


def browser_cpu() -> float:
    """CPU seconds used so far by this process's descendants that are alive (the export browser)."""
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended meanwhile
            continue
        fields = text[text.rindex(")") + 2:].split()
        stats[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    ours, total, grew = {os.getpid()}, 0.0, True
    while grew:
        grew = False
        for pid, (parent, _) in stats.items():
            if parent in ours and pid not in ours:
                ours.add(pid)
                total += stats[pid][1]
                grew = True
    return total


def export_times() -> list[tuple[str, float, float, int]]:
    """(row, seconds, export browser's CPU seconds, bytes) for each export in `ORDER`, in that
    order; a warm PNG and SVG: the median of `WARM_ROUNDS` + 1."""
    state = CompareState()
    landscape = compute.landscape_of(state)
    runs = [run for run in compute.run_cards(landscape, state, tuple(landscape.starts)) if isinstance(run, Run)]
    labels = legend_labels(runs)
    figure = comparison_figure(landscape, runs, labels=labels, slots=[card.slot for card in state.cards])
    make = makers(figure, runs, labels, landscape)
    results = []
    for name, row in ORDER:
        rounds = []
        for _ in range(1 + (WARM_ROUNDS if name in ("png", "svg") and "cold" not in row else 0)):
            began, used = time.perf_counter(), browser_cpu()
            data = make[name]()
            rounds.append((time.perf_counter() - began, browser_cpu() - used))
        seconds, cpu = sorted(rounds)[len(rounds) // 2]
        results.append((row, seconds, cpu, len(data)))
    return results


def main() -> None:
    print(f"| export of the default comparison (GIF and MP4: {ANIMATION_FRAMES} frames) | seconds "
          "| export browser's CPU | size |")
    print("|---|---|---|---|")
    for row, seconds, cpu, size in export_times():
        print(f"| {row} | {seconds:.2f} | {cpu:.2f} s | {size / 1e3:,.0f} kB |")


if __name__ == "__main__":
    main()
