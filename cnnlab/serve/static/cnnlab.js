// cnnlab serve: helpers shared by the pages (no framework, nothing fetched from elsewhere).
// The head and the navigation bar come from the page shell (cnnlab/serve/shell.py).
"use strict";

function $(id) { return document.querySelector(`[data-testid="${id}"]`); }

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k === "html") e.innerHTML = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

async function api(path, body) {
  const opts = body === undefined ? {} : {method: "POST", headers: {"Content-Type": "application/json"},
                                          body: JSON.stringify(body)};
  const response = await fetch(path, opts);
  let data;
  try { data = await response.json(); } catch (e) { data = {error: `HTTP ${response.status}`}; }
  if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
  return data;
}

// A number as the CLI shows it: integers plain, others with up to 4 decimals.
function num(v) {
  if (v === null || v === undefined) return "·";
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return "[" + v.map(num).join(", ") + "]";
  if (Number.isInteger(v)) return String(v);
  const s = v.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
  return s === "-0" ? "0" : s;
}
// ASCII minus everywhere: a table cell's text is the value as the CLI writes it.
const minus = (s) => s;
const paren = (v) => (typeof v === "number" && v < 0 ? `(${num(v)})` : num(v));

function download(name, text, type = "text/plain") {
  const a = el("a", {href: URL.createObjectURL(new Blob([text], {type})), download: name});
  document.body.append(a); a.click(); a.remove();
}

// Grey-scale picture of a 2-D array on a canvas (one canvas pixel per value).
function drawArray(canvas, a, lo, hi, colour) {
  const h = a.length, w = a[0].length;
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(w, h);
  if (lo === undefined) { lo = Math.min(...a.flat()); hi = Math.max(...a.flat()); }
  const span = hi - lo || 1;
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const t = Math.max(0, Math.min(1, (a[i][j] - lo) / span)), p = 4 * (i * w + j);
    const [r, g, b] = colour ? colour(t) : [255 * t, 255 * t, 255 * t];
    img.data[p] = r; img.data[p + 1] = g; img.data[p + 2] = b; img.data[p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// Diverging colours: blue (negative) – white (0) – red (positive); t in [0, 1], 0.5 = zero.
function diverging(t) {
  const u = 2 * t - 1, a = Math.min(1, Math.abs(u));
  return u < 0 ? [255 - 222 * a, 255 - 153 * a, 255 - 83 * a] : [255 - 77 * a, 255 - 231 * a, 255 - 212 * a];
}
// A light shade of the same scale for a table cell (dark text stays readable: contrast ≥ 4.5:1).
function shade(v, scale) {
  const [r, g, b] = diverging(0.5 + 0.5 * 0.45 * Math.max(-1, Math.min(1, v / (scale || 1))));
  return `rgb(${r | 0},${g | 0},${b | 0})`;
}

// "jet"-like colours for heat maps: blue -> cyan -> yellow -> red.
function heat(t) {
  const c = (x) => Math.round(255 * Math.max(0, Math.min(1, x)));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

// Receptive field geometry as `cnnlab arch` gives it: a number, or [h, w] when they differ.
const axis = (v, i) => (Array.isArray(v) ? v[i] : v);
function fieldOf(row, y, x) {
  const out = [];
  for (const [i, u] of [[0, y], [1, x]]) {
    const rf = axis(row.receptive_field, i), jump = axis(row.jump, i), start = axis(row.start, i);
    const centre = start + u * jump;
    out.push([centre - (rf - 1) / 2, centre + (rf - 1) / 2]);
  }
  return out;  // [[top, bottom], [left, right]] in input pixels, possibly outside the image
}

// The terms the pages use, in the project's own words (docs/concepts.md says more).
const GLOSSARY = {
  "padding": ["Padding", "Extra values put around the input before the kernel slides over it (zeros by default). Padding p adds p rows above and below and p columns left and right, so a 3×3 kernel with padding 1 keeps the size.", "concepts.md#padding"],
  "stride": ["Stride", "How far the window moves between two outputs. Stride 2 skips every other position and halves the output; rows or columns the window never reaches are unused.", "concepts.md#stride"],
  "dilation": ["Dilation", "Spacing between the kernel's taps. Dilation 2 reads every other input value, so a 3×3 kernel covers 5×5 with the same 9 weights.", "concepts.md#dilation"],
  "receptive-field": ["Receptive field", "The input pixels one unit depends on. It grows with every convolution and pooling: a 3×3 conv after a 2×2 pool sees 6×6 input pixels.", "concepts.md#receptive-field"],
  "feature-map": ["Feature map", "One channel of a layer's output: the same filter applied at every position, so it shows where in the picture that filter's pattern appears.", "concepts.md#feature-map"],
  "softmax": ["Softmax", "Turns the last layer's scores (logits) into probabilities: p_k = e^(z_k) / Σ_j e^(z_j). The largest logit gets the largest probability; they add up to 1.", "concepts.md#softmax"],
  "gradcam": ["Grad-CAM", "Where a convolution layer saw evidence for a class: each channel is weighted by the mean gradient of the class score, the weighted maps are summed and negatives are cut off.", "concepts.md#grad-cam"],
};

function glossary(box, terms) {
  box.innerHTML = "";
  box.append(el("h2", {text: "The words on this page"}));
  for (const id of terms) {
    const [title, text, doc] = GLOSSARY[id];
    box.append(el("div", {class: "term-card", id: "term-" + id, "data-term": id},
      el("h3", {text: title}), el("p", {text: text + " "}, el("a", {href: "/docs/" + doc, text: "More in the docs"}))));
  }
}
