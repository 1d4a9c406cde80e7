# stsseg — every target installs first (re-installs only when pyproject.toml changes).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2
#: the fast tier: no TensorFlow, no Ray, no end-to-end runs (markers in pyproject.toml); PYTEST_ARGS is passed on
FAST   := not tf and not slow
PYTEST_ARGS ?=

.PHONY: install test test-all demo demo-nifti cv cv-real bench lint lean-check fmt clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or: make PYTHON=python3 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install stsseg + dev tools

test: $(STAMP)  ## the fast tier (< 2 min): every test that imports no TensorFlow and starts no Ray or end-to-end run
	$(BIN)/pytest -m "$(FAST)" $(PYTEST_ARGS)

# The whole suite in two passes: the fast tier (where a test that imports TensorFlow fails, so the
# markers stay honest), then the tf and slow tests. Both passes run; exit 5 (nothing selected in a
# pass) is fine for one pass but not for both.
test-all: $(STAMP)  ## the whole suite (tiny synthetic data, CPU; 6-10 min): make test, then the tf and slow tests
	@fast=0; heavy=0; \
	$(BIN)/pytest -m "$(FAST)" $(PYTEST_ARGS) || fast=$$?; \
	$(BIN)/pytest -m "not ($(FAST))" $(PYTEST_ARGS) || heavy=$$?; \
	if [ $$fast = 5 ] && [ $$heavy = 5 ]; then echo "make test-all: no tests were collected" >&2; exit 5; fi; \
	for rc in $$fast $$heavy; do [ $$rc = 0 ] || [ $$rc = 5 ] || exit $$rc; done

demo: $(STAMP)  ## run every pipeline stage on the synthetic phantom, into demo/
	bash scripts/demo.sh

demo-nifti: $(STAMP)  ## prepare -> train -> infer -> evaluate on an autoPET-layout NIfTI phantom, into demo_nifti/
	bash scripts/demo_nifti.sh

cv: $(STAMP)  ## leave-one-patient-out cross-validation on the phantom, 2 folds at a time on Ray, into demo_cv/
	bash scripts/cv.sh

cv-real: $(STAMP)  ## 5-fold cv on the 24 real patients in ../shared/data/sts_ibsi (fixed folds_5.json), into runs/cv_real/
	bash scripts/cv_real.sh

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
