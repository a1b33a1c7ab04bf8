"""The Compare page in a real Chromium, served by `streamlit run`: what a user sees and can do.

The 2D view is the project's own chart component (chart/component.py, chart/assets/chart.js): a
`.dl-chart` element holding a plotly.js chart div (`gd`, read through `page.evaluate`) and its own
controls under the plot (‹ Prev, ▶ Play / ❚❚ Pause, Next ›, a range-input scrub slider, "step N",
a speed menu). Its `data-step` attribute is the frame on screen, `paints` the times it painted.
Screenshots land in tests/artifacts/.
"""

import contextlib
import re
import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

CHART = ".dl-chart"
PLOT = f"{CHART} .js-plotly-plot"
DRAWN = f"{PLOT} .main-svg"
EXCEPTION = "[data-testid=stException]"
TABLE = "table.dl-summary"  # the summary: a plain HTML table (ui.widgets.summary_table)
STARTS = "Starts (x, y; x, y …)"
DEFAULT_NAMES = ["SGD", "Momentum (classic form)", "Adagrad", "RMSProp", "Adam"]
SHARED = ("?landscape=rosenbrock&steps=80&start=-1%2C2"
          "&opt=adam%2Clr%3D0.05%2Ccolour%3D0&opt=sgd%2Clr%3D0.001%2Ccolour%3D3")
LOAD_MS = 60_000
NUMBER = r"-?\d+(?:\.\d+)?(?:e-?\d+)?"

# A Plotly array in gd.data is a plain array, a typed array, or (from the base64 JSON) an object
# {dtype, bdata, _inputArray} whose decoded values are in _inputArray: Array.from on that object
# gives [], so every read goes through this.
VALUES = "a => Array.from(a && a._inputArray ? a._inputArray : (a || []))"
GD = f"document.querySelector('{PLOT}')"
ROOT = f"document.querySelector('{CHART}')"
LOSS_NAMES_JS = f"() => {GD}.data.filter(t => t.xaxis === 'x2' && t.showlegend).map(t => t.name)"
FRAMES_JS = f"() => {GD}._transitionData._frames.map(f => f.name)"
FIGURE_JS = f"""() => {{
    const values = {VALUES};
    const gd = {GD};
    const paths = gd.data.filter(t => t.mode === 'lines' && t.xaxis === 'x');
    return {{names: gd.data.map(t => t.name), x: paths.map(t => values(t.x)), y: paths.map(t => values(t.y))}};
}}"""
# Every frame painted lands in root.paints (performance.now()); this presses a control of the chart
# from inside the page and returns the milliseconds from the press to the next paint.
PRESS_TO_PAINT_JS = f"""async (selector) => {{
    const root = {ROOT};
    const before = root.paints.length;
    const pressed = performance.now();
    root.querySelector(selector).click();
    const deadline = pressed + 5000;
    while (root.paints.length === before && performance.now() < deadline)
        await new Promise(r => requestAnimationFrame(r));
    return root.paints.length > before ? root.paints[before] - pressed : null;
}}"""


# -- helpers ---------------------------------------------------------------------------------
def watch(page: Page) -> Page:
    """Collect console errors, page errors and unhandled rejections in `page.problems`."""
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.problems = problems
    page.sent = []  # every message the page sent the server (a rerun is one)
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: page.sent.append(payload)))
    return page


def idle(page: Page, timeout: float = LOAD_MS) -> None:
    """Wait until Streamlit has no script run going (a rerun a click or a report caused)."""
    page.wait_for_timeout(150)  # a rerun asked for just now has had time to start
    page.wait_for_function("() => document.querySelector('[data-testid=stApp]')"
                           "?.getAttribute('data-test-script-state') !== 'running'", timeout=timeout)


