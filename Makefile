# ptt — build, test and demo entry points. Everything a fresh machine needs is
# installed from here (Debian packages via tools/install-deps.sh, Python
# packages into .venv), so CI and new sessions start from nothing.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PTT_CACHE ?= $(HOME)/.cache/ptt
export PTT_CACHE

.PHONY: all deps host-deps venv test test-unit demo clean

all: deps

deps: host-deps venv

host-deps:
	@bash tools/install-deps.sh

$(VENV)/.stamp: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.stamp

# The whole suite: unit tests under CPython and MicroPython, the host tool
# against real images, the real peers, and the QEMU boot tests.
test: deps runtime
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest -q -p no:cacheprovider tests/unit $(PYTEST_ARGS)

# The main job: boot the lists image on a demo list disk and deliver a post
# through a local BIND9 + Postfix (tools/demo.py says each step).
demo: deps runtime image
	$(PY) tools/demo.py

clean:
	rm -rf images/out build

-include mk/*.mk
