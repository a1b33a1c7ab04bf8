// What the export browser's plot tabs run: loaded once into each tab, after plotly.js, and called
// for every file. kaleido itself reloads its tab (and plotly.js: about 0.6 s of CPU) after every
// figure; these tabs keep plotly.js loaded.

// One figure as an image: what kaleido does for one figure (its kaleido_scopes.plotly, version
// 1.5): Plotly.toImage with the same config, the image data without its "data:" prefix (PNG:
// base64; SVG: the text).
window.descentLabImage = async function (spec, format, width, height, scale) {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new Error("the figure is not an object");
  }
  if (spec.data !== undefined && !Array.isArray(spec.data)) {
    throw new Error("the figure's data is not a list of traces");
  }
  if (spec.layout !== undefined && (spec.layout === null || typeof spec.layout !== "object")) {
    throw new Error("the figure's layout is not an object");
  }
  const config = Object.assign({ mapboxAccessToken: null, plotGlPixelRatio: scale * 2 }, spec.config);
  return Plotly.toImage(
    { data: spec.data || [], layout: spec.layout || {}, config: config },
    { format: format, width: width, height: height, scale: scale, imageDataOnly: true },
  );
};

// An animated figure's frames, the way the figure plays in a browser.
// One Plotly.newPlot, then for each frame Plotly.animate (no transition, no redraw) and a
// snapshot of the page's own SVG drawn on a canvas: what Plotly.toImage does, minus a fresh
// plot per frame. Only for frames that move scatter traces (see exports/images.py).
window.descentLabFrames = async function (spec, indices, width, height) {
  let gd = document.getElementById("descent-lab-frames");
  if (gd) {
    Plotly.purge(gd);
  } else {
    gd = document.createElement("div");
    gd.id = "descent-lab-frames";
    document.body.appendChild(gd);
  }
  const layout = Object.assign({}, spec.layout, { width: width, height: height, autosize: false });
  delete layout.sliders;
  delete layout.updatemenus;
  await Plotly.newPlot(gd, spec.data, layout, { staticPlot: true });
  const images = [];
  for (const index of indices) {
    const frame = Object.assign({}, spec.frames[index]);
    // plotly.py types every frame trace ("scatter" by default); the trace it updates keeps its own type.
    frame.data = (frame.data || []).map((trace) => {
      const update = Object.assign({}, trace);
      delete update.type;
      return update;
    });
    await Plotly.animate(gd, [frame], {
      mode: "immediate",
      frame: { duration: 0, redraw: false },
      transition: { duration: 0 },
    });
    images.push(await snapshot(gd, width, height));
  }
  Plotly.purge(gd);
  return images;
};

async function snapshot(gd, width, height) {
  const svg = Plotly.Snapshot.toSVG(gd);
  const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  try {
    const image = new Image();
    await new Promise((resolve, reject) => {
      image.onload = resolve;
      image.onerror = () => reject(new Error("the figure's SVG could not be drawn"));
      image.src = url;
    });
    const canvas = document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    canvas.getContext("2d").drawImage(image, 0, 0);
    return canvas.toDataURL("image/png").slice("data:image/png;base64,".length);
  } finally {
    URL.revokeObjectURL(url);
  }
}

// Where each part of the figure lands on the page, in pixels [left, top, right, bottom]: for
// tests that parts never overlap and nothing is cut at the figure's edge. Text boxes are the
// glyphs' boxes as the browser lays them out.
window.descentLabBoxes = async function (spec, width, height) {
  const gd = document.createElement("div");
  document.body.appendChild(gd);
  try {
    const layout = Object.assign({}, spec.layout, { width: width, height: height, autosize: false });
    await Plotly.newPlot(gd, spec.data, layout, { staticPlot: true });
    const origin = gd.getBoundingClientRect();
    const box = (element) => {
      const r = element.getBoundingClientRect();
      return [r.left - origin.left, r.top - origin.top, r.right - origin.left, r.bottom - origin.top];
    };
    const boxes = (selector) => Array.from(gd.querySelectorAll(selector))
      .filter((element) => element.getBoundingClientRect().width > 0)
      .map(box);
    const found = {
      title: boxes(".gtitle"),
      legend: boxes(".legend .bg"),
      legend_items: boxes(".legend .traces"),
      updatemenus: boxes(".updatemenu-container .updatemenu-button"),
      sliders: boxes(".slider-container .slider-rail, .slider-container .slider-label, .slider-container .slider-current-value"),
      annotations: boxes(".annotation"),
    };
    const full = gd._fullLayout;
    for (const id of full._subplots.xaxis || []) {
      const axis = full[id.replace("x", "xaxis")];
      found[id + "_title"] = boxes("." + id + "title");
      found[id + "_ticks"] = boxes("." + id + "tick text");
      found[id + "_plot"] = [[axis._offset, 0, axis._offset + axis._length, 0]];
    }
    for (const id of full._subplots.yaxis || []) {
      const axis = full[id.replace("y", "yaxis")];
      found[id + "_title"] = boxes("." + id + "title");
      found[id + "_ticks"] = boxes("." + id + "tick text");
      found[id + "_plot"] = [[0, axis._offset, 0, axis._offset + axis._length]];
    }
    for (const id of full._subplots.gl3d || []) {
      const domain = full[id].domain;
      const size = full._size;
      found[id] = [[size.l + domain.x[0] * size.w, size.t + (1 - domain.y[1]) * size.h,
                    size.l + domain.x[1] * size.w, size.t + (1 - domain.y[0]) * size.h]];
    }
    return found;
  } finally {
    Plotly.purge(gd);
    gd.remove();
  }
};
