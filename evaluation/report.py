"""The one evaluation report every trainer writes: JSON (summary) and two CSVs (episodes, windows).

    report = build_report(env=..., label=..., scores={"agent": score(eps), "random": score(rand_eps)}, ...)
    rows = episode_rows("agent", eps) + episode_rows("random", rand_eps)
    paths = write_report(out_dir, stem, report, rows)     # <stem>.json, <stem>.csv, <stem>_windows.csv

JSON keys: trainer, env, experiment, checkpoint (relative to the run folder, or None), checkpoint_env_steps,
label, episodes, eval_seed, max_episode_steps, full_episodes, deterministic, confidence, scores
({policy: evaluation.score.score(...)}: returns, half_split, reward_windows, mean_length, solve_rate),
references, reference_budgets, random_note, episode_returns ({policy: [return per episode]}).
<stem>.csv: one row per episode (policy, episode, seed, return, length, solved, half rates, the
window rates); <stem>_windows.csv: one row per policy and window (mean rate, std, 95% interval).
"""
import csv
import json
import math
import os
from typing import Dict, List, Optional, Sequence

import numpy as np

REPORT_KEYS = ("trainer", "env", "experiment", "checkpoint", "checkpoint_env_steps", "label", "episodes", "eval_seed",
               "max_episode_steps", "full_episodes", "deterministic", "memory_span", "confidence", "scores", "references",
               "reference_budgets", "random_note")


def relative_to(path: Optional[str], run_dir: Optional[str]) -> Optional[str]:
    """`path` relative to the run folder (a report copied with its run stays right); None without a run folder."""
    if path is None or run_dir is None:
        return None
    return os.path.relpath(os.path.abspath(path), os.path.abspath(run_dir))


def build_report(*, trainer: str, env: str, label: str, scores: Dict[str, dict], episodes: int, eval_seed: int,
                 experiment: Optional[str] = None, checkpoint: Optional[str] = None, run_dir: Optional[str] = None,
                 checkpoint_env_steps: Optional[int] = None, max_episode_steps: Optional[int] = None,
                 deterministic: bool = False, random_note: Optional[str] = None, memory_span: int = 0) -> dict:
    """The report dict (what the JSON holds, less episode_returns that write_report adds from the rows).

    trainer: "sample_factory", "dreamer" or "amaze" (a policy scored on AMaze without a run);
    checkpoint: written relative to `run_dir`, never as this machine's absolute path;
    memory_span: the agent's memory was wiped every that many steps (sf_maze.evaluate --memory_span; 0: never).
    """
    from evaluation.references import reference_budgets, reference_scores

    return dict(trainer=trainer, env=env, experiment=experiment, checkpoint=relative_to(checkpoint, run_dir),
                checkpoint_env_steps=checkpoint_env_steps, label=label, episodes=episodes, eval_seed=eval_seed,
                max_episode_steps=max_episode_steps, full_episodes=not max_episode_steps,
                deterministic=bool(deterministic), memory_span=int(memory_span), confidence=0.95, scores=scores,
                references=reference_scores(env), reference_budgets=reference_budgets(env), random_note=random_note)


def window_columns(windows: int) -> List[str]:
    return [f"window_{w + 1}_rate" for w in range(windows)]


def episode_rows(policy_name: str, episodes: Sequence[dict]) -> List[dict]:
    """One CSV row per episode: return, length, solved, half-split and window reward rates."""
    from evaluation.stats import REWARD_WINDOWS, half_rates, window_rates

    rows = []
    for i, e in enumerate(episodes):
        halves = half_rates(e["rewards"]) if e["length"] >= 2 else dict(first=math.nan, second=math.nan)
        rates = window_rates(e["rewards"], REWARD_WINDOWS)
        rows.append(dict(policy=policy_name, episode=i, seed=e["seed"], episode_return=float(np.sum(e["rewards"])),
                         length=e["length"], solved=int(bool(e.get("solved", False))),
                         first_half_rate=halves["first"], second_half_rate=halves["second"],
                         **dict(zip(window_columns(REWARD_WINDOWS), (float(x) for x in rates)))))
    return rows


