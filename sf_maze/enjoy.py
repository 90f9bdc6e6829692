"""Watch a trained agent: `python -m sf_maze.enjoy --env=memory_9x9 --experiment=NAME`.

Writes an mp4 (headless; CPU or GPU): for Memory Maze the agent's own view (upscaled) beside a
top-down map with its trail, the objects, the current target and the running score; for AMaze
the env's top-down frame under a score line. One frame per observation, so an episode of T steps
gives T + 1 frames. `--max_num_episodes=N` episodes go into one video, or one video each with
`--video_per_episode=True`.

Sample Factory's enjoy() captures only env.render() frames and loads checkpoints without saying
which file failed, hence this loop (see sf_maze.policy for the shared loading code).
"""
import logging
import os
import sys
from typing import List, Optional

import numpy as np

from sf_maze.checks import (InputError, check_at_least, check_env_fits_run, input_errors_exit_2, with_trained_env)
from evaluation.video import VideoWriter, even_sides, text_bar

log = logging.getLogger(__name__)


def add_enjoy_args(parser) -> None:
    from sf_maze.evaluate import DEFAULT_EVAL_SEED
    from common.cli import parse_bool

    p = parser
    p.add_argument("--video_per_episode", default=False, type=parse_bool,
                   help="One mp4 per episode (<video_name>_ep000.mp4, ...) instead of one for all")
    p.add_argument("--max_episode_steps", default=None, type=int, help="Cut episodes short (quick looks)")
    p.add_argument("--eval_seed", default=DEFAULT_EVAL_SEED, type=int, help="Episode i plays maze seed eval_seed + i")
    p.add_argument("--view_size", default=256, type=int, help="Height in pixels of each panel of the video")


def parse_args(argv: Optional[List[str]] = None):
    from sf_maze.policy import parse_eval_cfg

    # One episode unless asked: a Memory Maze episode is already 1000 steps (4 minutes of video).
    return parse_eval_cfg(argv, add_enjoy_args, defaults=dict(max_num_episodes=1))


def compose_frame(env, view_size: int, episode_return: float, step: int) -> np.ndarray:
    """One video frame of the env's current state (RGB uint8, even sides)."""
    import cv2

    base = env.unwrapped
    if hasattr(base, "render_map"):
        view = np.asarray(base.render())  # the camera frame the agent sees (rgb_array mode)
        view = cv2.resize(view, (view_size, view_size), interpolation=cv2.INTER_NEAREST)
        gap = np.zeros((view_size, 4, 3), np.uint8)
        return even_sides(np.concatenate([view, gap, base.render_map(view_size)], axis=1))
    frame = np.asarray(base.render())
    if frame.shape[0] != view_size:
        width = int(round(frame.shape[1] * view_size / frame.shape[0]))
        frame = cv2.resize(frame, (width, view_size), interpolation=cv2.INTER_NEAREST)
    return even_sides(np.concatenate([text_bar(frame.shape[1], f"return {episode_return:g}  t {step}"), frame], axis=0))


def video_paths(cfg, experiment_dir: str, episodes: int) -> List[str]:
    name = cfg.video_name or f"replay_{cfg.env}"
    if name.endswith(".mp4"):
        name = name[:-4]
    # A bare name goes into the experiment folder, as Sample Factory's --video_name does.
    base = name if os.path.isabs(name) or os.path.dirname(name) else os.path.join(experiment_dir, name)
    if cfg.video_per_episode:
        return [f"{base}_ep{i:03d}.mp4" for i in range(episodes)]
    return [base + ".mp4"]


def play_episodes(cfg, checkpoint: str) -> List[dict]:
    """Runs the episodes and writes the videos; [{'seed', 'episode_return', 'length', 'video', 'frames'}]."""
    from tqdm import tqdm

    from sf_maze.policy import TrainedPolicy, make_eval_env, single_thread_cpu_inference

    single_thread_cpu_inference(cfg)
    episodes = int(cfg.max_num_episodes)
    env = make_eval_env(cfg, 0, render_mode="rgb_array", max_episode_steps=cfg.max_episode_steps)
    writer = None
    try:
        policy = TrainedPolicy(cfg, env.observation_space, env.action_space, checkpoint,
                               deterministic=bool(cfg.eval_deterministic))
        fps = cfg.fps if cfg.fps > 0 else env.unwrapped.metadata.get("render_fps", 4)
        paths = video_paths(cfg, os.path.join(cfg.train_dir, cfg.experiment), episodes)
        results = []
        for i in range(episodes):
            if writer is None:
                writer = VideoWriter(paths[i if cfg.video_per_episode else 0], fps)
            seed = cfg.eval_seed + i
            obs, _ = env.reset(seed=seed)
            state = policy.initial_state(1)
            total, step, done = 0.0, 0, False
            writer.append(compose_frame(env, cfg.view_size, total, step))
            limit = cfg.max_episode_steps or getattr(env.unwrapped, "max_episode_steps", None)
            with tqdm(total=limit, desc=f"episode {i}", unit="step", mininterval=2.0) as bar:
                while not done:
                    actions, state = policy.act([obs], state)
                    obs, reward, terminated, truncated, _ = env.step(int(actions[0]))
                    total, step, done = total + float(reward), step + 1, terminated or truncated
                    writer.append(compose_frame(env, cfg.view_size, total, step))
                    bar.update(1)
            results.append(dict(seed=seed, episode_return=total, length=step, video=writer.path))
            if cfg.video_per_episode or i == episodes - 1:
                writer.close()
                results[-1]["frames"] = writer.frames
                writer = None
        return results
    finally:
        if writer is not None:  # interrupted mid-video: keep what was written playable
            writer.close()
        env.close()


@input_errors_exit_2("sf_maze.enjoy")
def main(argv: Optional[List[str]] = None) -> int:
    from sf_maze.policy import load_experiment, parse_playback_cfg

    cfg = parse_playback_cfg(argv, parse_args)
    check_at_least(1, max_num_episodes=cfg.max_num_episodes, max_episode_steps=cfg.max_episode_steps,
                   view_size=cfg.view_size)
    check_env_fits_run(cfg)
    cfg, checkpoint = load_experiment(cfg)
    try:
        results = play_episodes(cfg, checkpoint)
    except InputError as error:
        raise with_trained_env(cfg, error)
    print(f"checkpoint {checkpoint}")
    for i, r in enumerate(results):
        print(f"episode {i}: seed {r['seed']}  return {r['episode_return']:g}  length {r['length']}")
    for path in dict.fromkeys(r["video"] for r in results):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
