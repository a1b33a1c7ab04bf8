"""Images, pages and videos of figures: PNG, SVG, HTML, GIF and MP4 bytes that decode to what was asked."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import plotly.graph_objects as go
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exports import FORMATS, still, to_gif, to_html, to_mp4, to_png, to_svg
from exports.frames import still_spec
from exports.images import animation_frames, frame_indices, gif_bytes, steps_in_place
from exports.renderer import layout_boxes, render
from figures import comparison_figure
from landscapes import get_landscape
from optimizers import simulate

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FRAMES = 3  # frames rendered for GIF and MP4 in these tests: the first, the middle and the last of 5


def red_centre(image: np.ndarray) -> float:
    """Horizontal position of the figure's red marker in an (H, W, 3|4) image, as a fraction of the width."""
    red = (image[..., 0] > 200) & (image[..., 1] < 80) & (image[..., 2] < 80)
    assert red.any(), "no red marker in the image"
    return float(np.nonzero(red)[1].mean() / image.shape[1])


@pytest.fixture(scope="module")
def gif(make_figure) -> bytes:
    return to_gif(make_figure(), width=240, height=120, fps=5, max_frames=FRAMES)


@pytest.fixture(scope="module")
def mp4(make_figure) -> bytes:
    return to_mp4(make_figure(), width=240, height=120, fps=5, max_frames=FRAMES)


def test_every_format_has_a_mime_type_and_extension():
    assert set(FORMATS) == {"png", "svg", "html", "gif", "mp4", "csv", "json"}
    assert FORMATS["png"] == ("image/png", "png") and FORMATS["svg"] == ("image/svg+xml", "svg")
    assert all(mime.count("/") == 1 and extension == name for name, (mime, extension) in FORMATS.items())


# -- PNG and SVG -------------------------------------------------------------------------

def test_png_is_a_png_of_the_requested_size_times_the_scale(figure):
    png = to_png(figure, width=300, height=200, scale=2)

    assert png.startswith(PNG_MAGIC)
    assert iio.imread(png, extension=".png").shape[:2] == (400, 600)


def test_png_shows_the_last_frame(figure):
    last = iio.imread(to_png(figure, width=300, height=150, scale=1), extension=".png")
    first = iio.imread(to_png(still(figure, 0), width=300, height=150, scale=1), extension=".png")

    # The marker stands at x = 0.8 in the last frame and x = -0.8 in the first, on an axis from -1 to 1.
    assert red_centre(last) == pytest.approx(0.9, abs=0.03)
    assert red_centre(first) == pytest.approx(0.1, abs=0.03)


def test_svg_is_xml_with_an_svg_root_of_the_requested_size(figure):
    root = ET.fromstring(to_svg(figure, width=300, height=200))

    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == ("300", "200")
    assert "updatemenu" not in ET.tostring(root, encoding="unicode")  # no play button in a still


@pytest.fixture(scope="module")
def frames_dropped() -> go.Figure:
    """The Compare figure as the page hands it over for a PNG or SVG: opened at step 30, frames dropped,
    its slider and play buttons still in the layout."""
    quadratic = get_landscape("quadratic")
    runs = [simulate(quadratic, "sgd", [(-4.0, 2.0)], 60, record="path", lr=0.05),
            simulate(quadratic, "adam", [(-4.0, 2.0)], 60, record="path", lr=0.1)]
    figure = go.Figure(comparison_figure(quadratic, runs, frame=30))
    figure.frames = ()
    assert figure.layout.sliders and figure.layout.updatemenus
    return figure


def test_an_svg_of_a_figure_whose_frames_were_dropped_has_no_playback_controls(frames_dropped):
    svg = to_svg(frames_dropped, width=1200, height=600).decode("utf-8")

    assert "Play" not in svg and "Pause" not in svg
    assert "slider" not in svg and "updatemenu" not in svg
    assert "step 30" not in svg


# Plotly draws its play buttons and slider grip with this border colour; nothing else uses it.
CONTROL_BORDER = (190, 200, 217)


