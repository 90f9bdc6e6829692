"""Pick a headless OpenGL backend for MuJoCo before anything imports it.

MuJoCo reads MUJOCO_GL once, when its rendering module is first imported, and a failed backend
cannot be swapped in-process; so each candidate is probed in a short subprocess and the winner is
exported, which spawned Sample Factory workers then inherit.
"""
import logging
import os
import subprocess
import sys

log = logging.getLogger(__name__)

BACKENDS = ("egl", "osmesa")
DEBIAN_PACKAGES = "libegl1 libegl-mesa0 libgl1-mesa-dri libosmesa6"

_PROBE = (
    "import mujoco\n"
    "ctx = mujoco.GLContext(8, 8)\n"
    "ctx.make_current()\n"
    "ctx.free()\n"
)


class NoRenderingBackendError(RuntimeError):
    pass


def probe_backend(backend: str, timeout: float = 60.0) -> str:
    """Returns '' if MUJOCO_GL=backend can create a context here, else the error's last line."""
    env = dict(os.environ, MUJOCO_GL=backend, PYOPENGL_PLATFORM=backend)
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if proc.returncode == 0:
        return ""
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit code {proc.returncode}"


def ensure_gl_backend() -> str:
    """Sets MUJOCO_GL to a working headless backend unless the user already chose one."""
    # llvmpipe (Mesa's software rasteriser, behind EGL and OSMesa on machines without a GPU) hands
    # every frame to a pool of raster threads; for 64x64 frames the hand-off costs more than the
    # drawing, and beside other busy processes the pool only contends for cores. 0 draws in the
    # calling thread: same pixels (tests/test_fast_env.py), see benchmarks/env_speed.py for the gain.
    os.environ.setdefault("LP_NUM_THREADS", "0")
    chosen = os.environ.get("MUJOCO_GL")
    if chosen:
        return chosen
    errors = {}
    for backend in BACKENDS:
        error = probe_backend(backend)
        if not error:
            os.environ["MUJOCO_GL"] = backend
            # PyOpenGL must agree with MuJoCo, or dm_control fails to load the GL functions.
            os.environ.setdefault("PYOPENGL_PLATFORM", backend)
            log.debug("MUJOCO_GL=%s", backend)
            return backend
        errors[backend] = error
    tried = "; ".join(f"MUJOCO_GL={b}: {e}" for b, e in errors.items())
    raise NoRenderingBackendError(
        f"No headless OpenGL backend works on this machine ({tried}). "
        f"Install the Debian packages: apt-get install {DEBIAN_PACKAGES} (or run `make setup`), "
        "or set MUJOCO_GL to a backend that works."
    )
