// The /explore page: draw or upload a picture; /api/explore/predict does the rest.
"use strict";

let info = null, result = null, lastImage = null;
const SIDE = 224;

function runName() { return $("explore-run").value; }

async function loadRuns() {
  const wanted = new URLSearchParams(location.search).get("run");
  let list;
  try { list = await api("/api/runs"); } catch (e) { $("explore-error").textContent = "error: " + e.message; return; }
  const select = $("explore-run");
  const names = list.runs.slice();
  if (wanted && !names.includes(wanted)) names.unshift(wanted);
  for (const n of names) select.append(el("option", {value: n, text: n}));
  if (!names.length) { $("explore-error").textContent = `no runs under ${list.runs_dir}: train one (cnnlab train --data digits --model cnn3 --out ${list.runs_dir}/digits) or start the server with --runs DIR`; return; }
  if (wanted) select.value = wanted;
  await loadInfo();
}

async function loadInfo() {
  $("explore-error").textContent = "";
  history.replaceState(null, "", "/explore?run=" + encodeURIComponent(runName()));
  try { info = await api("/api/explore/info?run=" + encodeURIComponent(runName())); }
  catch (e) { info = null; $("explore-error").textContent = "error: " + e.message; return; }
  const acc = info.test_accuracy === null ? "" : `, test accuracy ${(100 * info.test_accuracy).toFixed(1)}%`;
  $("explore-info").textContent = `${info.model} on ${info.data}: input ${info.input.join("×")}, ${info.classes.length} classes${acc}`;
  const camLayer = $("explore-cam-layer");
  camLayer.innerHTML = "";
  for (const l of info.layers) camLayer.append(el("option", {value: l.name, text: l.name}));
  if (info.cam_layer) camLayer.value = info.cam_layer;
  const filters = $("explore-filters");
  filters.innerHTML = "";
  if (info.filters) info.filters.normalised.forEach((f, i) => {
    const c = el("canvas", {title: `filter ${i + 1}: ${info.filters.best_probe[i] || "no probe"}`, "data-filter": i});
    drawArray(c, f[0], 0, 1);
    filters.append(c);
  });
  if (sketch.hasInk()) predict();
}

// -- drawing (drawpad.js) ----------------------------------------------------------------
const pad = () => $("explore-canvas");
let sketch = null;  // the drawing pad's {clear, hasInk}, made when the page has loaded

async function predict(dataUrl, target) {
  if (!info) return;
  $("explore-error").textContent = "";
  lastImage = dataUrl || pad().toDataURL("image/png");
  const body = {run: runName(), image: lastImage};
  if (target !== undefined) body.target = target;
  if ($("explore-cam-layer").value) body.layer = $("explore-cam-layer").value;
  const slow = setTimeout(() => { $("explore-status").textContent = "computing… (the first call loads the model)"; }, 300);
  try {
    result = await api("/api/explore/predict", body);
  } catch (e) {
    clearTimeout(slow);
    $("explore-status").textContent = "";
    $("explore-error").textContent = "error: " + e.message;
    for (const id of ["explore-prediction", "explore-maps"]) $(id).innerHTML = "";  // no stale results under the error
    return;
  }
  clearTimeout(slow);
  $("explore-status").textContent = `predicted ${result.label} (${(100 * result.probabilities[result.predicted]).toFixed(1)}%)`;
  show();
}

function show() {
  const bars = $("explore-prediction");
  bars.innerHTML = "";
  result.probabilities.forEach((p, k) => {
    const label = el("button", {type: "button", class: "linkish", text: info.classes[k], title: "Grad-CAM for this class",
                                "aria-label": `Grad-CAM for class ${info.classes[k]}`});
    label.addEventListener("click", () => predict(lastImage, k));
    bars.append(label,
      el("div", {}, el("div", {class: "bar" + (k === result.predicted ? " top" : ""), style: `width:${(100 * p).toFixed(1)}%`})),
      el("span", {"data-class": info.classes[k], text: p.toFixed(4)}));
  });
  bars.dataset.predicted = result.label;
  drawInput($("explore-input"), result.input);
  $("explore-seen-note").textContent = result.prepared === "mnist"
    ? "prepared as MNIST's digits were: the ink's bounding box scaled into 20×20, its centre of mass at the centre of 28×28"
    : "resized and scaled as in training";
  clearRf();
  if (result.gradcam) {
    const x = grey(result.input), h = result.gradcam.heat;
    drawArray($("explore-gradcam"), h.map((row, i) => row.map((v, j) => v)), 0, 1, (t) => heat(t));
    blend($("explore-gradcam"), x);
    $("explore-gradcam-info").textContent = `where layer ${result.gradcam.layer} saw evidence for class ${info.classes[result.gradcam.target]}`;
  }
  const maps = $("explore-maps");
  maps.innerHTML = "";
  for (const layer of result.maps) {
    const geo = info.layers.find((l) => l.name === layer.layer) || {};
    const box = el("div", {class: "maps", "data-layer": layer.layer});
    layer.maps.forEach((m, c) => {
      const cv = el("canvas", {title: `${layer.layer} channel ${c + 1}`, tabindex: 0, role: "img",
                               "aria-label": `${layer.layer} channel ${c + 1}: arrow keys pick a unit, its receptive field shows on the input`});
      drawArray(cv, m, layer.min, layer.max);
      let at = [0, 0];
      cv.addEventListener("click", (e) => {
        const r = cv.getBoundingClientRect(), y = Math.floor((e.clientY - r.top) / r.height * m.length), xx = Math.floor((e.clientX - r.left) / r.width * m[0].length);
        at = [y, xx];
        showRf(layer.layer, geo, c, y, xx);
      });
      cv.addEventListener("keydown", (e) => {
        const d = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]}[e.key];
        if (!d && e.key !== "Enter") return;
        e.preventDefault();
        if (d) at = [Math.max(0, Math.min(m.length - 1, at[0] + d[0])), Math.max(0, Math.min(m[0].length - 1, at[1] + d[1]))];
        showRf(layer.layer, geo, c, at[0], at[1]);
      });
      box.append(cv);
    });
    const more = layer.channels > layer.maps.length ? `, first ${layer.maps.length} of ${layer.channels} channels` : "";
    maps.append(el("h3", {text: `${layer.layer}: ${layer.shape.join("×")}${more}` + (geo.receptive_field ? `, receptive field ${geo.receptive_field}` : "")}), box);
  }
}

