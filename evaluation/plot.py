"""Learning curves: `python -m evaluation.plot --train_dir=DIR [EXPERIMENT ...] [--out=curves.png]`;
reward over episode time: `python -m evaluation.plot --reward_windows A.json B.json --labels A B --out=w.png`.

Reads each experiment's tensorboard summaries (<train_dir>/<experiment>/.summary/0/), groups runs
whose config.json differ only in seed / name / bookkeeping, and draws per group the mean over
runs with a +-1 std band (a single run: its own line), return vs env steps, with the published
human and oracle scores as horizontal lines for Memory Maze.

Sample Factory writes the episode return as `reward/reward` only once its stats window is full
(--stats_avg episodes, 100 by default), so very short runs have no points under that tag.

--reward_windows draws, from evaluation reports (evaluation.report), each agent's reward per step in
each tenth of the episode with its 95% interval as a band, a random policy dotted when a report has one.
"""
import argparse
import glob
import json
import logging
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from common.cli import InputError
from evaluation.runs import read_saved_config, require_folder

log = logging.getLogger(__name__)

DEFAULT_TAG = "reward/reward"
# config.json entries that differ between runs of one setting without changing what is trained.
RUN_IDENTITY_KEYS = {
    "seed", "experiment", "train_dir", "command_line", "cli_args", "git_hash", "git_repo_name",
    "wandb_unique_id", "wandb_group", "wandb_job_type", "wandb_tags", "restart_behavior", "device",
    "load_checkpoint_kind", "train_for_env_steps", "train_for_seconds",
    "logdir", "steps",  # dreamer.train's folder and budget
    # bookkeeping that changes no learned value: how often and how many checkpoints, the learner's heap
    "keep_checkpoints", "save_every_sec", "save_best_every_sec", "save_milestones_sec", "maze_learner_keep_heap",
}
REFERENCE_STYLE = {"human": ("tab:green", "--"), "oracle": ("tab:purple", ":"), "IMPALA": ("tab:brown", "-."),
                   "IMPALA (400M)": ("tab:brown", (0, (1, 3))), "Dreamer": ("tab:olive", "-."),
                   "Dreamer (TBTT)": ("tab:gray", "-.")}


def summary_dir(run_dir: str, policy_index: int = 0) -> str:
    """Where a run's tensorboard events are: Sample Factory's <run>/.summary/<policy>, or the run folder
    itself when the events lie there (dreamer.train's logdir), so one plotter reads either trainer."""
    sample_factory = os.path.join(run_dir, ".summary", str(policy_index))
    if not os.path.isdir(sample_factory) and glob.glob(os.path.join(run_dir, "events.out.tfevents.*")):
        return run_dir
    return sample_factory


