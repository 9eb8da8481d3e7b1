// The /network page: one input through every layer of a trained run; click a unit to see its arithmetic.
"use strict";

let view = null, picture = null;   // the last /api/network/view answer; the drawn/uploaded picture (data URL) or null
const MAP_SIDE = 56;               // CSS pixels of a map's longer side

const runName = () => $("net-run").value;
const inputBody = () => (picture ? {run: runName(), image: picture} : {run: runName(), index: Number($("net-input-pick").value) || 0});

function status(text) { $("net-status").textContent = text; }
function fail(message) {
  // an error replaces the results it stands for: nothing stale stays on the page
  $("net-error").textContent = "error: " + message;
  status("");
  $("net-columns").innerHTML = ""; $("net-legend").innerHTML = "";
  const unit = $("net-unit"); unit.hidden = true; unit.innerHTML = "";
}

async function loadRuns() {
  const params = new URLSearchParams(location.search);
  const wanted = params.get("run");
  if (params.get("index") !== null) $("net-input-pick").value = params.get("index");
  if (params.get("picture") === "session" && sessionStorage.getItem("cnnlab-picture")) picture = sessionStorage.getItem("cnnlab-picture");
  let list;
  try { list = await api("/api/runs"); } catch (e) { fail(e.message); return; }
  const names = list.runs.slice();
  if (wanted && !names.includes(wanted)) names.unshift(wanted);
  for (const n of names) $("net-run").append(el("option", {value: n, text: n}));
  if (!names.length) { fail(`no runs under ${list.runs_dir}: train one (cnnlab train --data digits --model cnn3 --out ${list.runs_dir}/digits) or start the server with --runs DIR`); return; }
  if (wanted) $("net-run").value = wanted;
  await show();
}

let pending = 0;
async function show() {
  const ticket = ++pending;
  $("net-error").textContent = "";
  const where = picture ? "&picture=session" : `&index=${encodeURIComponent($("net-input-pick").value)}`;
  if (picture) sessionStorage.setItem("cnnlab-picture", picture);
  history.replaceState(null, "", `/network?run=${encodeURIComponent(runName())}${where}`);
  const slow = setTimeout(() => status("loading the run and its test images (the first call reads them from disk)…"), 300);
  status("computing…");
  let answer;
  try { answer = await api("/api/network/view", inputBody()); }
  catch (e) { clearTimeout(slow); if (ticket === pending) fail(e.message); return; }
  clearTimeout(slow);
  if (ticket !== pending) return;
  view = answer;
  render();
  const what = view.input.kind === "test" ? `test image ${view.input.index} (label ${view.input.label_name})` : "your picture";
  status(`${what}: predicted ${view.classes[view.predicted]} (${(100 * view.probabilities[view.predicted]).toFixed(1)}%). ${view.columns.length} layers shown.`);
  $("net-info").innerHTML = "";
  $("net-info").append(el("a", {href: `/explore?run=${encodeURIComponent(runName())}`, text: "explore this run (Grad-CAM, filters)"}));
}

function drawMap(canvas, m, sel) {
  const h = m.length, w = m[0].length;
  // a vector (w = 1) is a strip 14 px wide, at most 320 px tall; a map fits MAP_SIDE
  const sx = w === 1 ? 14 : Math.max(1, Math.floor(MAP_SIDE / Math.max(h, w)));
  const sy = w === 1 ? Math.max(1, Math.min(14, Math.floor(320 / h))) : sx;
  canvas.width = w * sx; canvas.height = h * sy;
  const ctx = canvas.getContext("2d");
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const [r, g, b] = diverging((m[i][j] + view.scale) / (2 * view.scale));
    ctx.fillStyle = `rgb(${r | 0},${g | 0},${b | 0})`;
    ctx.fillRect(j * sx, i * sy, sx, sy);
  }
  if (sel) { ctx.strokeStyle = "#111"; ctx.lineWidth = Math.max(1, Math.min(sx, sy) / 4); ctx.strokeRect(sel[1] * sx + .5, sel[0] * sy + .5, sx - 1, sy - 1); }
}

