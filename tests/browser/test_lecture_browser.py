"""The Lecture page in a real Chromium: stepping is the browser's alone, and everything that
changes with the step (arrows, state-plot markers, equations with numbers, narration) moves."""

import statistics

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser

CHART = ".dl-chart"  # the first chart: the lecture's (the (α, β) map below is a second, static one)
PANEL = f"{CHART} .dl-chart-panel"
LOAD_MS = 90_000
# From the press to the paint of the step it asked for (the chart's own paint log), in the page:
# no Playwright round trip in the figure. The panel and the state plots change in that frame.
PRESS_TO_PAINT_JS = f"""async () => {{
    const root = document.querySelector('{CHART}');
    const before = root.paints.length;
    const pressed = performance.now();
    root.querySelector('.dl-next').click();
    const deadline = pressed + 5000;
    while (root.paints.length === before && performance.now() < deadline)
        await new Promise(r => requestAnimationFrame(r));
    return root.paints.length > before ? root.paints[before] - pressed : null;
}}"""


def open_story(page: Page, base: str, story: str) -> None:
    page.goto(f"{base}/lecture?story={story}")
    page.wait_for_selector(f"{CHART} .js-plotly-plot .main-svg", timeout=LOAD_MS)
    page.wait_for_function(f"() => document.querySelector('{PANEL}')?.dataset.step === '0'", timeout=LOAD_MS)
    assert not page.locator("[data-testid=stException]").count()


def moving_points(page: Page) -> list:
    """The x, y of every trace the frames move, in the contour plot and in the state plots."""
    plots = f"document.querySelector('{CHART}').querySelectorAll('.js-plotly-plot')"
    return page.evaluate(f"""() => [...{plots}].map(gd => {{
        const moving = new Set((gd._transitionData._frames[0] || {{}}).traces || []);
        return gd.data.filter((_, i) => moving.has(i)).map(t => [Array.from(t.x || []), Array.from(t.y || [])]);
    }})""")


def test_five_steps_of_the_momentum_story_move_the_arrows_the_markers_and_the_numbers(page, app_url, artifacts):
    page.set_viewport_size({"width": 1440, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_story(page, app_url, "momentum_damps")
    lecture = page.locator(CHART).first
    assert lecture.locator(".js-plotly-plot").count() == 2  # the contour with arrows, and the state plots beside it

    seen_points, seen_panels, paints = [moving_points(page)], [page.inner_text(PANEL)], []
    lecture.focus()
    for step in range(1, 6):
        paints.append(page.evaluate(PRESS_TO_PAINT_JS))
        page.wait_for_function(f"() => document.querySelector('{PANEL}').dataset.step === '{step}'", timeout=5_000)
        seen_points.append(moving_points(page))
        seen_panels.append(page.inner_text(PANEL))
        assert f"step {step}" in lecture.locator(".dl-step").inner_text()
    for before, after in zip(seen_points, seen_points[1:], strict=False):
        assert before[0] != after[0], "the arrows did not move"
        assert before[1] != after[1], "the state plots' markers did not move"
    assert len(set(seen_panels)) == 6 and all(f"step {k}" in seen_panels[k] for k in range(6))
    assert lecture.locator(".dl-chart-panel math").count() >= 2     # the equations, as MathML
    print(f"Lecture Next click → paint: median {statistics.median(paints):.0f} ms, "
          f"range {min(paints):.0f}–{max(paints):.0f} ms")
    assert statistics.median(paints) < 250  # in the browser, no rerun (a rerun here takes seconds)
    assert not errors
    page.screenshot(path=str(artifacts / "lecture-momentum-1440x900.png"))


@pytest.mark.parametrize("story", ["sgd_ill_conditioned", "adagrad", "adam_bias_correction"])
def test_three_stories_at_projector_size(page, app_url, artifacts, story):
    page.set_viewport_size({"width": 1280, "height": 720})
    open_story(page, app_url, story)
    for _ in range(3):
        page.locator(CHART).first.locator(".dl-next").click()
    page.wait_for_function(f"() => document.querySelector('{PANEL}').dataset.step === '3'", timeout=5_000)
    box = page.locator(CHART).first.locator(".js-plotly-plot").first.bounding_box()
    assert box["width"] > 0.35 * 1280
    page.screenshot(path=str(artifacts / f"lecture-{story}-1280x720.png"))
