// The /conv playground's inputs: the kernel list, the worked examples, the − / + steppers.
// Loaded before conv.js, whose showFields() and run() these call.

async function loadKernels() {
  try {
    const names = await api("/api/kernels");
    for (const k of names.kernels) $("conv-kernel-name").append(el("option", {value: k.name, text: `${k.name} — ${k.description}`}));
  } catch (e) { /* the list is a convenience */ }
}

// Examples: [title, fields] with fields named after the data-testid ("conv-" left out).
const EXAMPLES = [
  ["a sheet's layer: 3×3 kernel, bias −1, zero padding 1, ReLU", {op: "conv", input: "1 2 0 1; 0 1 3 2; 2 1 0 1; 1 0 2 3",
    kernel: "1 0 -1; 1 1 0; 0 -1 1", padding: "1", stride: "1", dilation: "1", bias: "-1", act: "relu"}],
  ["true convolution vs cross-correlation (flip)", {op: "conv", input: "0 1 2; 3 4 5; 6 7 8", kernel: "1 0; 0 -1",
    padding: "1", stride: "1", dilation: "1", bias: "", flip: true}],
  ["stride 2 and 'same' padding", {op: "conv", input: "1 2 3 4 5; 6 7 8 9 10; 11 12 13 14 15; 16 17 18 19 20; 21 22 23 24 25",
    kernel: "sobel_x", padding: "same", stride: "2", dilation: "1", bias: ""}],
  ["dilation 2 (atrous): a 3×3 kernel spread over 5×5", {op: "conv", input: "1 0 2 1 0 1; 0 1 1 0 2 1; 2 0 1 1 0 0; 1 1 0 2 1 0; 0 2 1 0 1 1; 1 0 0 1 2 1",
    kernel: "1 0 1; 0 1 0; 1 0 1", padding: "0", stride: "1", dilation: "2", bias: ""}],
  ["reflect padding", {op: "conv", input: "1 2 3; 4 5 6; 7 8 9", kernel: "box:3", padding: "1", stride: "1", dilation: "1",
    bias: "", "padding-mode": "reflect", exact: true}],
  ["two channels in, two filters out", {op: "conv", input: "1 2 0; 0 1 3; 2 1 0 | 0 1 1; 1 0 1; 1 1 0",
    kernel: "[[[[1,0],[0,1]],[[0,1],[1,0]]],[[[1,1],[1,1]],[[-1,0],[0,-1]]]]", padding: "0", stride: "1", dilation: "1", bias: "1,-1"}],
  ["max pooling 2×2, stride 2", {op: "max", input: "1 3 2 4; 5 6 1 2; 7 2 9 0; 1 8 3 4", size: "2", padding: "0", stride: ""}],
  ["average pooling 3×3, stride 2, padding 1, ceil mode", {op: "avg", input: "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16",
    size: "3", padding: "1", stride: "2", "ceil-mode": true, exact: true}],
  ["softmax of a vector", {op: "act", input: "1 2 3", fn: "softmax"}],
];

function loadExample(i) {
  const fields = EXAMPLES[i][1];
  for (const box of ["flip", "exact", "ceil-mode"]) $("conv-" + box).checked = Boolean(fields[box]);
  $("conv-padding-mode").value = fields["padding-mode"] || "zeros";
  $("conv-act").value = fields.act || "";
  $("conv-op").value = fields.op;
  showFields();
  for (const [key, value] of Object.entries(fields)) {
    const e = $("conv-" + key);
    if (e && typeof value === "string" && !["op", "act", "padding-mode"].includes(key)) e.value = value;
  }
  if (fields.fn) $("conv-fn").value = fields.fn;
  run();
}

// − and + buttons around a number field; the kernel size resizes the kernel (new cells 0).
function addStepper(box) {
  const input = box.querySelector("input"), min = Number(box.dataset.min || 0);
  const label = document.querySelector(`label[for="${input.id}"]`).textContent.trim().toLowerCase();
  const step = (d) => {
    const now = Number(input.value);
    if (!Number.isInteger(now)) return;  // "same", "1,2": typed, not stepped
    input.value = Math.max(min, now + d);
    if (input.id === "ksize") resizeKernel(Number(input.value));
    input.dispatchEvent(new Event("input", {bubbles: true}));
  };
  box.prepend(el("button", {type: "button", class: "secondary", "aria-label": `${label} minus one`, text: "−", onclick: () => step(-1)}));
  box.append(el("button", {type: "button", class: "secondary", "aria-label": `${label} plus one`, text: "+", onclick: () => step(1)}));
}

function resizeKernel(k) {
  const text = $("conv-kernel").value.trim();
  if (!/^[-\d.\s;\/]+$/.test(text)) { $("conv-kernel").value = Array.from({length: k}, () => Array(k).fill(1).join(" ")).join("; "); return; }
  const rows = text.split(";").map((r) => r.trim().split(/\s+/));
  $("conv-kernel").value = Array.from({length: k}, (_, i) => Array.from({length: k}, (_, j) => (rows[i] && rows[i][j]) || "0").join(" ")).join("; ");
}
