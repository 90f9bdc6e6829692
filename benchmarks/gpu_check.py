"""One check for a lent GPU machine: what the GPU buys sf-maze, in under 8 minutes in all.

    bash benchmarks/gpu_check.sh [--quick] [--out=DIR]      (OUT=DIR in the environment works too)

Writes DIR/gpu_check.json and DIR/gpu_check.md (DIR: --out, else $OUT, else ./gpu_check_out) with
one row per measurement:
  (a) env steps/s per core: one fast memory_9x9 env per process, random actions, one process per
      core, ~30 s; rendered by EGL on the NVIDIA GPU, then by Mesa's llvmpipe on the CPU (EGL with
      only Mesa's vendor file, else MUJOCO_GL=osmesa). Each backend's renderer string is probed first.
  (b) Sample Factory training frames/s on memory_9x9, --num_workers=<cores>, --device=gpu, the
      project's default agent, ~2.5 min with start-up (benchmarks/train_fps.py's steady-state FPS),
      rendering with the faster backend of (a).
  (c) Dreamer's memory_maze preset, gradient steps/s on CUDA: one actor, the learner as fast as it
      can, ~60 s window (benchmarks/dreamer_speed.py's measure_row).
  (d) hours for 100M frames at (b)'s rate.
Each part has its own time cap and the whole run --budget s; a part that cannot run (no CUDA, no
NVIDIA EGL device, out of time, an error) gets a row saying why instead. Without CUDA (b)-(d) read
"no CUDA (torch.cuda.is_available() is False)" unless --cpu-fallback runs (b) and (c) on the CPU,
to check their code paths. --quick shortens every part to seconds (and, for the CPU fallback, uses
small batches and a tiny Dreamer model) to check the script itself. Both files are rewritten after
each part, so a run cut short still leaves what it measured. Exit 0 unless a row failed.
"""
import argparse
import glob
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(REPO, "benchmarks")
sys.path[:0] = [REPO, BENCHMARKS]  # spawned env workers unpickle train_fps's worker by module name

from common.cli import check_at_least, check_writable_folder, input_errors_exit_2  # noqa: E402
from common.processes import load_average, usable_cpus  # noqa: E402

ENV = "memory_9x9"
FRAMES = 100_000_000
NO_CUDA = "no CUDA (torch.cuda.is_available() is False)"
NO_NVIDIA_EGL = "no NVIDIA EGL device"
VENDOR_DIRS = ("/usr/share/glvnd/egl_vendor.d", "/etc/glvnd/egl_vendor.d", "/usr/local/share/glvnd/egl_vendor.d")
# Seconds per part, full and --quick: measuring, and the slot the part may not outlast (start-up and
# stopping included). The slots add up to 410 s, which leaves the setup and Python's start-up room
# in the 8 minutes.
PLAN = {
    False: dict(env_s=30, env_slot=60, train_s=130, train_slot=160, dreamer_s=60, dreamer_slot=130),
    True: dict(env_s=3, env_slot=60, train_s=80, train_slot=105, dreamer_s=10, dreamer_slot=120),
}
STOP_GRACE = 25  # s a trainer gets after SIGTERM to save and exit before it is killed
PROBE = ("import mujoco\nctx = mujoco.GLContext(8, 8)\nctx.make_current()\nfrom OpenGL import GL\n"
         "print(GL.glGetString(GL.GL_RENDERER).decode())\nctx.free()\n")
# --quick with --cpu-fallback: batches that a 2-core CPU fills within seconds, a tiny Dreamer.
QUICK_TRAIN = ["--rollout=20", "--batch_size=160"]
QUICK_DREAMER = ["--deter=32", "--stoch=4", "--classes=4", "--hidden=32", "--cnn_depth=4", "--mlp_units=32",
                 "--mlp_layers=1", "--batch_size=2", "--batch_length=8", "--horizon=5", "--amp=False"]


