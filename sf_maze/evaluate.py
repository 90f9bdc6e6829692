"""Score a trained agent: `python -m sf_maze.evaluate --env=memory_9x9 --experiment=NAME --episodes=N`.

Runs N full episodes on fixed seeds (K envs in parallel, one batched policy call per step), prints
mean, std and 95% interval of the episode return beside the published references and a random
policy on the same seeds, plus the first- vs second-half reward rate, and writes JSON and CSV
(one row per episode) to <train_dir>/<experiment>/eval/ or --out.

`--random` scores a uniform random policy instead (no experiment needed); its file under
<train_dir>/eval_random/ is then picked up by later reports on the same env and seeds.
"""
import csv
import functools
import json
import logging
import math
import os
import sys
from typing import Dict, List, Optional

from sf_maze.checks import (InputError, check_at_least, check_env_fits_run, check_writable_folder,
                            input_errors_exit_2, with_trained_env)
from sf_maze.references import format_references

log = logging.getLogger(__name__)

DEFAULT_EVAL_SEED = 1_000_000  # far from the small env indices training resets with


def add_evaluate_args(parser) -> None:
    from common.cli import parse_bool

    p = parser
    p.add_argument("--episodes", default=20, type=int, help="Full episodes to run")
    p.add_argument("--num_envs", default=min(os.cpu_count() or 1, 4), type=int, help="Envs stepped in parallel processes")
    p.add_argument("--out", default=None, type=str, help="Folder for the JSON and CSV (default <train_dir>/<experiment>/eval)")
    p.add_argument("--random", action="store_true", help="Score a uniform random policy instead of a checkpoint")
    p.add_argument("--with_random", default=False, type=parse_bool,
                   help="Also score a random policy on the same seeds in this run")
    p.add_argument("--max_episode_steps", default=None, type=int,
                   help="Cut episodes short (quick checks only: the references are full-episode scores)")
    p.add_argument("--eval_seed", default=DEFAULT_EVAL_SEED, type=int, help="Episode i runs on maze seed eval_seed + i")


def parse_args(argv: Optional[List[str]] = None):
    from sf_maze.policy import parse_eval_cfg

    return parse_eval_cfg(argv, add_evaluate_args)


def file_stem(env: str, label: str, episodes: int, eval_seed: int, max_episode_steps: Optional[int]) -> str:
    stem = f"{env}_{label}_{episodes}ep_seed{eval_seed}"
    return stem + (f"_{max_episode_steps}steps" if max_episode_steps else "")


def random_result_path(cfg) -> str:
    stem = file_stem(cfg.env, "random", cfg.episodes, cfg.eval_seed, cfg.max_episode_steps)
    return os.path.join(cfg.train_dir, "eval_random", stem + ".json")


def score(episodes: List[dict]) -> dict:
    """Summary of run_episodes' output: return statistics and half-split reward rates."""
    from sf_maze.stats import half_split_summary, summarize_returns

    returns = [float(e["rewards"].sum()) for e in episodes]
    return dict(returns=summarize_returns(returns), half_split=half_split_summary([e["rewards"] for e in episodes]),
                mean_length=float(sum(e["length"] for e in episodes) / len(episodes)))


def episode_rows(policy_name: str, episodes: List[dict]) -> List[dict]:
    from sf_maze.stats import half_rates

    rows = []
    for i, e in enumerate(episodes):
        halves = half_rates(e["rewards"])
        rows.append(dict(policy=policy_name, episode=i, seed=e["seed"], episode_return=float(e["rewards"].sum()),
                         length=e["length"], first_half_rate=halves["first"], second_half_rate=halves["second"]))
    return rows


def _fmt(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def format_report(report: dict) -> str:
    """The printed table: one row per scored policy, then the published references."""
    lines = [f"{report['env']}  {report['label']}  {report['episodes']} episodes"
             f"{' x ' + str(report['max_episode_steps']) + ' steps (SHORTENED)' if report['max_episode_steps'] else ''}"
             f"  seeds {report['eval_seed']}..{report['eval_seed'] + report['episodes'] - 1}"]
    lines.append(f"{'policy':<16}{'mean':>8}{'std':>8}   {int(report['confidence'] * 100)}% CI of mean   "
                 f"reward/step 1st half  2nd half")
    for name, s in report["scores"].items():
        r, h = s["returns"], s["half_split"]
        ci = f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]"
        lines.append(f"{name:<16}{_fmt(r['mean']):>8}{_fmt(r['std']):>8}   {ci:<18}"
                     f"{_fmt(h['first'], 4):>20}{_fmt(h['second'], 4):>10}")
    if report.get("references"):
        lines.append("published (full episodes): " + format_references(report["env"]))
    if report.get("random_note"):
        lines.append(report["random_note"])
    return "\n".join(lines)


