"""chart.plotly_chart in Chromium (tests/chart/demo_app.py): it draws, its own controls step the
frames without a rerun, keys step, clicks come back to Python in data coordinates, once each."""

import re

import pytest

pytestmark = pytest.mark.browser

CHART = ".dl-chart"
PLOT = f"{CHART} .js-plotly-plot"


@pytest.fixture
def demo(page, chart_demo_url):
    """The demo page, drawn, with every console error and page error collected in `page.problems`."""
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.problems = problems

    def open_page(query: str = ""):
        page.goto(f"{chart_demo_url}/{query}")
        page.wait_for_selector(f"{PLOT} .scatterlayer .trace path.js-line", timeout=60_000)
        page.wait_for_function(f"() => document.querySelector('{CHART}').paints.length >= 1")
        return page

    return open_page


def shown_step(page) -> str:
    return page.get_attribute(CHART, "data-step")


def heads(page) -> list[list[float]]:
    """Where the moving trace (the current points, trace 4 of the demo figure) is drawn, in data."""
    return page.evaluate(f"""() => {{ const t = document.querySelector('{PLOT}')._fullData[4];
        return Array.from(t.x, (x, i) => [x, t.y[i]]); }}""")


def expected_heads(page, step: str) -> list[list[float]]:
    return page.evaluate(f"""() => {{ const gd = document.querySelector('{PLOT}');
        const frame = gd._transitionData._frames.find(f => f.name === '{step}');
        return Array.from(frame.data[0].x, (x, i) => [x, frame.data[0].y[i]]); }}""")


def runs(page) -> int:
    return int(re.search(r"runs: (\d+)", page.inner_text("[data-testid=stMain]")).group(1))


def wait_step(page, step: str):
    page.wait_for_function(f"() => document.querySelector('{CHART}').dataset.step === '{step}'", timeout=10_000)


def test_the_chart_draws_every_path_with_no_errors(demo):
    page = demo()
    assert page.locator(f"{PLOT} .scatterlayer .trace path.js-line").count() >= 4  # 2 paths + 2 loss curves
    assert page.locator(f"{PLOT} g.layer-subplot image, {PLOT} .imagelayer image").count() == 1  # the contour picture
    assert page.locator(f"{PLOT} .updatemenu-container, {PLOT} .slider-container").count() == 0
    assert shown_step(page) == "40" and page.inner_text(f"{CHART} .dl-step") == "step 40"
    assert page.problems == []


def test_next_prev_and_play_step_the_frames_on_screen_without_a_rerun(demo):
    page = demo()
    before = runs(page)
    page.click(f"{CHART} .dl-prev")
    wait_step(page, "39")
    page.click(f"{CHART} .dl-prev")
    wait_step(page, "38")
    assert heads(page) == expected_heads(page, "38")
    page.click(f"{CHART} .dl-next")
    wait_step(page, "39")
    assert heads(page) == expected_heads(page, "39")
    assert page.inner_text(f"{CHART} .dl-step") == "step 39"
    page.fill(f"{CHART} .dl-scrub", "5")  # scrub
    wait_step(page, "5")
    page.click(f"{CHART} .dl-play")
    page.wait_for_function(f"() => Number(document.querySelector('{CHART}').dataset.step) >= 12")
    page.click(f"{CHART} .dl-play")  # pause
    page.wait_for_function(f"() => document.querySelector('{CHART}').dataset.playing === 'false'")
    page.wait_for_timeout(200)
    paused = shown_step(page)
    assert heads(page) == expected_heads(page, paused)
    assert page.inner_text(f"{CHART} .dl-step") == f"step {paused}"
    assert runs(page) == before  # no rerun for any of it
    assert page.problems == []


def test_arrow_keys_step_when_the_chart_has_focus(demo):
    page = demo()
    page.focus(CHART)
    page.keyboard.press("ArrowLeft")
    wait_step(page, "39")
    page.keyboard.press("ArrowLeft")
    wait_step(page, "38")
    page.keyboard.press("ArrowRight")
    wait_step(page, "39")
    page.keyboard.press("Home")
    wait_step(page, "0")
    assert heads(page) == expected_heads(page, "0")


def test_play_and_pause_interrupting_each_other_raise_nothing(demo):
    page = demo("?steps=200")
    for _ in range(6):
        page.click(f"{CHART} .dl-play")
        page.wait_for_timeout(70)
        page.click(f"{CHART} .dl-next")
    page.wait_for_timeout(300)
    assert page.problems == []


def data_point(page, x: float, y: float) -> dict:
    return page.evaluate(f"""() => {{ const gd = document.querySelector('{PLOT}'); const f = gd._fullLayout;
        const box = gd.getBoundingClientRect();
        return {{ x: box.left + f.xaxis._offset + f.xaxis.d2p({x}),
                  y: box.top + f.yaxis._offset + f.yaxis.d2p({y}) }}; }}""")


