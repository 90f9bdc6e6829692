"""evaluation.play in a real X window (Xvfb with Mesa, as a desktop without a GPU): the view renders
through a backend that works beside pygame's window, and a scripted episode plays and records.

MuJoCo's EGL context died there with `X_GLXMakeCurrent BadAccess` as the window opened, and GLFW
rendered only the first frame (issue 23).
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

# Each test opens a real X window (Xvfb) and plays a scripted episode in a subprocess (~5-20 s each).
pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def x_display():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (make setup installs it)")
    read_end, write_end = os.pipe()
    # -displayfd: Xvfb picks a free display number and writes it once it accepts clients.
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                              pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    assert number, "Xvfb did not start"
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


# MUJOCO_GL as a user's shell may have it: unset (the headless pick is EGL) or egl, which died as the
# window opened, or glfw (memory-maze's GUI advice), whose view froze after the first frame.
@pytest.mark.parametrize("mujoco_gl", [None, "egl", "glfw"])
def test_play_opens_a_window_under_x_and_plays_scripted_keys(tmp_path, x_display, mujoco_gl):
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "SDL_VIDEODRIVER")}
    env["DISPLAY"] = x_display
    if mujoco_gl:
        env["MUJOCO_GL"] = mujoco_gl
    keys = "up,up,up,left,up+right,none"
    run = subprocess.run([sys.executable, "-m", "evaluation.play", "--env=memory_9x9_extraobs", f"--keys={keys}",
                          "--seed=3", f"--out={tmp_path}", "--size=128", "--show_map"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "rendering with MUJOCO_GL=osmesa" in run.stdout, run.stdout
    [npz] = [f for f in os.listdir(tmp_path) if f.endswith(".npz")]
    episode = np.load(tmp_path / npz)
    assert episode["image"].shape == (7, 64, 64, 3)
    assert episode["action"][1:].argmax(1).tolist() == [1, 1, 1, 2, 5, 0]
    assert not np.array_equal(episode["agent_pos"][0], episode["agent_pos"][3])
    assert all(not np.array_equal(a, b) for a, b in zip(episode["image"][:5], episode["image"][1:6])), \
        "every move changes the view (not a frozen first frame)"
