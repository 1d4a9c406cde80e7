#!/usr/bin/env bash
# make cv: leave-one-patient-out cross-validation on the 7-patient phantom, outputs under demo_cv/.
# The demo recipe (configs/demo.yaml) with a shorter schedule (10 epochs of 50 steps of 16 patches)
# so that 7 folds fit in under half an hour on 2 cores. Folds run WORKERS (default 4) at a time on a local
# Ray when ray is installed (pip install 'stsseg[ray]'), else one after another; WORKERS=0 forces
# one after another. A rerun keeps the folds that finished.
set -euo pipefail
cd "$(dirname "$0")/.."
S=".venv/bin/stsseg"
CFG=${CFG:-configs/demo.yaml}
RUN=${RUN:-demo_cv/run}
export TF_CPP_MIN_LOG_LEVEL=2 STSSEG_PROGRESS=${STSSEG_PROGRESS:-1}
start=$(date +%s)
[ -f demo_cv/phantom.h5 ] || $S synth --output demo_cv/phantom.h5 --patients 7 --seed 0
PAR=()
W=${WORKERS:-4}
if [ "$W" != 0 ] && .venv/bin/python -c "import ray" 2>/dev/null; then PAR=(--workers "$W"); fi
SCHEDULE=(--set train.epochs=10 --set train.steps_per_epoch=50 --set train.early_stopping.patience=6)
$S cv "$CFG" --source demo_cv/phantom.h5 --run "$RUN" "${SCHEDULE[@]}" "${PAR[@]}" "$@"
echo
echo "cv finished in $(( $(date +%s) - start )) s: $RUN/folds.json, $RUN/fold_<k>/, $RUN/cv/ (per_patient.csv, summary.json, postprocess.json, per_patient.png)"
