"""Memory Maze learning benchmark: the default LSTM agent on memory_9x9 beside random (and no memory).

Usage: python benchmarks/memory_learning.py [--frames=N] [--score_at N ...] [--seeds 1 2] [--no_memory]
           [--previous_recipe] [--standardised_advantages] [--bf16_learner] [--episodes=30] [--train_dir=DIR] [--out=DIR] [--plot_only]

For each agent (LSTM, plus `--use_rnn=False` with --no_memory) and seed it trains with the real CLI
(`python -m sf_maze.train`), scores the final checkpoint with `python -m sf_maze.evaluate` on
--episodes full episodes on fixed maze seeds, scores a uniform random policy on the same seeds, and
writes <out>/curve.png (episode return vs env frames, read from the runs' tensorboard summaries) and
<out>/table.md (the Markdown table it also prints).

Interrupted (Ctrl-C, SIGTERM, a crash), the same command continues: training resumes from the runs'
checkpoints (a finished run exits at once) and evaluations already written for the current
checkpoint are read back instead of rerun. A larger --frames continues the same runs further.
`--score_at 2000000 3000000` also stops at those budgets on the way and scores each (kept in the run
folder's memory_learning_scores.json, so the table shows every budget once scored).
`--previous_recipe` adds this repo's agent before the paper's recipe (DreamerV2 CNN, image only,
rollout 32, batch 256, entropy 0.01, plain V-trace, standardised advantages) on the same seeds: the A/B.
`--standardised_advantages` adds the paper's agent with only `--maze_normalize_advantages=True`, and
`--bf16_learner` with only `--maze_learner_bf16=True` (issue 21: does the faster learner learn alike?
It did, so the default is now `auto`; a new run of the default arm gets bfloat16 wherever the learner's
device has it, while runs begun in float32 resume in float32 from their config.json).
`--plot_only` draws the curve and the table from what the runs hold now (a run still training
included), without training or scoring anything; a missing --train_dir is one line and exit code 2.
"""
import argparse
import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from common.cli import input_errors_exit_2  # noqa: E402
from common.files import write_atomic  # noqa: E402
from evaluation.plot import draw_curves, group_runs, read_curves as read_run_curves  # noqa: E402
from evaluation.runs import latest_checkpoints, reached_env_steps, require_folder  # noqa: E402
from sf_maze.evaluate import DEFAULT_EVAL_SEED, file_stem  # noqa: E402

log = logging.getLogger("memory_learning")

# The LSTM agent trained memory_9x9 at 301 frames/s (start-up included) on this project's quiet 2-core
# machine (docs/results/memory_learning.md: a 1M-frame run in 55 min), so ~2 h of it is ~2M frames. A second agent
# (--no_memory) doubles the time. Other jobs on the cores slow it down: ~50 frames/s at load average 12.
DEFAULT_FRAMES = 2_000_000
# Sample Factory writes the episode return (`reward/reward`) as a mean over the last --stats_avg
# episodes and only once that many have ended (default 100). Memory Maze 9x9 episodes are 1000
# frames, so 100 would hide the first ~100k frames and smear the curve over 10% of a 1M run.
STATS_AVG = 20
SPEED_FILE = "memory_learning_speed.json"
# A run stops at the first batch past its budget: its final checkpoint lies this close above it.
STEPS_PAST_BUDGET = 100_000
# Budget -> evaluation report, paths relative to the run folder so that a copied run folder (committed
# to pretrained/, resumed on another machine) still finds its scores; absolute paths are read as they are.
SCORES_FILE = "memory_learning_scores.json"
PREVIOUS_RECIPE = ["--maze_encoder=cnn", "--maze_last_action_reward=False", "--rollout=32", "--batch_size=256",
                   "--exploration_loss_coeff=0.01", "--adam_eps=1e-6", "--maze_vtrace_lambda=1.0",
                   "--maze_normalize_advantages=True"]
# The one change of the recipe the A/B leaves open: Sample Factory's per-minibatch standardisation.
STANDARDISED = "LSTM, advantages standardised"
BF16 = "LSTM, bfloat16 learner encoder"
VARIANTS = {"LSTM": [], "no memory": ["--use_rnn=False"], "LSTM, previous recipe": PREVIOUS_RECIPE,
            STANDARDISED: ["--maze_normalize_advantages=True"], BF16: ["--maze_learner_bf16=True"]}
SHORT_NAMES = {"LSTM": "lstm", "no memory": "nomem", "LSTM, previous recipe": "prev", STANDARDISED: "stdadv",
               BF16: "bf16"}