def one_line(text, limit=300) -> str:
    """The last non-empty line of a message or log, for a table cell."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "(no output)")[-limit:]


def row(row_id, part, name, unit, value=None, status="ok", detail=""):
    return dict(id=row_id, part=part, name=name, unit=unit, value=value, status=status, detail=detail)


class Clock:
    """The run's deadline and each part's slot within it."""

    def __init__(self, budget: float):
        self.end = time.monotonic() + budget

    def slot(self, seconds: float) -> float:
        """Monotonic time at which a part of `seconds` must be done (never past the deadline)."""
        return min(self.end, time.monotonic() + seconds)

    @staticmethod
    def left(until: float) -> float:
        return until - time.monotonic()


def cuda_state():
    """(available, text): the GPU's name and torch's versions, or why there is no CUDA."""
    try:
        import torch
    except Exception as error:  # a broken torch install must still leave a report
        return False, f"no CUDA (torch does not import: {one_line(error)})"
    if not torch.cuda.is_available():
        return False, NO_CUDA
    return True, f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}"


# ---- (a) rendering backends ----------------------------------------------------------------------

def vendor_file(pattern: str):
    for folder in VENDOR_DIRS:
        found = sorted(glob.glob(os.path.join(folder, pattern)))
        if found:
            return found[0]
    return None


def nvidia_vendor_file(scratch: str):
    """(path, '') of an EGL vendor file that loads only NVIDIA's driver, or (None, why not).

    Containers often mount libEGL_nvidia without glvnd's vendor file: then write one."""
    found = vendor_file("*nvidia*.json")
    if found:
        return found, ""
    try:
        listing = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        listing = ""
    if "libEGL_nvidia.so.0" not in listing:
        return None, "neither an NVIDIA EGL vendor file in " + ", ".join(VENDOR_DIRS) + " nor libEGL_nvidia.so.0"
    path = os.path.join(scratch, "10_nvidia.json")
    with open(path, "w") as f:
        json.dump({"file_format_version": "1.0.0", "ICD": {"library_path": "libEGL_nvidia.so.0"}}, f)
    return path, ""


def egl_vars(vendor: str) -> dict:
    return {"MUJOCO_GL": "egl", "PYOPENGL_PLATFORM": "egl", "__EGL_VENDOR_LIBRARY_FILENAMES": vendor}


def probe_renderer(env_vars: dict, timeout: float):
    """(GL_RENDERER, '') of a context made with these variables, or ('', the error's last line)."""
    try:
        proc = subprocess.run([sys.executable, "-c", PROBE], env=dict(os.environ, **env_vars), capture_output=True,
                              text=True, timeout=max(timeout, 1))
    except subprocess.TimeoutExpired:
        return "", f"the GL probe did not finish within {timeout:.0f} s"
    if proc.returncode != 0:
        return "", one_line(proc.stderr or proc.stdout)
    return one_line(proc.stdout), ""


def env_rate(env_vars: dict, processes: int, seconds: float, timeout: float) -> float:
    """Env steps/s per process, `processes` processes of one env each, rendering with env_vars."""
    from train_fps import env_only_fps

    saved = {key: os.environ.get(key) for key in env_vars}
    os.environ.update(env_vars)  # spawned workers take the environment as it is when they start
    try:
        return env_only_fps(ENV, processes, 1, seconds, False, timeout=timeout) / processes
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def measure_backend(row_id, name, env_vars, must_render, missing, cores, plan, clock) -> dict:
    """A row of (a): probe the renderer these variables give (it must name `must_render`), then run
    the env processes; `missing` leads the row when the backend is not there."""
    until = clock.slot(plan["env_slot"])
    renderer, error = probe_renderer(env_vars, min(20, clock.left(until)))
    if not error and must_render.lower() not in renderer.lower():
        error = f"the context renders with {renderer}"
    if error:
        return row(row_id, "a", name, "env steps/s per core", status="skipped", detail=f"{missing}: {error}")
    left = clock.left(until)
    if left < plan["env_s"] + 5:
        return row(row_id, "a", name, "env steps/s per core", status="skipped", detail="out of time")
    try:
        rate = env_rate(env_vars, cores, plan["env_s"], left)
    except Exception as error:
        return row(row_id, "a", name, "env steps/s per core", status="failed", detail=one_line(error))
    return row(row_id, "a", name, "env steps/s per core", value=rate,
               detail=f"{cores} processes x 1 env, {plan['env_s']} s; renderer {renderer}; "
                      + " ".join(f"{k}={v}" for k, v in env_vars.items()))


