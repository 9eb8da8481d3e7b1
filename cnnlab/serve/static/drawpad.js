// cnnlab serve: the drawing pad of /explore and /network: white strokes on a black canvas,
// drawn with the mouse, a pen or a finger (pointer events; the canvas keeps its own size).
"use strict";

// Make `canvas` a drawing pad of strokes `lineWidth` canvas pixels wide; `onDrawn()` runs when
// a stroke ends. Returns {clear(), hasInk()}.
function drawPad(canvas, lineWidth, onDrawn) {
  let drawing = false, last = null;
  const clear = () => { const x = canvas.getContext("2d"); x.fillStyle = "#000"; x.fillRect(0, 0, canvas.width, canvas.height); };
  const hasInk = () => {
    const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 0) return true;
    return false;
  };
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
  };
  const stroke = (e) => {
    if (!drawing) return;
    const ctx = canvas.getContext("2d"), p = point(e);
    ctx.strokeStyle = "#fff"; ctx.lineWidth = lineWidth; ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.beginPath(); ctx.moveTo(...(last || p)); ctx.lineTo(...p); ctx.stroke();
    last = p;
  };
  const end = () => { if (drawing) { drawing = false; last = null; onDrawn(); } };
  canvas.addEventListener("pointerdown", (e) => { drawing = true; last = null; canvas.setPointerCapture(e.pointerId); stroke(e); });
  canvas.addEventListener("pointermove", stroke);
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  clear();
  return {clear, hasInk};
}
