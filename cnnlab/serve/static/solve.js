// The /solve page: /api/solve (marks and diagnosis, worked solutions as HTML) and /api/quiz.
"use strict";

let quizDoc = null;

function compact(v) {
  const s = JSON.stringify(v, (k, x) => (typeof x === "number" ? +num(x) : x));
  return s && s.length > 160 ? s.slice(0, 157) + "…" : s;
}

function mismatchText(m, count) {
  const [r, c] = m.index_from_1;
  const at = c === undefined ? `value ${r}` : `row ${r}, column ${c}`;
  return `${count} cell(s) differ, e.g. ${at}: claimed ${num(m.claimed)}, expected ${num(m.expected)}`;
}

// Why a part is wrong, in one block: the named slip (or that none explains it), then what differs.
function diagnosisView(p) {
  const slip = p.diagnosis
    ? [el("strong", {text: "Likely slip: "}), p.diagnosis]
    : [el("strong", {text: "No named slip: "}),
       "the claimed answer matches none of the usual mistakes; compare it with the worked solution below."];
  const box = el("div", {class: "diagnosis", "data-testid": "solve-diagnosis"}, ...slip);
  if (p.note) box.append(el("div", {class: "muted", text: p.note}));
  if (p.mismatches && p.mismatches.length) box.append(el("div", {class: "muted", text: mismatchText(p.mismatches[0], p.mismatches.length)}));
  return box;
}

// One part: its question as the sheet words it (the expression below it), the value, the mark.
function partView(p) {
  const correct = p.correct === null ? "none" : String(p.correct);
  const mark = {true: "✓ right", false: "✗ wrong", none: "–"}[correct];
  const question = p.text ? el("span", {"data-testid": "solve-question", text: p.text})
                          : el("code", {"data-testid": "solve-question", text: p.ask});
  const box = el("div", {class: "part", "data-part-id": p.id, "data-correct": correct},
    el("span", {class: "mark", text: mark}), el("strong", {text: `(${p.id}) `}), question,
    p.text ? el("div", {class: "muted", "data-testid": "solve-ask"}, "Computed as ", el("code", {text: p.ask})) : null,
    el("div", {}, el("span", {class: "muted", text: "= "}), el("code", {"data-testid": "solve-value", text: compact(p.value)})));
  if (p.correct === false) box.append(diagnosisView(p));
  else if (p.note) box.append(el("div", {class: "muted", text: p.note}));
  return box;
}

async function solve() {
  $("solve-error").textContent = "";
  let doc;
  try {
    doc = await api("/api/solve", {text: $("solve-text").value, render: "html"});
  } catch (e) {
    // an error replaces the results it stands for
    $("solve-parts").replaceChildren();
    $("solve-summary").textContent = "";
    $("solve-worked").innerHTML = "";
    $("solve-error").textContent = "error: " + e.message;
    return;
  }
  $("solve-parts").replaceChildren(...doc.parts.map(partView));
  const checked = doc.parts.filter((p) => p.correct !== null), right = checked.filter((p) => p.correct);
  $("solve-summary").textContent = `${doc.parts.length} part(s) solved; ` +
    (checked.length ? `${right.length} of ${checked.length} claimed answers right.` : "no claimed answers to check.");
  $("solve-worked").innerHTML = doc.rendered;
}

async function downloadKey(fmt) {
  try {
    const doc = await api("/api/solve", {text: $("solve-text").value, render: fmt});
    download(fmt === "latex" ? "key.tex" : "key.md", doc.rendered);
  } catch (e) {
    $("solve-error").textContent = "error: " + e.message;
  }
}

async function newQuiz() {
  $("solve-error").textContent = "";
  const topics = [...document.querySelectorAll('[data-testid="quiz-topics"] input:checked')].map((i) => i.value);
  try {
    quizDoc = await api("/api/quiz", {topics, count: +$("quiz-count").value, seed: +$("quiz-seed").value,
                                      steps: $("quiz-steps").checked});
  } catch (e) {
    $("solve-error").textContent = "error: " + e.message;
    return;
  }
  $("quiz").classList.remove("hidden");
  $("quiz-questions").innerHTML = quizDoc.questions.html;
  $("quiz-key").innerHTML = quizDoc.key.html;
  $("quiz-key").classList.add("hidden");
  $("quiz-show-key").textContent = "Show the key";
}

async function loadTopics() {
  const {topics} = await api("/api/quiz/topics");
  for (const t of topics) {
    $("quiz-topics").append(el("label", {class: "inline"},
      el("input", {type: "checkbox", value: t, ...(["conv", "pool", "act"].includes(t) ? {checked: ""} : {})}), t));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  glossary($("glossary"), ["padding", "stride", "dilation", "softmax"]);
  loadTopics().catch((e) => { $("solve-error").textContent = "error: " + e.message; });
  $("solve-run").addEventListener("click", solve);
  $("solve-download-md").addEventListener("click", () => downloadKey("markdown"));
  $("solve-download-tex").addEventListener("click", () => downloadKey("latex"));
  $("solve-upload").addEventListener("change", async (e) => {
    const f = e.target.files[0];
    if (f) { $("solve-text").value = await f.text(); solve(); }
  });
  $("quiz-new").addEventListener("click", newQuiz);
  $("quiz-show-key").addEventListener("click", () => {
    const hidden = $("quiz-key").classList.toggle("hidden");
    $("quiz-show-key").textContent = hidden ? "Show the key" : "Hide the key";
  });
  $("quiz-to-solver").addEventListener("click", () => { if (quizDoc) { $("solve-text").value = quizDoc.yaml; solve(); } });
  $("quiz-download-md").addEventListener("click", () => quizDoc && download("quiz.md", $("quiz-key").classList.contains("hidden") ? quizDoc.questions.markdown : quizDoc.key.markdown));
  $("quiz-download-tex").addEventListener("click", () => quizDoc && download("quiz.tex", $("quiz-key").classList.contains("hidden") ? quizDoc.questions.latex : quizDoc.key.latex));
});