def open_compare(page: Page, base: str, query: str = "") -> float:
    """Open the page; the seconds from goto until the chart has painted its first frame."""
    if not hasattr(page, "problems"):
        watch(page)
    began = time.monotonic()
    page.goto(f"{base}/{query}")
    page.wait_for_selector(f"{DRAWN}, {EXCEPTION}", timeout=LOAD_MS)
    no_exception(page)
    page.wait_for_function(f"() => {ROOT}.paints.length >= 1", timeout=LOAD_MS)
    seconds = time.monotonic() - began
    idle(page)
    # the chart comes first (chart.head_start): wait for the rest of the page to be shown too
    page.wait_for_function("() => !document.querySelector('[data-testid=stSkeleton]')", timeout=LOAD_MS)
    return seconds


def no_exception(page: Page) -> None:
    boxes = page.locator(EXCEPTION)
    assert boxes.count() == 0, f"the page shows an exception: {boxes.all_inner_texts()}"


def shown_step(page: Page) -> str:
    return page.get_attribute(CHART, "data-step")


def step_label(page: Page) -> str:
    return page.inner_text(f"{CHART} .dl-step")


def wait_step(page: Page, step: str, timeout: float = 10_000) -> None:
    page.wait_for_function(f"() => {ROOT}.dataset.step === {step!r}", timeout=timeout)


def frames(page: Page) -> list[str]:
    return page.evaluate(FRAMES_JS)


def neighbour(page: Page, step: str, delta: int) -> str:
    """The frame `delta` frames from `step` (frames need not be every step: 150 steps, 100 frames)."""
    names = frames(page)
    return names[names.index(step) + delta]


def playing(page: Page) -> bool:
    return page.get_attribute(CHART, "data-playing") == "true"


def held_still(page: Page, ms: int = 600) -> str:
    step = shown_step(page)
    page.wait_for_timeout(ms)
    assert shown_step(page) == step, f"the step moved from {step} to {shown_step(page)} while paused"
    return step


def contour_drawn(page: Page) -> None:
    """The landscape's contour (a layout image behind the paths) is in the figure and on screen."""
    source = page.evaluate(f"() => {GD}.layout.images[0].source")
    assert source.startswith("data:image/png;base64,")
    assert page.locator(f"{PLOT} .layer-below image, {PLOT} .imagelayer image").count() >= 1


def data_point(page: Page, x: float, y: float) -> dict:
    """The page coordinates of the data point (x, y) of the contour panel."""
    return page.evaluate(f"""() => {{ const gd = {GD}; const f = gd._fullLayout;
        const box = gd.getBoundingClientRect();
        return {{ x: box.left + f.xaxis._offset + f.xaxis.d2p({x}),
                  y: box.top + f.yaxis._offset + f.yaxis.d2p({y}) }}; }}""")


def starts_in(text: str) -> list[tuple[float, float]]:
    parts = [p.strip() for p in text.split(";") if p.strip()]
    pairs = [re.fullmatch(rf"({NUMBER}),\s*({NUMBER})", p) for p in parts]
    assert all(pairs), f"unexpected starts text {text!r}"
    return [(float(m.group(1)), float(m.group(2))) for m in pairs]


def near(point, x: float, y: float, tolerance: float = 0.06) -> bool:
    return abs(point[0] - x) <= tolerance and abs(point[1] - y) <= tolerance  # a pixel is ~0.02 here


def query_of(url: str) -> dict:
    return parse_qs(urlsplit(url).query)


