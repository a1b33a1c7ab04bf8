// Renders an animated figure's frames in one page, the way the figure plays in a browser.
// Loaded once into the export browser's frames tab, after plotly.js.
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
