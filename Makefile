# stsseg — every target installs first (re-installs only when pyproject.toml changes).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install test demo demo-nifti cv bench lint lean-check fmt clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install stsseg + dev tools

test: $(STAMP)  ## run the test suite (tiny synthetic data, CPU)
	$(BIN)/pytest

demo: $(STAMP)  ## run every pipeline stage on the synthetic phantom, into demo/
	bash scripts/demo.sh

demo-nifti: $(STAMP)  ## prepare -> train -> infer -> evaluate on an autoPET-layout NIfTI phantom, into demo_nifti/
	bash scripts/demo_nifti.sh

cv: $(STAMP)  ## leave-one-patient-out cross-validation on the phantom, 2 folds at a time on Ray, into demo_cv/
	bash scripts/cv.sh

bench: $(STAMP)  ## benchmarks: prepare, augment, train, infer throughput
	$(BIN)/python -m bench

lean-check: $(STAMP)  ## a fresh venv with only stsseg[onnx] (no TensorFlow) predicts like Keras
	PYTHON=$(PYTHON) bash scripts/lean_check.sh

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf demo demo_nifti demo_cv .pytest_cache build *.egg-info
