#!/usr/bin/env bash
# make demo-nifti: prepare -> train (short) -> infer -> evaluate on an autoPET-layout phantom,
# outputs under demo_nifti/. Ends with the per-case table scored on each study's own grid.
set -euo pipefail
cd "$(dirname "$0")/.."
S=".venv/bin/stsseg"
CFG=configs/demo_nifti.yaml
export TF_CPP_MIN_LOG_LEVEL=2 STSSEG_PROGRESS=${STSSEG_PROGRESS:-1}
start=$(date +%s)
step() { printf '\n\033[1m== %s\033[0m  (%ss)\n' "$1" "$(( $(date +%s) - start ))"; }

step "1/5 synth: 7 studies of 6 patients, autoPET layout (CTres/SUV/SEG.nii.gz, 3x2x2 mm)"
$S synth --layout autopet --output demo_nifti/autopet --patients 7 --seed 0 --force
step "2/5 prepare: split by patient, resample to 4 mm in-plane, slices -> PNG"
$S prepare $CFG --force
step "3/5 train (short)"
$S train $CFG --force
# the test studies (their ids hold spaces: one --cases option each)
mapfile -t TEST < <(.venv/bin/python -c "
import json
for case, g in json.load(open('demo_nifti/dataset/cases.json')).items():
    if g['split'] == 'test':
        print(case)")
CASES=()
for c in "${TEST[@]}"; do CASES+=(--cases "$c"); done
step "4/5 infer: the test studies -> <case>.nii.gz on each study's CTres grid"
$S infer $CFG --source demo_nifti/autopet "${CASES[@]}" --output demo_nifti/infer --force
step "5/5 evaluate the written masks against SEG.nii.gz on the native 3x2x2 mm grid"
$S evaluate $CFG --predictions demo_nifti/infer --source demo_nifti/autopet --output demo_nifti/eval --force

cat <<MSG

demo-nifti finished in $(( $(date +%s) - start )) s. Artefacts:
  demo_nifti/autopet/             <patient>/<study>/{CTres,SUV,SEG}.nii.gz (+ fdg_metadata.csv)
  demo_nifti/dataset/             PNG slices at 4 mm in-plane, manifest.csv, split.json, cases.json (each case's native grid)
  demo_nifti/run/                 best.keras, stsseg.json (spacing policy), history.csv, plots/
  demo_nifti/infer/               <case>.nii.gz masks: shape and affine of each study's CTres.nii.gz
  demo_nifti/eval/                per_patient.csv (one row per study, with its patient), baseline_per_patient.csv, summary.json
MSG