# -- 1 -------------------------------------------------------------------------------------
def test_the_page_draws_the_contour_the_loss_curves_and_the_table(page, app_url, artifacts):
    seconds = open_compare(page, app_url)
    print(f"first chart after {seconds:.2f} s")
    (artifacts / "first_chart_seconds.txt").write_text(f"{seconds:.3f}\n")
    assert seconds < 60

    expect(page.locator(TABLE)).to_be_visible(timeout=LOAD_MS)
    no_exception(page)
    assert page.locator(CHART).count() == 1
    assert page.locator("[data-testid=stPlotlyChart]").count() == 0  # the 2D view is the chart component
    contour_drawn(page)
    assert page.evaluate(LOSS_NAMES_JS) == DEFAULT_NAMES
    assert page.locator(f"{PLOT} .legend .traces").all_text_contents() == DEFAULT_NAMES
    drawn_loss_lines = page.evaluate(f"""() => [...document.querySelectorAll(
        '{PLOT} .subplot.x2y2 .scatterlayer .trace .js-line')]
        .filter(p => (p.getAttribute('d') || '').length > 10).length""")
    assert drawn_loss_lines >= len(DEFAULT_NAMES)
    assert step_label(page) == "step 150" and shown_step(page) == "150"  # opens at the last step
    assert page.locator(f"{PLOT} .updatemenu-container, {PLOT} .slider-container").count() == 0

    assert page.locator(f"{TABLE} thead th").first.inner_text() == "optimizer"
    rows = page.locator(f"{TABLE} tbody tr")
    expect(rows).to_have_count(len(DEFAULT_NAMES))
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(len(DEFAULT_NAMES))] == DEFAULT_NAMES
    assert all(rows.nth(i).locator("td").nth(1).inner_text() == "(-4, 2)" for i in range(len(DEFAULT_NAMES)))
    page.wait_for_timeout(500)  # late errors (a rejected promise after the first paint)
    assert page.problems == []


# -- 2 -------------------------------------------------------------------------------------
def test_play_pause_prev_next_and_keys_step_one_frame_from_the_step_on_screen(page, app_url):
    open_compare(page, app_url)
    assert shown_step(page) == "150"
    play = page.locator(f"{CHART} .dl-play")
    expect(play).to_have_text("▶ Play")

    play.click()  # at the last step Play starts over from step 0
    page.wait_for_function(f"() => {ROOT}.dataset.playing === 'true' && Number({ROOT}.dataset.step) >= 10",
                           timeout=10_000)
    expect(play).to_have_text("❚❚ Pause")
    early = int(shown_step(page))
    page.wait_for_timeout(300)
    now, label = page.evaluate(f"() => [{ROOT}.dataset.step, {ROOT}.querySelector('.dl-step').textContent]")
    assert int(now) > early, "Play did not keep advancing the step"
    assert label == f"step {now}"
    contour_drawn(page)

    play.click()  # Pause
    page.wait_for_function(f"() => {ROOT}.dataset.playing === 'false'", timeout=5_000)
    expect(play).to_have_text("▶ Play")
    paused = held_still(page)
    assert early < int(paused) < 150, "Pause moved the animation backwards, or it ran to the end"
    assert step_label(page) == f"step {paused}"

    # One press, one frame from the step on screen (the bug: Prev after a pause jumped to 149).
    prev = neighbour(page, paused, -1)
    page.click(f"{CHART} .dl-prev")
    wait_step(page, prev, timeout=2_000)
    assert step_label(page) == f"step {prev}"
    held_still(page, 300)
    idle(page)  # Pause and the step each report the step to Python: a rerun, which keeps the step on screen
    page.wait_for_timeout(700)
    idle(page)
    assert shown_step(page) == prev, f"the rerun after the step report moved the chart to {shown_step(page)}"

    # Next: back to where Pause left it, painted well within a rerun's time (no rerun needed).
    sent = len(page.sent)
    ms = page.evaluate(PRESS_TO_PAINT_JS, f"{CHART} .dl-next")
    print(f"Next: press to paint {ms:.0f} ms")
    assert ms is not None, "Next did not paint its step"
    assert len(page.sent) == sent, "the step needed the server"  # (its report waits for a rest); speed: bench/app.py
    wait_step(page, paused, timeout=1_000)
    page.click(f"{CHART} .dl-prev")
    page.click(f"{CHART} .dl-prev")
    wait_step(page, neighbour(page, paused, -2), timeout=2_000)
    page.click(f"{CHART} .dl-next")
    wait_step(page, prev, timeout=2_000)

    # ← → with the chart focused: the same, one frame each.
    page.focus(CHART)
    page.keyboard.press("ArrowLeft")
    wait_step(page, neighbour(page, prev, -1), timeout=2_000)
    page.keyboard.press("ArrowRight")
    wait_step(page, prev, timeout=2_000)
    page.keyboard.press("ArrowRight")
    wait_step(page, paused, timeout=2_000)
    held_still(page, 300)
    assert step_label(page) == f"step {paused}"
    no_exception(page)
    assert page.problems == []


