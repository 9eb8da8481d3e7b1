// The /conv playground: one call to /api/conv|pool|act with steps, then every cell is local.
"use strict";

const state = {doc: null, op: "conv", selected: 0, timer: null, ticket: 0};
const kind = () => ({conv: "conv", max: "pool", avg: "pool", act: "act"})[$("conv-op").value];

function showFields() {
  const k = kind();
  document.querySelectorAll("[data-show]").forEach((e) => {
    e.classList.toggle("hidden", !e.dataset.show.split(" ").includes(k));
  });
}

function request() {
  const k = kind(), v = (id) => $(id).value.trim(), exact = $("conv-exact").checked;
  const body = {input: v("conv-input"), steps: true, max_cells: 4096, exact};
  if (k === "conv") {
    Object.assign(body, {kernel: v("conv-kernel"), padding: v("conv-padding") || "0", stride: v("conv-stride") || "1",
      dilation: v("conv-dilation") || "1", padding_mode: $("conv-padding-mode").value, flip: $("conv-flip").checked});
    if (v("conv-bias")) body.bias = v("conv-bias");
    if ($("conv-act").value) body.act = $("conv-act").value;
    if ($("conv-act").value === "leaky_relu" && v("conv-slope")) body.slope = v("conv-slope");
    if (v("conv-groups") && v("conv-groups") !== "1") body.groups = Number(v("conv-groups"));
    if ($("conv-transposed").checked) {
      body.transposed = true;
      delete body.flip; delete body.padding_mode;
      if (v("conv-output-padding") && v("conv-output-padding") !== "0") body.output_padding = v("conv-output-padding");
    }
  } else if (k === "pool") {
    Object.assign(body, {op: $("conv-op").value, size: v("conv-size"), padding: v("conv-padding") || "0",
      ceil_mode: $("conv-ceil-mode").checked});
    if (v("conv-stride")) body.stride = v("conv-stride");
    if ($("conv-op").value === "max" && v("conv-dilation") && v("conv-dilation") !== "1") body.dilation = v("conv-dilation");
  } else {
    body.fn = $("conv-fn").value;
    if (body.fn === "leaky_relu" && v("conv-slope")) body.slope = v("conv-slope");
  }
  return [k, body];
}

function cliLine(k, body) {
  const q = (s) => (/^[\w.,:-]+$/.test(String(s)) ? String(s) : `'${s}'`);
  const parts = ["cnnlab", k];
  for (const [key, val] of Object.entries(body)) {
    if (key === "max_cells" || val === false) continue;
    parts.push("--" + key.replace(/_/g, "-") + (val === true ? "" : " " + q(val)));
  }
  return parts.join(" ");
}

async function run(auto) {
  clearTimeout(state.pending);  // Compute (or Ctrl+Enter) replaces a recompute still waiting
  const [k, body] = request();
  const key = JSON.stringify([k, body]);
  if (auto === true && key === state.shown) return;  // nothing changed: keep the selected cell
  stop();
  $("conv-error").textContent = "";
  $("conv-step").textContent = "";
  $("conv-cli").textContent = cliLine(k, body);
  const ticket = ++state.ticket;
  let doc;
  try {
    doc = await api("/api/" + k, body);
  } catch (e) {
    if (ticket !== state.ticket) return;
    clearResults();  // an error replaces the results it stands for
    $("conv-error").textContent = "error: " + e.message;
    return;
  }
  if (ticket !== state.ticket) return;  // a newer edit is on its way
  state.doc = doc;
  state.shown = key;
  state.op = k;
  render();
  select(0);
  warnUnused(k, body);
}

function clearResults() {
  state.doc = null;
  state.shown = null;
  for (const id of ["conv-padded", "conv-kernel-grid", "conv-output", "conv-formula", "conv-notes", "conv-step"]) $(id).innerHTML = "";
  $("conv-warning").hidden = true; $("conv-warning").textContent = "";
}

