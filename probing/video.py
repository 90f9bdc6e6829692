"""Probe videos: the camera frame beside predicted vs true object locations and wall map, per step.

    python -m probing.video --episode=data/mm9/episode_000003.npz --probes=results/sf.pt --out=sf.mp4

Panels, like the paper's probe videos: left, the agent's view; middle, objects around the agent
(forward is up; true = circle, predicted = cross, one colour per object); right, the wall map
(dark green wall hit, light green free hit, light red wall predicted on a free cell, dark red wall
missed; plain grey/white where no walls probe was given), with the agent as a red arrow.
"""
import argparse
import logging
import os
import sys
from typing import Dict, List, Optional

import numpy as np

from common.cli import InputError, input_errors_exit_2

log = logging.getLogger(__name__)

PANEL = 256
# Object colours in BGR-free RGB, one per object index (the package's own palette is not exposed).
PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240)]
WALL_COLORS = {  # (true wall, predicted wall) -> RGB
    (True, True): (0, 100, 0), (False, False): (170, 230, 170),
    (False, True): (250, 160, 160), (True, False): (150, 0, 0),
}


def _camera_panel(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.resize(image, (PANEL, PANEL), interpolation=cv2.INTER_NEAREST)


def _objects_panel(true_vec: np.ndarray, pred_vec: Optional[np.ndarray], scale: float) -> np.ndarray:
    """targets_vec is (right, forward) in the agent's frame: draw forward as up."""
    import cv2

    panel = np.full((PANEL, PANEL, 3), 245, np.uint8)
    centre = np.array([PANEL / 2, PANEL / 2])

    def pixel(vec):
        return tuple(int(v) for v in np.round(centre + np.array([vec[0], -vec[1]]) * scale))

    cv2.arrowedLine(panel, pixel((0, -0.4)), pixel((0, 0.6)), (200, 0, 0), 2, tipLength=0.5)
    for index, vec in enumerate(true_vec):
        color = PALETTE[index % len(PALETTE)]
        cv2.circle(panel, pixel(vec), 7, color, 2)
        if pred_vec is not None:
            x, y = pixel(pred_vec[index])
            cv2.line(panel, (x - 6, y - 6), (x + 6, y + 6), color, 2)
            cv2.line(panel, (x - 6, y + 6), (x + 6, y - 6), color, 2)
    cv2.putText(panel, "objects (o true, x probe)", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    return panel


def _walls_panel(free: np.ndarray, wall_logits: Optional[np.ndarray], agent_pos: Optional[np.ndarray],
                 agent_dir: Optional[np.ndarray]) -> np.ndarray:
    """Row 0 of maze_layout is the bottom row, so rows are drawn bottom-up."""
    import cv2

    size = free.shape[0]
    cell = PANEL // size
    panel = np.full((PANEL, PANEL, 3), 255, np.uint8)
    for y in range(size):
        for x in range(size):
            wall = not free[y, x]
            if wall_logits is None:
                color = (90, 90, 90) if wall else (255, 255, 255)
            else:
                color = WALL_COLORS[(wall, bool(wall_logits[y * size + x] > 0))]
            top = (size - 1 - y) * cell
            panel[top:top + cell, x * cell:(x + 1) * cell] = color
    if agent_pos is not None:
        def pixel(point):
            return int(point[0] * cell), int((size - point[1]) * cell)

        tip = agent_pos + 0.4 * (agent_dir if agent_dir is not None else np.zeros(2))
        cv2.arrowedLine(panel, pixel(agent_pos), pixel(tip), (220, 0, 0), 2, tipLength=0.5)
    return panel


def render_frames(*, episode: Dict[str, np.ndarray], predictions: Dict[str, np.ndarray], stride: int = 1) -> List[np.ndarray]:
    """RGB frames (PANEL x 3 PANEL) for steps 0, stride, 2 stride, ... of the episode."""
    import cv2

    from probing.probe import labels_of, score

    layout = episode["maze_layout"]
    scale = PANEL / 2 / (layout.shape[-1] + 0.5)  # the farthest object fits inside the panel
    walls, objects = predictions.get("walls"), predictions.get("objects")
    agent_pos, agent_dir = episode.get("agent_pos"), episode.get("agent_dir")
    per_step = {target: score(target, prediction, labels_of(target, episode)) for target, prediction in predictions.items()}
    frames = []
    for t in range(0, len(layout), stride):
        row = [
            _camera_panel(episode["image"][t]),
            _objects_panel(episode["targets_vec"][t], objects[t].reshape(-1, 2) if objects is not None else None, scale),
            _walls_panel(layout[t] > 0, walls[t] if walls is not None else None,
                         agent_pos[t] if agent_pos is not None else None, agent_dir[t] if agent_dir is not None else None),
        ]
        frame = np.ascontiguousarray(np.concatenate(row, axis=1))
        text = f"t={t}" + "".join(f"  {target} {'acc' if target == 'walls' else 'mse'} {values[t]:.3f}"
                                  for target, values in per_step.items())
        cv2.putText(frame, text, (PANEL + 4, PANEL - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
        frames.append(frame)
    return frames


def render_episode_video(*, episode: Dict[str, np.ndarray], predictions: Dict[str, np.ndarray], path: str,
                         fps: int = 16, stride: int = 1) -> None:
    """Writes the probe video: .mp4 through the one video writer (evaluation.video), or a .gif."""
    frames = render_frames(episode=episode, predictions=predictions, stride=stride)
    if path.endswith(".gif"):
        import imageio

        imageio.mimsave(path, frames, duration=1000 / fps)
        return
    from evaluation.video import VideoWriter

    with VideoWriter(path, fps) as writer:
        for frame in frames:
            writer.append(frame)


@input_errors_exit_2("probing.video")
def main(argv: Optional[List[str]] = None) -> None:
    import torch

    from probing.dataset import load_episode
    from probing.probe import ProbeMLP, pose_of, probe_input
    from probing.representations import load_representation

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--episode", required=True, help="One trajectory NPZ")
    parser.add_argument("--probes", required=True, help="The .pt probing.train writes beside its --out JSON")
    parser.add_argument("--model", default="", help="Representation spec; default: the one the probes were trained on")
    parser.add_argument("--out", required=True, help="Video path (.mp4 or .gif)")
    parser.add_argument("--fps", type=int, default=16)
    parser.add_argument("--stride", type=int, default=1, help="Draw every n-th step")
    args = parser.parse_args(argv)
    for flag, path in (("--episode", args.episode), ("--probes", args.probes)):
        if not os.path.isfile(path):  # one line, not torch's or numpy's traceback
            raise InputError(f"{flag}={path}: no such file")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    saved = torch.load(args.probes, map_location="cpu", weights_only=False)
    extractor, _ = load_representation(args.model or saved["model"])
    episode = load_episode(args.episode)
    features = (extractor(episode).astype(np.float32) - saved["feature_mean"]) / saved["feature_std"]
    pose = pose_of(episode) if saved.get("probe_pose", False) else None
    predictions = {}
    for target, state in saved["probes"].items():
        probe = ProbeMLP(**saved["sizes"][target])
        probe.load_state_dict(state)
        with torch.no_grad():
            predictions[target] = probe.eval()(torch.from_numpy(probe_input(target, features, pose))).numpy()
    render_episode_video(episode=episode, predictions=predictions, path=args.out, fps=args.fps, stride=args.stride)
    log.info("video: %s", args.out)


if __name__ == "__main__":
    sys.exit(main())
