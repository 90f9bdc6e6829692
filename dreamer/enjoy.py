"""Watch a Dreamer agent: `python -m dreamer.enjoy --env=ENV --logdir=DIR [--episodes=N] [--out=video.mp4]
[--context=5] [--window=50] [--seed=S] [--greedy=True] [--fps=10]`.

Each video frame shows, left to right: (AMaze only) the top-down maze, the real observation, and the
world model's prediction of it, labelled "observed" (posterior reconstruction) or "imagined"
(open-loop from the last observed step with the real actions). In every window of --window steps the
first --context are observed, the rest imagined. Prints each episode's return.
"""
import json
import os
import sys
from typing import Dict, List, Optional

import numpy as np
import torch

from dreamer.agent import batch_to_tensors
from dreamer.checkpoint import load_agent
from common.cli import InputError
from dreamer.config import coerce, parse_argv
from dreamer.evaluate import play_episode
from dreamer.observations import ObsSpec, to_rgb
from envs import check_env_name, env_family
from evaluation.runs import require_folder
from evaluation.video import VideoWriter

PANEL = 256  # pixels per side of each panel
LABEL = 16  # label strip above the panels
OPTIONS = {"env": "", "logdir": "", "episodes": 1, "out": "", "context": 5, "window": 50, "seed": 1_000_000,
           "greedy": False, "fps": 10, "device": "cpu"}


def _label(image: np.ndarray, text: str, color=(255, 255, 255)) -> np.ndarray:
    import cv2

    strip = np.zeros((LABEL, image.shape[1], 3), dtype=np.uint8)
    cv2.putText(strip, text, (4, LABEL - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, color, 1, cv2.LINE_AA)
    return np.concatenate([strip, image], 0)


def _fit(frame: np.ndarray) -> np.ndarray:
    """An env render of any size -> (PANEL, PANEL, 3)."""
    import cv2

    if frame.shape[:2] == (PANEL, PANEL):
        return frame
    smaller = frame.shape[0] > PANEL
    return cv2.resize(frame, (PANEL, PANEL), interpolation=cv2.INTER_AREA if smaller else cv2.INTER_NEAREST)


def compose(spec: ObsSpec, real: Dict[str, np.ndarray], predicted: Dict[str, np.ndarray], imagined: bool,
            env_frame: Optional[np.ndarray]) -> np.ndarray:
    panels = []
    if env_frame is not None:  # the top-down map, as sf_maze.enjoy shows it
        panels.append(_label(_fit(env_frame), "map"))
    panels.append(_label(to_rgb(spec, real["image"], PANEL), "real"))
    color = (255, 160, 0) if imagined else (0, 220, 0)
    panels.append(_label(to_rgb(spec, predicted["image"], PANEL), "imagined" if imagined else "observed", color))
    return np.concatenate(panels, 1)


@torch.no_grad()
def episode_frames(world_model, episode: dict, context: int, window: int) -> List[np.ndarray]:
    spec, obs = world_model.spec, episode["obs"]
    T = len(episode["actions"])
    first = np.zeros((T, 1), dtype=bool)
    first[0] = True
    batch = {key: value[:, None] for key, value in obs.items()}
    batch.update(action=episode["actions"][:, None].astype(np.int16), first=first)
    device = next(world_model.parameters()).device
    tensors = batch_to_tensors(batch, world_model.num_actions, device)
    predicted, imagined = world_model.open_loop(tensors, context, window)
    predicted = {key: value[:, 0].cpu().numpy() for key, value in predicted.items()}
    env_frames = episode["frames"]
    return [compose(spec, {key: value[t] for key, value in obs.items()}, {key: value[t] for key, value in predicted.items()},
                    bool(imagined[t]), env_frames[t] if env_frames is not None else None) for t in range(T)]


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__.strip())
        return 0
    try:
        raw = parse_argv(argv)
        unknown = sorted(set(raw) - set(OPTIONS))
        if unknown:
            raise InputError(f"unknown option(s) {', '.join('--' + k for k in unknown)}; allowed: "
                              f"{', '.join('--' + k for k in OPTIONS)}")
        opts = {key: coerce(key, raw[key], default) if key in raw else default for key, default in OPTIONS.items()}
        if not opts["logdir"]:
            raise InputError("--logdir=DIR (a dreamer.train run directory) is required")
        require_folder(opts["logdir"], "--logdir")  # it reads this run: never a folder made for enjoy.mp4
        world_model, behavior, cfg = load_agent(opts["logdir"], opts["device"])
        env_name = opts["env"] or cfg["env"]
        check_env_name(env_name, trainable=True)
    except (InputError, ValueError, FileNotFoundError) as error:
        print(f"dreamer.enjoy: error: {error}", file=sys.stderr)
        return 2
    from envs import make_env

    if cfg.get("threads", 0) > 0:
        torch.set_num_threads(cfg["threads"])
    # Memory Maze's "map" render is the top-down view with trail and targets; AMaze renders top-down anyway.
    env = make_env(env_name, render_mode="map" if env_family(env_name) == "memory" else "rgb_array")
    out = opts["out"] or os.path.join(opts["logdir"], "enjoy.mp4")
    torch.manual_seed(opts["seed"])
    returns = []
    with VideoWriter(out, opts["fps"]) as writer:
        for k in range(opts["episodes"]):
            episode = play_episode(world_model, behavior, env, opts["seed"] + k, opts["greedy"], record=True)
            for frame in episode_frames(world_model, episode, opts["context"], opts["window"]):
                writer.append(frame)
            returns.append(episode["return"])
            print(f"episode {k}: return {episode['return']:.3f}, length {episode['length']}", flush=True)
    env.close()
    print(json.dumps({"returns": returns, "mean": float(np.mean(returns)), "frames": writer.frames, "video": out}),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
