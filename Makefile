# Two entry points for a new user: `make demo` (set up, then the main job) and `make test`.
# Installs are pinned by constraints.txt (exact versions from a green run); `make lock`
# rewrites it from the current venv, `make test-latest` tries the newest allowed versions
# in a venv of its own so a registry's new release breaks that run, not yours.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONSTRAINTS ?= constraints.txt
PIN := $(if $(CONSTRAINTS),-c $(CONSTRAINTS),--upgrade --upgrade-strategy eager)

.PHONY: setup demo test test-all test-latest lock clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q $(PIN) pip
	$(BIN)/pip install -q $(PIN) -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/demo.sh

test: $(STAMP)
	$(BIN)/python -m pytest -n 2

test-all: $(STAMP)
	$(BIN)/python -m pytest -n 2 -m ''

test-latest:
	$(MAKE) test VENV=.venv-latest CONSTRAINTS=

lock: $(STAMP)
	( echo "# Exact versions of a green run (make lock); make installs with -c constraints.txt."; \
	  $(BIN)/pip freeze --exclude-editable --all | grep -v -i '^setuptools==\|^wheel==' ) > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

clean:
	rm -rf $(VENV) .venv-latest build *.egg-info .pytest_cache