# -- 4 -------------------------------------------------------------------------------------
def test_each_click_on_the_contour_adds_a_start_even_after_the_animation_ran(page, app_url):
    open_compare(page, app_url)
    starts = page.get_by_role("textbox", name=STARTS)
    assert starts.input_value() == ""  # the landscape's own start (-4, 2), shown as the placeholder

    first, second = data_point(page, 1.0, 1.0), data_point(page, -2.0, -1.0)
    page.mouse.click(first["x"], first["y"])
    page.wait_for_timeout(150)
    page.mouse.click(second["x"], second["y"])
    expect(starts).to_have_value(re.compile(r"^[^;]+;[^;]+;[^;]+$"), timeout=30_000)
    idle(page)
    page.wait_for_timeout(500)  # a fourth start would be a click counted twice
    idle(page)
    got = starts_in(starts.input_value())
    assert len(got) == 3, got
    assert got[0] == (-4.0, 2.0) and near(got[1], 1.0, 1.0) and near(got[2], -2.0, -1.0), got
    expect(page).to_have_url(re.compile(r"start=.*start=.*start="), timeout=30_000)
    in_url = [starts_in(s.replace(",", ", "))[0] for s in query_of(page.url)["start"]]
    assert in_url == got
    page.wait_for_function(f"""() => {GD}.data
        .filter(t => t.name === 'SGD' && t.xaxis === 'x' && t.mode === 'lines').length === 3""", timeout=30_000)

    # Play the whole animation (4×) to its end, then click again.
    page.select_option(f"{CHART} .dl-speed", "4")
    page.click(f"{CHART} .dl-play")
    page.wait_for_function(f"() => {ROOT}.dataset.playing === 'true'", timeout=5_000)
    page.wait_for_function(f"() => {ROOT}.dataset.playing === 'false' && {ROOT}.dataset.step === '150'",
                           timeout=15_000)
    idle(page)
    third = data_point(page, 3.0, -1.5)
    page.mouse.click(third["x"], third["y"])
    expect(starts).to_have_value(re.compile(r"^[^;]+;[^;]+;[^;]+;[^;]+$"), timeout=30_000)
    idle(page)
    got = starts_in(starts.input_value())
    assert len(got) == 4 and near(got[3], 3.0, -1.5), got
    expect(page).to_have_url(re.compile(r"(start=.*){4}"), timeout=30_000)
    assert len(query_of(page.url)["start"]) == 4
    page.wait_for_function(f"""() => {GD}.data
        .filter(t => t.name === 'SGD' && t.xaxis === 'x' && t.mode === 'lines').length === 4""", timeout=30_000)
    no_exception(page)
    assert page.problems == []


# -- 5 -------------------------------------------------------------------------------------
@contextlib.contextmanager
def clipboard_page(browser, artifacts, name: str):
    """A page in a fresh context allowed to read and write the clipboard (http://localhost is a
    secure context); screenshotted to artifacts/<name>.png when the block ends."""
    context = browser.new_context(viewport={"width": 1600, "height": 1100},
                                  permissions=["clipboard-read", "clipboard-write"])
    context.set_default_timeout(30_000)
    page = watch(context.new_page())
    try:
        yield page
    finally:
        try:
            page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
        finally:
            context.close()


