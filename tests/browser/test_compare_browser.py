"""The Compare page in a real Chromium, served by `streamlit run`: what a user sees and can do.

The animated contour and the loss curves are one Plotly figure; its chart div (`gd`) is read
through `page.evaluate`. Screenshots land in tests/artifacts/<test name>.png.
"""

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

CHART = ".js-plotly-plot"
DRAWN = ".js-plotly-plot .main-svg"
EXCEPTION = "[data-testid=stException]"
STARTS = "Starts (x, y; x, y …)"
DEFAULT_NAMES = ["SGD", "Momentum (classic form)", "Adagrad", "RMSProp", "Adam"]
SHARED = ("?landscape=rosenbrock&steps=80&start=-1%2C2"
          "&opt=adam%2Clr%3D0.05%2Ccolour%3D0&opt=sgd%2Clr%3D0.001%2Ccolour%3D3")
LOAD_MS = 60_000

# A Plotly array in gd.data is a plain array, a typed array, or (from Streamlit's base64 JSON) an
# object {dtype, bdata, _inputArray} whose decoded values are in _inputArray: Array.from on that
# object gives [], so every read goes through this.
VALUES = "a => Array.from(a && a._inputArray ? a._inputArray : (a || []))"

LOSS_NAMES_JS = """() => document.querySelector('.js-plotly-plot').data
    .filter(t => t.xaxis === 'x2' && t.showlegend).map(t => t.name)"""
SLIDER_LABEL_JS = "() => document.querySelector('.js-plotly-plot text.slider-label')?.textContent ?? null"
FIGURE_JS = f"""() => {{
    const values = {VALUES};
    const gd = document.querySelector('.js-plotly-plot');
    const path = gd.data.find(t => t.mode === 'lines' && t.xaxis === 'x');
    return {{names: gd.data.map(t => t.name), x: values(path.x), y: values(path.y)}};
}}"""


def open_compare(page: Page, base: str, query: str = "") -> float:
    """Open the page; the seconds from goto until the figure's SVG is drawn."""
    began = time.monotonic()
    page.goto(f"{base}/{query}")
    page.wait_for_selector(f"{DRAWN}, {EXCEPTION}", timeout=LOAD_MS)
    seconds = time.monotonic() - began
    no_exception(page)
    page.wait_for_selector(f"{CHART} text.slider-label", timeout=LOAD_MS)
    return seconds


def slider_label(page: Page) -> str:
    return page.evaluate(SLIDER_LABEL_JS)


def settled_label(page: Page, seconds: float = 5) -> str:
    """The slider label once it holds still for 300 ms (a click takes effect a little late on a busy
    machine); fails if it keeps moving for `seconds`."""
    label = slider_label(page)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        now = slider_label(page)
        if now == label:
            return label
        label = now
    raise AssertionError(f"the animation kept moving for {seconds} s after Pause (last {label!r})")


def step_of(label: str) -> int:
    match = re.fullmatch(r"step (\d+)", label)
    assert match, f"unexpected slider label {label!r}"
    return int(match.group(1))


def no_exception(page: Page) -> None:
    boxes = page.locator(EXCEPTION)
    assert boxes.count() == 0, f"the page shows an exception: {boxes.all_inner_texts()}"


def contour_drawn(page: Page) -> None:
    """The landscape's contour (a layout image behind the paths) is in the figure and on screen."""
    source = page.evaluate("() => document.querySelector('.js-plotly-plot').layout.images[0].source")
    assert source.startswith("data:image/png;base64,")
    assert page.locator(f"{CHART} .layer-below image, {CHART} image").count() > 0


def test_the_page_draws_the_contour_the_loss_curves_and_the_table(page, app_url, artifacts):
    seconds = open_compare(page, app_url)
    print(f"first chart after {seconds:.2f} s")
    (artifacts / "first_chart_seconds.txt").write_text(f"{seconds:.3f}\n")
    assert seconds < 60

    expect(page.locator("[data-testid=stDataFrame]")).to_be_visible(timeout=LOAD_MS)
    no_exception(page)
    assert page.locator("[data-testid=stPlotlyChart] .js-plotly-plot").count() == 1
    contour_drawn(page)
    assert page.evaluate(LOSS_NAMES_JS) == DEFAULT_NAMES
    assert page.locator(f"{CHART} .legend .traces").all_text_contents() == DEFAULT_NAMES
    drawn_loss_lines = page.evaluate("""() => [...document.querySelectorAll(
        '.js-plotly-plot .subplot.x2y2 .scatterlayer .trace .js-line')]
        .filter(p => (p.getAttribute('d') || '').length > 10).length""")
    assert page.locator(f"{CHART} .subplot.x2y2 .scatterlayer .trace").count() > 0
    assert drawn_loss_lines >= len(DEFAULT_NAMES)

    expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    rows = page.locator("[data-testid=stDataFrame] [role=row]")
    expect(rows).to_have_count(1 + len(DEFAULT_NAMES))
    for row, name in enumerate(DEFAULT_NAMES, start=1):
        assert rows.nth(row).inner_text().startswith(name)


def test_play_advances_the_animation_and_pause_stops_it(page, app_url):
    open_compare(page, app_url)
    before = slider_label(page)
    assert before == "step 150"
    play, pause = page.locator(f"{CHART} .updatemenu-button").all()
    assert "Play" in play.text_content() and "Pause" in pause.text_content()

    play.click()
    page.wait_for_timeout(1500)
    page.wait_for_function(f"() => ({SLIDER_LABEL_JS})() !== {before!r}", timeout=5000)
    playing = slider_label(page)
    assert playing != before and step_of(playing) < 150
    contour_drawn(page)  # Plotly drops contour traces while animating; the image stays

    pause.click()
    paused = settled_label(page)
    page.wait_for_timeout(1000)
    assert slider_label(page) == paused
    assert step_of(playing) <= step_of(paused) < 150, "Pause moved the animation backwards, or it ran to the end"
    no_exception(page)