// The input rows and columns no window reads (the note `cnnlab conv` prints), from /api/conv/unused.
async function warnUnused(k, body) {
  const box = $("conv-warning"), s = state.doc.steps, p = s.params;
  box.hidden = true; box.textContent = ""; box.dataset.rows = "[]"; box.dataset.cols = "[]";
  if (k !== "conv" || body.transposed || !p.padding_resolved) return;
  const x = as3d(s.input)[0], w = s.cells[0].weights[0];
  try {
    const u = await api("/api/conv/unused", {size: [x.length, x[0].length], kernel: [w.length, w[0].length],
      stride: p.stride, padding: p.padding_resolved, dilation: p.dilation || [1, 1]});
    if (state.doc && state.doc.steps === s && u.note) {
      box.textContent = u.note.replace(/^note: /, "Note: ");
      box.dataset.rows = JSON.stringify(u.rows); box.dataset.cols = JSON.stringify(u.cols);
      box.hidden = false;
      // stripe the unused rows and columns of the padded input
      const pr = p.padding_resolved;
      document.querySelectorAll('[data-testid="conv-padded"] table').forEach((t) => {
        const offset = t.rows[0].cells[0].tagName === "TH" ? 1 : 0;
        [...t.rows].slice(offset).forEach((tr, i) => [...tr.cells].forEach((td, j) => {
          if (u.rows.includes(i - pr[0]) || u.cols.includes(j - pr[2])) if (!td.classList.contains("pad")) td.classList.add("unused");
        }));
      });
    }
  } catch (e) { /* the note is an extra */ }
}

function tableOf(m, cls, mark) {
  const t = el("table", {class: "grid " + (cls || "")});
  m.forEach((row, i) => {
    const tr = el("tr");
    row.forEach((v, j) => {
      const td = el("td", {text: minus(num(v))});
      if (mark) mark(td, i, j);
      tr.append(td);
    });
    t.append(tr);
  });
  return t;
}

const as3d = (a) => (Array.isArray(a[0]) && Array.isArray(a[0][0]) ? a : [a]);

function render() {
  const s = state.doc.steps, doc = state.doc;
  const padded = $("conv-padded");
  padded.innerHTML = "";
  $("conv-notes").textContent = (s.notes || []).join(" ");
  if (state.op === "act") {
    $("conv-padded-title").textContent = "Input";
    const x = Array.isArray(s.input) ? s.input : [s.input];
    for (const [c, m] of as3d(Array.isArray(x[0]) ? x : [x]).entries()) {
      const t = tableOf(m, "padded");
      t.dataset.channel = c;
      padded.append(t);
    }
  } else {
    $("conv-padded-title").textContent = "Padded input";
    const pr = s.params.padding_resolved || (s.params.padding ? [s.params.padding[0], s.params.padding[0], s.params.padding[1], s.params.padding[1]] : [0, 0, 0, 0]);
    const inShape = as3d(s.input)[0];
    const [H, W] = [inShape.length, inShape[0].length];
    as3d(s.prepared_input).forEach((m, c) => {
      const t = tableOf(m, "padded", (td, i, j) => {
        if (i < pr[0] || i >= pr[0] + H || j < pr[2] || j >= pr[2] + W) td.classList.add("pad");
      });
      t.dataset.channel = c;
      if (as3d(s.prepared_input).length > 1) t.prepend(el("tr", {}, el("th", {colspan: m[0].length, text: `channel ${c + 1}`})));
      padded.append(t);
    });
  }
  // output: one td per cell, row-major over (channel, row, column)
  const out = $("conv-output");
  out.innerHTML = "";
  const o = doc.exact || doc.output;  // exact mode: "5/8" as the CLI's JSON gives it
  const chans = Array.isArray(o) && Array.isArray(o[0]) ? as3d(o) : [[Array.isArray(o) ? o : [o]]];
  let k = 0;
  const scale = Math.max(1e-12, ...doc.output.toString().split(",").map((t) => Math.abs(Number(t)) || 0));
  chans.forEach((m, c) => {
    const body = el("tbody");
    if (chans.length > 1) body.append(el("tr", {}, el("th", {colspan: m[0].length, text: `channel ${c + 1}`})));
    for (const row of m) {
      const tr = el("tr");
      for (const v of row) {
        const td = el("td", {text: minus(num(v)), "data-cell": k, tabindex: k === 0 ? 0 : -1});
        td.style.setProperty("--shade", shade(Number(v) || 0, scale));
        td.addEventListener("click", ((n) => () => { stop(); select(n); })(k));
        tr.append(td);
        k++;
      }
      body.append(tr);
    }
    out.append(body);
  });
  $("conv-formula").textContent = formula();
  if (state.op === "conv" && document.activeElement !== $("conv-kernel-size")) $("conv-kernel-size").value = as3d(s.cells[0].weights)[0].length;
}