def test_a_copied_url_restores_the_comparison(browser, new_page, app_url, artifacts):
    with clipboard_page(browser, artifacts, "test_a_copied_url_restores_the_comparison-copier") as page:
        open_compare(page, app_url, SHARED)
        title = page.evaluate(f"() => {GD}.layout.title.text")
        assert re.sub(r"<[^>]+>", "", title) == "Rosenbrock"
        assert page.evaluate(LOSS_NAMES_JS) == ["Adam", "SGD"]
        assert step_label(page) == "step 80"
        assert page.get_by_role("textbox", name=STARTS).input_value() == "-1, 2"

        # Change the steps in the sidebar; the address bar must then reopen exactly this figure.
        steps = page.get_by_role("slider", name="Steps")
        steps.focus()
        page.keyboard.press("ArrowRight")
        expect(page).to_have_url(re.compile(r"[?&]steps=81(&|$)"), timeout=30_000)
        wait_step(page, "81", timeout=30_000)
        idle(page)
        here = page.evaluate(FIGURE_JS)
        assert [len(x) for x in here["x"]] == [82, 82]
        address = page.url

        # One click on "Copy link" puts that address on the clipboard (no rerun, no st.code box).
        copy = page.locator(".copy")
        expect(copy).to_have_text("Copy link")
        copy.click()  # a real mouse click at its centre: a user gesture
        expect(copy).to_have_text("Copied ✓", timeout=2_000)
        copied = page.evaluate("() => navigator.clipboard.readText()")
        assert urlsplit(copied).netloc == urlsplit(address).netloc
        assert query_of(copied) == query_of(address)
        expect(copy).to_have_text("Copy link", timeout=5_000)  # the label comes back
        assert page.problems == []

    again = watch(new_page())
    open_compare(again, app_url, copied.removeprefix(app_url + "/"))
    there = again.evaluate(FIGURE_JS)
    assert there["names"] == here["names"]
    assert there["x"] == here["x"] and there["y"] == here["y"]
    assert step_label(again) == "step 81"
    assert again.get_by_role("textbox", name=STARTS).input_value() == "-1, 2"
    assert query_of(again.url) == query_of(copied)
    assert again.locator("[data-testid=stExpander]").filter(has_text="could not do").count() == 0
    assert again.problems == []


# -- 6 -------------------------------------------------------------------------------------
def notice(page: Page):
    return page.locator("[data-testid=stExpander]").filter(has_text="could not do")


def test_a_tampered_url_shows_one_collapsed_notice_and_still_draws(page, app_url):
    open_compare(page, app_url, "?steps=lots&landscape=everest&opt=warp_drive&opt=adam")
    expect(notice(page)).to_have_count(1)
    assert page.locator("[data-testid=stExpander] details[open]").filter(has_text="could not do").count() == 0
    assert "3 things" in notice(page).locator("summary").inner_text()
    notice(page).locator("summary").click()
    body = notice(page).locator("[data-testid=stExpanderDetails]")
    expect(body).to_be_visible()
    text = body.inner_text()
    for word in ("lots", "warp_drive", "everest"):
        assert word in text, f"the notice does not mention {word!r}: {text}"
    no_exception(page)
    contour_drawn(page)
    assert page.evaluate(LOSS_NAMES_JS) == ["Adam"]
    assert step_label(page) == "step 150"  # the default landscape's default steps

    open_compare(page, app_url, "?opt=adam&opt=sgd")
    assert page.evaluate(LOSS_NAMES_JS) == ["Adam", "SGD"]
    assert notice(page).count() == 0
    assert page.locator("[data-testid=stAlert]").count() == 0
    assert page.problems == []


# -- 7 -------------------------------------------------------------------------------------
HOSTILE = ["tan(x+pi/2)+y**2", "__import__('os')", "1/(x**2+y**2)", "log(x)"]


