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


def idle(page: Page) -> None:
    """Wait until Streamlit runs no script (a report's rerun included)."""
    page.wait_for_timeout(150)
    page.wait_for_function("() => document.querySelector('[data-testid=stApp]')"
                           "?.getAttribute('data-test-script-state') !== 'running'", timeout=LOAD_MS)


def moving_points(page: Page) -> list:
    """The x, y of every trace the frames move, in the contour plot and in the state plots."""
    plots = f"document.querySelector('{CHART}').querySelectorAll('.js-plotly-plot')"
    return page.evaluate(f"""() => [...{plots}].map(gd => {{
        const moving = new Set((gd._transitionData._frames[0] || {{}}).traces || []);
        return gd.data.filter((_, i) => moving.has(i)).map(t => [Array.from(t.x || []), Array.from(t.y || [])]);
    }})""")


def test_five_steps_of_the_momentum_story_move_the_arrows_the_markers_and_the_numbers(page, app_url, artifacts):
    page.set_viewport_size({"width": 1440, "height": 900})
    errors, sent = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Every message the page sends to the server: a rerun would be one (a BackMsg).
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
    open_story(page, app_url, "momentum_damps")
    lecture = page.locator(CHART).first
    assert lecture.locator(".js-plotly-plot").count() == 2  # the contour with arrows, and the state plots beside it

    seen_points, seen_panels, paints = [moving_points(page)], [page.inner_text(PANEL)], []
    lecture.focus()
    assert sent  # the page's own first rerun request was seen: the listener works
    for step in range(1, 6):
        # The chart reports the step once stepping rests (a rerun that writes it to the URL): with the
        # last step's report out and its rerun done, nothing is pending, so a message between the
        # press and the paint would be one the paint needed.
        if step > 1:
            page.wait_for_function(f"() => new URLSearchParams(location.search).get('at') === '{step - 1}'",
                                   timeout=10_000)
        idle(page)
        sent_before = len(sent)
        paints.append(page.evaluate(PRESS_TO_PAINT_JS))
        assert len(sent) == sent_before, "the step needed the server (a rerun)"
        page.wait_for_function(f"() => document.querySelector('{PANEL}').dataset.step === '{step}'", timeout=15_000)
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
    assert all(p is not None for p in paints)  # every press painted its step (speed: bench/app.py)
    page.wait_for_function("() => new URLSearchParams(location.search).get('at') === '5'", timeout=10_000)
    assert not errors
    page.screenshot(path=str(artifacts / "lecture-momentum-1440x900.png"))


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)], ids=["1280x720", "1440x900"])
@pytest.mark.parametrize("story", ["sgd_ill_conditioned", "adagrad", "rosenbrock_overshoot"])
def test_three_stories_fit_a_projector_with_the_equations_in_view(page, app_url, artifacts, story, size):
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    open_story(page, app_url, f"{story}&present=1" if width == 1280 else story)
    for _ in range(3):  # pressed in the page: a Playwright click would scroll the button into view
        page.evaluate(f"() => document.querySelector('{CHART} .dl-next').click()")
    page.wait_for_function(f"() => document.querySelector('{PANEL}').dataset.step !== '0'", timeout=15_000)
    box = page.locator(CHART).first.locator(".js-plotly-plot").first.bounding_box()
    assert box["width"] > 0.35 * width
    equation = page.locator(f"{PANEL} .dl-equation").first.bounding_box()
    assert equation["y"] + 0.5 * equation["height"] < height, "the first equation is below the fold"
    # A legend under the contour: at most two rows (its rows are the distinct heights of its entries);
    # beside it (a tall view), it takes no height from the plot
    rows = page.evaluate(f"""() => {{ const gd = document.querySelector('{CHART} .js-plotly-plot');
        if (gd._fullLayout.legend.orientation !== 'h') return 0;
        return new Set([...gd.querySelectorAll('.legend .traces')]
            .map(t => Math.round(t.getBoundingClientRect().top))).size; }}""")
    assert rows <= 2, f"the legend takes {rows} rows"
    page.screenshot(path=str(artifacts / f"lecture-{story}-{width}x{height}.png"))


def test_a_click_on_the_momentum_map_sets_lr_and_momentum(page, app_url, artifacts):
    page.set_viewport_size({"width": 1440, "height": 900})
    open_story(page, app_url, "momentum_damps&line=1")
    find_map = """() => [...document.querySelectorAll('.dl-chart .js-plotly-plot')]
        .find(gd => gd.layout && gd.layout.meta && gd.layout.meta.momentum_map)"""
    page.wait_for_function(f"() => Boolean(({find_map})())", timeout=LOAD_MS)
    page.evaluate(f"() => ({find_map})().scrollIntoView()")
    # Panel 2 is λ = 4: αλ = 2 there is lr = 0.5; β = 0.5
    point = page.evaluate(f"""() => {{ const gd = ({find_map})(); const f = gd._fullLayout;
        const box = gd.getBoundingClientRect();
        return {{ x: box.left + f.xaxis2._offset + f.xaxis2.d2p(2.0),
                  y: box.top + f.yaxis2._offset + f.yaxis2.d2p(0.5) }}; }}""")
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("() => window.location.search.includes('opt=')", timeout=LOAD_MS)
    query = page.evaluate("() => decodeURIComponent(window.location.search)")
    card = next(part for part in query.split("&") if part.startswith("opt=") and "momentum=" in part)
    lr, momentum = (float(card.split(f"{name}=")[1].split(",")[0]) for name in ("lr", "momentum"))
    assert abs(lr - 0.5) < 0.02 and abs(momentum - 0.5) < 0.02 and "story=momentum_damps" in query
    # The panel now shows the new setting's numbers: θ₁ = θ₀ − lr·g₀ with the clicked lr
    page.wait_for_function(f"() => document.querySelector('{PANEL}')?.innerText.includes('{lr:.4g}')",
                           timeout=LOAD_MS)
    assert not page.locator("[data-testid=stException]").count()
    page.screenshot(path=str(artifacts / "lecture-map-click.png"))