def read_scalars(run_dir: str, tag: str = DEFAULT_TAG, policy_index: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """(env steps, values) of `tag` in one experiment folder, sorted by step.

    A resumed run appends new event files and may repeat steps; the last value written wins.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path = summary_dir(run_dir, policy_index)
    if not os.path.isdir(path):
        raise InputError(f"No tensorboard summaries at {path}")
    accumulator = EventAccumulator(path, size_guidance={"scalars": 0})
    accumulator.Reload()
    tags = accumulator.Tags().get("scalars", [])
    if tag not in tags:
        raise InputError(f"No scalar {tag!r} in {path}; it has: {', '.join(sorted(tags)) or 'no scalars'}")
    by_step = {}
    for event in accumulator.Scalars(tag):
        by_step[int(event.step)] = float(event.value)
    steps = np.array(sorted(by_step), dtype=np.int64)
    return steps, np.array([by_step[s] for s in steps], dtype=np.float64)


def run_config(run_dir: str) -> dict:
    return read_saved_config(run_dir) or {}


def settings(config: dict) -> dict:
    """The config without what identifies a run (seed, name, folders, budget, wandb)."""
    return {k: v for k, v in config.items() if k not in RUN_IDENTITY_KEYS and not k.startswith("wandb")}


def config_key(config: dict) -> str:
    return json.dumps(settings(config), sort_keys=True, default=str)


def setting_differences(configs: Sequence[dict], shown: int = 3) -> List[str]:
    """Per config, ' [key=value, ...]' for the settings that differ between the configs ('' if none).

    A key that some configs lack (a flag newer than their run) is left out: Sample Factory fills it
    from today's default on load, which the config alone cannot tell.
    """
    configs = [settings(c) for c in configs]
    shared = set.intersection(*(set(c) for c in configs)) if configs else set()
    varying = sorted(k for k in shared if len({json.dumps(c[k], sort_keys=True, default=str) for c in configs}) > 1)
    suffixes = []
    for config in configs:
        items = [f"{k}={config[k]}" for k in varying[:shown]] + ([f"+{len(varying) - shown} more"] if len(varying) > shown else [])
        suffixes.append(f" [{', '.join(items)}]" if items else "")
    return suffixes


def group_label(run_dirs: Sequence[str]) -> str:
    """The runs' common name prefix (e.g. 'lstm' for lstm_seed1, lstm_seed2), else the first name."""
    names = [os.path.basename(os.path.normpath(d)) for d in run_dirs]
    prefix = os.path.commonprefix(names).rstrip("_-")
    for suffix in ("_seed", "_s", "-seed", "seed"):
        if prefix.endswith(suffix):
            prefix = prefix[: -len(suffix)].rstrip("_-")
    return prefix or names[0] + (f" (+{len(names) - 1})" if len(names) > 1 else "")


def group_runs(run_dirs: Sequence[str]) -> Dict[str, List[str]]:
    """{label: run dirs} with runs of equal config (ignoring RUN_IDENTITY_KEYS) together; with several
    groups each label names the settings in which they differ (`setting_differences`)."""
    groups: Dict[str, List[str]] = {}
    configs: Dict[str, dict] = {}
    for run_dir in run_dirs:
        config = run_config(run_dir)
        key = config_key(config)
        groups.setdefault(key, []).append(run_dir)
        configs.setdefault(key, config)
    labelled: Dict[str, List[str]] = {}
    suffixes = setting_differences(list(configs.values()))
    for dirs, suffix in zip(groups.values(), suffixes):
        label = group_label(dirs) + suffix
        while label in labelled:
            label += "'"
        labelled[label] = dirs
    return labelled


def mean_band(curves: Sequence[Tuple[np.ndarray, np.ndarray]], points: int = 200):
    """Mean and std of runs interpolated onto a common step grid over the range all runs cover."""
    if len(curves) == 1:
        steps, values = curves[0]
        return steps, values, np.zeros_like(values)
    lo = max(s[0] for s, _ in curves)
    hi = min(s[-1] for s, _ in curves)
    if hi <= lo:  # runs do not overlap: nothing to average honestly
        return np.array([]), np.array([]), np.array([])
    grid = np.linspace(lo, hi, points)
    stacked = np.stack([np.interp(grid, s, v) for s, v in curves])
    return grid, stacked.mean(axis=0), stacked.std(axis=0)


Curve = Tuple[np.ndarray, np.ndarray]  # one run: (env steps, values)
# Marker of each curve read off the paper's figures (evaluation.references.CURVE_POINTS)
FIGURE_POINT_MARKERS = {"IMPALA": "X", "Dreamer (TBTT)": "P"}


def read_curves(run_dirs_by_group: Dict[str, Sequence[str]], tag: str = DEFAULT_TAG,
                max_steps: Optional[int] = None) -> Tuple[Dict[str, List[Curve]], List[str]]:
    """({label: [(steps, values), one per run]}, why each run left out was left out).

    A run without `tag` or without a point is left out. Points past max_steps are cut: a run trained on
    beyond a budget would otherwise show steps that the budget's score does not cover.
    """
    curves: Dict[str, List[Curve]] = {}
    skipped = []
    for label, run_dirs in run_dirs_by_group.items():
        for run_dir in run_dirs:
            try:
                steps, values = read_scalars(run_dir, tag)
            except InputError as error:
                skipped.append(str(error))
                continue
            if max_steps is not None:
                keep = steps <= max_steps
                steps, values = steps[keep], values[keep]
            if len(steps):
                curves.setdefault(label, []).append((steps, values))
    return curves, skipped


def _draw_group(ax, label: str, runs: Sequence[Curve]) -> None:
    steps, mean, std = mean_band(runs)
    if not len(steps):
        log.warning("Runs of %s cover disjoint step ranges; plotting each", label)
        for i, (s, v) in enumerate(runs):
            ax.plot(s, v, label=f"{label} #{i}")
        return
    line, = ax.plot(steps, mean, label=f"{label} (n={len(runs)})")
    if len(runs) > 1:
        ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2)