def pixels_of(image: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int((np.abs(image.astype(int) - colour).sum(-1) <= 6).sum())


def test_a_png_of_a_figure_whose_frames_were_dropped_has_no_control_pixels(frames_dropped):
    spec = json.loads(frames_dropped.to_json())
    with_controls = iio.imread(render([spec], {"format": "png", "width": 1200, "height": 600, "scale": 1})[0],
                               extension=".png", mode="RGB")
    image = iio.imread(to_png(frames_dropped, width=1200, height=600, scale=1), extension=".png", mode="RGB")

    assert pixels_of(with_controls, CONTROL_BORDER) > 500   # the colour does mark the controls
    assert pixels_of(image, CONTROL_BORDER) == 0


def test_a_still_gives_the_controls_room_back_so_no_blank_band_is_left(frames_dropped):
    spec = json.loads(frames_dropped.to_json())
    with_controls, still = layout_boxes(spec, 1200, 600), layout_boxes(still_spec(spec), 1200, 600)
    axis_titles = [box[3] for name in ("x_title", "x2_title") for box in still.get(name, [])]
    (legend,) = still["legend"]
    assert legend[1] - max(axis_titles) < 40                    # the legend follows the axis titles
    width = lambda boxes: boxes["x_plot"][0][2] - boxes["x_plot"][0][0]  # noqa: E731
    assert width(still) >= width(with_controls)
    loss_height = lambda boxes: boxes["y2_plot"][0][3] - boxes["y2_plot"][0][1]  # noqa: E731
    assert loss_height(still) > loss_height(with_controls) + 40   # the room went to the plots


@pytest.mark.parametrize("size", [{"width": 0}, {"height": -5}, {"width": 10.5}])
def test_an_invalid_size_is_refused_before_rendering(figure, size):
    with pytest.raises(ValueError, match="whole number of pixels"):
        to_png(figure, **size)


# -- HTML --------------------------------------------------------------------------------

def test_html_embeds_plotly_js_and_loads_nothing_from_outside(figure):
    html = to_html(figure).decode("utf-8")

    assert html.startswith("<!doctype html>") or html.startswith("<html>")
    assert "plotly.js v" in html  # the library's own banner: embedded, not linked
    assert all("src=" not in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert html.count("Plotly.newPlot(") == 1


def test_html_keeps_the_animation_and_does_not_start_it(figure):
    html = to_html(figure).decode("utf-8")

    frames = json.loads(re.search(r"Plotly\.addFrames\('[^']+', (\[.*?\])\);\n", html).group(1))
    assert [frame["name"] for frame in frames] == ["0", "1", "2", "3", "4"]
    assert frames[3]["traces"] == [1, 2] and frames[3]["data"][1]["x"] == [0.4]
    assert '"sliders"' in html and '"updatemenus"' in html
    assert "Plotly.animate(" not in html[html.index("Plotly.newPlot("):]


# -- GIF ---------------------------------------------------------------------------------

def test_gif_holds_the_chosen_frames_at_the_requested_size(gif):
    assert gif.startswith(b"GIF89a")
    frames = iio.imread(gif, extension=".gif", index=None)

    assert frames.shape[:3] == (FRAMES, 120, 240)


def test_gif_frames_run_from_the_first_to_the_last_in_order(gif):
    frames = iio.imread(gif, extension=".gif", index=None)

    centres = [red_centre(frame) for frame in frames]

    # Frames 0, 2 and 4 of 5: the marker at x = -0.8, 0 and 0.8.
    assert centres == pytest.approx([0.1, 0.5, 0.9], abs=0.03)


def test_gif_background_stays_identical_from_frame_to_frame(gif):
    frames = iio.imread(gif, extension=".gif", index=None)

    top = frames[:, : frames.shape[1] // 3]  # contour only: the path and the marker run along the middle

    assert (top == top[0]).all()


def scatter_only(figure: go.Figure) -> go.Figure:
    """The figure with its contour (trace 0) replaced by a scatter trace: steppable in place."""
    background = go.Scatter(x=[-0.9, 0.9], y=[0.5, 0.5], mode="lines", line={"color": "#00aa00", "width": 6})
    return go.Figure(data=[background, *figure.data[1:]], layout=figure.layout, frames=figure.frames)


@pytest.mark.parametrize("in_place", [True, False], ids=["scatter: stepped in place", "contour: one by one"])
def test_animation_frames_look_like_each_frame_rendered_on_its_own(figure, in_place):
    figure = scatter_only(figure) if in_place else figure
    assert steps_in_place(json.loads(figure.to_json())) == in_place

    frames = animation_frames(figure, width=240, height=120, max_frames=5)
    alone = [iio.imread(to_png(still(figure, k), width=240, height=120, scale=1), extension=".png", mode="RGB")
             for k in range(5)]

    for stepped, single in zip(frames, alone, strict=True):
        different = np.abs(stepped.astype(int) - single.astype(int)).max(axis=-1) > 24
        assert different.mean() < 0.01  # anti-aliasing at most: same background, path and marker
    assert [red_centre(frame) for frame in frames] == pytest.approx([0.1, 0.3, 0.5, 0.7, 0.9], abs=0.03)


def test_only_figures_of_scatter_traces_without_layout_frames_are_stepped_in_place(figure):
    spec = json.loads(scatter_only(figure).to_json())
    assert steps_in_place(spec)
    assert not steps_in_place(json.loads(figure.to_json()))  # a contour trace
    assert not steps_in_place({**spec, "frames": [*spec["frames"], {"layout": {"title": {"text": "t"}}}]})
    assert steps_in_place({**spec, "frames": [{**frame, "layout": {}} for frame in spec["frames"]]})


def test_a_frame_can_change_the_layout():
    figure = go.Figure(go.Scatter(x=[0], y=[0]), layout={"paper_bgcolor": "#ffffff", "width": 100},
                       frames=[go.Frame(layout={"paper_bgcolor": colour}) for colour in ("#ff0000", "#0000ff")])

    frames = animation_frames(figure, width=60, height=40, max_frames=2)

    assert frames[0, 2, 2].tolist() == [255, 0, 0] and frames[1, 2, 2].tolist() == [0, 0, 255]


@pytest.fixture(scope="module")
def compare_frames() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """5 frames (steps 0, 10, ..., 40) of the Compare figure, one blue path; and where the contour panel is."""
    quadratic = get_landscape("quadratic")
    run = simulate(quadratic, "sgd", [(-4.0, 2.0)], 40, record="path", lr=0.1)
    figure = comparison_figure(quadratic, [run], max_frames=5)
    boxes = layout_boxes(json.loads(figure.to_json()), 800, 500)
    panel = (int(boxes["x_plot"][0][0]), int(boxes["y_plot"][0][1]), int(boxes["x_plot"][0][2]),
             int(boxes["y_plot"][0][3]))
    return animation_frames(figure, width=800, height=500, max_frames=5), panel


def blue(image: np.ndarray) -> np.ndarray:
    """Pixels of the first palette colour, #0072B2, allowing for anti-aliasing and the path's opacity."""
    r, g, b = (image[..., k].astype(int) for k in range(3))
    return (b - r > 80) & (b > 120) & (g < b - 30)


def test_the_path_grows_with_the_exported_animation(compare_frames):
    frames, (left, top, right, bottom) = compare_frames
    drawn = [int(blue(frame[top:bottom, left:right]).sum()) for frame in frames]

    assert drawn == sorted(drawn)  # never shrinks
    assert drawn[-1] > 3 * drawn[0]  # at step 0 only the head marker is blue
    early, late = blue(frames[1][top:bottom, left:right]), blue(frames[-1][top:bottom, left:right])
    assert (late & ~early).sum() > 0.4 * late.sum()  # the late path is mostly new pixels


def test_each_exported_frame_shows_a_different_step_label_above_the_contour(compare_frames):
    frames, (left, top, right, bottom) = compare_frames
    corner = frames[:, max(top - 40, 0):top, right - 120:right]  # the label's place, above the top right corner
    dark = (corner.min(axis=-1) < 120).sum(axis=(1, 2))
    assert (dark > 20).all()  # text in every frame
    assert len({corner[k].tobytes() for k in range(len(frames))}) == len(frames)  # a different text each time


def test_gif_keeps_frames_of_at_most_256_colours_exactly():
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, size=(200, 3), dtype=np.uint8)
    frames = colours[rng.integers(0, 200, size=(4, 30, 40))]  # 4 frames of 200 random colours
    frames[:, :10, :10] = 255

    decoded = iio.imread(gif_bytes(frames, fps=10), extension=".gif", index=None)[..., :3]

    assert np.array_equal(decoded, frames)


def test_gif_keeps_shades_of_grey_grey_beside_coloured_lines():
    """Like the Compare figure: a smooth grey landscape (more shades than a palette holds) under coloured lines."""
    shades = np.linspace(60, 250, 400)[None, :, None].repeat(60, axis=0).repeat(3, axis=2)
    frames = np.stack([shades] * 3).astype(np.uint8)
    lines = np.zeros(frames.shape[:3], dtype=bool)
    rng = np.random.default_rng(1)
    for frame, line in zip(frames, lines, strict=True):
        for colour in rng.integers(0, 256, size=(40, 3)):  # 40 line colours, anti-aliased into the grey
            row, column = rng.integers(0, 55), rng.integers(0, 390)
            line[row, column:column + 10] = True
            for fade in range(5):
                frame[row + fade, column:column + 10] = colour * (1 - fade / 5) + frame[row + fade, column] * fade / 5

    decoded = iio.imread(gif_bytes(frames, fps=10), extension=".gif", index=None)[..., :3].astype(int)

    grey = (frames == frames[..., :1]).all(axis=-1)
    tint = np.abs(decoded - decoded.mean(axis=-1, keepdims=True)).max(axis=-1)
    assert np.percentile(tint[grey], 99) <= 8  # greys stay grey (a max-coverage palette tinted them by 14)
    assert np.abs(decoded - frames).max(axis=-1)[lines].max() <= 50  # and the lines keep their colours
    assert np.abs(decoded - frames).mean() < 5


def test_gif_loops_forever_at_the_requested_rate(gif):
    meta = iio.immeta(gif, extension=".gif")

    assert meta["loop"] == 0
    assert meta["duration"] == 200  # ms per frame at 5 frames per second


@pytest.mark.parametrize("fps", [0, -1, 60, True])
def test_gif_refuses_a_rate_browsers_cannot_show(figure, fps):
    with pytest.raises(ValueError, match="fps"):
        to_gif(figure, fps=fps)


def test_a_figure_without_frames_gives_a_one_frame_gif():
    figure = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))

    frames = iio.imread(to_gif(figure, width=120, height=80), extension=".gif", index=None)

    assert frames.shape[:3] == (1, 80, 120)