def test_hostile_or_odd_formulas_in_the_url_never_raise(page, app_url):
    watch(page)
    for formula in HOSTILE:
        page.goto(f"{app_url}/?formula={quote(formula)}")
        page.wait_for_selector(f"{DRAWN}, {EXCEPTION}, [data-testid=stAlert]", timeout=LOAD_MS)
        idle(page, timeout=90_000)
        boxes = page.locator(EXCEPTION)
        assert boxes.count() == 0, f"?formula={formula} shows an exception: {boxes.all_inner_texts()}"
        refused = page.get_by_text("The formula was not accepted").count() > 0
        print(f"{formula!r}: {'refused' if refused else 'accepted'}")
        if formula == "__import__('os')":
            assert refused
        # Accepted, or refused with the page going on with the default landscape: a chart either way.
        page.wait_for_selector(DRAWN, timeout=LOAD_MS)
        no_exception(page)
    assert page.problems == []


# -- 8 and 3 --------------------------------------------------------------------------------
def test_the_default_page_fits_1280x720_and_1440x900_and_the_scrub_grip_can_be_grabbed(page, app_url, artifacts):
    page.set_viewport_size({"width": 1280, "height": 720})
    open_compare(page, app_url)
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "compare-1280x720.png"))
    plot = page.locator(f"{CHART} .dl-chart-plot").bounding_box()
    controls = page.locator(f"{CHART} .dl-chart-controls").bounding_box()
    print(f"1280x720: plot {plot}, controls {controls}")
    assert plot["width"] >= 0.55 * 1280, f"the plot is {plot['width']:.0f} px wide"
    assert page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTop") == 0
    assert controls["y"] >= 0 and controls["y"] + controls["height"] <= 720, "the step controls are below the fold"
    for control in (".dl-prev", ".dl-play", ".dl-next", ".dl-scrub", ".dl-step", ".dl-speed"):
        box = page.locator(f"{CHART} {control}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 720, control
    assert covered_toolbar(page, "centre") == {}, "a click on these toolbar controls lands on something else"

    page.set_viewport_size({"width": 1440, "height": 900})
    page.wait_for_function(f"() => Math.abs({GD}._fullLayout.width - {ROOT}.clientWidth) <= 2", timeout=10_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "compare-1440x900.png"))
    controls = page.locator(f"{CHART} .dl-chart-controls").bounding_box()
    assert controls["y"] + controls["height"] <= 900
    assert covered_toolbar(page, "centre") == {}, "a click on these toolbar controls lands on something else"

    # Back at 1280×720 (the narrowest, where the buttons leave the slider least room), at step 0
    # the scrub slider's grip sits at its left end, next to the buttons: it must be grabbable there.
    page.set_viewport_size({"width": 1280, "height": 720})
    page.wait_for_function(f"() => Math.abs({GD}._fullLayout.width - {ROOT}.clientWidth) <= 2", timeout=10_000)
    page.focus(CHART)
    page.keyboard.press("Home")
    wait_step(page, "0")
    grip = page.evaluate(f"""() => {{ const s = document.querySelector('{CHART} .dl-scrub');
        const r = s.getBoundingClientRect(); const x = r.left + 7, y = r.top + r.height / 2;
        const hit = document.elementFromPoint(x, y);
        return {{x, y, hit: hit === s, what: hit && (hit.tagName + '.' + hit.className), width: r.width}}; }}""")
    assert grip["hit"], f"at step 0 the grip is covered by {grip['what']}"
    assert grip["width"] >= 150, f"the scrub slider is only {grip['width']} px wide"
    page.mouse.move(grip["x"], grip["y"])
    page.mouse.down()
    page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"], steps=6)
    page.mouse.up()
    page.wait_for_function(f"() => Number({ROOT}.dataset.step) > 30", timeout=5_000)
    assert step_label(page) == f"step {shown_step(page)}"
    assert page.problems == []


