# paperlib: two commands do everything on a fresh machine.
#   make test       - create .venv (if missing) and run the whole test suite (two workers)
#   make test-fast  - the unit tier only (no slow, notebook, browser, distributed, gpu tests): the inner loop
#   make reproduce  - create .venv (if missing) and run the synthetic profile end to end
#   make book       - the README, docs/ and the executed notebooks as a static site in build/book/
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test test-fast test-env reproduce book bench venv clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Two xdist workers (both cores), one torch thread each (tests/conftest.py); --dist loadfile keeps the tests
# of one file, and so their module fixtures (the dry run, the smoke run, each golden), on one worker;
# --no-loadscope-reorder hands the files out in conftest's order (the longest first). Tiers: docs/test-tiers.md.
PYTEST_WORKERS ?= 2
PYTEST_XDIST   := -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder
UNIT_TIER      := not slow and not notebook and not browser and not distributed and not gpu
# glibc malloc keeps freed memory instead of returning it to the system: a full-size network's activations
# (1024², hundreds of MB each) are otherwise mapped and zeroed anew at every layer. Measured on the goldens'
# pSp and deghosting tests: 92 -> 65 s of CPU (sys 29 -> 4 s), 2.8 -> 4.6 GB peak (docs/test-tiers.md).
TEST_ENV       := OMP_NUM_THREADS=1 MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=17179869184

# the environment alone, for benchmarks/test_tiers.sh
test-env:
	@echo $(TEST_ENV)

test: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q --durations=15 $(PYTEST_XDIST)

test-fast: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest -q --durations=10 $(PYTEST_XDIST) -m "$(UNIT_TIER)"

reproduce: $(STAMP)
	$(PY) -m paperlib reproduce --profile synthetic

book: $(STAMP)
	$(PY) docs/book.py --out build/book

bench: $(STAMP)
	$(PY) benchmarks/bench_cam.py

clean-venv:
	rm -rf $(VENV)
