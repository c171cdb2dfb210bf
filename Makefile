# paperlib: two commands do everything on a fresh machine.
#   make test       - create .venv (if missing) and run the test suite
#   make reproduce  - create .venv (if missing) and run the synthetic profile end to end
#   make test-fast  - the inner loop: the tests not marked slow
#   make book       - the README, docs/ and the executed notebooks as a static site in build/book/
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test test-fast reproduce book bench venv clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q --durations=15

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" --durations=15

reproduce: $(STAMP)
	$(PY) -m paperlib reproduce --profile synthetic

book: $(STAMP)
	$(PY) docs/book.py --out build/book

bench: $(STAMP)
	$(PY) benchmarks/bench_cam.py

clean-venv:
	rm -rf $(VENV)
