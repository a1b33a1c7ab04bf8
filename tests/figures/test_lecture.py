"""The Lecture figures: frames named by step that move only the arrows and markers, arrows that start
at the right points and end at base + scale·vector on one scale, Distill's rate map, the substituted
equations' numbers."""

from __future__ import annotations

import re

import numpy as np
import pytest

from figures import (
    equations_at,
    equations_by_step,
    lecture_figure,
    map_click_setting,
    momentum_map_figure,
    momentum_rate,
    phase_figure,
    state_figure,
)
from figures.lecture import ARROW_NAMES, arrow_scale, nice_scale
from figures.lecture_data import step_vectors
from landscapes import get_landscape
from optimizers import simulate

STEPS = 30
START = (-4.0, 2.0)


@pytest.fixture(scope="module")
def quadratic():
    return get_landscape("quadratic")


@pytest.fixture(scope="module")
def runs(quadratic):
    return [simulate(quadratic, "sgd", [START], STEPS, lr=0.05, momentum=0.9),
            simulate(quadratic, "adam", [START], STEPS, lr=0.1),
            simulate(quadratic, "nesterov", [START], STEPS, lr=0.05, momentum=0.9)]


@pytest.fixture(scope="module")
def figure(quadratic, runs):
    return lecture_figure(quadratic, runs, step=4).to_dict()


def traces_named(spec, name):
    return [i for i, trace in enumerate(spec["data"]) if trace.get("name") == name]


def frame(spec, step):
    return next(f for f in spec["frames"] if f["name"] == str(step))


def frame_trace(spec, step, index):
    shown = frame(spec, step)
    return shown["data"][shown["traces"].index(index)]


def test_frames_are_named_by_step_and_carry_only_the_moving_traces(figure):
    assert [f["name"] for f in figure["frames"]] == [str(k) for k in range(STEPS + 1)]
    moving = figure["frames"][0]["traces"]
    assert all(f["traces"] == moving for f in figure["frames"])
    assert all(figure["data"][i]["type"] == "scatter" for i in moving)
    assert all(set(update) <= {"x", "y", "type"} for f in figure["frames"] for update in f["data"])
    # the contour is a layout image, never in a frame
    assert figure["layout"]["images"] and all("layout" not in f for f in figure["frames"])


def test_arrows_end_at_base_plus_scale_times_vector_on_one_scale(figure, runs):
    scale = figure["layout"]["meta"]["arrow_scale"]
    index = {name: traces_named(figure, text) for name, text in ARROW_NAMES.items()}
    sgd, adam, nesterov = (step_vectors(run) for run in runs)
    k = 7
    # SGD momentum: velocity from θ_k, the gradient step from its tip; the update from θ_k
    momentum_trace, _ = index["momentum"]  # SGD's, then Nesterov's
    gradient_sgd, gradient_adam, gradient_nesterov = index["gradient"]
    update_sgd = index["update"][0]
    point = sgd.points[0, k]
    momentum = frame_trace(figure, k, momentum_trace)
    assert momentum["x"][:2] == pytest.approx([point[0], point[0] + scale * sgd.momentum[0, k, 0]])
    assert momentum["y"][:2] == pytest.approx([point[1], point[1] + scale * sgd.momentum[0, k, 1]])
    tip = point + scale * sgd.momentum[0, k]
    gradient = frame_trace(figure, k, gradient_sgd)
    assert gradient["x"][:2] == pytest.approx([tip[0], tip[0] + scale * sgd.gradient_step[0, k, 0]])
    assert gradient["y"][:2] == pytest.approx([tip[1], tip[1] + scale * sgd.gradient_step[0, k, 1]])
    update = frame_trace(figure, k, update_sgd)
    end = point + scale * (runs[0].points[0, k + 1] - point)
    assert (update["x"][1], update["y"][1]) == pytest.approx(tuple(end))
    assert gradient["x"][1] == pytest.approx(end[0]) and gradient["y"][1] == pytest.approx(end[1])  # they add up
    # the gradient step points down the gradient: −η g
    assert np.sign(sgd.gradient_step[0, k]) == pytest.approx(-np.sign(runs[0].grads[0, k]))
    # Adam: the gradient arrow starts at the current point
    adam_gradient = frame_trace(figure, k, gradient_adam)
    assert (adam_gradient["x"][0], adam_gradient["y"][0]) == pytest.approx(tuple(adam.points[0, k]))
    # Nesterov: the look-ahead point is θ_k − γ v_{k}, at its true place
    lookahead = frame_trace(figure, k, index["lookahead"][0])
    velocity_before = runs[2].states["velocity"][0, k - 1]
    assert (lookahead["x"][1], lookahead["y"][1]) == pytest.approx(tuple(nesterov.points[0, k] - 0.9 * velocity_before))
    assert gradient_nesterov is not None


