#!/usr/bin/env bash
# make cv: leave-one-patient-out cross-validation on the 7-patient phantom, outputs under demo_cv/.
# Folds run two at a time on a local Ray when ray is installed (pip install 'stsseg[ray]'),
# otherwise one after another. A rerun keeps the folds that finished.
set -euo pipefail
cd "$(dirname "$0")/.."
S=".venv/bin/stsseg"
CFG=${CFG:-configs/demo.yaml}
RUN=${RUN:-demo_cv/run}
export TF_CPP_MIN_LOG_LEVEL=2 STSSEG_PROGRESS=${STSSEG_PROGRESS:-1}
start=$(date +%s)
[ -f demo_cv/phantom.h5 ] || $S synth --output demo_cv/phantom.h5 --patients 7 --seed 0
WORKERS=()
if .venv/bin/python -c "import ray" 2>/dev/null; then WORKERS=(--workers "${WORKERS_N:-2}"); fi
$S cv "$CFG" --source demo_cv/phantom.h5 --run "$RUN" "${WORKERS[@]}" "$@"
echo
echo "cv finished in $(( $(date +%s) - start )) s: $RUN/folds.json, $RUN/fold_<k>/, $RUN/cv/ (per_patient.csv, summary.json, postprocess.json, per_patient.png)"