def test_clicking_the_contour_adds_a_start_even_after_the_animation_ran(page, app_url):
    open_compare(page, app_url)
    starts = page.get_by_role("textbox", name=STARTS)
    assert ";" not in starts.input_value()
    play, pause = page.locator(f"{CHART} .updatemenu-button").all()
    play.click()
    page.wait_for_timeout(1000)
    pause.click()
    settled_label(page)

    area = page.locator(f"{CHART} .nsewdrag").first.bounding_box()
    x, y = area["x"] + 0.8 * area["width"], area["y"] + 0.2 * area["height"]
    page.mouse.move(x, y)
    page.wait_for_timeout(300)
    page.mouse.click(x, y)

    expect(starts).to_have_value(re.compile(";"), timeout=30_000)
    first, added = [s.strip() for s in starts.input_value().split(";")]
    assert first == "-4, 2"
    assert re.fullmatch(r"-?\d+(\.\d+)?, -?\d+(\.\d+)?", added), added

    expect(page).to_have_url(re.compile(r"start=.*start="), timeout=30_000)
    query = parse_qs(urlsplit(page.url).query)
    assert query["start"] == ["-4,2", added.replace(" ", "")]
    page.wait_for_function("""() => document.querySelector('.js-plotly-plot').data
        .filter(t => t.name === 'SGD' && t.xaxis === 'x' && t.mode === 'lines').length === 2""", timeout=30_000)
    no_exception(page)


def test_a_copied_url_restores_the_comparison(new_page, app_url):
    page = new_page()
    open_compare(page, app_url, SHARED)
    no_exception(page)
    assert page.locator(f"{CHART} .gtitle").text_content() == "Rosenbrock"
    title = page.evaluate("() => document.querySelector('.js-plotly-plot').layout.title.text")
    assert re.sub(r"<[^>]+>", "", title) == "Rosenbrock"
    assert page.evaluate(LOSS_NAMES_JS) == ["Adam", "SGD"]
    assert slider_label(page) == "step 80"
    assert page.get_by_role("textbox", name=STARTS).input_value() == "-1, 2"
    assert len(page.evaluate(FIGURE_JS)["x"]) == 81

    # Change the steps in the page; the URL it then shows must reopen exactly the same figure.
    steps = page.get_by_role("slider", name="Steps")
    steps.focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(r"[?&]steps=83(&|$)"), timeout=30_000)
    page.wait_for_function(f"() => ({SLIDER_LABEL_JS})() === 'step 83'", timeout=30_000)
    page.wait_for_function(f"() => ({FIGURE_JS})().x.length === 84", timeout=30_000)
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Copy link").click()
    code = page.locator("[data-testid=stCode]")
    expect(code).to_be_visible(timeout=10_000)
    shared_url = code.inner_text().strip()
    assert parse_qs(urlsplit(shared_url).query) == parse_qs(urlsplit(page.url).query)
    here = page.evaluate(FIGURE_JS)
    assert len(here["x"]) == len(here["y"]) == 84

    again = new_page()
    open_compare(again, app_url, shared_url.removeprefix(app_url + "/"))
    no_exception(again)
    there = again.evaluate(FIGURE_JS)
    assert there["names"] == here["names"]
    assert there["x"] == here["x"] and there["y"] == here["y"]
    assert slider_label(again) == "step 83"
    assert parse_qs(urlsplit(again.url).query) == parse_qs(urlsplit(shared_url).query)


def test_a_tampered_url_shows_notices_and_still_draws(page, app_url):
    open_compare(page, app_url, "?steps=lots&opt=warp_drive&landscape=everest")
    notices = page.locator("[data-testid=stAlert]:has([data-testid=stAlertContentInfo])")
    expect(notices.first).to_be_visible()
    text = "\n".join(notices.all_inner_texts())
    for word in ("lots", "warp_drive", "everest"):
        assert word in text, f"no notice mentions {word!r}: {text}"
    no_exception(page)
    contour_drawn(page)
    assert page.evaluate(LOSS_NAMES_JS) == DEFAULT_NAMES


def test_exporting_the_animation_as_a_gif_downloads_every_frame(page, app_url, artifacts):
    open_compare(page, app_url, "?steps=30")
    page.get_by_role("button", name="Export").click()
    popover = page.locator("[data-testid=stPopoverBody]")
    popover.get_by_role("combobox").click()
    page.get_by_role("option", name="GIF of the animation").click()
    page.wait_for_timeout(500)
    began = time.monotonic()
    popover.get_by_role("button", name="Make the file").click()
    download_button = popover.get_by_role("button", name=re.compile(r"Download GIF \(\d+ kB\)"))
    expect(download_button).to_be_visible(timeout=120_000)
    print(f"GIF made in {time.monotonic() - began:.1f} s")
    no_exception(page)

    with page.expect_download() as download:
        download_button.click()
    path = artifacts / "compare.gif"
    download.value.save_as(path)
    assert download.value.suggested_filename == "descent-lab-quadratic.gif"

    import imageio.v3 as iio

    frames = iio.imread(path, extension=".gif", index=None)
    assert len(frames) == 31  # steps 0 … 30: every frame of a 30-step animation
    assert frames.shape[1:3] == (400, 800)
    assert not (frames[0] == frames[-1]).all()  # the markers moved