function legend() {
  const box = $("net-legend"), c = el("canvas", {width: 200, height: 12, "aria-hidden": "true"});
  const ctx = c.getContext("2d");
  for (let x = 0; x < 200; x++) { const [r, g, b] = diverging(x / 199); ctx.fillStyle = `rgb(${r | 0},${g | 0},${b | 0})`; ctx.fillRect(x, 0, 1, 12); }
  box.innerHTML = "";
  box.dataset.min = -view.scale; box.dataset.max = view.scale;
  box.append(el("span", {text: num(-view.scale)}), c, el("span", {text: num(view.scale)}),
             el("span", {class: "muted", text: " one scale for every map"}));
}

// A map and its keyboard cursor: arrows move, Enter opens the unit.
function mapCanvas(col, channel, m) {
  const vector = !!col.vector;
  const c = el("canvas", {"data-testid": "net-map", "data-channel": vector ? "all" : channel, tabindex: 0, role: "img",
                          "aria-label": vector ? `${col.layer}: ${m.length} values; arrow keys pick one, Enter shows its arithmetic`
                                               : `${col.layer} channel ${channel}; arrow keys pick a unit, Enter shows its arithmetic`});
  let sel = [0, 0];
  c.map = m;  // kept for marking a unit's window on this map later
  drawMap(c, m);
  const open = () => openUnit(col.layer, vector ? sel[0] : channel, vector ? 0 : sel[0], vector ? 0 : sel[1]);
  c.addEventListener("click", (e) => {
    const r = c.getBoundingClientRect();
    sel = [Math.min(m.length - 1, Math.floor((e.clientY - r.top) / r.height * m.length)),
           Math.min(m[0].length - 1, Math.floor((e.clientX - r.left) / r.width * m[0].length))];
    drawMap(c, m, sel); open();
  });
  c.addEventListener("keydown", (e) => {
    const moves = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]};
    if (moves[e.key]) {
      e.preventDefault();
      sel = [Math.max(0, Math.min(m.length - 1, sel[0] + moves[e.key][0])), Math.max(0, Math.min(m[0].length - 1, sel[1] + moves[e.key][1]))];
      drawMap(c, m, sel);
    } else if (e.key === "Enter" || e.key === " ") { e.preventDefault(); drawMap(c, m, sel); open(); }
  });
  return c;
}

function render() {
  legend();
  const cols = $("net-columns");
  cols.innerHTML = "";
  for (const col of view.columns) {
    const box = el("div", {class: "net-col", "data-testid": "net-layer", "data-layer": col.layer});
    box.append(el("h3", {text: col.name || col.layer}), el("div", {class: "muted", text: `${col.type} ${col.shape.join("×")}`}));
    const maps = el("div", {class: "net-maps"});
    if (col.vector) maps.append(mapCanvas(col, 0, col.vector.map((v) => [v])));
    else col.maps.forEach((m, k) => maps.append(mapCanvas(col, k, m)));
    box.append(maps);
    if (col.channels > (col.maps || []).length) box.append(el("div", {class: "muted", text: `first ${col.maps.length} of ${col.channels} channels`}));
    cols.append(box);
  }
  const out = el("div", {class: "net-col", "data-testid": "net-output"});
  out.append(el("h3", {html: 'logits → <a href="#term-softmax" class="term">softmax</a>'}));
  const table = el("table", {class: "net-probs"});
  table.append(el("tr", {}, el("th", {text: "class"}), el("th", {text: "logit"}), el("th", {text: "p"})));
  view.classes.forEach((name, k) => table.append(el("tr", {"data-class": name, tabindex: 0, class: k === view.predicted ? "top" : ""},
    el("td", {text: name}), el("td", {text: num(view.logits[k])}),
    el("td", {}, el("span", {class: "bar", style: `width:${(40 * view.probabilities[k]).toFixed(1)}px`}), el("span", {class: "p", text: view.probabilities[k].toFixed(4)})))));
  out.append(table);
  cols.append(out);
}

