# Two commands do all the set-up: `make demo` and `make test` (see README.md).
# Both install what is missing first: system packages (system-packages.txt)
# and a .venv with the project and its development extras.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := server/static/vendor/uPlot.iife.min.js tests/vendor/axe.min.js
VOICEPACK := gateway/voicepack/manifest.json

.PHONY: demo test bench faults screens lint system clean

# The whole system on this machine until Ctrl-C (rig/demo.py); e.g. make demo DEMO_ARGS="--speed 60"
demo: system $(STAMP) $(VENDOR) $(VOICEPACK)
	$(BIN)/python -m rig.demo $(DEMO_ARGS)

test: system $(STAMP) $(VENDOR) $(VOICEPACK) lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: system $(STAMP) $(VENDOR) $(VOICEPACK)
	$(BIN)/python -m bench.run

# Every fault at full length (docs/reliability.md); `make test` runs the same faults, shorter.
FAULT_TESTS := tests/faults tests/firmware/test_faults.py tests/attacks/test_flood.py
faults: system $(STAMP) $(VENDOR)
	rm -f bench/faults.jsonl
	HANGCHO_FAULTS=full HANGCHO_FAULTS_OUT=$(CURDIR)/bench/faults.jsonl $(BIN)/pytest $(FAULT_TESTS); \
		status=$$?; $(BIN)/python -m faults.report bench/faults.jsonl && exit $$status

# Photographs of every page from a demo morning into docs/screens/, each audited by axe-core (rig/screens.py)
screens: system $(STAMP) $(VENDOR) $(VOICEPACK)
	$(BIN)/python -m rig.screens $(SCREENS_ARGS)

system:
	@PYTHON=$(PYTHON) scripts/ensure-system-packages

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	# MicroPython's ESP32 API as stubs, for type-checking the firmware (firmware/pyrightconfig.json)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade --target $(VENV)/mpstubs \
		'micropython-esp32-stubs>=1.24'
	touch $(STAMP)

# The built-in voice pack: every clip of the hall's calls said by espeak-ng (docs/gateway.md, Voice calls)
$(VOICEPACK): $(STAMP) gateway/voice_clips.py gateway/voice_espeak.py
	$(BIN)/hangcho-gateway voice-pack gateway/voicepack

# The dashboard's chart library, served by the server itself (no CDN), and axe-core for the
# accessibility tests: scripts/fetch-vendor
$(VENDOR) &: scripts/fetch-vendor
	$(PYTHON) scripts/fetch-vendor

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
