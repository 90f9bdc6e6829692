"""One results table for a sweep: `python -m launcher.report --train_dir=DIR --run=launcher.amaze_quick`.

Per setting (the runs of one experiment that differ only in seed): the final score as mean and std
over the finished seeds, the env steps reached, the published references for Memory Maze sizes, and
a learning-curve PNG with seed bands (evaluation.plot). Runs that crashed, were interrupted, are still
running or fell short of their budget are listed as such and never averaged in. A missing --train_dir
or sweep folder is one line and exit code 2, and nothing is created.
"""
import argparse
import importlib
import os
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Optional

import numpy as np

from common.cli import InputError, input_errors_exit_2
from evaluation.runs import reached_env_steps, read_saved_config, require_folder
from evaluation.plot import plot_curves, read_scalars
from evaluation.references import ONLINE_BUDGET, format_references, steps_text
from evaluation.run_status import read_status


def _flag(command: str, name: str) -> Optional[str]:
    match = re.search(rf"--{name}=(\S+)", command)
    return match.group(1) if match else None


def load_description(run_module: str):
    """The run module's RUN_DESCRIPTION; InputError when there is none to import."""
    try:
        return importlib.import_module(run_module).RUN_DESCRIPTION
    except (ImportError, AttributeError) as error:
        raise InputError(f"cannot import run module {run_module!r} ({error})") from None


def collect_runs(train_dir: str, run_module: str) -> List[dict]:
    """Every run the sweep describes, started or not, with its status and final score."""
    description = load_description(run_module)
    runs = []
    for experiment in description.experiments:
        root_dir = os.path.join(description.run_name, f"{experiment.base_name}_{description.experiment_suffix}")
        commands = experiment.generate_experiments(description.experiment_arg_name, description.customize_experiment_name,
                                                   description.param_prefix)
        params_list = experiment.params or [{}]
        for params, (command, name) in zip(params_list, commands):
            run_dir = os.path.join(train_dir, root_dir, name)
            setting = OrderedDict(experiment=experiment.base_name)
            setting.update((k, v) for k, v in params.items() if k != "seed")
            runs.append(dict(
                name=name, run_dir=run_dir, setting=setting, seed=params.get("seed"),
                env=str(params.get("env") or _flag(command, "env")),
                budget=int(_flag(command, "train_for_env_steps") or 0),
            ))
    for run in runs:
        run.update(_run_state(run))
    return runs


def _run_state(run: dict) -> dict:
    run_dir, budget = run["run_dir"], run["budget"]
    if not os.path.isdir(run_dir):
        return dict(status="not started", steps=0, score=None)
    # the budget the run was launched with, whatever the module says now
    budget = int((read_saved_config(run_dir) or {}).get("train_for_env_steps", budget))
    steps = reached_env_steps(run_dir)
    record = read_status(run_dir) or {}
    if budget and steps >= budget:
        status = "finished"
    elif record.get("status") == "running":
        status = "running"
    elif record.get("status") == "failed":
        status = "crashed"
    elif record.get("status") in ("interrupted", "died"):
        status = record["status"]
    else:
        status = "short of budget"
    values = _returns(run_dir)
    score = float(values[-1]) if len(values) else None
    return dict(status=status, steps=steps, score=score, budget=budget)


def _returns(run_dir: str) -> np.ndarray:
    """Logged episode returns; empty until Sample Factory's stats window has filled once."""
    try:
        return read_scalars(run_dir)[1]
    except InputError:
        return np.zeros(0)


def _label(setting: Dict) -> str:
    return " ".join(f"{k}={v}" for k, v in setting.items())


def render_report(runs: List[dict], curve_paths: Dict[str, str]) -> str:
    groups: Dict[str, List[dict]] = OrderedDict()
    for run in runs:
        groups.setdefault(_label(run["setting"]), []).append(run)

    lines = ["| setting | finished / runs | final score (mean ± std over finished) | env steps reached | references |",
             "|---|---:|---:|---:|---|"]
    for label, members in groups.items():
        done = [r for r in members if r["status"] == "finished"]
        scores = np.array([r["score"] for r in done if r["score"] is not None])
        score = f"{scores.mean():.2f} ± {scores.std():.2f} (n={len(scores)})" if len(scores) else "n/a"
        steps = [r["steps"] for r in members]
        refs = format_references(members[0]["env"]) or "-"
        lines.append(f"| {label} | {len(done)}/{len(members)} | {score} | {min(steps)}-{max(steps)} | {refs} |")

    short = sorted({r["budget"] for r in runs if format_references(r["env"]) and r["budget"] < ONLINE_BUDGET})
    if short:  # the paper's scores are at 100M env steps: say so where a run's budget is below that
        lines += ["", f"The references are the paper's scores after {steps_text(ONLINE_BUDGET)} env steps; "
                      f"these runs' budgets: {', '.join(steps_text(b) for b in short)} env steps."]
    lines += ["", "| run | seed | status | env steps / budget | final score |", "|---|---:|---|---:|---:|"]
    for run in runs:
        score = f"{run['score']:.2f}" if run["score"] is not None else "no episodes logged"
        lines.append(f"| {run['name']} | {run['seed']} | {run['status']} | {run['steps']} / {run['budget']} | {score} |")
    if curve_paths:
        lines += [""] + [f"Learning curves ({env}): {path}" for env, path in curve_paths.items()]
    return "\n".join(lines)


def write_curves(runs: List[dict], out_dir: str) -> Dict[str, str]:
    """One PNG per env, a band per setting."""
    paths = {}
    for env in sorted({r["env"] for r in runs}):
        by_group: Dict[str, List[str]] = OrderedDict()
        for run in runs:
            if run["env"] == env and run["status"] != "not started" and len(_returns(run["run_dir"])):
                by_group.setdefault(_label(run["setting"]), []).append(run["run_dir"])
        if by_group:
            paths[env] = os.path.join(out_dir, f"curves_{env}.png")
            plot_curves(by_group, paths[env], env_name=env)
    return paths


@input_errors_exit_2("launcher.report")
def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train_dir", default="./train_dir", help="the launcher's --train_dir")
    parser.add_argument("--run", required=True, help="the run module given to the launcher, e.g. launcher.amaze_quick")
    parser.add_argument("--out", default=None, help="folder for report.md and the PNGs (default: the sweep's folder)")
    args = parser.parse_args(argv)

    run_name = load_description(args.run).run_name
    # It only reads the sweep: a missing folder is a typo or a sweep not launched, never made here.
    sweep_dir = os.path.join(require_folder(args.train_dir, "--train_dir"), run_name)
    if not os.path.isdir(sweep_dir):
        raise InputError(f"{sweep_dir} does not exist: no run of --run={args.run} has started under "
                         f"--train_dir={args.train_dir}")
    runs = collect_runs(args.train_dir, args.run)
    out_dir = args.out or sweep_dir
    os.makedirs(out_dir, exist_ok=True)
    report = render_report(runs, write_curves(runs, out_dir))
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(f"# Sweep {run_name}\n\n{report}\n")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
