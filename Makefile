# Two commands do all the set-up on a fresh machine: `make lab` and `make test`.
# Each target creates .venv on first use, installs the versions pinned in constraints.txt, and
# reinstalls only when pyproject.toml or constraints.txt changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8888
# Jupyter refuses to run as root unless told; containers often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
DATA ?=
MAPPING ?=
OUT ?= reports

.PHONY: lab test report present check bench bench-peers docs clean

# JupyterLab settings for this venv (jupyterlab-overrides.json): a notebook opens on its own kernel
# without a "Select Kernel" dialog (shown whenever the kernel list loads after the notebook on a
# busy 2-core machine), and no news or update pop-up asks to reach the network.
LAB_SETTINGS := jupyterlab-overrides.json

define install
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e "$(1)"
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp $(LAB_SETTINGS) $(VENV)/share/jupyter/lab/settings/overrides.json
endef

$(VENV)/.installed: pyproject.toml constraints.txt $(LAB_SETTINGS) Makefile
	$(call install,.)
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt $(LAB_SETTINGS) Makefile
	$(call install,.[test])
	touch $(VENV)/.installed $@

# JupyterLab on the tour notebooks, bound to loopback; it prints the URL with its token.
lab: $(VENV)/.installed
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) \
		--ServerApp.root_dir=notebooks --LabApp.news_url=None $(ALLOW_ROOT)

# Lint, then the whole suite: unit, property, notebook and browser tests.
test: $(VENV)/.installed-test
	@test -x /usr/bin/chromium || ./.ci/install-chromium || \
		echo "Chromium is not installed: the browser tests will be skipped."
	$(BIN)/ruff check toolkit tests benchmarks
	$(BIN)/python -m pytest

report: $(VENV)/.installed
	$(BIN)/python -m toolkit report $(if $(DATA),--data $(DATA)) --out $(OUT) $(if $(FORCE),--force)

# Read and validate an export without running a notebook: make check DATA=folder [MAPPING=file]
check: $(VENV)/.installed
	@test -n "$(DATA)" || { echo "usage: make check DATA=EXPORT_FOLDER [MAPPING=FILE]"; exit 2; }
	$(BIN)/python -m toolkit check $(DATA) $(if $(MAPPING),--mapping $(MAPPING))

# The presenter's view: Voila on 127.0.0.1 with a token (it prints the URL to open), Host checked,
# kernels capped. NOTEBOOK=growth|funnel|lead_budget|cohorts|income picks the first screen; DATA a CRM export.
NOTEBOOK ?= growth
present: $(VENV)/.installed
	$(BIN)/python -m toolkit present --port=$(PORT) --notebook=$(NOTEBOOK) $(if $(DATA),--data $(DATA))

bench: $(VENV)/.installed-test
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

# The API reference (Sphinx + numpydoc, from the docstrings) into docs/_build/html; a warning fails.
docs: $(VENV)/.installed-test
	$(BIN)/python -m sphinx -W --keep-going -j 1 -q -b html docs docs/_build/html
	@echo "open docs/_build/html/index.html"

# Issue 18's comparisons with retentioneering and lifelines, each in the benchmarks' own
# environment (benchmarks/.peer-venv, not a project dependency; retentioneering's telemetry off).
PEER_PYTHON ?= python3.11
benchmarks/.peer-venv/.installed: benchmarks/peers/requirements.txt
	test -x benchmarks/.peer-venv/bin/python || $(PEER_PYTHON) -m venv benchmarks/.peer-venv
	benchmarks/.peer-venv/bin/pip install --quiet -r benchmarks/peers/requirements.txt
	touch $@

bench-peers: $(VENV)/.installed-test benchmarks/.peer-venv/.installed
	$(BIN)/python benchmarks/funnel_small.py
	$(BIN)/python benchmarks/calls.py --lifelines

clean:
	rm -rf $(VENV) reports .pytest_cache tests/artifacts docs/_build