def part_a(cores, plan, clock, scratch):
    """The NVIDIA EGL row and the Mesa llvmpipe row, and the variables of the faster one (or None)."""
    vendor, why = nvidia_vendor_file(scratch)
    name = "(a) env steps/s per core, EGL on the NVIDIA GPU"
    if vendor is None:
        nvidia = row("a_egl_nvidia", "a", name, "env steps/s per core", status="skipped", detail=f"{NO_NVIDIA_EGL} ({why})")
    else:
        nvidia = measure_backend("a_egl_nvidia", name, egl_vars(vendor), "nvidia", NO_NVIDIA_EGL, cores, plan, clock)
    name = "(a) env steps/s per core, Mesa llvmpipe (CPU rendering)"
    mesa_vendor = vendor_file("50_mesa.json")
    if mesa_vendor:
        mesa_vars, missing = egl_vars(mesa_vendor), "no Mesa llvmpipe"
    else:  # no Mesa EGL: OSMesa is llvmpipe too
        mesa_vars = {"MUJOCO_GL": "osmesa", "PYOPENGL_PLATFORM": "osmesa"}
        missing = f"no Mesa llvmpipe (no 50_mesa.json in {', '.join(VENDOR_DIRS)}; MUJOCO_GL=osmesa fails)"
    mesa_vars["LIBGL_ALWAYS_SOFTWARE"] = "1"  # llvmpipe even where Mesa has a hardware driver
    mesa = measure_backend("a_mesa_llvmpipe", name, mesa_vars, "llvmpipe", missing, cores, plan, clock)
    if nvidia["status"] == "ok" and mesa["status"] == "ok":
        nvidia["detail"] += f"; {nvidia['value'] / mesa['value']:.2f}x Mesa's"
    measured = [(r["value"], v) for r, v in ((nvidia, egl_vars(vendor) if vendor else None), (mesa, mesa_vars))
                if r["status"] == "ok"]
    best = max(measured, key=lambda item: item[0])[1] if measured else None
    return [nvidia, mesa], best


# ---- (b) Sample Factory training -----------------------------------------------------------------