async function openUnit(layer, channel, row, col) {
  const card = $("net-unit");
  card.hidden = false;
  card.innerHTML = "";
  card.append(el("p", {class: "muted", text: `working out ${layer}, channel ${channel}, row ${row}, column ${col}…`}));
  let u;
  try { u = await api("/api/network/unit", {...inputBody(), layer, channel, row, col}); }
  catch (e) { card.innerHTML = ""; card.append(el("div", {class: "error", text: "error: " + e.message})); return; }
  Object.assign(card.dataset, {layer: u.layer, channel: u.channel, row: u.row, col: u.col});
  markWindow(u);
  card.innerHTML = "";
  card.append(el("h2", {text: `${u.layer} (${u.type}), channel ${u.channel}, row ${u.row}, column ${u.col}`}));
  // the result first, then how it comes about
  card.append(el("p", {class: "formula"}, "value = ", el("strong", {"data-testid": "net-unit-value", text: precise(u.value)}),
                 el("span", {class: "muted", text: `  (worked out here; the model's own forward value: ${precise(u.forward)})`})));
  (UNIT_VIEWS[u.kind] || UNIT_VIEWS.value)(card, u);
}

// The input window of a unit, outlined on the maps of the layer it reads (conv and pooling).
function markWindow(u) {
  document.querySelectorAll("[data-testid=net-map].marked").forEach((c) => { c.classList.remove("marked"); drawMap(c, c.map); });
  const rows = u.rows, cols = u.cols;
  if (!rows || !u.in_channels) return;
  const source = u.source === null ? "input" : u.source;
  for (const k of u.in_channels) {
    const c = document.querySelector(`[data-testid=net-layer][data-layer="${CSS.escape(source)}"] [data-testid=net-map][data-channel="${k}"]`);
    if (!c || !c.map) continue;
    drawMap(c, c.map);
    const h = c.map.length, w = c.map[0].length, sx = c.width / w, sy = c.height / h, ctx = c.getContext("2d");
    ctx.strokeStyle = "#d39e00"; ctx.lineWidth = Math.max(1, sx / 5);
    for (const r of rows) for (const q of cols) if (r >= 0 && r < h && q >= 0 && q < w) ctx.strokeRect(q * sx + .5, r * sy + .5, sx - 1, sy - 1);
    c.classList.add("marked");
  }
}

const precise = (v) => String(Number(v.toPrecision(7)));

function grid(caption, a, cls) {
  const t = el("table", {class: "grid " + (cls || "")});
  t.append(el("caption", {text: caption}));
  for (const row of a) t.append(el("tr", {}, ...row.map((v) => el("td", {text: num(v)}))));
  return t;
}