def test_the_scale_puts_the_longest_arrow_at_a_fixed_share_of_the_view(quadratic, runs):
    vectors = [step_vectors(run) for run in runs]
    scale = arrow_scale(vectors, quadratic.bounds, ["gradient", "update", "momentum", "first_moment"])
    longest = max(np.nanmax(np.hypot(*np.moveaxis(v, -1, 0))) for d in vectors
                  for v in (d.gradient_step, d.update, d.momentum, d.first_moment) if v is not None)
    assert scale * longest <= 0.35 * 5 + 1e-9
    assert scale * longest > 0.35 * 5 / 2.5  # rounding down to a nice number loses at most 2.5×
    assert nice_scale(0.47) == 0.25 and nice_scale(3.2) == 2.5 and nice_scale(1.0) == 1.0


def test_the_legend_says_what_a_length_means(figure):
    scale = figure["layout"]["meta"]["arrow_scale"]
    notes = [a["text"] for a in figure["layout"]["annotations"] if a["text"].startswith("arrows")]
    assert notes and f"{1 / scale:.3g}" in notes[0] or scale == 1


def test_an_explicit_scale_is_used_and_arrow_kinds_toggle_as_groups(quadratic, runs):
    spec = lecture_figure(quadratic, runs[:1], scale=3.0, arrows=("gradient",)).to_dict()
    assert spec["layout"]["meta"]["arrow_scale"] == 3.0
    gradient = [t for t in spec["data"] if t.get("legendgroup") == "gradient"]
    assert len(gradient) == 1 and not traces_named(spec, ARROW_NAMES["update"])


def test_adaptive_runs_get_an_accumulator_box_with_sides_proportional_to_the_root(figure, runs):
    boxes = traces_named(figure, ARROW_NAMES["accumulator"])
    assert len(boxes) == 1  # Adam's only
    box_scale = figure["layout"]["meta"]["box_scale"]
    adam = step_vectors(runs[1])
    k = 5
    box = frame_trace(figure, k, boxes[0])
    width = max(v for v in box["x"] if v is not None) - min(v for v in box["x"] if v is not None)
    height = max(v for v in box["y"] if v is not None) - min(v for v in box["y"] if v is not None)
    assert (width, height) == pytest.approx(tuple(box_scale * adam.root[0, k]))
    assert height > 5 * width  # the steep y direction is the damped one


def test_state_figure_markers_move_with_the_step(runs):
    spec = state_figure(runs, step=3).to_dict()
    assert [f["name"] for f in spec["frames"]] == [str(k) for k in range(STEPS + 1)]
    moving = spec["frames"][0]["traces"]
    loss_marker = frame(spec, 9)["data"][0]
    assert loss_marker["x"] == [9, 9, 9]
    assert loss_marker["y"] == pytest.approx([run.losses[0, 9] for run in runs])
    assert all(spec["data"][i]["mode"] == "markers" for i in moving)


def test_phase_figure_marks_the_current_step_along_each_eigen_direction(quadratic, runs):
    spec = phase_figure(quadratic, runs[0], step=2).to_dict()
    marker = frame(spec, 6)["data"]
    points = runs[0].points[0]
    # the quadratic's eigenvectors are the axes; the minimum is the origin
    assert marker[0]["x"][0] == pytest.approx(points[6, 0]) and marker[0]["y"][0] == pytest.approx(
        points[6, 0] - points[5, 0])
    assert marker[1]["x"][0] == pytest.approx(points[6, 1])


@pytest.mark.parametrize("alpha_lambda", np.linspace(0.05, 3.95, 14))
@pytest.mark.parametrize("beta", [0.0, 0.2, 0.5, 0.81, 0.95])
def test_map_rate_is_the_spectral_radius_of_the_iteration_matrix(alpha_lambda, beta):
    lam = 0.7
    alpha = alpha_lambda / lam
    matrix = np.array([[beta, lam], [-alpha * beta, 1 - alpha * lam]])
    assert momentum_rate(alpha_lambda, beta) == pytest.approx(max(abs(np.linalg.eigvals(matrix))), abs=1e-7)


