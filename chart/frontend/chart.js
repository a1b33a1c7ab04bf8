// The browser side of chart/component.py: draws the figure with plotly.js' basic bundle, steps its
// frames with Plotly.animate (redraw: false) from its own controls, and sends clicks (data
// coordinates) and, when asked, the step on screen back to Python. No rerun while stepping.
// Built into chart/assets/chart.js after plotly.js' basic bundle, which sets window.Plotly (one file,
// one request: see chart/frontend/build.py).

const Plotly = window.Plotly;
const STEP_OPTIONS = { frame: { duration: 0, redraw: false }, transition: { duration: 0 }, mode: "immediate" };
const CLICK_SLOP_PX = 6; // a press that moves further is a drag (zoom), not a click
const CLICK_LOG = 16; // clicks resent with every click event, in case a rerun merged two events
const REPORT_IDLE_MS = 500; // with report_step: report once stepping or scrubbing rests this long
const STUCK_MS = 1500; // an animation a redraw interrupted may never settle: the chart stops waiting
const charts = new WeakMap(); // parentElement -> Chart: Streamlit calls us again on every new data

export default function mount(component) {
  const { data, parentElement } = component;
  let chart = charts.get(parentElement);
  if (!chart) {
    chart = new Chart(parentElement);
    charts.set(parentElement, chart);
  }
  chart.component = component;
  chart.update(data);
  return () => {
    chart.destroy();
    if (charts.get(parentElement) === chart) charts.delete(parentElement);
  };
}

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

class Chart {
  constructor(parent) {
    this.token = Math.random().toString(36).slice(2);
    this.seq = 0;
    this.clicks = [];
    this.names = [];
    this.current = 0; // index of the frame on screen
    this.wanted = 0; // index of the frame asked for last (one press = one frame from here)
    this.busy = false;
    this.playing = false;
    this.runs = 0; // playback loops started; a loop ends when this moves on
    this.speed = 1;
    this.paints = []; // performance.now() of each frame painted, for benchmarks and tests (root.paints)
    this.drawn = false;
    this.pythonStep = undefined;
    this.lastReported = undefined;
    this.unanswered = []; // steps reported whose rerun has not come back yet, oldest first

    this.root = element("div", { class: "dl-chart", tabindex: "0", "data-testid": "dl-chart" });
    this.root.paints = this.paints;
    this.root.chart = this; // for the browser tests
    this.plot = element("div", { class: "dl-chart-plot" });
    this.bar = element("div", { class: "dl-chart-controls", role: "toolbar", "aria-label": "animation" });
    const button = (name, title, text) => element("button", { type: "button", class: `dl-${name}`, title }, text);
    this.prev = button("prev", "Previous step (←)", "‹ Prev");
    this.play = button("play", "Play / pause (space)", "▶ Play");
    this.next = button("next", "Next step (→)", "Next ›");
    this.scrub = element("input", { type: "range", class: "dl-scrub", min: "0", max: "0", step: "1", value: "0", "aria-label": "step" });
    this.label = element("span", { class: "dl-step", "aria-live": "polite" });
    this.speedMenu = element("select", { class: "dl-speed", "aria-label": "speed", title: "Playback speed" });
    this.bar.append(this.prev, this.play, this.next, this.scrub, this.label, this.speedMenu);
    // Companion figures (data.companions) step with the main one, side by side with it; the
    // panel (data.panel) shows the HTML written for the step on screen (equations, narration).
    this.plots = element("div", { class: "dl-chart-plots" });
    this.plots.append(this.plot);
    this.companions = [];
    this.panel = element("div", { class: "dl-chart-panel", "aria-live": "polite" });
    this.root.append(this.plots, this.bar, this.panel);
    parent.appendChild(this.root);

    this.prev.addEventListener("click", () => this.step(-1));
    this.next.addEventListener("click", () => this.step(+1));
    this.play.addEventListener("click", () => (this.playingOrDue ? this.pause() : this.start()));
    this.scrub.addEventListener("input", () => {
      const index = Number(this.scrub.value);
      this.stop();
      this.goTo(index);
      this.reportSoon();
    });
    this.speedMenu.addEventListener("change", () => this.setSpeed(Number(this.speedMenu.value)));
    this.root.addEventListener("keydown", (event) => this.onKey(event));
    this.plot.addEventListener("pointerdown", (event) => this.onPress(event), true);
    this.resizer = new ResizeObserver(() => this.resizeSoon());
    this.resizer.observe(this.root);
  }