def paper_note(env: str) -> str:
    """What the paper says about the budget this benchmark's runs sit at, from evaluation.references."""
    from evaluation.references import (AGENTS, CURVE_POINTS, FIGURE_LABEL, ONLINE_BUDGET, ONLINE_SEEDS, PAPER,
                                    format_value, maze_size, steps_text)

    size = maze_size(env)
    if size is None:
        return f"No published references for {env} ({PAPER} covers Memory Maze only)."
    scores = ", ".join(f"{name} {format_value(values[size])}" for name, values in AGENTS.items())
    note = (f"{PAPER}, Table 3, {size}: {scores} after {steps_text(ONLINE_BUDGET)} env steps "
            f"(± std over {ONLINE_SEEDS} seeds).")
    for name, points in CURVE_POINTS.get(size, {}).items():
        note += (f" {name} learning curve ({FIGURE_LABEL}, Figure A.1/A.2): "
                 + ", ".join(f"{value:g} at {steps_text(step)}" for step, value in points.items()) + ".")
    return note


def experiment_name(env: str, variant: str, seed: int) -> str:
    """No budget in the name: a rerun with a larger --frames continues the same run."""
    return f"{env}_{SHORT_NAMES[variant]}_seed{seed}"


class StopRequested(Exception):
    def __init__(self, exit_code: int):
        super().__init__(f"stopped with exit code {exit_code}")
        self.exit_code = exit_code


def run_streaming(command: List[str], log_path: str, show: Optional[str] = None) -> int:
    """Runs `command` with its output appended to log_path; lines containing `show` are echoed as
    progress. SIGTERM or SIGINT to this script reach the child as one SIGTERM (a training run saves its
    checkpoint and stops; a second SIGINT would make it stop without saving); StopRequested then."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    environment = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with open(log_path, "a") as log_file:
        log_file.write(f"\n$ {' '.join(command)}\n")
        log_file.flush()
        child = subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, bufsize=1)
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}

        def forward(_signum, _frame):
            child.send_signal(signal.SIGTERM)

        for s in previous:
            signal.signal(s, forward)
        try:
            for line in child.stdout:
                log_file.write(line)
                if show and show in line:
                    # from the marker on, without the logger's prefix and colour codes
                    print("   " + line[line.index(show):].split("\x1b")[0].strip(), flush=True)
            status = child.wait()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    if status in (130, 143) or status < 0:  # the run's own "stopped by a signal", or killed by one
        raise StopRequested(status if status > 0 else 128 - status)
    return status


def log_tail(path: str, chars: int = 3000) -> str:
    with open(path) as f:
        return f.read()[-chars:]


def train(args, variant: str, seed: int, frames: Optional[int] = None) -> dict:
    """Trains (or resumes) one run up to `frames` (args.frames by default); returns frames reached and the
    last training call's fps (kept in the run folder, so a rerun that only re-scores or re-plots still
    reports it)."""
    frames = args.frames if frames is None else frames
    experiment = experiment_name(args.env, variant, seed)
    run_dir = os.path.join(args.train_dir, experiment)
    command = [sys.executable, "-m", "sf_maze.train", f"--env={args.env}", f"--experiment={experiment}",
               f"--train_dir={args.train_dir}", f"--seed={seed}", f"--train_for_env_steps={frames}",
               f"--stats_avg={STATS_AVG}", *VARIANTS[variant], *args.train_args]
    before, start = reached_env_steps(run_dir), time.time()
    if before >= frames:
        log.info("%s: %d frames reached before, nothing to train", experiment, before)
        speed = read_json(os.path.join(run_dir, SPEED_FILE))
        fps = speed.get("fps") if speed.get("frames_after") == before else None
        return dict(experiment=experiment, frames=before, fps=fps)
    log.info("%s: training %d -> %d frames (log: %s)", experiment, before, frames,
             os.path.join(run_dir, "memory_learning_train.log"))
    status = run_streaming(command, os.path.join(run_dir, "memory_learning_train.log"), show="Fps is")
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {status}:\n"
                           f"{log_tail(os.path.join(run_dir, 'memory_learning_train.log'))}")
    seconds, after = time.time() - start, reached_env_steps(run_dir)
    fps = (after - before) / seconds if seconds > 0 else None
    log.info("%s: %d frames, %.0f s this call (%.1f frames/s including start-up)", experiment, after, seconds, fps)
    write_atomic(os.path.join(run_dir, SPEED_FILE), json.dumps(
        dict(frames_before=before, frames_after=after, seconds=seconds, fps=fps)).encode())
    return dict(experiment=experiment, frames=after, fps=fps, seconds=seconds)


def read_json(path: str) -> dict:
    """The JSON object at path, or {} when it is missing, cut short or not an object."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def final_checkpoint(run_dir: str) -> str:
    checkpoints = [p for p in latest_checkpoints(run_dir) if not os.path.basename(p).startswith("best")]
    if not checkpoints:
        raise RuntimeError(f"{run_dir} has no checkpoint to evaluate")
    return checkpoints[-1]