def window_rows(report: dict) -> List[dict]:
    """One row per policy and window of the report's reward_windows."""
    rows = []
    for name, s in report["scores"].items():
        w = s.get("reward_windows")
        if not w:  # a random score read from a report written before windows existed
            continue
        for i in range(w["windows"]):
            rows.append(dict(policy=name, window=i + 1, start=w["start"][i], end=w["end"][i], episodes=w["n"],
                             mean_rate=w["mean"][i], std=w["std"][i], ci_low=w["ci_low"][i], ci_high=w["ci_high"][i]))
    return rows


def read_episode_rows(report_path: str) -> List[dict]:
    """The per-episode CSV rows that write_report keeps beside a report's JSON; InputError when absent."""
    import csv

    from common.cli import InputError

    rows_path = (report_path[:-len(".json")] if report_path.endswith(".json") else report_path) + ".csv"
    if not os.path.isfile(rows_path):
        raise InputError(f"No per-episode file {rows_path} beside {report_path}; pass the JSON an evaluation "
                         "wrote (its CSV lies beside it)")
    with open(rows_path, newline="") as f:
        return list(csv.DictReader(f))


def write_report(out_dir: str, stem: str, report: dict, rows: List[dict]) -> Dict[str, str]:
    """<out_dir>/<stem>.json, .csv (per episode) and _windows.csv; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(json=os.path.join(out_dir, stem + ".json"), csv=os.path.join(out_dir, stem + ".csv"),
                 windows_csv=os.path.join(out_dir, stem + "_windows.csv"))
    with open(paths["json"], "w") as f:
        json.dump(dict(report, episode_returns={n: [r["episode_return"] for r in rows if r["policy"] == n]
                                                for n in report["scores"]}), f, indent=2)
    for key, table in (("csv", rows), ("windows_csv", window_rows(report))):
        with open(paths[key], "w", newline="") as f:
            if table:
                writer = csv.DictWriter(f, fieldnames=list(table[0]))
                writer.writeheader()
                writer.writerows(table)
    return paths


def _fmt(x: Optional[float], digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def format_report(report: dict) -> str:
    """The printed table: one row per scored policy, its reward rate per window, the published references."""
    from evaluation.references import format_references

    shortened = f" x {report['max_episode_steps']} steps (SHORTENED)" if report["max_episode_steps"] else ""
    lines = [f"{report['env']}  {report['label']}  {report['episodes']} episodes{shortened}"
             f"  seeds {report['eval_seed']}..{report['eval_seed'] + report['episodes'] - 1}"]
    lines.append(f"{'policy':<16}{'mean':>8}{'std':>8}   {int(report['confidence'] * 100)}% CI of mean   "
                 f"reward/step 1st half  2nd half")
    for name, s in report["scores"].items():
        r, h = s["returns"], s["half_split"]
        ci = f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
        lines.append(f"{name:<16}{_fmt(r['mean']):>8}{_fmt(r['std']):>8}   {ci:<18}"
                     f"{_fmt(h['first'], 4):>20}{_fmt(h['second'], 4):>10}")
    for name, s in report["scores"].items():
        if s.get("reward_windows"):
            rates = " ".join(_fmt(x, 4) for x in s["reward_windows"]["mean"])
            lines.append(f"{name}: reward/step per tenth of the episode: {rates}")
    for name, s in report["scores"].items():
        h = s["half_split"]
        if not math.isnan(h.get("change", math.nan)):
            lines.append(f"{name}: reward/step 2nd - 1st half: {h['change']:+.4f} "
                         f"[{h['change_ci_low']:+.4f}, {h['change_ci_high']:+.4f}] ({int(report['confidence'] * 100)}% CI)")
    if report.get("references"):
        lines.append("published (full episodes): " + format_references(report["env"]))
    if report.get("random_note"):
        lines.append(report["random_note"])
    return "\n".join(lines)