  update(data) {
    this.data = data;
    const figure = JSON.parse(data.figure);
    // A press not painted yet (its frame still being drawn) is still wanted after the redraw.
    const asked = this.drawn && !this.playing && this.wanted !== this.current ? this.names[this.wanted] : undefined;
    this.names = data.frames || [];
    this.controls = Boolean(data.controls) && this.names.length > 0;
    this.interval = Math.max(1, Number(data.frame_ms) || 60);
    const layout = { ...figure.layout };
    if (data.theme) applyTheme(layout, getComputedStyle(this.root));
    layout.autosize = true;
    delete layout.width;
    layout.height = layout.height || 450;
    this.plot.style.height = `${layout.height}px`;

    // Python's step wins when it changed; otherwise the step on screen stays.
    const onScreen = this.names.length ? this.shownName : undefined;
    const byName = new Map(this.names.map((name, index) => [name, index]));
    let index = byName.get(data.step) ?? Math.max(0, this.names.length - 1);
    // Python echoing a step this chart reported is no new step: stepping may have gone on since.
    // That includes an older report's rerun arriving late (a busy server): a step reported before
    // the last one is an echo too, not a step to jump back to.
    const echo = this.answered(data.step);
    const kept = this.drawn && (data.step === this.pythonStep || echo) && byName.has(onScreen);
    if (kept) index = byName.get(onScreen);
    this.pythonStep = data.step;
    const frames = figure.frames || [];
    const shown = frames.length ? withFrame(figure.data || [], frames[index]) : figure.data || [];
    const traces = withoutInvisibleMarkers(shown, frames);

    this.renderSpeeds(data);
    this.bar.hidden = !this.controls;
    this.scrub.max = String(Math.max(0, this.names.length - 1));
    this.generation = (this.generation || 0) + 1; // animations under way paint an old figure
    const resume = this.playing || Boolean(this.resumeAfterDraw); // a skipped draw's wish too
    this.stop();
    this.resumeAfterDraw = resume; // Play again once drawn (a Pause before that cancels it)
    this.redrawing = true; // no frame is animated until the new figure is drawn: see pump
    this.current = this.wanted = index;
    if (kept && byName.has(asked)) this.wanted = byName.get(asked); // stepped to once drawn (pump)
    this.showStep(index);
    const config = { responsive: false, ...data.config };
    const spec = { data: traces, layout, frames, config };
    this.panelByStep = data.panel || null;
    this.panel.hidden = !this.panelByStep;
    this.showPanel(index);
    this.latest = spec;
    // One draw at a time, the newest data only: a second Plotly.newPlot while the first is still
    // drawing purges the div under it (plotly.js then fails on its missing _fullLayout).
    // Nor while a frame is still being animated: Plotly.react under a pending Plotly.animate
    // throws inside plotly.js ("reading 'length'"), so the draw waits for it (STUCK_MS at most).
    this.drawing = (this.drawing || Promise.resolve())
      .then(() => this.painting)
      .then(() => {
        if (this.latest !== spec || this.destroyed) return; // newer data is queued behind us
        const main = this.plot._fullLayout ? Plotly.react(this.plot, spec) : Plotly.newPlot(this.plot, spec);
        const companions = this.drawCompanions(data.companions || [], index);
        return Promise.all([main, ...companions]).then(() => {
          if (this.destroyed) return;
          this.drawn = true;
          this.redrawing = false;
          this.busy = false;
          this.paints.push(performance.now());
          const again = this.resumeAfterDraw;
          this.resumeAfterDraw = false;
          if (again && this.controls) this.start();
          else this.pump(); // a press made while the figure was redrawn
        });
      })
      .catch((error) => {
        if (this.destroyed) return;
        this.redrawing = false;
        console.error("descent-lab chart: could not draw the figure", error);
      });
  }

  drawCompanions(texts, index) {
    while (this.companions.length > texts.length) {
      const gone = this.companions.pop();
      try { Plotly.purge(gone); } catch (error) { /* already gone */ }
      gone.remove();
    }
    return texts.map((text, k) => {
      const figure = JSON.parse(text);
      let div = this.companions[k];
      if (!div) {
        div = element("div", { class: "dl-chart-plot dl-chart-companion" });
        this.plots.append(div);
        this.companions.push(div);
      }
      const layout = { ...figure.layout, autosize: true };
      delete layout.width;
      if (this.data.theme) applyTheme(layout, getComputedStyle(this.root));
      layout.height = layout.height || 450;
      div.style.height = `${layout.height}px`;
      const frames = figure.frames || [];
      const byName = new Map(frames.map((frame, i) => [String(frame.name), i]));
      div.frameNames = byName;
      const opening = byName.get(this.names[index]);
      const shown = opening === undefined ? figure.data || [] : withFrame(figure.data || [], frames[opening]);
      const traces = withoutInvisibleMarkers(shown, frames);
      const spec = { data: traces, layout, frames, config: { responsive: false, ...this.data.config } };
      return Promise.resolve(div._fullLayout ? Plotly.react(div, spec) : Plotly.newPlot(div, spec))
        .catch((error) => console.error("descent-lab chart: could not draw a companion figure", error));
    });
  }