def _draw_references(ax, env_name: str, figure_points: bool) -> None:
    """The paper's scores as horizontal lines; with figure_points, the points read off its learning
    curves as markers on a log steps axis (they reach 400M)."""
    from evaluation import references  # read at call time: tests swap its tables

    budgets = references.reference_budgets(env_name)
    for name, value in references.reference_values(env_name).items():
        color, style = REFERENCE_STYLE.get(name, ("grey", "-."))
        ax.axhline(value[0], color=color, linestyle=style, linewidth=1)
        label = f"{name} {references.format_value(value)}" + (f" ({budgets[name]})" if name in budgets else "")
        ax.annotate(label, (1.0, value[0]), xycoords=("axes fraction", "data"), ha="right",
                    va="bottom", fontsize=8, color=color)
    points_by_name = references.CURVE_POINTS.get(references.maze_size(env_name), {}) if figure_points else {}
    for name, points in points_by_name.items():
        # readings off the paper's figures, not its numbers: their own marker and label, no line
        ax.plot(list(points), list(points.values()), linestyle="none", marker=FIGURE_POINT_MARKERS.get(name, "o"),
                color=REFERENCE_STYLE.get(name, ("grey", "-."))[0], markersize=6,
                label=f"{name} ({references.FIGURE_LABEL})")
    if points_by_name:
        ax.set_xscale("log")


