# The two set-up commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := plugins/custodian_schwab plugins/custodian_fidelity plugins/models_thirdparty
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

install: $(STAMP)

$(STAMP): pyproject.toml $(addsuffix /pyproject.toml,$(PLUGINS))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' $(addprefix -e ,$(PLUGINS))
	touch $@

demo: $(STAMP)
	$(BIN)/smartx demo

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) smartx-demo .pytest_cache
