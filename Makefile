# The README's two commands: `make train` (a short default training run) and `make test`.
# Both set up everything on a fresh Debian machine: GL libraries for headless rendering, .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages for headless MuJoCo rendering: EGL (Mesa) and OSMesa as the fallback; libGL and
# GLib for OpenCV (sample-factory's opencv-python links them).
GL_PACKAGES := libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6 libgl1 libglib2.0-0
# An X server without a screen, for the test that opens evaluation.play's real window.
TEST_PACKAGES := xvfb
ENV ?= memory_9x9
EXPERIMENT ?= $(ENV)_default
# A short default run (5-8 min on a 2-core CPU with the default ResNet agent); drop the budget for the paper's 100M frames.
TRAIN_ARGS ?= --train_for_env_steps=20000

.PHONY: setup gl train test test-fast lock benchmarks clean-venv

setup: gl $(VENV)/.installed

gl:
	@if ldconfig -p | grep -q libEGL.so.1 && ldconfig -p | grep -q libOSMesa.so && ldconfig -p | grep -q libGL.so.1 \
		&& ldconfig -p | grep -q libgthread-2.0.so.0 && command -v Xvfb >/dev/null; then :; else \
		echo "Installing Debian packages for headless rendering and the window test: $(GL_PACKAGES) $(TEST_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(GL_PACKAGES) $(TEST_PACKAGES); fi

# The lock (requirements.txt, every package pinned), then this package alone; pyproject.toml lists the
# dependencies and `make lock` regenerates the lock from it.
$(VENV)/.installed: requirements.txt pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

train: setup
	$(PY) -m sf_maze.train --env=$(ENV) --experiment=$(EXPERIMENT) $(TRAIN_ARGS)

# The full suite, every check (what CI runs; ~20 min on 2 cores).
test: setup
	$(PY) -m pytest -q --durations=20 tests

# The development loop: everything but the tests marked slow (real training runs, anything over ~5 s;
# the markers are declared in pyproject.toml). Under 3 minutes on 2 cores.
test-fast: setup
	$(PY) -m pytest -q -m "not slow" --durations=10 tests

# Regenerate requirements.txt from pyproject.toml (its dependencies and the dev, docs and bench extras): a fresh
# venv installs them constrained by the current lock, so only what is new or unpinned gets resolved
# (`make lock LOCK_CONSTRAINTS=` re-resolves everything), then pip freeze writes the lock. torch's local
# version label (+cpu, from the machines' wheel folder) is dropped so the pin also names PyPI's release.
LOCK_VENV ?= .lock-venv
LOCK_CONSTRAINTS ?= requirements.txt
LOCK_HEADER := \
	'\# The lock: every package pinned, generated from pyproject.toml (its dependencies + the dev, docs and bench extras).' \
	'\# Do not edit: change pyproject.toml, then regenerate with `make lock`, which runs in a fresh venv' \
	'\#   pip install -c requirements.txt -e ".[dev,docs,bench]" && pip freeze --exclude-editable   (torch: +cpu dropped)' \
	'\# (`make lock LOCK_CONSTRAINTS=` drops the -c and re-resolves everything).'

lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q $(if $(LOCK_CONSTRAINTS),-c $(LOCK_CONSTRAINTS)) -e ".[dev,docs,bench]"
	{ printf '%s\n' $(LOCK_HEADER); $(LOCK_VENV)/bin/pip freeze --exclude-editable | sed 's/+cpu$$//'; } > requirements.txt.new
	mv requirements.txt.new requirements.txt
	rm -rf $(LOCK_VENV)

# Every table of docs/results/ (long: tens of minutes on a 2-core CPU).
benchmarks: setup
	$(PY) benchmarks/env_speed.py --backend egl
	$(PY) benchmarks/amaze_speed.py
	$(PY) benchmarks/train_fps.py --impl fast reference
	$(PY) benchmarks/amaze_learning.py
	$(PY) benchmarks/dreamer_learning.py

clean-venv:
	rm -rf $(VENV)
