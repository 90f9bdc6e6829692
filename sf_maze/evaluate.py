"""Score a trained agent: `python -m sf_maze.evaluate --env=memory_9x9 --experiment=NAME --episodes=N`.

Runs N full episodes on fixed seeds (evaluation.score: K envs in parallel, one batched policy call per
step), prints mean, std and 95% interval of the episode return beside the published references and a
random policy on the same seeds, plus the first- vs second-half reward rate and the rate in each tenth
of the episode, and writes the one report format (evaluation.report: JSON, per-episode CSV, windows
CSV) to <train_dir>/<experiment>/eval/ or --out.

`--random` scores a uniform random policy instead (no experiment needed); its file under
<train_dir>/eval_random/ is then picked up by later reports on the same env and seeds.
"""
import functools
import json
import logging
import os
import sys
from typing import List, Optional, Tuple

from sf_maze.checks import (InputError, check_at_least, check_checkpoint_fits, check_env_fits_run,
                            check_writable_folder, input_errors_exit_2, with_trained_env)

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
    p.add_argument("--memory_span", default=0, type=int,
                   help="Zero the agent's recurrent state every N steps of an episode, so it acts on at most "
                        "its last N steps: a test of how far back its memory reaches (0: never, the agent as "
                        "trained)")


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
    """Summary of one policy's episodes (evaluation.score.score): returns, half split, reward windows."""
    from evaluation.score import score as score_episodes

    return score_episodes(episodes)


def evaluate(cfg, checkpoint: Optional[str]) -> Tuple[dict, List[dict]]:
    """Runs the episodes; returns (the report dict the JSON holds, the per-episode CSV rows)."""
    import torch

    from evaluation.report import build_report, episode_rows, relative_to
    from evaluation.score import EnvPool, RandomAgent, run_episodes
    from sf_maze.policy import TrainedAgent, TrainedPolicy, make_eval_env, single_thread_cpu_inference

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
            episodes = run_episodes(pool, TrainedAgent(policy, cfg.memory_span), seeds, desc="agent")
            scores["agent"] = score(episodes)
            rows += episode_rows("agent", episodes)
        if checkpoint is None or cfg.with_random:
            episodes = run_episodes(pool, RandomAgent(pool.action_space, seed=cfg.eval_seed), seeds, desc="random")
            scores["random"] = score(episodes)
            rows += episode_rows("random", episodes)

    run_dir = os.path.join(cfg.train_dir, cfg.experiment) if checkpoint is not None else None
    random_note = None
    if "random" not in scores:
        cached = random_result_path(cfg)
        if os.path.isfile(cached):
            with open(cached) as f:
                scores["random"] = json.load(f)["scores"]["random"]
            random_note = f"random: from {relative_to(cached, run_dir)}"
        else:
            random_note = "random: not measured on these seeds (add --with_random=True, or run once with --random)"
    label = os.path.splitext(os.path.basename(checkpoint))[0] if checkpoint else "random"
    if checkpoint and cfg.memory_span:
        label += f"_span{cfg.memory_span}"
    report = build_report(trainer="sample_factory", env=cfg.env, label=label, scores=scores, episodes=cfg.episodes,
                          eval_seed=cfg.eval_seed, experiment=None if checkpoint is None else cfg.experiment,
                          checkpoint=checkpoint, run_dir=run_dir, checkpoint_env_steps=env_steps,
                          max_episode_steps=cfg.max_episode_steps, deterministic=bool(cfg.eval_deterministic),
                          random_note=random_note, memory_span=cfg.memory_span if checkpoint else 0)
    return report, rows


@input_errors_exit_2("sf_maze.evaluate")
def main(argv: Optional[List[str]] = None) -> int:
    from evaluation.report import format_report, write_report
    from sf_maze.policy import load_experiment, parse_playback_cfg

    cfg = parse_playback_cfg(argv, parse_args)
    check_at_least(1, episodes=cfg.episodes, num_envs=cfg.num_envs, max_episode_steps=cfg.max_episode_steps)
    check_at_least(0, memory_span=cfg.memory_span)
    if cfg.out:  # written after every episode ran
        check_writable_folder("--out", cfg.out)
    checkpoint = None
    if not cfg.random:
        check_env_fits_run(cfg)
        cfg, checkpoint = load_experiment(cfg)
        check_checkpoint_fits(cfg, checkpoint)  # before any env starts or any folder is made
        if cfg.memory_span and not cfg.use_rnn:
            raise InputError(f"--memory_span={cfg.memory_span}: {cfg.experiment} has no memory to cut "
                             "(it was trained with --use_rnn=False)")
    elif cfg.memory_span:
        raise InputError(f"--memory_span={cfg.memory_span} needs an agent; --random has no memory")
    try:
        report, rows = evaluate(cfg, checkpoint)
    except InputError as error:
        raise with_trained_env(cfg, error) if checkpoint else error
    if cfg.out:
        out_dir = cfg.out
    elif checkpoint is None:
        out_dir = os.path.dirname(random_result_path(cfg))
    else:
        out_dir = os.path.join(cfg.train_dir, cfg.experiment, "eval")
    stem = file_stem(cfg.env, report["label"], cfg.episodes, cfg.eval_seed, cfg.max_episode_steps)
    paths = write_report(out_dir, stem, report, rows)
    print(format_report(report))
    print(f"wrote {paths['json']}, {paths['csv']} and {paths['windows_csv']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