def test_in_the_complex_regime_the_rate_is_the_square_root_of_beta():
    for alpha_lambda, beta in [(1.0, 0.5), (0.5, 0.81), (2.0, 0.9)]:
        assert (1 + beta - alpha_lambda) ** 2 < 4 * beta
        assert momentum_rate(alpha_lambda, beta) == pytest.approx(np.sqrt(beta))
        assert momentum_rate(alpha_lambda, beta) != pytest.approx(2 * np.sqrt(beta))


def test_momentum_map_has_a_panel_per_eigenvalue_the_setting_and_click_inverse():
    spec = momentum_map_figure([0.2, 4.0], lr=0.05, momentum=0.9).to_dict()
    assert len(spec["layout"]["images"]) == 2
    assert spec["layout"]["meta"]["momentum_map"] == {"xy": 0.2, "x2y2": 4.0}
    settings = [t for t in spec["data"] if t.get("name") == "current setting"]
    assert [(t["x"][0], t["y"][0]) for t in settings] == [(pytest.approx(0.01), 0.9), (pytest.approx(0.2), 0.9)]
    texts = {a["name"] for a in spec["layout"]["annotations"]}
    assert {"ripples", "monotonic decrease", "one-step convergence", "monotonic oscillations", "divergence"} <= texts
    assert map_click_setting(0.2, 0.9, 4.0) == (pytest.approx(0.05), 0.9)
    assert all(t["type"] == "scatter" for t in spec["data"])  # the chart's Plotly bundle draws scatter only


def _vector_numbers(latex):
    return [tuple(float(v) for v in pair) for pair in
            re.findall(r"\\begin\{pmatrix\}([-0-9.e]+)\\\\ ([-0-9.e]+)\\end\{pmatrix\}", latex)]


@pytest.mark.parametrize("k", [0, 3, 11])
def test_substituted_numbers_are_the_runs_values(runs, k):
    sgd, adam = runs[0], runs[1]
    lines = equations_at(sgd, 0, k)
    velocity_line = next(line for line in lines if line.startswith("b_t"))
    assert _vector_numbers(velocity_line)[-1] == pytest.approx(tuple(sgd.states["velocity"][0, k]), rel=1e-3)
    theta_line = next(line for line in lines if line.startswith(r"\theta_t"))
    numbers = _vector_numbers(theta_line)
    assert numbers[0] == pytest.approx(tuple(sgd.points[0, k]), rel=1e-3)
    assert numbers[-1] == pytest.approx(tuple(sgd.points[0, k + 1]), rel=1e-3)
    adam_lines = equations_at(adam, 0, k)
    moments = next(line for line in adam_lines if line.startswith(r"\hat m_t"))
    t = k + 1
    corrected = adam.states["first_moment"][0, k] / (1 - 0.9**t)
    assert tuple(corrected) == pytest.approx(_vector_numbers(moments.split(r"\quad")[0])[-1], rel=1e-3)
    assert f"0.9^{{{t}}}" in moments
    first_line = next(line for line in adam_lines if line.startswith("g_t"))
    assert _vector_numbers(first_line)[0] == pytest.approx(tuple(adam.grads[0, k]), rel=1e-3)


def test_equations_by_step_has_one_list_per_update(runs):
    every = equations_by_step(runs[1])
    assert len(every) == STEPS and every[4] == equations_at(runs[1], 0, 4)
    assert all(line.count("{") == line.count("}") for lines in every for line in lines)


def axes_traces(spec):
    return [i for i, t in enumerate(spec["data"]) if t.get("legendgroup") == "eigen_axes"]