def draw_curves(curves: Dict[str, Sequence[Curve]], out_path: str, env_name: Optional[str] = None,
                tag: str = DEFAULT_TAG, title: Optional[str] = None, ylabel: Optional[str] = None,
                random_return: Optional[float] = None, figure_points: bool = False,
                own_scale_panel: bool = False) -> str:
    """Writes the PNG of {label: [(steps, values), one per run]}: per group the mean over runs with a
    +-1 std band (a single run: its own line).

    With the episode-return tag, env_name's published scores are horizontal lines (figure_points adds
    the points read off the paper's learning curves); random_return draws a random policy's score.
    own_scale_panel adds a second panel with the runs alone on their own scale: the paper's scores
    (23-35 on 9x9, after 100M steps) flatten an early curve into the random line.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common.files import atomic_path

    if not curves:
        raise InputError("Nothing to plot: no run has a point")
    fig, axes = plt.subplots(1, 2 if own_scale_panel else 1, figsize=(13, 5) if own_scale_panel else (8, 5),
                             squeeze=False)
    axes = list(axes[0])
    for axis in axes:
        for label, runs in curves.items():
            _draw_group(axis, label, runs)
        if random_return is not None:
            axis.axhline(random_return, color="black", linestyle=":", linewidth=1,
                         label=f"uniform random {random_return:.2f}")
    if tag == DEFAULT_TAG and env_name:
        _draw_references(axes[0], env_name, figure_points)
    titles = [title or (f"{env_name}: {tag}" if env_name else tag), "the same runs on their own scale"]
    for axis, text in zip(axes, titles):
        axis.set_xlabel("env steps")
        axis.set_ylabel(ylabel or ("episode return" if tag == DEFAULT_TAG else tag))
        axis.set_title(text, fontsize=9 if own_scale_panel else None)
        axis.grid(alpha=0.3)
        axis.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    with atomic_path(out_path) as tmp:  # a reader polling the PNG never sees half of it
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return out_path


def plot_curves(run_dirs_by_group: Dict[str, Sequence[str]], out_path: str, env_name: Optional[str] = None,
                tag: str = DEFAULT_TAG, title: Optional[str] = None) -> str:
    """Reads the runs' `tag` and writes the PNG (draw_curves); env_name (default: the first run's
    config.json) picks the reference lines.

    Runs lacking `tag` are skipped with a warning; if none has it, InputError names the tags found.
    """
    curves, skipped = read_curves(run_dirs_by_group, tag)
    if not curves:
        raise InputError("Nothing to plot: " + ("; ".join(skipped) if skipped else f"no run has a point of {tag}"))
    for reason in skipped:
        log.warning("Skipped: %s", reason)
    if env_name is None:
        first_run = next(run_dir for run_dirs in run_dirs_by_group.values() for run_dir in run_dirs)
        env_name = run_config(first_run).get("env")
    return draw_curves(curves, out_path, env_name, tag, title)


def find_runs(train_dir: str, experiments: Sequence[str]) -> List[str]:
    require_folder(train_dir, "--train_dir")
    if experiments:
        missing = [e for e in experiments if not os.path.isdir(os.path.join(train_dir, e))]
        if missing:
            have = sorted(d for d in os.listdir(train_dir) if os.path.isdir(os.path.join(train_dir, d)))
            raise InputError(f"No experiment folder {', '.join(os.path.join(train_dir, m) for m in missing)}; "
                             f"{train_dir} holds: {', '.join(have) or 'nothing'}")
        return [os.path.join(train_dir, e) for e in experiments]
    runs = sorted(os.path.join(train_dir, d) for d in os.listdir(train_dir) if os.path.isdir(summary_dir(os.path.join(train_dir, d))))
    if not runs:
        raise InputError(f"No experiment with tensorboard summaries (<exp>/.summary/0, or a dreamer.train logdir) "
                         f"under {train_dir}")
    return runs


def read_window_curves(report_paths: Sequence[str], labels: Optional[Sequence[str]] = None) -> Dict[str, dict]:
    """{label: reward_windows} of each report's agent, and of a random policy (the first report that
    scored one), from evaluation reports (the JSON sf_maze.evaluate, dreamer.evaluate or
    evaluation.amaze write); InputError for a missing file, one without windows, or a label count that differs."""
    if labels and len(labels) != len(report_paths):
        raise InputError(f"--labels gives {len(labels)} names for {len(report_paths)} reports; give one per report")
    curves: Dict[str, dict] = {}
    random_windows = None
    for i, path in enumerate(report_paths):
        if not os.path.isfile(path):
            raise InputError(f"No evaluation report {path}; pass the JSON an evaluation wrote")
        try:
            with open(path) as f:
                report = json.load(f)
            scores = report["scores"]
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InputError(f"{path} is not an evaluation report ({type(error).__name__}: {error})") from None
        agents = [name for name in scores if name != "random"]
        for name in agents:
            windows = scores[name].get("reward_windows")
            if not windows:
                raise InputError(f"{path} holds no reward windows (written before they existed); evaluate again")
            label = labels[i] if labels else f"{report.get('experiment') or os.path.basename(path)} {report.get('label', '')}"
            curves[label if len(agents) == 1 else f"{label} {name}"] = windows
        if random_windows is None and scores.get("random", {}).get("reward_windows"):
            random_windows = scores["random"]["reward_windows"]
    if random_windows is not None:
        curves["uniform random"] = random_windows
    if not curves:
        raise InputError("Nothing to plot: the reports hold no scored policy")
    return curves


def window_table(report_paths: Sequence[str], labels: Optional[Sequence[str]] = None) -> str:
    """Markdown table beside the window figure: per report and policy, the return and the paired change
    in reward rate from the first to the second half of the episodes (95% t-interval), read from the
    per-episode CSV each report keeps beside its JSON; a random policy once, from the first report
    that scored one."""
    from evaluation.report import read_episode_rows
    from evaluation.stats import summarize_returns

    header = ("| policy | episodes | return mean [95% CI] | reward/step 1st half | 2nd half | "
              "2nd - 1st half [95% CI] |\n|---|---:|---|---:|---:|---|")
    lines, random_done = [header], False
    for i, path in enumerate(report_paths):
        rows = read_episode_rows(path)
        for policy in dict.fromkeys(row["policy"] for row in rows):
            if policy == "random" and random_done:
                continue
            mine = [row for row in rows if row["policy"] == policy]
            returns = summarize_returns([float(row["episode_return"]) for row in mine])
            first = [float(row["first_half_rate"]) for row in mine]
            second = [float(row["second_half_rate"]) for row in mine]
            change = summarize_returns([b - a for a, b in zip(first, second)])
            name = "uniform random" if policy == "random" else (labels[i] if labels else f"{os.path.basename(path)} {policy}")
            random_done = random_done or policy == "random"
            lines.append(f"| {name} | {returns['n']} | {returns['mean']:.2f} [{returns['ci_low']:.2f}, "
                         f"{returns['ci_high']:.2f}] | {np.mean(first):.4f} | {np.mean(second):.4f} | "
                         f"{change['mean']:+.4f} [{change['ci_low']:+.4f}, {change['ci_high']:+.4f}] |")
    return "\n".join(lines) + "\n"


def plot_reward_windows(curves: Dict[str, dict], out_path: str, title: Optional[str] = None) -> str:
    """Writes the PNG of reward per step in each window of episode time, per agent: the mean over
    episodes with its confidence interval as a band; rising lines are what a remembering agent draws."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from common.files import atomic_path

    fig, ax = plt.subplots(figsize=(8, 5))
    for label, w in curves.items():
        centres = [(start + end) / 2 for start, end in zip(w["start"], w["end"])]
        mean = np.asarray(w["mean"], dtype=float)
        low, high = np.asarray(w["ci_low"], dtype=float), np.asarray(w["ci_high"], dtype=float)
        random = label == "uniform random"
        line, = ax.plot(centres, mean, marker="o", markersize=3, label=f"{label} (n={w['n']})",
                        color="black" if random else None, linestyle=":" if random else "-")
        if np.isfinite(low).any():  # one episode has no interval
            ax.fill_between(centres, low, high, alpha=0.2, color=line.get_color(), linewidth=0)
    confidence = int(round(100 * next(iter(curves.values())).get("confidence", 0.95)))
    ax.set_xlabel("episode time (fraction of the episode)")
    ax.set_ylabel("reward per step")
    ax.set_xlim(0, 1)
    ax.set_title(title or f"Reward rate over episode time (mean over episodes, {confidence}% interval)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return out_path


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="*", help="Experiment folders under --train_dir (default: all)")
    parser.add_argument("--train_dir", default=os.path.join(os.getcwd(), "train_dir"))
    parser.add_argument("--out", default=None, help="PNG path (default <train_dir>/curves.png)")
    parser.add_argument("--tag", default=DEFAULT_TAG, help="Scalar tag to plot")
    parser.add_argument("--env", default=None, help="Env for the reference lines (default: from config.json)")
    parser.add_argument("--reward_windows", nargs="+", default=None, metavar="REPORT.json",
                        help="Instead of curves: reward per step over episode time from these evaluation reports "
                             "(their agents and a random policy when one was scored), one figure")
    parser.add_argument("--labels", nargs="+", default=None, help="With --reward_windows: one name per report")
    args = parser.parse_args(argv)
    if args.reward_windows:
        try:
            curves = read_window_curves(args.reward_windows, args.labels)
            out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.reward_windows[0])), "reward_windows.png")
            table = window_table(args.reward_windows, args.labels)
            plot_reward_windows(curves, out)
        except InputError as error:
            print(f"evaluation.plot: error: {error}", file=sys.stderr)
            return 2
        table_path = os.path.splitext(out)[0] + ".md"
        with open(table_path, "w") as f:
            f.write(table)
        print(table, end="")
        print(f"wrote {out} and {table_path}")
        return 0
    try:
        groups = group_runs(find_runs(args.train_dir, args.experiments))
        out = plot_curves(groups, args.out or os.path.join(args.train_dir, "curves.png"), env_name=args.env, tag=args.tag)
    except InputError as error:
        print(f"evaluation.plot: error: {error}", file=sys.stderr)
        return 2
    for label, dirs in groups.items():
        print(f"{label}: {', '.join(os.path.basename(d) for d in dirs)}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
