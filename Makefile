# Two commands: `make test` and `make demo`. Everything else is set up by them.
# `make fidelity` (run by .ci/run after `make test`) drives the simulator with third-party
# ProjectX clients, each in its own venv on a CPython >= 3.12 (.ci/python312 finds one).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test lint types security pytest clean demo fidelity load soak config-docs lock venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's metadata or the lock changes. The runtime dependencies come
# from requirements.lock (pinned, hashed: what the service install uses too), then the project
# and its dev tools.
$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Re-pin requirements.lock after a change of pyproject.toml's dependencies (every platform's
# wheels, Python 3.11 and up, with their hashes).
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet 'uv>=0.4'
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 \
		--quiet --custom-compile-command "make lock" -o requirements.lock

# Only the venv (what README's "Try it on the simulator" starts from).
venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests tools
	$(BIN)/ruff format --check src tests tools

# mypy --strict on src and tests (files and options in pyproject.toml) for Linux, then for
# Windows and macOS (every `sys.platform` branch checked on the platform it is for; a cache
# each, so repeated runs stay incremental), then the fidelity drivers as the top-level scripts
# they are in their own venvs.
types: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --platform win32 --cache-dir .mypy_cache/win32
	$(BIN)/mypy --platform darwin --cache-dir .mypy_cache/darwin
	MYPYPATH=tests/fidelity/drivers $(BIN)/mypy tests/fidelity/drivers/*.py

pytest: $(STAMP)
	$(BIN)/pytest -rs --ignore=tests/fidelity

# One venv per client under .venv-fidelity/, rebuilt only when its pinned requirements change.
FIDELITY := .venv-fidelity
FIDELITY_CLIENTS := project-x-py topstep-sdk signalrcore
FIDELITY_STAMPS := $(FIDELITY_CLIENTS:%=$(FIDELITY)/%/.installed)

$(FIDELITY)/%/.installed: tests/fidelity/requirements/%.txt
	rm -rf $(FIDELITY)/$*
	py="$$(.ci/python312)" && "$$py" -m venv $(FIDELITY)/$*
	$(FIDELITY)/$*/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $@

fidelity: $(STAMP) $(FIDELITY_STAMPS)
	$(BIN)/pytest -rs tests/fidelity

# bandit over src/ (a medium or high finding fails; each `nosec` names its test and why), then
# pip-audit over the installed dependencies, skipped with the reason when its service cannot
# answer (tools/audit_deps.py): the build never fails for want of a network.
security: $(STAMP)
	$(BIN)/bandit -q -r src --severity-level medium
	$(BIN)/python tools/audit_deps.py

test: lint types security pytest

# The load test at full length (tests/e2e/test_e2e_load.py; `make test` runs it for 10 s):
# 10 accounts, every rule on, LOAD_RATE events/s for LOAD_SECONDS, figures printed.
LOAD_SECONDS ?= 60
LOAD_RATE ?= 1000
load: $(STAMP)
	LOAD_SECONDS=$(LOAD_SECONDS) LOAD_RATE=$(LOAD_RATE) $(BIN)/pytest -s -p no:logging \
		-o timeout=$$(( $(LOAD_SECONDS) + 120 )) tests/e2e/test_e2e_load.py

# The soak (not in `make test`): the demo's traffic against one daemon for DURATION, a row a
# minute (RSS, fds, store size, loop lag, latency) into SOAK_OUT/soak.csv and a plot beside it;
# fails when the daemon's memory grows after the warm-up (src/risk_manager/demo/soak.py).
DURATION ?= 60m
SOAK_OUT ?= /tmp/risk-manager-soak
soak: $(STAMP)
	$(BIN)/python -m risk_manager.demo.soak --duration $(DURATION) --out $(SOAK_OUT)

# docs/CONFIG.md: the prose (src/risk_manager/config/reference_header.md), then every key from
# the config models; tests/config/test_config_reference.py fails when it is stale.
config-docs: $(STAMP)
	$(BIN)/risk-manager config docs > docs/CONFIG.md

# The simulator, the daemon and a scripted trader breaking the rules; Ctrl+C stops it all.
# Flags go through DEMO_ARGS, e.g. make demo DEMO_ARGS="--speed 3 --duration 0".
DEMO_ARGS ?=
demo: $(STAMP)
	$(BIN)/risk-manager demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) $(FIDELITY) .mypy_cache .ruff_cache .pytest_cache