TOOLBAR = {"Contour + loss": "[data-testid=stMain] [data-testid=stButtonGroup] button >> nth=0",
           "Log loss": "[data-testid=stMain] label:has-text('Log loss')",
           "Presentation": "[data-testid=stMain] label:has-text('Presentation')",
           "Copy link": ".copy",
           "Export": "[data-testid=stMain] [data-testid=stPopover] button"}
# What is at (x, y) in the control's own tree: Copy link lives in a shadow root (components v2
# isolates its styles), where document.elementFromPoint sees only the shadow host.
HIT_JS = "(c, [x, y]) => c.contains(c.getRootNode().elementFromPoint(x, y))"


def covered_toolbar(page: Page, where: str) -> dict:
    """The toolbar controls a click at `where` ("centre", or "top": 1 px inside the top edge) would miss."""
    covered = {}
    for name, selector in TOOLBAR.items():
        control = page.locator(selector).first
        box = control.bounding_box()
        point = [box["x"] + box["width"] / 2, box["y"] + (box["height"] / 2 if where == "centre" else 1)]
        if not control.evaluate(HIT_JS, point):
            covered[name] = page.evaluate("([x, y]) => { const e = document.elementFromPoint(x, y);"
                                          " return e.getAttribute('data-testid') || e.tagName; }", point)
    return covered


def test_no_toolbar_control_reaches_under_the_header(page, app_url):
    page.set_viewport_size({"width": 1280, "height": 720})
    open_compare(page, app_url)
    header = page.locator("[data-testid=stHeader]").bounding_box()
    tops = {name: page.locator(selector).first.bounding_box()["y"] for name, selector in TOOLBAR.items()}
    print(f"header bottom {header['y'] + header['height']}, control tops {tops}")
    assert covered_toolbar(page, "top") == {}, "the header covers the top edge of these controls"


# -- 9 -------------------------------------------------------------------------------------
def test_exporting_the_animation_as_a_gif_downloads_every_frame(page, app_url, artifacts):
    open_compare(page, app_url, "?steps=30")
    page.locator("[data-testid=stMain] [data-testid=stPopover] button").first.click()
    popover = page.locator("[data-testid=stPopoverBody]")
    expect(popover).to_be_visible()
    popover.get_by_role("combobox").click()
    page.get_by_role("option", name="GIF of the animation").click()
    idle(page)
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

    gif = iio.imread(path, extension=".gif", index=None)
    assert len(gif) == 31  # steps 0 … 30: every frame of a 30-step animation
    assert gif.shape[1:3] == (400, 800)
    assert not (gif[0] == gif[-1]).all()  # the markers moved
    assert page.problems == []


