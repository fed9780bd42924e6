# fargate-api developer / CI entry points (GNU make).
#
#   make install     system packages (root) + .venv with the package and dev extras
#                    + the external scanners (checkov in .venv-scanners, cfn-guard in .tools)
#   make test        lint, then unit + functional + twin tiers
#   make unit | functional | twin    one tier
#   make unit-unprivileged   tests/unit without capabilities, haproxy or nft (as in make test)
#   make lint        ruff check, ruff format --check, mypy --strict, lint-imports (layers)
#   make schemas     rewrite docs/schemas/ from the typed contracts
#   make demo        synthesize + check the example API's stack, run it as the local twin
#   make golden      regenerate golden templates
#   make clean       remove .venv, out/ and caches

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST := $(VPY) -m pytest
PYTEST_ARGS ?= -q

.PHONY: install system-deps scanners venv lint test unit functional twin demo golden diagram bench clean

install: system-deps $(STAMP) scanners

system-deps:
	@bash scripts/install-system-deps.sh

# checkov (PyPI, own venv) and cfn-guard with the Control Tower rules (npm), pinned;
# a no-op once their stamp files match. The functional tier cross-checks with them.
scanners: | system-deps
	@PYTHON=$(PYTHON) bash scripts/install-scanners.sh

# The venv interpreter: (re)create the venv when it is missing or its symlink dangles.
$(VPY): | system-deps
	@command -v $(PYTHON) >/dev/null 2>&1 || { \
	  echo "error: '$(PYTHON)' not found; this project needs Python >= 3.11." >&2; \
	  echo "       install it, or run: make install PYTHON=/path/to/python3.11" >&2; \
	  exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null || { \
	  echo "error: '$(PYTHON)' is $$($(PYTHON) --version 2>&1); this project needs Python >= 3.11." >&2; \
	  echo "       install it, or run: make install PYTHON=/path/to/python3.11" >&2; \
	  exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)

venv: $(VPY)

# Re-run pip only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml | $(VPY)
	$(VPY) -m pip install -q -e '.[dev]'
	@touch $@

lint: install
	$(VENV)/bin/ruff check src tests examples benchmarks
	$(VENV)/bin/ruff format --check src tests examples benchmarks
	$(VENV)/bin/mypy --strict src examples/api/src
	$(VENV)/bin/lint-imports

# Unit (unprivileged, see unit-unprivileged), the test images (the functional tier's
# example-API deploy builds FROM the python one), then functional, each in parallel
# (pytest-xdist). The twin tier (network namespaces, nftables, haproxy; a few seconds)
# runs in a last, serial pytest call so its result and its "did not run" banner come
# last and on their own. Every call always runs; the target fails if any failed
# (including pytest's exit 5, "no tests collected").
test: install lint
	@rc=0; \
	$(UNIT_UNPRIVILEGED) || rc=$$?; \
	$(MAKE) --no-print-directory test-images || rc=$$?; \
	$(PYTEST) tests/functional examples/api/tests -n auto $(PYTEST_ARGS) || rc=$$?; \
	$(PYTEST) tests/twin $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -ne 0 ]; then echo "make test: FAILED (pytest exit $$rc)" >&2; fi; \
	exit $$rc

unit: install
	$(PYTEST) tests/unit examples/api/tests -n auto $(PYTEST_ARGS)

# tests/unit as CI keeps it: with every capability dropped and only /usr/bin:/bin on the
# PATH, so no haproxy and no nft (they live in /usr/sbin). Root drops its capabilities
# with setpriv (util-linux, Essential on Debian); any other user has none to drop. Tests
# that need those binaries or privileges belong in tests/twin.
UNIT_UNPRIVILEGED = $(if $(filter 0,$(shell id -u)),setpriv --bounding-set -all --inh-caps -all) \
	env PATH=/usr/bin:/bin $(PYTEST) tests/unit -p no:cacheprovider -n auto $(PYTEST_ARGS)

.PHONY: unit-unprivileged
unit-unprivileged: install
	$(UNIT_UNPRIVILEGED)

functional: install test-images
	$(PYTEST) tests/functional -n auto $(PYTEST_ARGS)

twin: install test-images
	$(PYTEST) tests/twin $(PYTEST_ARGS)

# The images the twin's container tests run (busybox, a Debian base, nginx, python, the
# example API) and the base the example API's Dockerfile builds FROM, built locally from Debian packages: no registry needed. Needs root; a
# no-op for the images that exist. Skipped (the twin tier then says why) without root.
.PHONY: test-images
test-images: install
	@if [ "$$(id -u)" -eq 0 ]; then $(VPY) tests/images/build_test_images.py; \
	else echo "make test-images: not root, no images built (the twin tier needs root)" >&2; fi

# Until the local twin exists (issue 5): synthesize the default environment, summarize
# it, and check it with the pattern's rules and cfn-lint.
# The local twin of the example API (examples/api), left running; `fargate-api local down
# --name demo` removes it. Needs root (network namespaces).
demo: install
	$(VENV)/bin/fargate-api synth -c examples/api/fargate-api.toml -o out/demo
	$(VENV)/bin/fargate-api check out/demo --strict
	@bash scripts/demo.sh

golden: install
	$(VPY) scripts/regen_golden.py

# Redraws docs/diagram.png (the README's picture) from the default templates.
diagram: install
	$(VPY) scripts/gen_diagram.py

# Rewrites docs/schemas/*.schema.json from the typed contracts (twin state, requests and
# answers; the AWS back-end's --json results). A unit test fails when they drift.
.PHONY: schemas
schemas: install
	$(VPY) scripts/write_schemas.py

# Benchmarks (not tests): writes docs/benchmarks.md. The local twin part (items 3 and 4)
# needs root, and wrk for item 4 (installed here when missing); BENCH_ARGS=--skip-twin
# leaves it out.
bench: install
	@if [ "$$(id -u)" -eq 0 ] && ! command -v wrk >/dev/null 2>&1; then \
	  apt-get install -y wrk || echo "make bench: could not install wrk; item 4 will not run" >&2; \
	fi
	$(VPY) benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-scanners .tools out build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