// The model's input (C, H, W) in [0, 1]: grey for one channel, colour for three.
const grey = (x) => x[0].map((row, i) => row.map((_, j) => x.reduce((s, c) => s + c[i][j], 0) / x.length));
function drawInput(canvas, x) {
  if (x.length !== 3) { drawArray(canvas, grey(x), 0, 1); return; }
  const h = x[0].length, w = x[0][0].length, ctx = canvas.getContext("2d");
  canvas.width = w; canvas.height = h;
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const p = 4 * (i * w + j);
    for (let c = 0; c < 3; c++) img.data[p + c] = 255 * x[c][i][j];
    img.data[p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// Grad-CAM over the input: the heat map at 60% over the grey picture.
function blend(canvas, x) {
  const ctx = canvas.getContext("2d"), img = ctx.getImageData(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < x.length; i++) for (let j = 0; j < x[0].length; j++) {
    const p = 4 * (i * x[0].length + j), g = 255 * x[i][j];
    for (let k = 0; k < 3; k++) img.data[p + k] = 0.6 * img.data[p + k] + 0.4 * g;
  }
  ctx.putImageData(img, 0, 0);
}

function clearRf() { const c = $("explore-rf-overlay"); c.getContext("2d").clearRect(0, 0, c.width, c.height); $("explore-rf").textContent = "Click a feature-map pixel."; }

function showRf(name, geo, c, y, x) {
  clearRf();
  if (geo.receptive_field === undefined) { $("explore-rf").textContent = `no receptive-field geometry for ${name}`; return; }
  const [, H, W] = info.input, s = SIDE / W, t = SIDE / H;
  const [[top, bottom], [left, right]] = fieldOf(geo, y, x);
  const ctx = $("explore-rf-overlay").getContext("2d");
  const ct = Math.max(0, top), cb = Math.min(H - 1, bottom), cl = Math.max(0, left), cr = Math.min(W - 1, right);
  ctx.fillStyle = "rgba(255, 196, 0, .35)";
  ctx.fillRect(cl * s, ct * t, (cr - cl + 1) * s, (cb - ct + 1) * t);
  ctx.strokeStyle = "#ffc400"; ctx.lineWidth = 2;
  ctx.strokeRect(cl * s, ct * t, (cr - cl + 1) * s, (cb - ct + 1) * t);
  $("explore-rf").textContent = `${name}, channel ${c + 1}, unit (row ${y + 1}, column ${x + 1}) sees input rows ${ct + 1}–${cb + 1}, columns ${cl + 1}–${cr + 1}` +
    ` (receptive field ${geo.receptive_field}, jump ${geo.jump})`;
  $("explore-rf").dataset.region = JSON.stringify([ct, cb, cl, cr]);
}

document.addEventListener("DOMContentLoaded", () => {
  sketch = drawPad(pad(), 26, () => predict());
  $("explore-clear").addEventListener("click", () => sketch.clear());
  $("explore-predict").addEventListener("click", () => predict());
  $("explore-upload").addEventListener("change", (e) => {
    const f = e.target.files[0];
    if (!f) return;
    const reader = new FileReader();
    reader.onload = () => predict(reader.result);
    reader.readAsDataURL(f);
  });
  $("explore-run").addEventListener("change", loadInfo);
  $("explore-cam-layer").addEventListener("change", () => { if (lastImage) predict(lastImage, result ? result.gradcam.target : undefined); });
  $("explore-network-link").addEventListener("click", (e) => {
    // the same input on /network: a drawing travels in this tab's session storage
    e.preventDefault();
    let where = `/network?run=${encodeURIComponent(runName())}`;
    if (lastImage) { sessionStorage.setItem("cnnlab-picture", lastImage); where += "&picture=session"; }
    location.href = where;
  });
  glossary($("glossary"), ["feature-map", "receptive-field", "softmax", "gradcam"]);
  loadRuns();
});
