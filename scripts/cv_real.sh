#!/usr/bin/env bash
# make cv-real: 5-fold cross-validation on the 24 real patients of ../shared/data/sts_ibsi (NIfTI, one
# folder per patient) with configs/sts_ibsi.yaml, on the fixed folds of folds_5.json, outputs under
# runs/cv_real/. Folds run WORKERS (default 2) at a time on a local Ray when ray is installed, else one
# after another; WORKERS=0 forces one after another. A rerun keeps the folds that finished.
set -euo pipefail
cd "$(dirname "$0")/.."
S=".venv/bin/stsseg"
DATA=${DATA:-../shared/data/sts_ibsi}
RUN=${RUN:-runs/cv_real}
if [ ! -d "$DATA/nifti" ] || [ ! -f "$DATA/folds_5.json" ]; then
  echo "make cv-real: the real set is not in $DATA (nifti/ and folds_5.json); set DATA=... (README: Real patients)" >&2
  exit 1
fi
export TF_CPP_MIN_LOG_LEVEL=2 STSSEG_PROGRESS=${STSSEG_PROGRESS:-1}
start=$(date +%s)
PAR=()
W=${WORKERS:-2}
if [ "$W" != 0 ] && .venv/bin/python -c "import ray" 2>/dev/null; then PAR=(--workers "$W"); fi
$S cv configs/sts_ibsi.yaml --source "$DATA/nifti" --set cv.folds_file="$DATA/folds_5.json" --run "$RUN" \
  "${PAR[@]}" "$@"
echo
.venv/bin/python scripts/compare_cv.py --table "$RUN"
echo "cv-real finished in $(( $(date +%s) - start )) s: $RUN/folds.json, $RUN/fold_<k>/, $RUN/cv/"
