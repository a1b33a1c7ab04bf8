"""figures.explore: the basin map is one image whose pixels say each cell's label; the sweep marks its best."""

import numpy as np
import pytest

from explore import DIVERGED, NOWHERE, analytic_rate, basin_map, sweep, tune_lr
from figures.explore import (
    DIVERGED_RGB,
    NOWHERE_RGB,
    basin_csv,
    basin_figure,
    basin_rgb,
    gallery_schedules,
    minimum_colour,
    schedules_figure,
    sweep_csv,
    sweep_figure,
    tuning_figure,
)
from optimizers import SCHEDULES


def test_the_basin_map_is_one_image_not_a_marker_per_cell():
    basins = basin_map("himmelblau", "sgd", 60, 300, lr=0.01)
    spec = _browser_spec(basin_figure(basins))
    assert len(spec["layout"]["images"]) == 1
    drawn = [t for t in spec["data"] if t["mode"] != "none"]  # the hover layer draws nothing
    assert sum(len(_array(t["x"])) for t in drawn) < 20  # legend swatches and the minima only


def test_basin_pixels_carry_hue_of_the_minimum_black_diverged_grey_nowhere():
    basins = basin_map("quadratic", "sgd", 12, 100, lr=0.3)
    rgb = basin_rgb(basins)[::-1]  # rows back to y ascending
    assert (basins.labels == 0).all()
    fastest = np.unravel_index(np.argmin(np.where(basins.steps >= 0, basins.steps, 10**9)), basins.steps.shape)
    hue = [int(minimum_colour(0)[i:i + 2], 16) for i in (1, 3, 5)]
    assert rgb[fastest].tolist() == hue
    diverged = basin_map("quadratic", "sgd", 4, 100, lr=0.6)
    assert (diverged.labels == DIVERGED).all() and (basin_rgb(diverged) == DIVERGED_RGB).all()
    nowhere = basin_map("rosenbrock", "sgd", 4, 3, lr=1e-5)
    assert (nowhere.labels == NOWHERE).all() and (basin_rgb(nowhere) == NOWHERE_RGB).all()
    assert basin_csv(nowhere).decode().count("nowhere") == 16


def test_the_sweep_heatmap_marks_the_best_cell_and_theory_on_a_quadratic():
    result = sweep("quadratic", "sgd", [(-4.0, 2.0)], 100, {"lr": np.logspace(-2, 0, 12), "momentum": [0, 0.5, 0.9]})
    spec = sweep_figure(result, analytic=analytic_rate(result)).to_dict()
    row, column = result.best
    star = next(t for t in spec["data"] if t.get("marker", {}).get("symbol") == "star")
    assert star["x"] == [result.x_values[column]] and star["y"] == [result.y_values[row]]
    assert spec["layout"]["xaxis"]["type"] == "log"
    assert any(t["type"] == "contour" for t in spec["data"])
    assert len(sweep_csv(result).decode().splitlines()) == 1 + 36
    # theory's rate levels are white on the cells; their one legend entry is a colour the white legend shows
    levels = [t for t in spec["data"] if t.get("legendgroup") == "levels"]
    shown = [t for t in levels if t.get("showlegend", True)]
    assert len(levels) > 1 and len(shown) == 1
    assert "white" not in shown[0]["line"]["color"] and not shown[0]["line"]["color"].startswith("rgba(255,255,255")


def test_the_sweep_heatmap_sends_each_cell_in_float32_with_the_values_of_the_sweep():
    import json

    import plotly.io as pio

    result = sweep("quadratic", "sgd", [(-4.0, 2.0)], 100, {"lr": np.logspace(-3, 0, 30), "momentum": [0, 0.5, 0.9]})
    theory = analytic_rate(result)
    spec = json.loads(pio.to_json(sweep_figure(result, analytic=theory), validate=False))  # st.plotly_chart's
    heatmap, cells = spec["data"][0], spec["data"][1]
    shown = np.where(np.isfinite(result.grid), result.grid, np.nan)
    np.testing.assert_array_equal(_array(heatmap["customdata"]).reshape(shown.shape), shown.astype(np.float32))
    assert np.isnan(_array(heatmap["customdata"])).any()  # lr 1 diverges: no value, drawn black
    grid_x, grid_y = np.meshgrid(result.x_values, result.y_values)
    np.testing.assert_array_equal(_array(cells["x"]), grid_x.ravel().astype(np.float32))
    np.testing.assert_array_equal(_array(cells["y"]), grid_y.ravel().astype(np.float32))
    contours = [t for t in spec["data"] if t["type"] == "contour"]
    assert len(contours) == 4
    for contour in contours:
        np.testing.assert_array_equal(_array(contour["z"]).reshape(theory.shape), theory.astype(np.float32))
    per_cell = [value for trace in spec["data"] for value in trace.values()
                if isinstance(value, dict) and "bdata" in value and _array(value).size == result.grid.size]
    assert len(per_cell) == 2 + 2 + 4 and all(value["dtype"] == "f4" for value in per_cell)


def test_tuning_curves_star_each_best_rate():
    tunings = [tune_lr("rosenbrock", name, [(-1.5, 2.0)], 100, np.logspace(-4, 0, 9)) for name in ("sgd", "adam")]
    spec = tuning_figure(tunings).to_dict()
    stars = [t for t in spec["data"] if t.get("marker", {}).get("symbol") == "star"]
    assert [s["x"][0] for s in stars] == [t.best_lr for t in tunings]


