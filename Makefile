# The two commands: `make run` and `make test`. Both create .venv on first use; `run`
# installs what the shop needs, `test` adds the test tools (pytest, Playwright, a broker).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
INSTALLED_TEST := $(VENV)/.installed-test

.PHONY: run test lint fuzz bench longrun clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(INSTALLED)

$(INSTALLED_TEST): $(INSTALLED)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(INSTALLED_TEST)

run: $(INSTALLED)
	$(PY) run.py

# The habits under tools (configured in pyproject.toml): the formatter's layout, the linter,
# and mypy --strict over shop/. `make test` runs them first, so CI fails on any of them.
LINTED := shop tests bench run.py
lint: $(INSTALLED_TEST)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Schemathesis with a large budget (tests/fuzz.py): every check and phase, anonymous, as a
# customer and as an admin, each against a fresh shop; reports in test-output/fuzz/.
# About 3 x 28 operations x 600 examples (the SSE streams get 50), over 50,000 cases: ~20 min.
FUZZ_ARGS ?= --max-examples 600 --workers 2
fuzz: $(INSTALLED_TEST)
	$(PY) -m tests.fuzz --report-dir test-output/fuzz $(FUZZ_ARGS)

# Needs wrk (apt-get install wrk); BENCH_ARGS="--quick" for a short trial run. The test
# extra brings the Kafka-protocol broker the Kafka rows use.
bench: $(INSTALLED_TEST)
	$(PY) bench/run.py $(BENCH_ARGS)

# Does the shop stop growing? 200,000 orders at retention ages of seconds; see BENCHMARKS.md.
longrun: $(INSTALLED)
	$(PY) bench/longrun.py $(LONGRUN_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
