#!/usr/bin/env bash
# The lean install: pip install 'stsseg[onnx]' (no TensorFlow) runs inference on an ONNX export.
# The full .venv trains a tiny model and exports it; a fresh venv with only stsseg[onnx] predicts
# the same volumes; the masks must match the Keras ones (>= 99.9 % identical voxels).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export TF_CPP_MIN_LOG_LEVEL=2
S=.venv/bin/stsseg
SETS=(--set model.image_size=48 --set model.num_layers=3 --set model.base_filters=4 --set train.epochs=2
      --set train.batch_size=4 --set train.steps_per_epoch=20 --set train.preview_images=0 --set train.patch_size=null)
.venv/bin/python -c "from sts_seg.phantom import PhantomSpec, synth; synth(output='$W/tiny.h5', n_patients=4, seed=3, spec=PhantomSpec(slices=(8, 16), size=(32, 44)))"
$S prepare --source "$W/tiny.h5" --output "$W/ds" "${SETS[@]}" >/dev/null
$S train --dataset "$W/ds" --run "$W/run" "${SETS[@]}" >/dev/null
$S export "$W/run" --output "$W/export" >/dev/null
$S infer --model "$W/run/best.keras" --source "$W/tiny.h5" --output "$W/keras" >/dev/null
start=$(date +%s)
"$PY" -m venv "$W/lean"
"$W/lean/bin/pip" install -q --upgrade pip
"$W/lean/bin/pip" install -q '.[onnx]'
echo "lean install (stsseg[onnx]) in $(( $(date +%s) - start )) s"
if "$W/lean/bin/python" -c "import tensorflow" 2>/dev/null; then echo "lean venv has TensorFlow"; exit 1; fi
"$W/lean/bin/stsseg" infer --model "$W/export" --source "$W/tiny.h5" --output "$W/onnx"
if "$W/lean/bin/stsseg" train --dataset "$W/ds" --run "$W/run2" 2>"$W/err"; then echo "train ran without TensorFlow?"; exit 1; fi
grep -q "pip install 'stsseg\[train\]'" "$W/err" || { echo "train without TensorFlow did not say what to install:"; cat "$W/err"; exit 1; }
"$W/lean/bin/python" - "$W" <<'PY'
import sys
import h5py
import numpy as np
w = sys.argv[1]
with h5py.File(f"{w}/keras/predictions.h5") as a, h5py.File(f"{w}/onnx/predictions.h5") as b:
    same = total = 0
    for p in a["label_data"]:
        x, y = a["label_data"][p][()], b["label_data"][p][()]
        same, total = same + int((x == y).sum()), total + x.size
print(f"lean ONNX Runtime vs Keras: {same / total:.5f} identical voxels over {total} voxels")
sys.exit(0 if same / total >= 0.999 else 1)
PY
echo "lean check passed"