def test_the_gallery_draws_every_schedule_with_warmup_in_front():
    entries = gallery_schedules(0.1, 300, warmup=10)
    assert [name for name, _, _ in entries] == ["constant", *SCHEDULES]
    for _, _, rates in entries:
        if not isinstance(rates, str):
            assert rates[0] < rates[9] or rates[9] == 0  # the linear warmup ramps up
    spec = schedules_figure(0.1, 300, 10).to_dict()
    assert len(spec["data"]) == sum(not isinstance(r, str) for _, _, r in entries)


def test_the_basin_image_keeps_its_cells_square_when_stretched():
    import base64
    import io

    from PIL import Image

    basins = basin_map("himmelblau", "sgd", 30, 100, lr=0.01)
    source = basin_figure(basins).to_dict()["layout"]["images"][0]["source"]
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).convert("RGB"))
    assert image.shape[0] >= 600 and image.shape[0] % 30 == 0
    factor = image.shape[0] // 30
    np.testing.assert_array_equal(image[::factor, ::factor], basin_rgb(basins))  # one colour per cell block
    assert len(np.unique(image[:factor, :factor].reshape(-1, 3), axis=0)) == 1


def _browser_spec(figure) -> dict:
    """The figure as the chart component sends it (typed arrays as {"dtype", "bdata"})."""
    import json

    from chart import chart_data

    return json.loads(chart_data(figure, controls=False)["figure"])


def _array(value) -> np.ndarray:
    """A typed array spec decoded as plotly.js decodes it."""
    import base64

    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def _hover_cells(spec: dict) -> list[tuple[dict, np.ndarray, np.ndarray]]:
    """The basin figure's hover traces with each point's (column, row): its index on the trace's axes plus
    where those axes start (xaxis3 at column 256, ...)."""
    def first(axis: str) -> int:
        return int(round(-0.5 - spec["layout"][axis]["range"][0]))

    return [(trace, _array(trace["x"]).astype(int) + first("xaxis" + trace["xaxis"][1:]),
             _array(trace["y"]).astype(int) + first("yaxis" + trace["yaxis"][1:]))
            for trace in spec["data"] if trace["mode"] == "none"]


@pytest.mark.parametrize(("resolution", "steps"), [(50, 150), ((300, 40), 400)])
def test_hovering_a_basin_cell_tells_its_start_its_minimum_and_its_steps(resolution, steps):
    basins = basin_map("himmelblau", "sgd", resolution, steps, lr=0.02, momentum=0.9)
    assert len(np.unique(basins.labels)) >= 3 and (basins.steps < 0).any() and (basins.steps >= 0).any()
    spec = _browser_spec(basin_figure(basins))
    layout = spec["layout"]
    seen = np.zeros(basins.labels.shape, dtype=int)
    for trace, columns, rows in _hover_cells(spec):
        assert trace["x"]["dtype"] == trace["y"]["dtype"] == "u1"  # a byte a coordinate
        template = trace["hovertemplate"]
        assert template.startswith("start (%{x}, %{y})")
        labels = basins.labels[rows, columns]
        (label,) = np.unique(labels)  # one outcome a trace, named in its text
        if label >= 0:
            minimum = basins.minima[label]
            assert f"minimum {label + 1} at ({minimum.x:.3g}, {minimum.y:.3g})" in template
        else:
            assert ("diverged" if label == DIVERGED else "ended nowhere") in template
        steps = basins.steps[rows, columns]
        if "customdata" in trace:
            np.testing.assert_array_equal(_array(trace["customdata"]), steps)
            assert "after %{customdata} steps" in template and (steps >= 0).all()
        else:
            assert (steps == -1).all() and f" {basins.steps_run} steps" in template
            assert "never" in template or (label == DIVERGED and "diverged within" in template)
        # %{x} and %{y} print the tick text at the point's index: its cell centre
        for axis, index, centres in (("xaxis" + trace["xaxis"][1:], trace["x"], basins.xs[columns]),
                                     ("yaxis" + trace["yaxis"][1:], trace["y"], basins.ys[rows])):
            ticks = layout[axis]
            assert layout[axis]["overlaying"] == axis[0]
            assert ticks["tickvals"] == list(range(len(ticks["ticktext"])))
            printed = np.array([float(ticks["ticktext"][i]) for i in _array(index)])
            np.testing.assert_allclose(printed, centres, rtol=1e-3, atol=1e-9)
        seen[rows, columns] += 1
    assert (seen == 1).all()  # every cell, once


def test_the_hover_layer_costs_a_few_bytes_a_cell_and_stays_out_of_exports():
    from chart import chart_data

    basins = basin_map("himmelblau", "sgd", 120, 150, lr=0.01)
    light = len(chart_data(basin_figure(basins, hover=False), controls=False)["figure"])
    full = len(chart_data(basin_figure(basins), controls=False)["figure"])
    assert (full - light) / basins.labels.size <= 5  # one byte a coordinate, one for the steps, base64
    assert not _hover_cells(_browser_spec(basin_figure(basins, hover=False)))


def test_the_picked_start_is_ringed_on_the_map():
    basins = basin_map("himmelblau", "sgd", 20, 50, lr=0.01)
    start = basins.start_at(2.1, -3.1)
    def rings(picked):
        return [t for t in basin_figure(basins, picked=picked).to_dict()["data"] if t.get("name") == "picked start"]

    assert [(r["x"][0], r["y"][0]) for r in rings(start)] == [start]
    assert not rings((99.0, 0.0))  # outside the view: no ring


def test_every_metric_and_score_has_a_short_title_for_the_page():
    from explore import METRICS, SCORES
    from figures.explore import METRIC_TITLES, SCORE_TITLES

    assert set(METRIC_TITLES) == set(METRICS) and set(SCORE_TITLES) == set(SCORES)
    assert all(len(title) <= 30 for title in (*METRIC_TITLES.values(), *SCORE_TITLES.values()))