def write_outputs(out_dir: str, stem: str, report: dict, rows: List[dict]) -> Dict[str, str]:
    os.makedirs(out_dir, exist_ok=True)
    json_path, csv_path = os.path.join(out_dir, stem + ".json"), os.path.join(out_dir, stem + ".csv")
    with open(json_path, "w") as f:
        json.dump(dict(report, episode_returns={n: [r["episode_return"] for r in rows if r["policy"] == n]
                                                for n in report["scores"]}), f, indent=2)
    with open(csv_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return dict(json=json_path, csv=csv_path)


def evaluate(cfg, checkpoint: Optional[str]) -> dict:
    """Runs the episodes; returns the report dict (also what the JSON holds)."""
    import torch

    from sf_maze.policy import RandomPolicy, TrainedPolicy, make_eval_env, single_thread_cpu_inference
    from sf_maze.references import reference_budgets, reference_scores
    from sf_maze.rollout import EnvPool, run_episodes

    single_thread_cpu_inference(cfg)
    seeds = [cfg.eval_seed + i for i in range(cfg.episodes)]
    make_fn = functools.partial(make_eval_env, cfg, max_episode_steps=cfg.max_episode_steps)
    scores, rows, env_steps = {}, [], None
    with EnvPool(make_fn, max(1, min(cfg.num_envs, cfg.episodes))) as pool:
        if checkpoint is not None:
            policy = TrainedPolicy(cfg, pool.observation_space, pool.action_space, checkpoint,
                                   deterministic=bool(cfg.eval_deterministic))
            env_steps = policy.env_steps
            # Actions are sampled with torch's global generator: seeded, the same checkpoint and seeds
            # give the same scores.
            torch.manual_seed(cfg.eval_seed)
            episodes = run_episodes(pool, policy, seeds, desc="agent")
            scores["agent"] = score(episodes)
            rows += episode_rows("agent", episodes)
        if checkpoint is None or cfg.with_random:
            episodes = run_episodes(pool, RandomPolicy(pool.action_space, seed=cfg.eval_seed), seeds, desc="random")
            scores["random"] = score(episodes)
            rows += episode_rows("random", episodes)

    random_note = None
    if "random" not in scores:
        cached = random_result_path(cfg)
        if os.path.isfile(cached):
            with open(cached) as f:
                scores["random"] = json.load(f)["scores"]["random"]
            random_note = f"random: from {cached}"
        else:
            random_note = "random: not measured on these seeds (add --with_random=True, or run once with --random)"
    label = os.path.splitext(os.path.basename(checkpoint))[0] if checkpoint else "random"
    return dict(env=cfg.env, experiment=None if checkpoint is None else cfg.experiment, checkpoint=checkpoint,
                checkpoint_env_steps=env_steps, label=label, episodes=cfg.episodes, eval_seed=cfg.eval_seed,
                max_episode_steps=cfg.max_episode_steps, full_episodes=not cfg.max_episode_steps,
                deterministic=bool(cfg.eval_deterministic), confidence=0.95, scores=scores,
                references=reference_scores(cfg.env), reference_budgets=reference_budgets(cfg.env),
                random_note=random_note, rows=rows)


@input_errors_exit_2("sf_maze.evaluate")
def main(argv: Optional[List[str]] = None) -> int:
    from sf_maze.policy import load_experiment, parse_playback_cfg

    cfg = parse_playback_cfg(argv, parse_args)
    check_at_least(1, episodes=cfg.episodes, num_envs=cfg.num_envs, max_episode_steps=cfg.max_episode_steps)
    if cfg.out:  # written after every episode ran
        check_writable_folder("--out", cfg.out)
    checkpoint = None
    if not cfg.random:
        check_env_fits_run(cfg)
        cfg, checkpoint = load_experiment(cfg)
    try:
        report = evaluate(cfg, checkpoint)
    except InputError as error:
        raise with_trained_env(cfg, error) if checkpoint else error
    rows = report.pop("rows")
    if cfg.out:
        out_dir = cfg.out
    elif checkpoint is None:
        out_dir = os.path.dirname(random_result_path(cfg))
    else:
        out_dir = os.path.join(cfg.train_dir, cfg.experiment, "eval")
    stem = file_stem(cfg.env, report["label"], cfg.episodes, cfg.eval_seed, cfg.max_episode_steps)
    paths = write_outputs(out_dir, stem, report, rows)
    print(format_report(report))
    print(f"wrote {paths['json']} and {paths['csv']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