const MAX_CHANNELS_SHOWN = 8;
const UNIT_VIEWS = {
  conv(card, u) {
    const p = u.cell, g = u.params;
    card.append(el("p", {text: `Reads ${u.source} channels ${u.in_channels[0]}–${u.in_channels[u.in_channels.length - 1]} at rows ${u.rows.join(", ")} and columns ${u.cols.join(", ")} ` +
      `(kernel ${g.kernel.join("×")}, stride ${g.stride.join(",")}, padding ${g.padding.join(",")}, dilation ${g.dilation.join(",")}; rows or columns below 0 or past the edge are padding). ` +
      "Each window is multiplied element by element with the kernel and everything is summed."}));
    const wrap = el("div", {class: "grids"});
    p.window.forEach((win, k) => {
      if (k >= MAX_CHANNELS_SHOWN) return;
      const partial = p.products[k].flat().reduce((s, v) => s + v, 0);
      wrap.append(el("div", {class: "unit-channel"}, el("h3", {text: `input channel ${u.in_channels[k]}`}),
        el("div", {class: "grid-block"}, grid("window", win), grid("kernel", p.weights[k]), grid("products", p.products[k])),
        el("div", {class: "muted", text: `sum of this channel's products: ${num(partial)}`})));
    });
    card.append(wrap);
    if (p.window.length > MAX_CHANNELS_SHOWN) card.append(el("p", {class: "muted", text: `… and ${p.window.length - MAX_CHANNELS_SHOWN} more input channels, counted in the sum below.`}));
    card.append(el("p", {class: "formula", text: `sum of all products = ${num(p.sum)}\n+ bias ${num(p.bias === undefined ? 0 : p.bias)}\n= ${num(u.value)}`}));
  },
  maxpool(card, u) { card.append(grid(`window of ${u.source || "the input"}, channel ${u.in_channels[0]}`, u.cell.window), el("p", {class: "formula", text: `the largest value of the window = ${num(u.value)}`})); },
  avgpool(card, u) { card.append(grid(`window of ${u.source || "the input"}, channel ${u.in_channels[0]}`, u.cell.window), el("p", {class: "formula", text: `sum ${num(u.cell.total)} / ${u.cell.divisor} values = ${num(u.value)}`})); },
  linear(card, u) {
    const where = (k) => {
      if (!u.input_shape) return `x[${k}]`;
      const [, H, W] = u.input_shape;
      return `channel ${Math.floor(k / (H * W))}, row ${Math.floor(k / W) % H}, col ${k % W}`;
    };
    const t = el("table", {class: "arch"});
    t.append(el("tr", {}, el("th", {text: "input"}), el("th", {text: "value"}), el("th", {text: "weight"}), el("th", {text: "product"})));
    for (const c of u.contributions) t.append(el("tr", {}, el("td", {text: where(c.index)}), el("td", {text: num(c.input)}), el("td", {text: num(c.weight)}), el("td", {text: num(c.product)})));
    card.append(el("p", {text: `A weighted sum of all ${u.count} values of ${u.source}; the ${u.contributions.length} largest terms:`}), t,
      el("p", {class: "formula", text: `the other ${u.count - u.contributions.length} terms add ${num(u.rest)}\nsum of all terms = ${num(u.sum)}\n+ bias ${num(u.bias)}\n= ${num(u.value)}`}));
  },
  batchnorm(card, u) {
    card.append(el("p", {text: "Batch normalisation at inference: the training's running mean and variance, then the learned scale γ and shift β."}),
      el("p", {class: "formula", text: `(x − mean) / √(var + ε) · γ + β\n= (${num(u.input)} − ${paren(u.mean)}) / √(${num(u.var)} + ${u.eps}) · ${paren(u.gamma)} + ${paren(u.beta)}\n= ${num(u.normalised)} · ${paren(u.gamma)} + ${paren(u.beta)}\n= ${num(u.value)}`}));
  },
  activation(card, u) { card.append(el("p", {class: "formula", text: `${u.function}(${num(u.input)}) = ${num(u.value)}`})); },
  skip(card, u) {
    card.append(el("p", {text: "A residual block adds its input back (the skip connection) before the last ReLU."}),
      el("p", {class: "formula", text: `main branch (${u.main_layer}) ${num(u.main)}\n+ skip (${u.skip_is_identity ? "the block's input, " + u.skip_layer : u.skip_layer}) ${paren(u.skip)}\n= ${num(u.sum)}\nrelu(${num(u.sum)}) = ${num(u.value)}`}));
  },
  pad(card, u) { card.append(el("p", {text: u.input_at ? `copied from the input at ${u.input_at.join(", ")}` : "a padding value"})); },
  input(card, u) { card.append(el("p", {class: "formula", text: `(pixel − mean) / std = (${num(u.pixel)} − ${num(u.mean)}) / ${num(u.std)} = ${num(u.value)}`})); },
  value(card, u) { card.append(el("p", {class: "muted", text: u.note || ""})); },
};

// -- drawing (drawpad.js) ----------------------------------------------------------------
const pad = () => $("net-canvas");

document.addEventListener("DOMContentLoaded", () => {
  const sketch = drawPad(pad(), 22, () => { picture = pad().toDataURL("image/png"); show(); });
  $("net-clear").addEventListener("click", sketch.clear);
  $("net-use-drawing").addEventListener("click", () => { picture = pad().toDataURL("image/png"); show(); });
  $("net-upload").addEventListener("change", (e) => {
    const f = e.target.files[0];
    if (!f) return;
    const reader = new FileReader();
    reader.onload = () => { picture = reader.result; show(); };
    reader.readAsDataURL(f);
  });
  let timer = null;
  $("net-input-pick").addEventListener("input", () => { picture = null; clearTimeout(timer); timer = setTimeout(show, 250); });
  const step = (d) => { const i = $("net-input-pick"); i.value = Math.max(0, (Number(i.value) || 0) + d); picture = null; show(); };
  $("net-prev").addEventListener("click", () => step(-1));
  $("net-next").addEventListener("click", () => step(1));
  $("net-run").addEventListener("change", () => { picture = null; show(); });
  glossary($("glossary"), ["feature-map", "receptive-field", "softmax", "padding", "stride"]);
  loadRuns();
});