# -- MP4 ---------------------------------------------------------------------------------

def test_mp4_is_an_iso_media_file_holding_the_chosen_frames(mp4):
    assert mp4[4:8] == b"ftyp"
    frames = iio.imread(mp4, plugin="FFMPEG", extension=".mp4")

    assert len(frames) >= FRAMES
    assert frames.shape[1:3] == (120, 240)
    assert red_centre(frames[0]) < 0.2 and red_centre(frames[-1]) > 0.8


def test_mp4_is_h264_in_yuv420p_so_browsers_play_it(mp4, tmp_path):
    video = tmp_path / "video.mp4"
    video.write_bytes(mp4)

    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(video)],
                           capture_output=True, text=True)

    stream = next(line for line in probe.stderr.splitlines() if "Video:" in line)
    assert "h264" in stream and "yuv420p" in stream and "240x120" in stream


def test_a_figure_without_frames_gives_a_one_frame_mp4():
    figure = go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))

    frames = iio.imread(to_mp4(figure, width=120, height=80), plugin="FFMPEG", extension=".mp4")

    assert len(frames) >= 1 and frames.shape[1:3] == (80, 120)


@pytest.mark.parametrize("size", [{"width": 241}, {"height": 121}])
def test_mp4_refuses_an_odd_size(figure, size):
    with pytest.raises(ValueError, match="even"):
        to_mp4(figure, **{"width": 240, "height": 120, **size})


# -- choosing frames ---------------------------------------------------------------------

@given(count=st.integers(1, 2000), max_frames=st.integers(2, 300))
def test_frame_indices_spread_at_most_max_frames_from_the_first_to_the_last(count, max_frames):
    indices = frame_indices(count, max_frames)

    assert len(indices) == min(count, max_frames)
    assert indices[0] == 0 and indices[-1] == count - 1
    assert all(later > earlier for earlier, later in zip(indices, indices[1:], strict=False))
    gaps = np.diff(indices)
    assert len(gaps) == 0 or gaps.max() - gaps.min() <= 1  # evenly spread


@pytest.mark.parametrize("max_frames", [1, 0, 2.5, True])
def test_max_frames_below_two_is_refused(max_frames):
    with pytest.raises(ValueError, match="max_frames"):
        frame_indices(10, max_frames)