  // Frame `index` on the main figure and, at the same time, on the companions (Plotly.animate
  // spends most of its time waiting for animation frames: run side by side, the waits overlap);
  // the panel shows the step's HTML at once. Resolves when the main figure has painted it.
  animateTo(index) {
    const name = this.names[index];
    this.showPanel(index);
    for (const div of this.companions) {
      if (div.frameNames?.has(name)) Plotly.animate(div, [name], STEP_OPTIONS).catch(() => {});
    }
    return Plotly.animate(this.plot, [name], STEP_OPTIONS);
  }

  showPanel(index) {
    if (!this.panelByStep) return;
    const html = this.panelByStep[this.names[index]];
    if (html !== undefined && this.panel.dataset.step !== this.names[index]) {
      this.panel.innerHTML = html; // written by Python from numbers and escaped text (chart.component)
      this.panel.dataset.step = this.names[index];
    }
  }

  // Playing, or to play once the figure being redrawn is drawn: what the Play button shows and toggles.
  get playingOrDue() {
    return this.playing || Boolean(this.resumeAfterDraw);
  }

  get shownName() {
    return this.names[this.current];
  }

  renderSpeeds(data) {
    const speeds = data.speeds || [1];
    const wanted = Number(data.speed) || 1;
    const key = speeds.join(",");
    if (this.speedKey !== key) {
      this.speedMenu.replaceChildren(...speeds.map((s) => element("option", { value: String(s) }, `${s}×`)));
      this.speedKey = key;
    }
    if (this.pythonSpeed !== wanted) {  // a new speed from Python; else keep the one chosen here
      this.pythonSpeed = wanted;
      this.speed = wanted;
    }
    this.speedMenu.value = String(this.speed);
  }

  showStep(index) {
    const name = this.names[index];
    this.label.textContent = name === undefined ? "" : `step ${name}`;
    this.scrub.value = String(index);
    this.scrub.setAttribute("aria-valuetext", `step ${name}`);
    this.root.dataset.step = name ?? "";
    this.play.textContent = this.playingOrDue ? "❚❚ Pause" : "▶ Play";
    this.root.dataset.playing = this.playingOrDue ? "true" : "false";
  }

  // One frame per press, from the frame asked for last (the one on screen when idle).
  step(delta) {
    if (!this.controls) return;
    this.stop();
    this.goTo(this.wanted + delta);
    this.reportSoon();
  }

  goTo(index) {
    this.wanted = Math.min(Math.max(0, Math.round(index)), this.names.length - 1);
    this.pump();
  }

  pump() {
    if (this.busy || this.redrawing || !this.drawn || this.wanted === this.current) return;
    const index = this.wanted;
    this.busy = true;
    this.paintFrame(index)
      .then((painted) => { if (painted) this.painted(index); })
      .finally(() => {
        this.busy = false;
        if (!this.playing) this.pump();
      });
  }

  // Frame `index` on screen: true once painted; false when something newer took over (a redraw
  // from Python, an unmount) or when plotly.js left the animation pending (a redraw interrupted
  // it): the chart is never left busy, so the next press always steps.
  paintFrame(index) {
    const generation = this.generation;
    const settled = this.animateTo(index).then(() => true, () => false);
    const stuck = new Promise((resolve) => { setTimeout(() => resolve(false), STUCK_MS); });
    this.painting = Promise.race([settled, stuck]);
    return this.painting.then((painted) => painted && generation === this.generation);
  }

  painted(index) {
    this.current = index;
    this.paints.push(performance.now());
    this.showStep(index);
  }

  setSpeed(speed) {
    this.speed = speed > 0 ? speed : 1;
    if (this.playing) this.anchor();
  }

  anchor() {
    this.t0 = performance.now();
    this.i0 = this.current;
  }

