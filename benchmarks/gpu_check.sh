#!/usr/bin/env bash
# The GPU check in one command, for a lent GPU machine (benchmarks/gpu_check.py --help says what it
# measures). There, after the wheels are set up:
#   bash .whl/setup-remote.sh && export PYTHONPATH=/tmp/site:$PWD MUJOCO_GL=egl PYTHONUNBUFFERED=1 && \
#     bash benchmarks/gpu_check.sh
# Results: $OUT/gpu_check.json and $OUT/gpu_check.md ($OUT: the device tool's folder; ./gpu_check_out
# when unset). Arguments go to gpu_check.py (--quick, --cpu-fallback, --budget=S, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
# The project's venv where there is one (a dev machine); the lent machine has only python3.
python=${PYTHON:-python3}
if [ -z "${PYTHON:-}" ] && [ -x .venv/bin/python ]; then python=.venv/bin/python; fi
export PYTHONUNBUFFERED=1 OUT="${OUT:-gpu_check_out}"
# gpu_check.py keeps to its --budget (420 s) by itself; this is the backstop for a hang outside its
# caps, at 440 s. The files it rewrote after each part stay.
exec timeout --signal=TERM --kill-after=15 440 "$python" benchmarks/gpu_check.py "$@"