def clicks_written(page) -> list[list[str]]:
    text = page.inner_text("[data-testid=stCode]")
    return [] if text.strip() == "no clicks" else [line.split() for line in text.strip().splitlines()]


def test_a_click_on_the_plot_sends_its_data_coordinates_to_python(demo):
    page = demo()
    point = data_point(page, 0.5, 1.25)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function("() => !document.querySelector('[data-testid=stCode]').innerText.includes('no clicks')")
    ((x, y, subplot, seq),) = clicks_written(page)
    assert abs(float(x) - 0.5) < 0.01 and abs(float(y) - 1.25) < 0.01  # a pixel is ~0.01 here
    assert subplot == "xy" and seq == "1"
    assert page.problems == []


def test_two_quick_clicks_give_two_events(demo):
    page = demo()
    first, second = data_point(page, -1.0, 0.0), data_point(page, 1.0, 2.0)
    page.mouse.click(first["x"], first["y"])
    page.wait_for_timeout(150)
    page.mouse.click(second["x"], second["y"])
    lines = "document.querySelector('[data-testid=stCode]').innerText.trim().split('\\n').length"
    page.wait_for_function(f"() => {lines} >= 2", timeout=15_000)
    page.wait_for_timeout(500)  # a third line would be a click counted twice
    written = clicks_written(page)
    assert [line[3] for line in written] == ["1", "2"]
    assert abs(float(written[0][0]) + 1.0) < 0.01 and abs(float(written[1][1]) - 2.0) < 0.01


def test_a_drag_zooms_and_is_not_a_click(demo):
    page = demo()
    start, end = data_point(page, -1.0, 0.0), data_point(page, 0.0, 1.0)
    page.mouse.move(start["x"], start["y"])
    page.mouse.down()
    page.mouse.move(end["x"], end["y"], steps=5)
    page.mouse.up()
    page.wait_for_timeout(800)
    assert clicks_written(page) == []


def test_the_step_is_reported_on_pause_when_asked(demo):
    page = demo("?report=1&steps=60")
    page.fill(f"{CHART} .dl-scrub", "0")
    page.click(f"{CHART} .dl-play")
    page.wait_for_timeout(400)
    page.click(f"{CHART} .dl-play")
    page.wait_for_function(f"() => document.querySelector('{CHART}').dataset.playing === 'false'")
    page.wait_for_timeout(300)  # a frame being drawn at the pause lands first
    step = shown_step(page)
    reported = f"document.querySelector('[data-testid=stMain]').innerText.includes('reported step: {step}')"
    page.wait_for_function(f"() => {reported}", timeout=15_000)
    assert shown_step(page) == step  # the rerun the report caused kept the step on screen


def test_a_static_chart_has_no_controls(demo):
    page = demo("?static=1")
    assert page.locator(f"{CHART} .dl-chart-controls").is_hidden()
    assert page.locator(f"{PLOT} .scatterlayer .trace path.js-line").count() >= 4


def test_the_chart_follows_the_container_width(demo):
    page = demo()
    width = f"document.querySelector('{PLOT}')._fullLayout.width"
    fits = f"Math.abs({width} - document.querySelector('{CHART}').clientWidth) <= 2"
    wide = page.evaluate(f"() => {width}")
    assert page.evaluate(f"() => {fits}")
    page.set_viewport_size({"width": 480, "height": 1100})
    page.wait_for_function(f"() => {width} < {wide} - 100 && {fits}")
    assert page.problems == []


def test_new_data_arriving_while_the_first_draw_is_under_way_draws_once_without_errors(demo):
    """Two reruns in quick succession on a fresh chart: the second newPlot used to purge the div
    under the first one, and plotly.js failed on its missing _fullLayout."""
    page = demo()
    outcome = page.evaluate(f"""async () => {{
        const shown = document.querySelector('{CHART}').chart;
        const host = document.createElement('div');
        document.body.appendChild(host);
        const fresh = new shown.constructor(host);
        fresh.update(shown.data);
        fresh.update(shown.data);
        fresh.update(shown.data);
        await fresh.drawing;
        const result = {{ paints: fresh.paints.length, drawn: fresh.drawn,
                          lines: host.querySelectorAll('.scatterlayer .trace path.js-line').length }};
        fresh.destroy();
        host.remove();
        return result;
    }}""")
    assert outcome["drawn"] and outcome["paints"] == 1, outcome
    assert outcome["lines"] >= 4, outcome
    page.wait_for_timeout(300)
    assert page.problems == []