  // Playback keeps time: at speed s the frame shown at time t is i0 + (t - t0) * s / frame_ms,
  // so a slow paint drops frames instead of slowing the animation down.
  start() {
    if (!this.controls || this.playing) return;
    if (this.redrawing) { // Play once the new figure is drawn
      this.resumeAfterDraw = true;
      this.showStep(this.current);
      return;
    }
    if (this.current >= this.names.length - 1) {
      this.current = this.wanted = 0;
      this.busy = true;
      this.paintFrame(0).finally(() => {
        this.busy = false;
        this.showStep(0);
      });
    }
    this.playing = true;
    this.showStep(this.current);
    this.anchor();
    const run = ++this.runs; // a later start (or a stop) ends this loop
    const loop = async () => {
      while (this.playing && run === this.runs) {
        const last = this.names.length - 1;
        const elapsed = performance.now() - this.t0;
        const due = Math.min(last, this.i0 + Math.floor((elapsed * this.speed) / this.interval));
        if (this.busy || due === this.current) { // wait for the next frame's time
          const next = this.t0 + ((due + 1 - this.i0) * this.interval) / this.speed;
          await new Promise((resolve) => { this.timer = setTimeout(resolve, Math.max(1, next - performance.now())); });
          continue;
        }
        this.busy = true;
        this.wanted = due;
        if (await this.paintFrame(due)) this.painted(due);
        this.busy = false;
        if (run !== this.runs && !this.playing) this.pump(); // a step pressed during this frame
        if (this.current >= last && run === this.runs) this.pause();
      }
    };
    loop();
  }

  stop() {
    this.playing = false;
    this.resumeAfterDraw = false;
    this.runs = (this.runs || 0) + 1;
    clearTimeout(this.timer);
    this.wanted = this.current;
    this.showStep(this.current);
  }

  pause() {
    const wasPlaying = this.playing;
    this.stop();
    if (wasPlaying) this.report();
  }

  reportSoon() {
    if (!this.data?.report_step) return;
    clearTimeout(this.reportTimer);
    this.reportTimer = setTimeout(() => (this.busy || this.wanted !== this.current ? this.reportSoon() : this.report()),
      REPORT_IDLE_MS);
  }

  // Whether Python's `step` is the echo of one this chart reported; it and the reports before it
  // are then answered (Streamlit runs the newest widget state: their reruns may never come).
  answered(step) {
    if (step === undefined || step === null) return false;
    const at = this.unanswered.lastIndexOf(Number(step));
    if (at < 0) return Number(step) === this.lastReported;
    this.unanswered.splice(0, at + 1);
    return true;
  }

  report() {
    clearTimeout(this.reportTimer);
    if (this.busy) { // the frame being drawn is the one to report
      this.reportTimer = setTimeout(() => this.report(), 16);
      return;
    }
    const step = Number(this.shownName);
    if (!this.data?.report_step || !Number.isFinite(step) || step === this.lastReported) return;
    this.lastReported = step;
    this.unanswered.push(step);
    if (this.unanswered.length > 64) this.unanswered.shift();
    this.component?.setStateValue("step", step);
  }

  onKey(event) {
    if (!this.controls || event.target === this.speedMenu) return;
    const keys = { ArrowRight: () => this.step(+1), ArrowLeft: () => this.step(-1),
      Home: () => this.goFromKey(0), End: () => this.goFromKey(this.names.length - 1) };
    if (event.key === " " && event.target !== this.root) return; // a focused button handles its own space
    if (event.key === " ") keys[" "] = () => (this.playingOrDue ? this.pause() : this.start());
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  }

  goFromKey(index) {
    this.stop();
    this.goTo(index);
    this.reportSoon();
  }

  // A click is a press and release within a few pixels; Plotly reports clicks on points only,
  // so the coordinates come from the axes of the subplot under the pointer.
  onPress(event) {
    if (event.button !== 0 || event.target.closest?.(".modebar, .legend, .updatemenu-container")) return;
    const start = { x: event.clientX, y: event.clientY };
    const release = (up) => {
      window.removeEventListener("pointerup", release, true);
      if (Math.hypot(up.clientX - start.x, up.clientY - start.y) > CLICK_SLOP_PX) return;
      const point = this.dataPoint(up.clientX, up.clientY);
      if (point) this.sendClick(point);
    };
    window.addEventListener("pointerup", release, true);
  }

  dataPoint(clientX, clientY) {
    const full = this.plot._fullLayout;
    if (!full) return null;
    const box = this.plot.getBoundingClientRect();
    const px = clientX - box.left;
    const py = clientY - box.top;
    for (const id of full._subplots?.cartesian || []) {
      const [, xs, ys] = id.match(/^x(\d*)y(\d*)$/) || [];
      const xa = full[`xaxis${xs}`];
      const ya = full[`yaxis${ys}`];
      if (!xa || !ya) continue;
      const inside = px >= xa._offset && px <= xa._offset + xa._length
        && py >= ya._offset && py <= ya._offset + ya._length;
      if (inside) return { x: xa.p2d(px - xa._offset), y: ya.p2d(py - ya._offset), subplot: id };
    }
    return null;
  }

