// The /arch page: /api/arch, and the input region one unit of a hovered layer sees.
"use strict";

let table = null;
const group = (n) => (n === null || n === undefined ? "" : Number(n).toLocaleString("en-US"));
const shape = (s) => (s ? s.join("×") : "");
const bytes = (n) => (n >= 1 << 20 ? (n / (1 << 20)).toFixed(2) + " MiB" : n >= 1024 ? (n / 1024).toFixed(1) + " KiB" : n + " B");

async function analyse() {
  $("arch-error").textContent = "";
  const spec = $("arch-spec").value.trim(), tv = $("arch-torchvision").value.trim();
  const body = {input: $("arch-input").value.trim(), dtype: $("arch-dtype").value};
  if (tv && !spec) body.torchvision = tv; else body.spec = spec;
  const slow = setTimeout(() => { $("arch-rf-text").textContent = "computing… (a torchvision model is built on its first use: a few seconds)"; }, 400);
  try {
    table = await api("/api/arch", body);
    clearTimeout(slow);
  } catch (e) {
    clearTimeout(slow);
    table = null;  // an error replaces the table it stands for
    $("arch-table").querySelector("tbody").innerHTML = "";
    $("arch-table").querySelector("tfoot").innerHTML = "";
    $("arch-rf").getContext("2d").clearRect(0, 0, 280, 280);
    $("arch-rf-text").textContent = "";
    $("arch-error").textContent = "error: " + e.message;
    return;
  }
  const tbody = $("arch-table").querySelector("tbody");
  tbody.innerHTML = "";
  table.layers.forEach((r, i) => {
    const rf = Array.isArray(r.receptive_field) ? r.receptive_field.join("×") : r.receptive_field;
    const tr = el("tr", {"data-layer": i},
      ...[r.index, r.name ? `${r.name}: ${r.spec}` : r.spec, shape(r.output_shape), rf, Array.isArray(r.jump) ? r.jump.join("×") : r.jump,
          group(r.weights), group(r.biases), group(r.params), group(r.units), group(r.macs),
          r.activation_bytes === undefined ? "" : bytes(r.activation_bytes)].map((v) => el("td", {text: v === undefined || v === null ? "" : String(v)})));
    tr.tabIndex = i === 0 ? 0 : -1;  // one tab stop; arrow keys move between rows
    tr.setAttribute("aria-label", `layer ${r.index}: ${r.spec}, output ${shape(r.output_shape)}, receptive field ${rf}`);
    tr.addEventListener("mouseenter", () => showField(i));
    tr.addEventListener("focus", () => showField(i));
    tr.addEventListener("keydown", (e) => {
      const to = {ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: table.layers.length - 1}[e.key];
      if (to === undefined || to < 0 || to >= table.layers.length) return;
      e.preventDefault();
      const rows = tbody.querySelectorAll("tr");
      rows[i].tabIndex = -1; rows[to].tabIndex = 0; rows[to].focus();
    });
    tbody.append(tr);
  });
  $("arch-table").querySelector("tfoot").innerHTML = "";
  $("arch-table").querySelector("tfoot").append(el("tr", {},
    el("td", {}), el("td", {text: "total"}), el("td", {}), el("td", {}), el("td", {}), el("td", {}), el("td", {}),
    el("td", {"data-testid": "arch-total-params", text: group(table.total_params)}), el("td", {}),
    el("td", {text: group(table.total_macs)}), el("td", {text: bytes(table.activation_bytes)})));
  showField(0);
}

function showField(i) {
  document.querySelectorAll('[data-testid="arch-table"] tbody tr').forEach((tr) => tr.classList.toggle("hot", +tr.dataset.layer === i));
  const row = table.layers[i], canvas = $("arch-rf"), ctx = canvas.getContext("2d");
  const [, H, W] = table.input.length === 3 ? table.input : [1, 1, table.input[0]];
  const scale = Math.min(260 / H, 260 / W), ox = (280 - W * scale) / 2, oy = (280 - H * scale) / 2;
  ctx.clearRect(0, 0, 280, 280);
  ctx.fillStyle = "#eef0f4"; ctx.fillRect(ox, oy, W * scale, H * scale);
  ctx.strokeStyle = "#c9ced8"; ctx.lineWidth = 1;
  if (scale >= 6) {
    for (let y = 0; y <= H; y++) { ctx.beginPath(); ctx.moveTo(ox, oy + y * scale); ctx.lineTo(ox + W * scale, oy + y * scale); ctx.stroke(); }
    for (let x = 0; x <= W; x++) { ctx.beginPath(); ctx.moveTo(ox + x * scale, oy); ctx.lineTo(ox + x * scale, oy + H * scale); ctx.stroke(); }
  }
  const out = row.output_shape;
  if (row.receptive_field === undefined || row.receptive_field === null || table.input.length !== 3) {
    $("arch-rf-text").textContent = `${row.spec}: no spatial receptive field`;
    return;
  }
  const spatial = out.length === 3, uy = spatial ? Math.floor((out[1] - 1) / 2) : 0, ux = spatial ? Math.floor((out[2] - 1) / 2) : 0;
  const [[t, b], [l, r]] = fieldOf(row, uy, ux);
  const ct = Math.max(0, t), cb = Math.min(H - 1, b), cl = Math.max(0, l), cr = Math.min(W - 1, r);
  ctx.fillStyle = "rgba(255, 196, 0, .45)";
  ctx.fillRect(ox + cl * scale, oy + ct * scale, (cr - cl + 1) * scale, (cb - ct + 1) * scale);
  ctx.strokeStyle = "#b07d00"; ctx.lineWidth = 2; ctx.setLineDash([5, 4]);
  ctx.strokeRect(ox + l * scale, oy + t * scale, (r - l + 1) * scale, (b - t + 1) * scale);
  ctx.setLineDash([]);
  const unit = spatial ? `unit (row ${uy + 1}, column ${ux + 1}) of ${shape(out)}` : "any unit";
  $("arch-rf-text").textContent = `layer ${row.index} (${row.spec}), ${unit}\n` +
    `receptive field ${Array.isArray(row.receptive_field) ? row.receptive_field.join("×") : row.receptive_field + "×" + row.receptive_field}, jump ${row.jump}\n` +
    `input rows ${t + 1} to ${b + 1}, columns ${l + 1} to ${r + 1} (counted from 1` +
    (t < 0 || l < 0 || b > H - 1 || r > W - 1 ? "; part of it is padding" : "") + ")";
}

document.addEventListener("DOMContentLoaded", () => {
  glossary($("glossary"), ["receptive-field", "stride", "padding", "dilation", "feature-map"]);
  $("arch-run").addEventListener("click", analyse);
  analyse();
});