def test_the_hessian_axes_move_with_the_point_along_its_eigenvectors():
    land = get_landscape("rosenbrock")
    run = simulate(land, "sgd", [(-1.5, 2.0)], 40, lr=0.001, momentum=0.9)
    spec = lecture_figure(land, [run], eigen_axes=0).to_dict()
    indices = axes_traces(spec)
    assert len(indices) == 4 and sum(spec["data"][i]["showlegend"] for i in indices) == 1
    for k in (0, 7, 25):
        theta = run.points[0, k]
        hxx, hxy, hyy = (float(v) for v in land.hessian(np.float64(theta[0]), np.float64(theta[1])))
        values, vectors = np.linalg.eigh([[hxx, hxy], [hxy, hyy]])
        drawn = [frame_trace(spec, k, i) for i in indices]
        halves = []
        for axis in range(2):
            segment = next(t for t in drawn[2 * axis:2 * axis + 2] if t["x"][0] is not None)
            ends = np.array([segment["x"], segment["y"]]).T
            assert np.allclose(ends.mean(axis=0), theta)                      # centred on θ_k
            direction = (ends[1] - ends[0]) / np.linalg.norm(ends[1] - ends[0])
            assert abs(abs(direction @ vectors[:, axis]) - 1) < 1e-9            # along eigenvector i
            halves.append(np.linalg.norm(ends[1] - ends[0]) / 2)
        assert halves[0] >= halves[1]  # the long axis along the smaller |λ| (the shallow direction)
    assert frame_trace(spec, 0, indices[0])["x"] != frame_trace(spec, 25, indices[0])["x"]


def test_the_hessian_axes_of_a_saddle_are_dotted_along_the_negative_curvature():
    land = get_landscape("saddle")
    run = simulate(land, "sgd", [(-1.5, 0.1)], 5, lr=0.01)
    spec = lecture_figure(land, [run], eigen_axes=0).to_dict()
    indices = axes_traces(spec)
    shown = [frame_trace(spec, 2, i)["x"][0] is not None for i in indices]
    # e₁ (λ = −2) dotted, e₂ (λ = 2) solid
    assert shown == [False, True, True, False]
    assert spec["data"][indices[1]]["line"]["dash"] == "dot"


def test_without_eigen_axes_no_axes_are_drawn(figure):
    assert axes_traces(figure) == []


def test_newtons_panel_shows_the_hessian_its_eigenvalues_and_the_step_it_implies():
    land = get_landscape("local_minimum_trap")
    for damping in (0.0, 5.0):
        run = simulate(land, "newton", [(0.3, 0.5)], 4, damping=damping)
        for k in range(3):
            lines = equations_at(run, 0, k)
            theta = run.points[0, k]
            hxx, hxy, hyy = (float(v) for v in land.hessian(np.float64(theta[0]), np.float64(theta[1])))
            hessian = np.array([[hxx, hxy], [hxy, hyy]])
            assert lines[0].startswith("H = ") and f"{hxx:.4g}" in lines[0] and f"{hyy:.4g}" in lines[0]
            for value in np.linalg.eigvalsh(hessian):
                assert f"{value:.4g}" in lines[1]
            step = -np.linalg.solve(hessian + damping * np.eye(2), run.grads[0, k])
            assert np.allclose(step * run.lrs[k], run.points[0, k + 1] - theta, atol=1e-12)  # the step taken
            assert lines[2].startswith("d_t") and all(f"{v:.4g}" in lines[2] for v in step)
            assert ("not positive definite" in lines[1]) == (np.linalg.eigvalsh(hessian)[0] + damping <= 0)


def test_a_constant_state_series_is_drawn_flat_not_its_round_off():
    run = simulate("quadratic", "sgd", [START], 40, lr=0.4)  # −Δθ/g = lr, to round-off
    spec = state_figure([run]).to_dict()
    effective = next(a for a in spec["layout"]["annotations"] if a["text"].startswith("effective"))
    row = [a["text"] for a in spec["layout"]["annotations"]].index(effective["text"]) + 1
    axis = spec["layout"][f"yaxis{'' if row == 1 else row}"]
    low, high = axis["range"] if axis.get("type") != "log" else [10 ** v for v in axis["range"]]
    assert low < 0.4 / 1.5 < 0.4 * 1.5 < high


def test_a_state_panel_is_logarithmic_only_when_its_values_span_decades():
    # Adagrad on the quadratic: the loss falls over many decades, its effective step by less than one
    run = simulate(get_landscape("quadratic"), "adagrad", [(-4.0, 2.0)], 150, lr=0.4)
    layout = state_figure([run]).to_dict()["layout"]
    titles = [a["text"] for a in layout["annotations"]]
    axes = [layout["yaxis" if k == 0 else f"yaxis{k + 1}"] for k in range(len(titles))]
    kinds = dict(zip(titles, (a.get("type") for a in axes), strict=True))
    assert kinds["loss f(θ)"] == "log"
    assert kinds["effective step per coordinate"] == "linear"
    assert all(a.get("nticks", 99) <= 3 for a in axes)  # a panel is a few text lines tall
