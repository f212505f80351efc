# songreel developer commands. `make test` is what CI runs (.ci/run) on a clean clone.
PY ?= .venv/bin/python

.venv/bin/python:
	python3 -m venv .venv

.PHONY: install test test-slow lint demo bench
install: .venv/bin/python
	# torch first: the CPU wheel; installing extras before it would pull CUDA builds
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'

# two test processes: most tests wait on encoders, subprocesses or a browser, so two halve the wall
# time even on 2 cores; every test works in its own temp folder
test: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n 2 -m "not slow and not gpu" --durations=15

lint: install
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m mypy

test-slow: install
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -m slow

demo: .venv/bin/python
	$(PY) -m pip install -q -e .
	.venv/bin/songreel demo