def test_a_rerun_keeps_the_same_chart_and_the_step_on_screen(page, app_url):
    """A change that reruns the page updates the chart in place: the same plot element, the step
    the user paused at kept (a chart re-created on every run lost both)."""
    open_compare(page, app_url)
    page.locator(f"{CHART} .dl-prev").click()
    page.locator(f"{CHART} .dl-prev").click()
    paused = shown_step(page)
    page.evaluate(f"() => {{ window.__plot = {GD}; }}")
    names_before = page.evaluate(LOSS_NAMES_JS)
    page.get_by_role("spinbutton", name="Gradient noise σ").fill("0.5")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => {{ const gd = {GD}; return gd && gd.data.some(t => t.mode === 'lines'"
                           " && t.xaxis === 'x' && t.name === 'SGD') && new URL(location.href).searchParams.get("
                           "'noise') === '0.5'; }", timeout=LOAD_MS)
    idle(page)
    assert page.evaluate(f"() => window.__plot === {GD}"), "the chart was re-created by the rerun"
    assert shown_step(page) == paused
    assert page.evaluate(LOSS_NAMES_JS) == names_before
    no_exception(page)


# -- Play / Pause / export loops -------------------------------------------------------------
REJECTIONS_JS = """() => { window.__rejections = [];
    window.addEventListener('unhandledrejection', e => window.__rejections.push(String(e.reason))); }"""


def test_play_pause_and_export_loops_leave_no_unhandled_rejection(page, app_url):
    """Each Pause reports the step (a rerun) and each file made is a rerun: the chart redraws under
    an animation the next Play started, which interrupts Plotly.animate. Every interrupted
    promise must be handled: no unhandled rejection, no page error, and the chart still steps."""
    page.add_init_script(f"({REJECTIONS_JS})()")
    open_compare(page, app_url, "?steps=300")
    play = page.locator(f"{CHART} .dl-play")
    popover = page.locator("[data-testid=stPopoverBody]")
    for round_ in range(6):
        play.click()  # Play
        page.wait_for_timeout(40 + 30 * round_)
        play.click()  # Pause: the step goes back to Python, a rerun
        play.click()  # Play again while that rerun redraws the chart
        page.wait_for_timeout(25)
        play.click()  # Pause
        play.click()  # Play
        page.click(f"{CHART} .dl-next")  # a step pressed while a frame of the playback is drawn
        play.click()  # Play
        page.set_viewport_size({"width": 1280 if round_ % 2 else 1440, "height": 900})  # a resize under it
        page.locator("[data-testid=stMain] [data-testid=stPopover] button").first.click()
        expect(popover).to_be_visible()
        if round_ == 0:
            popover.get_by_role("combobox").click()
            page.get_by_role("option", name="CSV of every trajectory").click()
        popover.get_by_role("button", name="Make the file").click()  # a rerun under the animation
        page.wait_for_timeout(60)
        page.keyboard.press("Escape")
        if playing(page):
            play.click()
    idle(page)
    page.wait_for_timeout(500)  # late rejections of interrupted animations
    assert page.evaluate("() => window.__rejections") == []
    no_exception(page)
    assert page.problems == []
    paused = held_still(page)  # at rest first (a loaded machine may still be redrawing the last file's rerun)
    page.click(f"{CHART} .dl-prev")
    wait_step(page, neighbour(page, paused, -1))


# -- a server restart mid-session (the fixture: tests/browser/conftest.py restartable) ----------
def steps_slider(page: Page):
    return page.locator("[data-testid=stSlider]").filter(has_text="Steps").get_by_role("slider")


@pytest.mark.parametrize("path", ["/", "/compare"])
def test_after_a_server_restart_the_page_keeps_its_path_and_a_steps_change_redraws(page, restartable, path):
    """The tab reconnects to a new session with its URL's state; the Steps change made there is
    the first thing the new session hears of (its value, not the URL's, wins: ui.session
    .sent_by_browser), it redraws the chart and reaches the URL, and the path stays the page's."""
    open_compare(page, restartable.url.rstrip("/") + path.rstrip("/"), "?steps=40")
    opened = urlsplit(page.url).path
    assert opened.rstrip("/") == path.rstrip("/")  # /compare is a page of its own (app.py), not 'not found'
    assert not page.get_by_text("Page not found").count()
    assert frames(page)[-1] == "40"
    restartable.stop()
    page.wait_for_timeout(1500)  # the tab sees the connection go
    restartable.start()
    # Reconnected: the page's own script ran again for the new session, from the URL's state.
    page.wait_for_function("() => document.querySelector('[data-testid=stApp]')"
                           "?.getAttribute('data-test-connection-state') === 'CONNECTED'", timeout=LOAD_MS)
    idle(page)
    assert urlsplit(page.url).path == opened
    assert query_of(page.url)["steps"] == ["40"]
    slider = steps_slider(page)
    slider.focus()
    slider.press("ArrowRight")
    page.wait_for_function(f"() => {FRAMES_JS}().slice(-1)[0] === '41'", timeout=30_000)
    idle(page)
    assert urlsplit(page.url).path == opened
    expect(page).to_have_url(re.compile(r"steps=41"), timeout=10_000)
    no_exception(page)
