#!/usr/bin/env bash
# The main job (`make demo`): a worked problem sheet, a checked answer key, the MNIST
# comparison, and what the CNN learned.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${CNNLAB_DEMO_OUT:-runs/demo}
mkdir -p "$out"

echo "== 1. A problem sheet solved with every step (examples/problems/sheet1.yaml) =="
cnnlab solve examples/problems/sheet1.yaml
cnnlab solve examples/problems/sheet1.yaml --format markdown --out "$out/sheet1.md"
cnnlab solve examples/problems/sheet1.yaml --format latex --out "$out/sheet1.tex"

echo
echo "== 2. Checking a published answer key with mistakes (examples/problems/wrong_key.yaml) =="
cnnlab check examples/problems/wrong_key.yaml || true

echo
echo "== 3. Logistic regression vs MLP vs CNN on real MNIST =="
cnnlab data fetch mnist
cnnlab compare --data mnist --out "$out/compare"

echo
echo "== 4. What the CNN learned: filters, feature maps, Grad-CAM, maximisation, shifts =="
cnnlab explain "$out/compare/runs/small-cnn" --out "$out/explain"

echo
echo "Worked solutions: $out/sheet1.md, $out/sheet1.tex"
echo "Reports: $out/compare/report.html, $out/explain/explain.html"
