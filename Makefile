# The README's two commands: `make train` (a short default training run) and `make test`.
# Both set up everything on a fresh Debian machine: GL libraries for headless rendering, .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages for headless MuJoCo rendering: EGL (Mesa) and OSMesa as the fallback; libGL and
# GLib for OpenCV (sample-factory's opencv-python links them).
GL_PACKAGES := libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6 libgl1 libglib2.0-0
# An X server without a screen, for the test that opens sf_maze.play's real window.
TEST_PACKAGES := xvfb
ENV ?= memory_9x9
EXPERIMENT ?= $(ENV)_default
# A short default run (5-8 min on a 2-core CPU with the default ResNet agent); drop the budget for the paper's 100M frames.
TRAIN_ARGS ?= --train_for_env_steps=20000

.PHONY: setup gl train test benchmarks clean-venv

setup: gl $(VENV)/.installed

gl:
	@if ldconfig -p | grep -q libEGL.so.1 && ldconfig -p | grep -q libOSMesa.so && ldconfig -p | grep -q libGL.so.1 \
		&& ldconfig -p | grep -q libgthread-2.0.so.0 && command -v Xvfb >/dev/null; then :; else \
		echo "Installing Debian packages for headless rendering and the window test: $(GL_PACKAGES) $(TEST_PACKAGES)"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(GL_PACKAGES) $(TEST_PACKAGES); fi

$(VENV)/.installed: requirements.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

train: setup
	$(PY) -m sf_maze.train --env=$(ENV) --experiment=$(EXPERIMENT) $(TRAIN_ARGS)

test: setup
	$(PY) -m pytest -q --durations=20 tests

# Every table in the README's Benchmarks section (long: tens of minutes on a 2-core CPU).
benchmarks: setup
	$(PY) benchmarks/env_speed.py --backend egl
	$(PY) benchmarks/amaze_speed.py
	$(PY) benchmarks/train_fps.py --impl fast reference
	$(PY) benchmarks/amaze_learning.py
	$(PY) benchmarks/dreamer_learning.py

clean-venv:
	rm -rf $(VENV)