  sendClick(point) {
    this.seq += 1;
    this.clicks.push({ seq: this.seq, ...point });
    this.clicks = this.clicks.slice(-CLICK_LOG);
    this.root.dataset.clicks = String(this.seq);
    this.component?.setTriggerValue("click", { token: this.token, seq: this.seq, clicks: this.clicks });
  }

  resizeSoon() {
    if (this.resizing) return;
    this.resizing = requestAnimationFrame(() => {
      this.resizing = 0;
      if (this.drawn && this.plot.isConnected) Plotly.Plots.resize(this.plot).catch(() => {});
      for (const div of this.companions) if (div._fullLayout) Plotly.Plots.resize(div).catch(() => {});
    });
  }

  destroy() {
    this.destroyed = true;
    this.stop();
    clearTimeout(this.reportTimer);
    cancelAnimationFrame(this.resizing);
    this.resizer.disconnect();
    try {
      for (const div of this.companions) Plotly.purge(div);
      Plotly.purge(this.plot);
    } catch (error) {
      // already gone with its parent
    }
    this.root.remove();
  }
}

// The frame's traces (by index) replace the matching figure traces' moving parts, so the first
// paint already shows the opening step.
function withFrame(traces, frame) {
  if (!frame) return traces;
  const out = traces.slice();
  const indices = frame.traces || frame.data.map((_, i) => i);
  (frame.data || []).forEach((update, k) => {
    const index = indices[k];
    if (index >= 0 && index < out.length) {
      const { type, ...rest } = update;
      out[index] = { ...out[index], ...rest };
    }
  });
  return out;
}

// A markers trace whose every marker is transparent (the Compare and Lecture click grids: hover
// targets that show the point under the pointer) paints nothing, yet plotly.js draws and styles
// one SVG path per point: 1,275 of them took 90-230 ms of the Compare chart's 150-310 ms first
// draw. Drawn as mode "none" its points still hover (scatter's hoveron is "points") and nothing
// is painted. Only traces no frame updates: a frame could make their markers visible.
function withoutInvisibleMarkers(traces, frames) {
  const animated = new Set();
  for (const frame of frames) {
    const indices = frame.traces || (frame.data || []).map((_, i) => i);
    for (const index of indices) animated.add(index);
  }
  return traces.map((trace, index) => (!animated.has(index) && paintsNothing(trace) ? { ...trace, mode: "none" } : trace));
}

function paintsNothing(trace) {
  const marker = trace.marker || {};
  const line = marker.line || {};
  const outline = line.width ?? (typeof marker.size === "number" || marker.size === undefined ? 0 : 1); // plotly.js' default
  return (trace.type === undefined || trace.type === "scatter") && trace.mode === "markers"
    && (marker.opacity === 0 || (transparent(marker.color) && (outline === 0 || transparent(line.color))));
}

function transparent(color) {
  if (color === "transparent") return true;
  const rgba = typeof color === "string" && color.replace(/\s+/g, "").match(/^rgba\([^,]+,[^,]+,[^,]+,([^)]+)\)$/);
  return Boolean(rgba) && Number(rgba[1]) === 0;
}

// Streamlit's font and colours under the figure's own settings (the figure wins).
function applyTheme(layout, css) {
  const v = (name) => css.getPropertyValue(name).trim();
  const text = v("--st-text-color");
  const background = v("--st-background-color");
  const font = v("--st-font");
  const grid = v("--st-border-color-light") || v("--st-border-color");
  layout.font = { ...(text && { color: text }), ...(font && { family: font }), ...layout.font };
  if (background && layout.paper_bgcolor === undefined) layout.paper_bgcolor = background;
  if (background && layout.plot_bgcolor === undefined) layout.plot_bgcolor = background;
  if (grid) {
    for (const name of Object.keys(layout).filter((k) => /^[xy]axis\d*$/.test(k))) {
      layout[name] = { gridcolor: grid, zerolinecolor: grid, ...layout[name] };
    }
  }
  layout.legend = { bgcolor: "rgba(0,0,0,0)", ...layout.legend };
  layout.hoverlabel = { ...(font && { font: { family: font } }), ...layout.hoverlabel };
}
