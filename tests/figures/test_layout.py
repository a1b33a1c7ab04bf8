"""Where the parts of a figure land when a browser draws it: title, legend, axis titles, tick labels,
controls and plots never overlap and nothing is cut at the edge, for one run or sixteen, on a
screen or a projector; presentation mode is large enough to read."""

from __future__ import annotations

import json
from itertools import combinations

import pytest

from exports.renderer import layout_boxes
from figures import comparison_figure
from figures.surface import surface_figure
from landscapes import get_landscape
from optimizers import simulate

SIZES = [(1280, 720), (800, 560)]


def runs(count: int) -> list:
    landscape = get_landscape("quadratic")
    return [simulate(landscape, "sgd", [(-4.0, 2.0)], 40, record="path", lr=0.01 * (k + 1), momentum=0.5)
            for k in range(count)]


def parts(boxes: dict) -> dict[str, list[list[float]]]:
    """The boxes that must keep apart, by part: the two plot areas made whole from their axes."""
    found = {name: boxes[name] for name in boxes if boxes[name] and not name.endswith("_plot")
             and name != "legend_items"}
    for x, y in (("x", "y"), ("x2", "y2")):
        if f"{x}_plot" in boxes:
            (left, _, right, _), (_, top, _, bottom) = boxes[f"{x}_plot"][0], boxes[f"{y}_plot"][0]
            found[f"{x}{y} plot"] = [[left, top, right, bottom]]
    return found


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1


# Tick labels sit against their own plot area (a pixel or two inside it is no collision).
OWN_PLOT = {"x_ticks": "xy plot", "y_ticks": "xy plot", "x2_ticks": "x2y2 plot", "y2_ticks": "x2y2 plot"}


def assert_apart(boxes: dict, width: int, height: int) -> None:
    found = parts(boxes)
    for (one, first), (other, second) in combinations(found.items(), 2):
        if OWN_PLOT.get(one) == other or OWN_PLOT.get(other) == one:
            continue
        for a in first:
            for b in second:
                assert not overlap(a, b), f"{one} {a} overlaps {other} {b}"
    for name, part in found.items():
        for left, top, right, bottom in part:
            assert left >= 0 and top >= 0 and right <= width and bottom <= height, f"{name} is cut at the edge"


@pytest.mark.parametrize("presentation", [False, True], ids=["screen", "presentation"])
@pytest.mark.parametrize("count", [1, 16])
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_no_part_of_the_comparison_figure_overlaps_another(count, presentation, width, height):
    figure = comparison_figure(get_landscape("quadratic"), runs(count), presentation=presentation)
    boxes = layout_boxes(json.loads(figure.to_json()), width, height)

    assert len(boxes["legend_items"]) == count
    assert_apart(boxes, width, height)


@pytest.mark.parametrize("presentation", [False, True], ids=["screen", "presentation"])
@pytest.mark.parametrize("count", [1, 16])
def test_no_part_of_the_surface_figure_overlaps_another(count, presentation):
    landscape = get_landscape("quadratic")
    figure = surface_figure(landscape, runs(count), presentation=presentation)
    boxes = layout_boxes(json.loads(figure.to_json()), 1280, 720)

    assert len(boxes["legend_items"]) == count
    assert_apart(boxes, 1280, 720)


def text_height(boxes: list[list[float]]) -> float:
    return min(bottom - top for _, top, _, bottom in boxes)


def test_presentation_text_is_large_enough_for_a_projector():
    figure = comparison_figure(get_landscape("quadratic"), runs(3), presentation=True)
    boxes = layout_boxes(json.loads(figure.to_json()), 1280, 720)
    screen = layout_boxes(json.loads(comparison_figure(get_landscape("quadratic"), runs(3)).to_json()), 1280, 720)

    for ticks in ("x_ticks", "y_ticks", "x2_ticks"):
        assert text_height(boxes[ticks]) >= 18  # an 18 px font's glyph boxes are at least 18 px tall
    assert text_height(boxes["title"]) > text_height(boxes["x_ticks"])
    assert text_height(boxes["legend_items"]) > text_height(screen["legend_items"])


def test_presentation_draws_thicker_lines_and_bigger_markers():
    landscape = get_landscape("quadratic")
    screen = comparison_figure(landscape, runs(1)).to_dict()["data"]
    large = comparison_figure(landscape, runs(1), presentation=True).to_dict()["data"]
    for plain, big in zip(screen, large, strict=True):
        if "line" in plain and "width" in plain["line"]:
            assert big["line"]["width"] > plain["line"]["width"], plain["name"]
        if "marker" in plain and "size" in plain["marker"] and plain["name"] != "add a start":
            assert big["marker"]["size"] > plain["marker"]["size"], plain["name"]