def read_report(path: str, episodes: int) -> Optional[dict]:
    """An evaluation JSON written before, or None when missing, cut short by a kill, or different."""
    report = read_json(path)
    return report if report.get("episodes") == episodes and report.get("full_episodes") else None


def random_report_path(args) -> str:
    return os.path.join(args.train_dir, "eval_random", file_stem(args.env, "random", args.episodes, args.eval_seed, None) + ".json")


def evaluate_random(args) -> dict:
    """The uniform random policy on the evaluation seeds, measured once (sf_maze.evaluate --random)."""
    path = random_report_path(args)
    report = read_report(path, args.episodes)
    if report is None:
        log.info("random policy: %d episodes on seeds %d..", args.episodes, args.eval_seed)
        command = [sys.executable, "-m", "sf_maze.evaluate", "--random", f"--env={args.env}",
                   f"--train_dir={args.train_dir}", f"--episodes={args.episodes}", f"--num_envs={args.num_envs}",
                   f"--eval_seed={args.eval_seed}"]
        if run_streaming(command, os.path.join(args.train_dir, "eval_random", "evaluate.log")) != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{log_tail(os.path.join(args.train_dir, 'eval_random', 'evaluate.log'))}")
        report = read_report(path, args.episodes)
    else:
        log.info("random policy: read %s", path)
    return report


def evaluate_run(args, experiment: str, budget: Optional[int] = None) -> Optional[dict]:
    """The run's final checkpoint on the evaluation seeds (sf_maze.evaluate); reused if already scored.

    With a budget, the score is the one recorded for that budget in the run's SCORES_FILE; a budget
    the run passed before it was scored there gets None (its checkpoint is gone: Sample Factory keeps
    the last few only)."""
    run_dir = os.path.join(args.train_dir, experiment)
    index_path = os.path.join(run_dir, SCORES_FILE)
    index = read_json(index_path)
    if budget is not None and str(budget) in index:
        report = read_report(os.path.join(run_dir, index[str(budget)]), args.episodes)
        if report is not None:
            return report
    checkpoint = final_checkpoint(run_dir)
    if budget is not None and checkpoint_env_steps(checkpoint) >= budget + STEPS_PAST_BUDGET:
        log.warning("%s: no score at %d frames (the run passed it before this benchmark scored it)", experiment, budget)
        return None
    label = os.path.splitext(os.path.basename(checkpoint))[0]
    path = os.path.join(run_dir, "eval", file_stem(args.env, label, args.episodes, args.eval_seed, None) + ".json")
    report = read_report(path, args.episodes)
    if report is None:
        log.info("%s: scoring %s on %d episodes", experiment, label, args.episodes)
        command = [sys.executable, "-m", "sf_maze.evaluate", f"--env={args.env}", f"--experiment={experiment}",
                   f"--train_dir={args.train_dir}", f"--episodes={args.episodes}", f"--num_envs={args.num_envs}",
                   f"--eval_seed={args.eval_seed}"]
        if run_streaming(command, os.path.join(run_dir, "eval", "evaluate.log")) != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{log_tail(os.path.join(run_dir, 'eval', 'evaluate.log'))}")
        report = read_report(path, args.episodes)
        if report is None:
            raise RuntimeError(f"sf_maze.evaluate did not write {path}")
    else:
        log.info("%s: read %s", experiment, path)
    if budget is not None:
        write_atomic(index_path, json.dumps(dict(index, **{str(budget): os.path.relpath(path, run_dir)}), indent=1).encode())
    return report


def random_score(args) -> dict:
    """The random policy's score written before (--plot_only scores nothing)."""
    path = random_report_path(args)
    report = read_report(path, args.episodes)
    if report is None:
        raise RuntimeError(f"no random-policy score at {path} yet: run the benchmark once without --plot_only")
    return report


