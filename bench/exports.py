"""Benchmarks of the Compare page's exports (DESIGN §7: PNG ≤ 1 s with a warm exporter).

Run: `make bench` (prints a Markdown table). Each format is made the way the page's Export
button makes it (`ui.exporting.makers`), for the page's default comparison (5 optimizers ×
150 steps). The first image starts the export browser; later ones reuse it.
"""

from __future__ import annotations

import time

from figures import comparison_figure, legend_labels
from optimizers import Run
from ui import compute
from ui.exporting import ANIMATION_FRAMES, makers
from ui.state import CompareState

# (format, what the row measures): formats in the order they are made.
ORDER = (("png", "PNG, cold: starts the export browser"), ("png", "PNG, warm"), ("svg", "SVG"),
         ("html", "HTML (plotly.js inside)"), ("gif", "GIF, first: loads plotly.js into the frames tab"),
         ("gif", "GIF, warm"), ("mp4", "MP4"), ("csv", "CSV"), ("json", "JSON"))


def export_times() -> list[tuple[str, float, int]]:
    """(row, seconds, bytes) for each export in `ORDER`, in that order."""
    state = CompareState()
    landscape = compute.landscape_of(state)
    runs = [run for run in compute.run_cards(landscape, state, tuple(landscape.starts)) if isinstance(run, Run)]
    labels = legend_labels(runs)
    figure = comparison_figure(landscape, runs, labels=labels, slots=[card.slot for card in state.cards])
    make = makers(figure, runs, labels, landscape)
    results = []
    for name, row in ORDER:
        began = time.perf_counter()
        data = make[name]()
        results.append((row, time.perf_counter() - began, len(data)))
    return results


def main() -> None:
    print(f"| export of the default comparison (GIF and MP4: {ANIMATION_FRAMES} frames) | seconds | size |")
    print("|---|---|---|")
    for row, seconds, size in export_times():
        print(f"| {row} | {seconds:.2f} | {size / 1e3:,.0f} kB |")


if __name__ == "__main__":
    main()