function formula() {
  const s = state.doc.steps, p = s.params;
  if (state.op === "act") return `output shape = input shape = ${s.shape.join("×") || "1"}`;
  const x = as3d(s.input)[0], n = [x.length, x[0].length], out = s.shape.slice(-2);
  const lines = [];
  const names = ["H_out", "W_out"];
  if (s.op === "conv_transpose2d") {
    const w0 = s.cells[0].weights[0], k = [w0.length, w0[0].length], op = p.output_padding || [0, 0], d = p.dilation || [1, 1];
    return [0, 1].map((a) => `${names[a]} = (n − 1)·s − 2p + d·(k − 1) + output padding + 1 = ` +
      `(${n[a]} − 1)·${p.stride[a]} − 2·${p.padding[a]} + ${d[a]}·(${k[a]} − 1) + ${op[a]} + 1 = ${out[a]}`).join("\n");
  }
  for (const a of [0, 1]) {
    let k, pads, st = p.stride[a], d = (p.dilation || [1, 1])[a], floor = ["⌊", "⌋"];
    if (state.op === "conv") {
      const w0 = s.cells[0].weights[0];  // (kh, kw) of the first filter's first channel
      k = [w0.length, w0[0].length][a];
      pads = `${p.padding_resolved[2 * a]} + ${p.padding_resolved[2 * a + 1]}`;
    } else {
      k = p.size[a];
      pads = `2·${p.padding[a]}`;
      if (p.ceil_mode) floor = ["⌈", "⌉"];
    }
    lines.push(`${names[a]} = ${floor[0]}(n + pad − d·(k − 1) − 1) / s${floor[1]} + 1 = ` +
      `${floor[0]}(${n[a]} + ${pads} − ${d}·(${k} − 1) − 1) / ${st}${floor[1]} + 1 = ${out[a]}`);
  }
  return lines.join("\n");
}

function cells() { return state.doc ? state.doc.steps.cells : []; }

function select(k) {
  const cs = cells();
  if (!cs.length) return;
  const total = state.doc.steps.cells_total;
  k = ((k % total) + total) % total;
  state.selected = k;
  document.querySelectorAll('[data-testid="conv-output"] td').forEach((td) => {
    const on = +td.dataset.cell === k;
    td.classList.toggle("sel", on);
    td.tabIndex = on ? 0 : -1;
  });
  document.querySelectorAll('[data-testid="conv-padded"] td.win').forEach((td) => td.classList.remove("win"));
  const cell = cs[k];
  if (!cell) { $("conv-step").textContent = `cell ${k + 1} of ${total}: not worked out here (the page works out the first ${cs.length})`; return; }
  highlight(cell);
  drawKernel(cell);
  $("conv-step").textContent = stepText(cell);
}