def recorded_run(args, variant: str, seed: int, budget: int) -> dict:
    """The score a run recorded for a budget (report None when it has none yet), without training."""
    experiment = experiment_name(args.env, variant, seed)
    run_dir = os.path.join(args.train_dir, experiment)
    index = read_json(os.path.join(run_dir, SCORES_FILE))
    report = read_report(os.path.join(run_dir, index[str(budget)]), args.episodes) if str(budget) in index else None
    frames = report["checkpoint_env_steps"] if report else None
    speed = read_json(os.path.join(run_dir, SPEED_FILE))
    fps = speed.get("fps") if frames is not None and speed.get("frames_after") == frames else None
    return dict(experiment=experiment, frames=frames, fps=fps, variant=variant, seed=seed, report=report)


def checkpoint_env_steps(path: str) -> int:
    """Sample Factory names checkpoints checkpoint_<train step>_<env steps>.pth."""
    return int(os.path.splitext(os.path.basename(path))[0].split("_")[-1])


def _num(x: Optional[float], digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def table_row(agent: str, frames: str, seeds: str, score: dict, fps: str = "-") -> str:
    """One Markdown row from one entry of sf_maze.evaluate's `scores`."""
    r, h = score["returns"], score["half_split"]
    return (f"| {agent} | {frames} | {seeds} | {_num(r['mean'])} ± {_num(r['std'])} | "
            f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}] | {_num(h['first'], 4)} → {_num(h['second'], 4)} | {fps} |")


def format_table(runs: Sequence[dict], random_report: dict, episodes: int, eval_seed: int) -> str:
    """runs: dicts with variant, seed, frames, fps and report (sf_maze.evaluate's JSON)."""
    lines = [f"Scores: {episodes} full episodes per agent on maze seeds {eval_seed}..{eval_seed + episodes - 1} "
             "(the same for every row); mean ± std of the episode return, 95% t-interval of the mean, "
             "reward per step in the first → second half of the episodes.", "",
             "| agent | frames trained | seed | return mean ± std | 95% CI of mean | reward/step 1st → 2nd half "
             "| train frames/s |", "|---|---:|---|---:|---|---|---:|"]
    for run in runs:
        fps = _num(run["fps"], 0) if run.get("fps") else "-"
        lines.append(table_row(run["variant"], f"{run['frames']:,}", str(run["seed"]), run["report"]["scores"]["agent"], fps))
    lines.append(table_row("uniform random (same maze seeds)", "-", "-", random_report["scores"]["random"]))
    return "\n".join(lines)


def read_curves(run_dirs: Sequence[str], max_frames: Optional[int] = None) -> Dict[str, list]:
    """{group label: [(frames, returns), ...]} from the runs' tensorboard `reward/reward`, grouped by
    evaluation.plot (runs that differ only in seed share a group); runs without points yet are left out.
    Points past max_frames are cut: a run trained on beyond this call's budget (the 5M run in a 2M
    A/B) would otherwise show frames its row in the table does not."""
    curves, skipped = read_run_curves(group_runs(run_dirs), max_steps=max_frames)
    for reason in skipped:
        log.warning("no curve: %s", reason)
    return curves


def plot_learning_curve(curves: Dict[str, list], out_path: str, env: str, random_mean: Optional[float],
                        title: str) -> Optional[str]:
    """evaluation.plot's curves (mean ± std band over seeds vs env frames, the paper's scores) with the
    random policy's evaluation score, the points read off the paper's learning curves, and a second
    panel on the runs' own scale; None when no run has a point yet."""
    if not curves:
        return None
    return draw_curves(curves, out_path, env, title=title, random_return=random_mean, figure_points=True,
                       own_scale_panel=True, ylabel=f"episode return (mean of last {STATS_AVG} training episodes)")


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def parse_args(argv: Optional[List[str]] = None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="memory_9x9", help="Env to train and score (tests use amaze_7x7)")
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help="Env frames to train each run for")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1], help="Training seeds (one run each)")
    parser.add_argument("--score_at", type=int, nargs="+", default=[],
                        help="Budgets below --frames at which to stop on the way and score each run too")
    parser.add_argument("--no_memory", action="store_true", help="Also train and score --use_rnn=False")
    parser.add_argument("--previous_recipe", action="store_true",
                        help="Also train and score the agent before the paper's recipe (the A/B)")
    parser.add_argument("--standardised_advantages", action="store_true",
                        help="Also train and score the paper's agent with --maze_normalize_advantages=True")
    parser.add_argument("--bf16_learner", action="store_true",
                        help="Also train and score the paper's agent with --maze_learner_bf16=True")
    parser.add_argument("--episodes", type=int, default=30, help="Full evaluation episodes per agent")
    parser.add_argument("--num_envs", type=int, default=2, help="Envs stepped in parallel during evaluation")
    parser.add_argument("--eval_seed", type=int, default=DEFAULT_EVAL_SEED, help="Episode i runs on maze seed eval_seed + i")
    parser.add_argument("--train_dir", default=os.path.join(REPO, "train_dir"))
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "results", "memory_learning"),
                        help="Folder for curve.png and table.md")
    parser.add_argument("--plot_only", action="store_true",
                        help="Draw curve.png and table.md from the runs as they are: no training, no scoring")
    parser.add_argument("--train_args", nargs=argparse.REMAINDER, default=[],
                        help="Everything after this goes to sf_maze.train as is (e.g. --num_workers=16)")
    args = parser.parse_args(argv)
    for name in ("frames", "episodes", "num_envs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name}={getattr(args, name)}; pass a positive integer")
    if any(budget < 1 or budget > args.frames for budget in args.score_at):
        parser.error(f"--score_at {' '.join(map(str, args.score_at))}; each must lie in 1..--frames={args.frames}")
    if args.episodes < 2:
        parser.error("--episodes must be at least 2 (a standard deviation needs two)")
    args.train_dir = os.path.abspath(args.train_dir)
    return args


