"""benchmarks/gpu_check.sh --quick end to end on a CPU machine (~20-40 s on 2 cores): it exits 0, writes
both files, gives the CUDA parts their "no CUDA" rows and still measures the Mesa (CPU) rendering row."""
import json
import os
import subprocess
import sys

import pytest

# The one test here runs the GPU check's quick mode for real on the CPU (tens of seconds).
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NO_CUDA = "no CUDA (torch.cuda.is_available() is False)"


def test_quick_check_on_cpu_writes_rows_that_say_why(tmp_path):
    # Hide any GPU so that the CUDA rows read the same on every machine; the script the device
    # tool runs is the wrapper, so run that (with this interpreter).
    env = dict(os.environ, OUT=str(tmp_path), CUDA_VISIBLE_DEVICES="", PYTHON=sys.executable)
    result = subprocess.run(["bash", os.path.join(REPO, "benchmarks", "gpu_check.sh"), "--quick"], cwd=REPO,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    with open(tmp_path / "gpu_check.json") as f:
        report = json.load(f)
    rows = {r["id"]: r for r in report["rows"]}
    assert list(rows) == ["a_egl_nvidia", "a_mesa_llvmpipe", "b_sf_train", "c_dreamer", "d_hours_100m"]
    for row_id in ("b_sf_train", "c_dreamer", "d_hours_100m"):
        assert rows[row_id]["status"] == "skipped" and rows[row_id]["value"] is None
        assert rows[row_id]["detail"] == NO_CUDA
    nvidia = rows["a_egl_nvidia"]
    if nvidia["status"] != "ok":
        assert nvidia["value"] is None and nvidia["detail"].startswith("no NVIDIA EGL device")
    mesa = rows["a_mesa_llvmpipe"]
    assert mesa["status"] == "ok" and mesa["value"] > 0, mesa
    assert "llvmpipe" in mesa["detail"]  # the probed renderer is what the row claims
    md = (tmp_path / "gpu_check.md").read_text()
    assert "| a | (a) env steps/s per core, Mesa llvmpipe" in md and md.count("| skipped | no CUDA (torch.cuda") == 3
    assert report["quick"] is True and report["machine"]["cuda"] == NO_CUDA
