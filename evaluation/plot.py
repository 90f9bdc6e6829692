"""Learning curves: `python -m sf_maze.plot --train_dir=DIR [EXPERIMENT ...] [--out=curves.png]`.

Reads each experiment's tensorboard summaries (<train_dir>/<experiment>/.summary/0/), groups runs
whose config.json differ only in seed / name / bookkeeping, and draws per group the mean over
runs with a +-1 std band (a single run: its own line), return vs env steps, with the published
human and oracle scores as horizontal lines for Memory Maze.

Sample Factory writes the episode return as `reward/reward` only once its stats window is full
(--stats_avg episodes, 100 by default), so very short runs have no points under that tag.
"""
import argparse
import json
import logging
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from sf_maze.checks import InputError, read_saved_config

log = logging.getLogger(__name__)

DEFAULT_TAG = "reward/reward"
# config.json entries that differ between runs of one setting without changing what is trained.
RUN_IDENTITY_KEYS = {
    "seed", "experiment", "train_dir", "command_line", "cli_args", "git_hash", "git_repo_name",
    "wandb_unique_id", "wandb_group", "wandb_job_type", "wandb_tags", "restart_behavior", "device",
    "load_checkpoint_kind", "train_for_env_steps", "train_for_seconds",
}
REFERENCE_STYLE = {"human": ("tab:green", "--"), "oracle": ("tab:purple", ":"), "IMPALA": ("tab:brown", "-."),
                   "IMPALA (400M)": ("tab:brown", (0, (1, 3))), "Dreamer": ("tab:olive", "-."),
                   "Dreamer (TBTT)": ("tab:gray", "-.")}


def summary_dir(run_dir: str, policy_index: int = 0) -> str:
    return os.path.join(run_dir, ".summary", str(policy_index))


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


def plot_curves(run_dirs_by_group: Dict[str, Sequence[str]], out_path: str, env_name: Optional[str] = None,
                tag: str = DEFAULT_TAG, title: Optional[str] = None) -> str:
    """Writes the PNG; env_name (default: the first run's config.json) picks the reference lines.

    Runs lacking `tag` are skipped with a warning; if none has it, InputError names the tags found.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sf_maze.references import format_value, reference_budgets, reference_values

    fig, ax = plt.subplots(figsize=(8, 5))
    plotted, errors = 0, []
    for label, run_dirs in run_dirs_by_group.items():
        curves = []
        for run_dir in run_dirs:
            try:
                steps, values = read_scalars(run_dir, tag)
            except InputError as error:
                errors.append(str(error))
                continue
            if len(steps):
                curves.append((steps, values))
            if env_name is None:
                env_name = run_config(run_dir).get("env")
        if not curves:
            continue
        steps, mean, std = mean_band(curves)
        if not len(steps):
            log.warning("Runs of %s cover disjoint step ranges; plotting each", label)
            for i, (s, v) in enumerate(curves):
                ax.plot(s, v, label=f"{label} #{i}")
            plotted += 1
            continue
        line, = ax.plot(steps, mean, label=f"{label} (n={len(curves)})")
        if len(curves) > 1:
            ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        plotted += 1
    if not plotted:
        plt.close(fig)
        raise InputError("Nothing to plot: " + ("; ".join(errors) if errors else "no runs given"))
    for error in errors:
        log.warning("Skipped: %s", error)

    if tag == DEFAULT_TAG and env_name:
        budgets = reference_budgets(env_name)
        for name, value in reference_values(env_name).items():
            color, style = REFERENCE_STYLE.get(name, ("grey", "-."))
            ax.axhline(value[0], color=color, linestyle=style, linewidth=1)
            label = f"{name} {format_value(value)}" + (f" ({budgets[name]})" if name in budgets else "")
            ax.annotate(label, (1.0, value[0]), xycoords=("axes fraction", "data"), ha="right",
                        va="bottom", fontsize=8, color=color)
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return" if tag == DEFAULT_TAG else tag)
    ax.set_title(title or (f"{env_name}: {tag}" if env_name else tag))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    fig.savefig(out_path, dpi=120)
    plt.close(fig)
    return out_path


def find_runs(train_dir: str, experiments: Sequence[str]) -> List[str]:
    if not os.path.isdir(train_dir):
        raise InputError(f"--train_dir={train_dir} does not exist")
    if experiments:
        missing = [e for e in experiments if not os.path.isdir(os.path.join(train_dir, e))]
        if missing:
            have = sorted(d for d in os.listdir(train_dir) if os.path.isdir(os.path.join(train_dir, d)))
            raise InputError(f"No experiment folder {', '.join(os.path.join(train_dir, m) for m in missing)}; "
                             f"{train_dir} holds: {', '.join(have) or 'nothing'}")
        return [os.path.join(train_dir, e) for e in experiments]
    runs = sorted(os.path.join(train_dir, d) for d in os.listdir(train_dir) if os.path.isdir(summary_dir(os.path.join(train_dir, d))))
    if not runs:
        raise InputError(f"No experiment with tensorboard summaries (<exp>/.summary/0) under {train_dir}")
    return runs


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("experiments", nargs="*", help="Experiment folders under --train_dir (default: all)")
    parser.add_argument("--train_dir", default=os.path.join(os.getcwd(), "train_dir"))
    parser.add_argument("--out", default=None, help="PNG path (default <train_dir>/curves.png)")
    parser.add_argument("--tag", default=DEFAULT_TAG, help="Scalar tag to plot")
    parser.add_argument("--env", default=None, help="Env for the reference lines (default: from config.json)")
    args = parser.parse_args(argv)
    try:
        groups = group_runs(find_runs(args.train_dir, args.experiments))
        out = plot_curves(groups, args.out or os.path.join(args.train_dir, "curves.png"), env_name=args.env, tag=args.tag)
    except InputError as error:
        print(f"sf_maze.plot: error: {error}", file=sys.stderr)
        return 2
    for label, dirs in groups.items():
        print(f"{label}: {', '.join(os.path.basename(d) for d in dirs)}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