function highlight(cell) {
  if (state.op === "act") {
    const idx = cell.index;
    const tables = document.querySelectorAll('[data-testid="conv-padded"] table');
    if (!idx.length) { tables.forEach((t) => t.querySelectorAll("td").forEach((td) => td.classList.add("win"))); return; }
    const [c, i, j] = idx.length === 3 ? idx : idx.length === 2 ? [0, ...idx] : [0, 0, idx[0]];
    const td = tables[c] && tables[c].rows[i] && tables[c].rows[i].cells[j];
    if (td) td.classList.add("win");
    return;
  }
  const s = state.doc.steps, p = s.params, [r0, c0] = cell.origin;
  const d = p.dilation || [1, 1];
  const w = cell.window, win = Array.isArray(w[0][0]) ? w[0] : w;
  const kh = win.length, kw = win[0].length;
  let channels = null;
  if (state.op === "conv") {
    const cin = as3d(s.prepared_input).length, g = p.groups || 1, cout = state.doc.shape.length === 3 ? state.doc.shape[0] : 1;
    const group = Math.floor(cell.index[0] / (cout / g));
    channels = [group * cin / g, (group + 1) * cin / g];
  } else {
    channels = [cell.index[0], cell.index[0] + 1];
  }
  document.querySelectorAll('[data-testid="conv-padded"] table').forEach((t) => {
    const c = +t.dataset.channel;
    if (c < channels[0] || c >= channels[1]) return;
    const offset = t.rows[0].cells[0].tagName === "TH" ? 1 : 0;
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
      const row = t.rows[offset + r0 + i * d[0]];
      const td = row && row.cells[c0 + j * d[1]];
      if (td) td.classList.add("win");
    }
  });
}

function drawKernel(cell) {
  const box = $("conv-kernel-grid");
  box.innerHTML = "";
  if (state.op !== "conv") return;
  const weights = cell.weights;  // (C_in/g, kh, kw) of this cell's filter, already flipped if asked
  weights.forEach((m, c) => {
    const t = tableOf(m, "kernel");
    if (weights.length > 1) t.prepend(el("tr", {}, el("th", {colspan: m[0].length, text: `filter ${cell.index[0] + 1}, channel ${c + 1}`})));
    box.append(t);
  });
}

function where(cell) {
  const idx = cell.index, shape = state.doc.shape;
  if (!idx.length) return "the whole vector";
  const [c, i, j] = idx.length === 3 ? idx : [null, ...idx];
  const ch = shape.length === 3 ? `, channel ${c + 1}` : "";
  return `output row ${i + 1}, column ${j + 1}${ch}`;
}

function stepText(cell) {
  const total = state.doc.steps.cells_total, head = `cell ${state.selected + 1} of ${total}: ${where(cell)}\n`;
  const ex = cell.exact || {}, show = (key) => minus(ex[key] !== undefined ? ex[key] : num(cell[key]));
  if (state.op === "conv") {
    const [r0, c0] = cell.origin, lines = [head + `window: top-left corner at padded row ${r0 + 1}, column ${c0 + 1}`];
    cell.window.forEach((m, c) => {
      const label = cell.window.length > 1 ? ` (channel ${c + 1})` : "";
      lines.push(...sideBySide([[`window${label}`, m], ["⊙ kernel", cell.weights[c]], ["= products", cell.products[c]]]));
    });
    cell.window.forEach((m, c) => {
      const terms = [];
      m.forEach((row, i) => row.forEach((v, j) => terms.push(`${paren(v)}·${paren(cell.weights[c][i][j])}`)));
      const prods = [];
      cell.products[c].forEach((row) => row.forEach((v) => prods.push(paren(v))));
      const label = cell.window.length > 1 ? `channel ${c + 1}: ` : "";
      lines.push(`${label}products  ${terms.join(" + ")}`);
      lines.push(`${" ".repeat(label.length)}        = ${prods.join(" + ")}`);
    });
    lines.push(`sum = ${show("sum")}`);
    if (cell.bias !== undefined) lines.push(`sum + bias = ${show("sum")} + ${paren(cell.bias)} = ${show("pre_activation")}`);
    if (cell.activation) lines.push(`${cell.activation}(${show("pre_activation")}) = ${show("value")}`);
    lines.push(`output = ${show("value")}`);
    return lines.join("\n");
  }
  if (state.op === "pool") {
    const vals = [], counted = cell.counted;
    cell.window.forEach((row, i) => row.forEach((v, j) => { if (!counted || counted[i][j]) vals.push(paren(v)); }));
    const [r0, c0] = cell.origin, lines = [head + `window: top-left corner at padded row ${r0 + 1}, column ${c0 + 1}`];
    if ($("conv-op").value === "max") lines.push(`max{${vals.join(", ")}} = ${show("value")}`);
    else lines.push(`(${vals.join(" + ")}) / ${cell.divisor} = ${show("total")} / ${cell.divisor} = ${show("value")}`);
    if (counted) lines.push("(padding cells are not counted)");
    return lines.join("\n");
  }
  if (cell.exp) {
    const lines = [head + `x = [${cell.x.map((v) => minus(num(v))).join(", ")}]`];
    lines.push(`exp(x) = [${cell.exp.map(num).join(", ")}]`);
    lines.push(`Σ exp(x) = ${num(cell.sum)}`);
    lines.push(`p = exp(x) / Σ = [${cell.p.map(num).join(", ")}]`);
    return lines.join("\n");
  }
  const fn = cell.activation || $("conv-fn").value;
  return head + `${fn}(${show("total")}) = ${show("value")}`;
}