def test_a_trace_of_transparent_markers_is_not_painted_and_still_hovers(demo):
    """A hover grid (every marker transparent, as the Compare and Lecture click grids are) is drawn
    as mode "none": no SVG path per point, its points still hover. A trace a frame updates, or
    whose markers have a visible outline, keeps its markers."""
    from chart import chart_data

    grid = {"x": [float(i % 10) for i in range(100)], "y": [float(i // 10) for i in range(100)]}
    clear = {"size": 9, "color": "rgba(0,0,0,0)"}
    figure = {
        "data": [
            {"type": "scatter", "mode": "markers", "name": "grid", **grid, "marker": clear,
             "hovertemplate": "(%{x}, %{y})<extra>grid</extra>"},
            {"type": "scatter", "mode": "markers", "name": "animated", "x": [1.0], "y": [1.0], "marker": clear},
            {"type": "scatter", "mode": "markers", "name": "outlined", "x": [2.0], "y": [2.0],
             "marker": {**clear, "line": {"width": 2, "color": "black"}}},
            {"type": "scatter", "mode": "markers", "name": "seen", "x": [3.0, 4.0], "y": [3.0, 4.0]},
        ],
        "layout": {"xaxis": {"range": [-1, 10]}, "yaxis": {"range": [-1, 10]}, "hovermode": "closest",
                   "margin": {"l": 40, "r": 10, "t": 10, "b": 40}},
        "frames": [{"name": str(step), "traces": [1], "data": [{"x": [float(step)], "y": [1.0]}]} for step in (0, 1)],
    }
    page = demo()
    drawn = page.evaluate(f"""async (data) => {{
        const shown = document.querySelector('{CHART}').chart;
        const host = document.createElement('div');
        host.style.width = '600px';
        document.body.appendChild(host);
        const chart = new shown.constructor(host);
        chart.update(data);
        await chart.drawing;
        const gd = host.querySelector('.js-plotly-plot');
        const traces = gd.querySelectorAll('.scatterlayer .trace');
        const result = {{ modes: gd._fullData.map(t => t.mode),
                          points: Array.from(traces, t => t.querySelectorAll('path.point').length) }};
        window.Plotly.Fx.hover(gd, {{ xval: 5.2, yval: 6.9 }}, 'xy');
        result.hover = gd.querySelector('.hoverlayer').textContent;
        chart.destroy();
        host.remove();
        return result;
    }}""", chart_data(figure))
    assert drawn["modes"] == ["none", "markers", "markers", "markers"], drawn
    assert drawn["points"] == [0, 1, 1, 2], drawn
    assert "(5, 7)" in drawn["hover"] and "grid" in drawn["hover"], drawn
    assert page.problems == []


STEPPING_JS = f"""async (scenario) => {{
    const shown = document.querySelector('{CHART}').chart;
    const host = document.createElement('div');
    host.style.width = '700px';
    document.body.appendChild(host);
    const chart = new shown.constructor(host);
    const sent = [];
    chart.component = {{ setStateValue: (name, value) => sent.push(value) }};
    const data = {{ ...shown.data, report_step: true }};
    chart.update(data);
    await chart.drawing;
    const settle = async (index) => {{
        for (let t = 0; t < 200 && chart.current !== index; t++) await new Promise(r => setTimeout(r, 20));
        await new Promise(r => setTimeout(r, 50));
    }};
    const names = chart.names;
    let result;
    if (scenario === 'late echo') {{
        chart.goTo(10); await settle(10); chart.report();  // reported, its rerun slow to come
        chart.goTo(20); await settle(20); chart.report();  // reported again
        chart.update({{ ...data, step: names[10] }});      // the first report's rerun arrives late
        await chart.drawing;
        await settle(20);
        result = {{ shown: chart.shownName, expected: names[20], sent }};
    }} else {{
        chart.goTo(5); await settle(5);
        chart.step(-1);                                   // a press whose frame is still being drawn...
        chart.update(data);                               // ...when a rerun's redraw arrives
        await chart.drawing;
        await settle(4);
        result = {{ shown: chart.shownName, expected: names[4], sent }};
    }}
    chart.destroy();
    host.remove();
    return result;
}}"""


@pytest.mark.parametrize("scenario", ["late echo", "press during a redraw"])
def test_a_rerun_arriving_late_or_mid_press_does_not_undo_the_stepping(demo, scenario):
    """On a busy server a step report's rerun can arrive after the student stepped on, or while
    a press is still being drawn: the chart keeps the step the student went to (the echo of an
    older report is not a new step from Python), and the press is not lost."""
    page = demo()

    outcome = page.evaluate(STEPPING_JS, scenario)

    page.wait_for_timeout(200)
    assert outcome["shown"] == outcome["expected"], (outcome, page.problems)
    assert page.problems == []