def stop(process, grace: float) -> None:
    """SIGTERM (the trainer saves and stops its workers), then SIGKILL its whole process group if it
    is still there after `grace` s (while the leader lives, that group id is surely its own)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def training_row(device, cores, plan, clock, render_vars, quick, out=None) -> dict:
    from sf_maze.params import ENVS_PER_WORKER
    from train_fps import steady_state_fps, training_command

    name = f"(b) Sample Factory training frames/s, {ENV}, {cores} workers x {ENVS_PER_WORKER} envs, --device={device}"
    until = clock.slot(plan["train_slot"])
    window = min(plan["train_s"], clock.left(until) - STOP_GRACE)
    if window < 20:
        return row("b_sf_train", "b", name, "frames/s", status="skipped", detail="out of time")
    with tempfile.TemporaryDirectory(prefix="gpu_check_sf_") as train_dir:
        command = training_command(ENV, cores, ENVS_PER_WORKER, 10 ** 10, False, train_dir, device)
        command += ["--save_every_sec=100000", "--with_wandb=False"] + (QUICK_TRAIN if quick else [])
        log_path = os.path.join(train_dir, "train.log")
        with open(log_path, "w") as log:
            process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                       env=dict(os.environ, **(render_vars or {})), start_new_session=True)
            start = time.monotonic()
            try:
                process.wait(window)
            except subprocess.TimeoutExpired:
                pass
            finally:  # also when this check is stopped: leave no trainer behind
                ran, early = time.monotonic() - start, process.poll()
                stop(process, STOP_GRACE)
        with open(log_path) as f:
            text = f.read()
    if out:  # the whole log comes back with the report: the first look when a number is odd
        with open(os.path.join(out, "gpu_check_sf_train.log"), "w") as f:
            f.write(text)
    if early:  # it stopped by itself before the window closed (training runs until stopped)
        return row("b_sf_train", "b", name, "frames/s", status="failed",
                   detail=f"sf_maze.train exited {early} after {ran:.0f} s: {one_line(text)}")
    fps = steady_state_fps(text)
    if fps is None:
        return row("b_sf_train", "b", name, "frames/s", status="failed",
                   detail=f"too few trained batches in {ran:.0f} s for a steady-state FPS")
    rendering = render_vars.get("__EGL_VENDOR_LIBRARY_FILENAMES", render_vars.get("MUJOCO_GL")) if render_vars else \
        os.environ.get("MUJOCO_GL", "auto")
    return row("b_sf_train", "b", name, "frames/s", value=fps,
               detail=f"mean of the 10-s FPS reports after the first batch, {ran:.0f} s run incl. start-up; "
                      f"rendering: {rendering}" + ("; quick: --rollout=20 --batch_size=160" if quick else ""))


# ---- (c) Dreamer ---------------------------------------------------------------------------------

def dreamer_row(device, plan, clock, quick) -> dict:
    from dreamer_speed import measure_row

    name = f"(c) Dreamer memory_maze preset, gradient steps/s, --device={device}"
    until = clock.slot(plan["dreamer_slot"])
    timeout = clock.left(until) - STOP_GRACE
    if timeout < plan["dreamer_s"] + 10:
        return row("c_dreamer", "c", name, "gradient steps/s", status="skipped", detail="out of time")
    try:
        result = measure_row(ENV, 1, plan["dreamer_s"], device, 0, QUICK_DREAMER if quick else [], timeout,
                             stop_timeout=STOP_GRACE)
    except Exception as error:
        return row("c_dreamer", "c", name, "gradient steps/s", status="failed", detail=one_line(error))
    if "error" in result:
        return row("c_dreamer", "c", name, "gradient steps/s", status="failed", detail=one_line(result["error"]))
    bound = "fewer than one step in the window (a bound); " if result["grads"] == 0 else ""
    return row("c_dreamer", "c", name, "gradient steps/s", value=result["grad_per_s"] or 1 / result["window_s"],
               detail=f"{bound}{result['grads']} steps in {result['window_s']:.0f} s, 1 actor at "
                      f"{result['env_per_s']:.1f} env steps/s, --train_ratio=0 (as fast as it can)"
                      + ("; quick: a tiny model" if quick else ""))


def hours_row(training: dict) -> dict:
    name = "(d) hours for 100M frames at (b)'s rate"
    if training["status"] != "ok":
        reason = training["detail"] if training["detail"].startswith("no CUDA") else f"no (b) rate: {training['detail']}"
        return row("d_hours_100m", "d", name, "hours", status="skipped", detail=reason)
    return row("d_hours_100m", "d", name, "hours", value=FRAMES / training["value"] / 3600,
               detail=f"100M / {training['value']:.1f} frames/s")


# ---- report --------------------------------------------------------------------------------------

def markdown(report) -> str:
    m = report["machine"]
    lines = [f"# GPU check{' (quick)' if report['quick'] else ''}", "",
             f"{m['cores']} cores ({m['processor']}), {m['cuda']}; Python {m['python']}; load average at start "
             f"{m['load_start']}, now {m['load_now']}; {report['elapsed_s']:.0f} s so far", "",
             "| part | measurement | value | unit | status | detail |", "|---|---|---:|---|---|---|"]
    for r in report["rows"]:
        value = f"{r['value']:,.2f}" if r["value"] is not None else "-"
        lines.append(f"| {r['part']} | {r['name']} | {value} | {r['unit']} | {r['status']} | {r['detail']} |")
    return "\n".join(lines) + "\n"


def write(out: str, report) -> None:
    report["elapsed_s"] = time.monotonic() - report["_start"]
    report["machine"]["load_now"] = load_average()
    public = {k: v for k, v in report.items() if not k.startswith("_")}
    for name, text in (("gpu_check.json", json.dumps(public, indent=2) + "\n"), ("gpu_check.md", markdown(public))):
        tmp = os.path.join(out, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(out, name))


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None, help="folder for gpu_check.json and .md (default: $OUT, else ./gpu_check_out)")
    parser.add_argument("--quick", action="store_true", help="every part in seconds: checks the script, not the machine")
    parser.add_argument("--cpu-fallback", action="store_true",
                        help="without CUDA, still run (b) and (c) on the CPU (their rows then say --device=cpu)")
    parser.add_argument("--cores", type=int, default=None, help="processes for (a), workers for (b) (default: all usable)")
    parser.add_argument("--budget", type=float, default=420.0, help="seconds the whole check may take (default 420)")
    return parser.parse_args(argv)


@input_errors_exit_2("gpu_check.py")
def main(argv=None) -> int:
    args = parse_args(argv)
    check_at_least(1, cores=args.cores, budget=args.budget)
    out = args.out or os.environ.get("OUT") or "gpu_check_out"
    check_writable_folder("--out", out)
    os.makedirs(out, exist_ok=True)
    plan, clock, cores = PLAN[args.quick], Clock(args.budget), args.cores or usable_cpus()
    cuda, cuda_text = cuda_state()
    report = dict(_start=time.monotonic(), quick=args.quick, rows=[], machine=dict(
        cores=cores, processor=platform.processor() or platform.machine(), python=platform.python_version(),
        cuda=cuda_text, load_start=load_average()))
    print(f"gpu_check: {cores} cores, {cuda_text}; writing {out}/gpu_check.json and .md", flush=True)

    def add(*rows):
        report["rows"].extend(rows)
        for r in rows:
            value = "" if r["value"] is None else f"{r['value']:,.2f} {r['unit']}: "
            print(f"{r['name']}: {value}{r['status']} {r['detail']}", flush=True)
        write(out, report)

    # SIGTERM (the wrapper's backstop, a batch system) unwinds like Ctrl-C: every part's cleanup runs.
    signal.signal(signal.SIGTERM, _interrupt)
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as scratch:
        env_rows, best_render = part_a(cores, plan, clock, scratch)
        add(*env_rows)
        device = ("gpu", "cuda") if cuda else ("cpu", "cpu") if args.cpu_fallback else None
        if device is None:
            training = row("b_sf_train", "b", f"(b) Sample Factory training frames/s, {ENV}, --device=gpu", "frames/s",
                           status="skipped", detail=NO_CUDA if cuda_text == NO_CUDA else cuda_text)
            add(training)
            add(row("c_dreamer", "c", "(c) Dreamer memory_maze preset, gradient steps/s on CUDA", "gradient steps/s",
                    status="skipped", detail=training["detail"]))
        else:
            training = training_row(device[0], cores, plan, clock, best_render, args.quick, out)
            add(training)
            add(dreamer_row(device[1], plan, clock, args.quick))
        add(hours_row(training))
    print(markdown({k: v for k, v in report.items() if not k.startswith("_")}))
    return 1 if any(r["status"] == "failed" for r in report["rows"]) else 0


if __name__ == "__main__":
    sys.exit(main())