@input_errors_exit_2("memory_learning")
def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("tensorboard").setLevel(logging.WARNING)  # its event reader logs every file at INFO
    args = parse_args(argv)
    if args.plot_only:  # it only reads the runs: a missing --train_dir is a typo, never made here
        require_folder(args.train_dir, "--train_dir")
    variants = ["LSTM"] + (["LSTM, previous recipe"] if args.previous_recipe else []) + \
        ([STANDARDISED] if args.standardised_advantages else []) + ([BF16] if args.bf16_learner else []) + \
        (["no memory"] if args.no_memory else [])
    budgets = sorted(set(args.score_at) | {args.frames})
    try:
        random_report = random_score(args) if args.plot_only else evaluate_random(args)
        trained = []
        for budget in budgets:  # every run to a budget, scored, before any run goes on to the next
            for variant in variants:
                for seed in args.seeds:
                    if args.plot_only:
                        run = recorded_run(args, variant, seed, budget)
                    else:
                        run = dict(train(args, variant, seed, budget), variant=variant, seed=seed)
                        run["report"] = evaluate_run(args, run["experiment"], budget)
                        scored = (run["report"] or {}).get("checkpoint_env_steps")
                        if scored is not None and scored != run["frames"]:
                            # a budget passed in an earlier call: its row shows the checkpoint scored there
                            run.update(frames=run["report"].get("checkpoint_env_steps"), fps=None)
                    if run["report"] is not None:
                        trained.append(run)
    except (StopRequested, KeyboardInterrupt) as stop:
        log.warning("Interrupted; run the same command again to continue from the checkpoints")
        return getattr(stop, "exit_code", 130)
    except RuntimeError as error:
        print(f"memory_learning: error: {error}", file=sys.stderr)
        return 1

    commit, load = git_commit(), os.getloadavg()
    seeds = " ".join(map(str, args.seeds))
    run_dirs = [path for path in (os.path.join(args.train_dir, experiment_name(args.env, variant, seed))
                                  for variant in variants for seed in args.seeds) if os.path.isdir(path)]
    header = (f"**{args.env}**, commit `{commit}`, seeds {seeds}, {args.frames:,} frames per run, "
              f"{os.cpu_count()} CPUs, load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}. "
              f"Train frames/s: the last training call's, start-up included (`-`: not recorded).")
    if args.plot_only:
        header += " Drawn with --plot_only; frames reached: " + ", ".join(
            f"{os.path.basename(path)} {reached_env_steps(path):,}" for path in run_dirs) + "."
    table = format_table(trained, random_report, args.episodes, args.eval_seed)
    skipped = "" if args.no_memory else "\nNo-memory row (`--use_rnn=False`) skipped: pass --no_memory."
    curves = read_curves(run_dirs, max([args.frames] + [run["frames"] for run in trained]))
    curve_path = plot_learning_curve(curves, os.path.join(args.out, "curve.png"), args.env,
                                     random_report["scores"]["random"]["returns"]["mean"],
                                     f"{args.env}, commit {commit}, seeds {seeds}, {args.frames:,} frames per run")
    if curve_path:
        curve_path = os.path.basename(curve_path)  # beside table.md, which is committed: no machine paths in it
    curve_line = (f"\nLearning curve: {curve_path}" if curve_path else
                  f"\nNo learning curve yet: Sample Factory writes reward/reward after {STATS_AVG} episodes.")
    text = "\n".join([header, "", table, skipped, curve_line, "", paper_note(args.env), ""])
    write_atomic(os.path.join(args.out, "table.md"), text.encode())
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
