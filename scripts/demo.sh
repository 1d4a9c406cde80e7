#!/usr/bin/env bash
# make demo: every pipeline stage on the synthetic phantom, outputs under demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
S=".venv/bin/stsseg"
CFG=configs/demo.yaml
export TF_CPP_MIN_LOG_LEVEL=2 STSSEG_PROGRESS=${STSSEG_PROGRESS:-1}
start=$(date +%s)
step() { printf '\n\033[1m== %s\033[0m  (%ss)\n' "$1" "$(( $(date +%s) - start ))"; }

step "1/9 synth: 7-patient PET/CT phantom (Kaggle layout)"
$S synth --output demo/phantom.h5 --patients 7 --seed 0 --force
step "2/9 prepare: split by patient, slices -> PNG"
$S prepare $CFG --force
step "3/9 augment: train split only"
$S augment $CFG
step "4/9 train"
$S train $CFG --force
step "5/9 evaluate: per-patient 3D tumour Dice vs PET-threshold baseline"
$S evaluate $CFG --force
TEST=$(.venv/bin/python -c "import json; print(' '.join('--patients ' + p for p in json.load(open('demo/dataset/split.json'))['test']))")
step "6/9 infer: folder of test slices, and whole test volumes"
$S infer $CFG --input demo/dataset/test/images --output demo/infer --overlay --force
$S infer $CFG --h5 demo/phantom.h5 $TEST --output demo/infer_volumes --nifti --force
step "7/9 evaluate the volume predictions against the source file"
$S evaluate $CFG --predictions demo/infer_volumes --h5 demo/phantom.h5 --output demo/eval_volumes --force
step "8/9 export to ONNX, then infer the test volumes on ONNX Runtime (TensorFlow is not imported)"
$S export demo/run --output demo/export --force
$S infer $CFG --model demo/export --h5 demo/phantom.h5 $TEST --output demo/infer_onnx --force
.venv/bin/python - <<'PY'
import h5py
with h5py.File("demo/infer_volumes/predictions.h5") as a, h5py.File("demo/infer_onnx/predictions.h5") as b:
    for p in a["label_data"]:
        x, y = a["label_data"][p][()], b["label_data"][p][()]
        print(f"{p}: ONNX Runtime and Keras masks agree on {(x == y).mean():.5%} of {x.size} voxels")
PY
step "9/9 cv: a 2-fold smoke run of the mechanics (5 training steps per fold; make cv runs the real leave-one-patient-out)"
$S cv $CFG --source demo/phantom.h5 --run demo/cv --folds 2 --force --set train.epochs=1 --set train.steps_per_epoch=5 \
    --set "augment.offline=[]" --set prepare.select.train=labeled --set cv.compare_tta=false --set infer.tta=none

cat <<MSG

demo finished in $(( $(date +%s) - start )) s. Artefacts:
  demo/phantom.h5                 synthetic PET/CT (ct_data, pet_data, label_data)
  demo/dataset/                   {train,valid,test}/{images,masks}, augmented/, manifest.csv, split.json, spec.json, fingerprint.json
  demo/run/                       best.keras, last.keras, stsseg.json, history.csv, train_state.json, plots/curves.png, previews/
  demo/eval/                      per_patient.csv, baseline_per_patient.csv, per_image.csv, summary.json, overlays/
  demo/infer/                     masks (+ overlays/) for the test slices
  demo/infer_volumes/             predictions.h5 (label_data) and <patient>.nii.gz for the test patients
  demo/eval_volumes/              the same patients scored from the HDF5 predictions
  demo/export/                    model.onnx + stsseg.json (the preprocessing spec): deploy with pip install 'stsseg[onnx]'
  demo/infer_onnx/                the test volumes predicted on ONNX Runtime
  demo/cv/                        folds.json, fold_<k>/, cv/ (out-of-fold per_patient.csv, summary.json, postprocess.json)
MSG