// Matrices next to each other under their titles, as monospaced text.
function sideBySide(blocks) {
  const texts = blocks.map(([title, m]) => {
    const cells = m.map((row) => row.map((v) => num(v)));
    const width = Math.max(...cells.flat().map((t) => t.length));
    return [title, ...cells.map((row) => "[ " + row.map((t) => t.padStart(width)).join("  ") + " ]")];
  });
  const widths = texts.map((t) => Math.max(...t.map((line) => line.length)));
  const rows = Math.max(...texts.map((t) => t.length));
  const out = [];
  for (let i = 0; i < rows; i++) out.push(texts.map((t, k) => (t[i] || "").padEnd(widths[k])).join("   ").trimEnd());
  return out;
}

function stop() {
  if (state.timer) { clearInterval(state.timer); state.timer = null; }
  $("conv-play").textContent = "▶ play";
}

function play() {
  if (state.timer) { stop(); return; }
  if (!state.doc) return;
  $("conv-play").textContent = "⏸ pause";
  state.timer = setInterval(() => {
    if (state.selected + 1 >= state.doc.steps.cells_total) { stop(); return; }
    select(state.selected + 1);
  }, 700);
}

function onKey(e) {
  if (!state.doc || ["TEXTAREA", "INPUT", "SELECT"].includes(document.activeElement.tagName)) return;
  const shape = state.doc.shape, width = shape.length >= 2 ? shape[shape.length - 1] : 1;
  const moves = {ArrowRight: 1, ArrowLeft: -1, ArrowDown: width, ArrowUp: -width};
  if (e.key in moves) { e.preventDefault(); stop(); select(state.selected + moves[e.key]); }
}

document.addEventListener("DOMContentLoaded", () => {
  EXAMPLES.forEach(([title], i) => $("conv-example").append(el("option", {value: i, text: title})));
  $("conv-example").addEventListener("change", (e) => { if (e.target.value !== "") loadExample(+e.target.value); });
  showFields();
  $("conv-op").addEventListener("change", () => {
    showFields();
    if (kind() === "pool") { $("conv-padding").value = "0"; $("conv-stride").value = ""; $("conv-dilation").value = "1"; }
    if (kind() === "conv") { $("conv-stride").value = "1"; }
  });
  $("conv-kernel-name").addEventListener("change", (e) => { if (e.target.value) $("conv-kernel").value = e.target.value.replace(/:k|:sigma/g, (m) => (m === ":k" ? ":3" : ":1.0")); });
  $("conv-run").addEventListener("click", () => run());
  $("conv-step-next").addEventListener("click", () => { stop(); select(state.selected + 1); });
  $("conv-step-prev").addEventListener("click", () => { stop(); select(state.selected - 1); });
  $("conv-play").addEventListener("click", play);
  document.addEventListener("keydown", onKey);
  document.querySelectorAll("textarea").forEach((t) => t.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  }));
  // recompute as the inputs change, once typing pauses
  const soon = () => { clearTimeout(state.pending); state.pending = setTimeout(() => run(true), 350); };
  $("conv-form").addEventListener("input", (e) => { if (e.target.id !== "example") soon(); });
  $("conv-form").addEventListener("change", (e) => { if (!["example", "kernel-name", "op"].includes(e.target.id)) soon(); });
  document.querySelectorAll(".stepper").forEach(addStepper);
  glossary($("glossary"), ["padding", "stride", "dilation", "feature-map"]);
  loadKernels();
  run();
});
