"""Play Memory Maze yourself: `python -m evaluation.play --env=memory_9x9 [--out=DIR]`.

Arrow keys as in memory-maze's own GUI: up = forward, left/right = turn, up+left / up+right =
forward while turning, nothing = stand still. SPACE pauses, ESC ends the episode early. The
episode is saved as <out>/<env>_seed<S>_<time>.npz in the offline-dataset format (image
(T+1, 64, 64, 3) uint8, action (T+1, 6) one-hot with a zero first row, reward (T+1,); with an
`extraobs` env also maze_layout, agent_pos, agent_dir, targets_pos, targets_vec, target_pos,
target_vec, target_color) and as an mp4 of what the window showed.

`--keys=up,up,left,up+right,none` plays a script instead of the keyboard; with
SDL_VIDEODRIVER=dummy this runs headless (tests do this).

With a display the view renders through OSMesa (else GLFW), whatever MUJOCO_GL says: beside
pygame's window EGL dies as the window opens and GLFW freezes the view (see WINDOW_BACKENDS); the
choice is printed.
"""
import argparse
import logging
import os
import sys
import time
from typing import Dict, List, Optional

import numpy as np

from envs import env_family
from common.cli import InputError, check_at_least, check_writable_folder, input_errors_exit_2
from envs import check_env_name
from evaluation.video import even_sides

log = logging.getLogger(__name__)

# memory-maze's action set: noop, forward, left, right, forward+left, forward+right.
KEY_ACTIONS: Dict[str, int] = {"none": 0, "up": 1, "left": 2, "right": 3, "up+left": 4, "up+right": 5}
NUM_ACTIONS = 6
DATASET_KEYS = ("maze_layout", "agent_pos", "agent_dir", "targets_pos", "targets_vec", "target_pos", "target_vec",
                "target_color")


def parse_keys(spec: str) -> List[int]:
    """'up,left+up,none' -> [1, 4, 0]; order inside a combo does not matter."""
    actions = []
    for token in spec.split(","):
        token = token.strip().lower()
        if token in ("", "noop", "-"):
            token = "none"
        parts = sorted(token.split("+"), key=lambda p: p != "up")  # 'left+up' == 'up+left'
        name = "+".join(parts)
        if name not in KEY_ACTIONS:
            raise InputError(f"--keys: unknown key {token!r}; use {', '.join(KEY_ACTIONS)}")
        actions.append(KEY_ACTIONS[name])
    return actions


def action_from_keys(pressed) -> int:
    """memory-maze GUI's rule: the last keymap entry whose keys are all held wins."""
    import pygame

    keymap = [((), 0), ((pygame.K_UP,), 1), ((pygame.K_LEFT,), 2), ((pygame.K_RIGHT,), 3),
              ((pygame.K_UP, pygame.K_LEFT), 4), ((pygame.K_UP, pygame.K_RIGHT), 5)]
    action = 0
    for keys, act in keymap:
        if all(pressed[k] for k in keys):
            action = act
    return action


class EpisodeRecorder:
    """Accumulates one episode in the offline-dataset layout: row t is the state after action t."""

    def __init__(self):
        self.steps: Dict[str, list] = {}

    def add(self, obs, action: Optional[int], reward: float) -> None:
        row = {"image": obs["image"] if isinstance(obs, dict) else obs}
        one_hot = np.zeros(NUM_ACTIONS, np.uint8)
        if action is not None:
            one_hot[action] = 1
        row["action"] = one_hot
        row["reward"] = np.float32(reward)
        if isinstance(obs, dict):
            row.update({key: obs[key] for key in DATASET_KEYS if key in obs})
        for key, value in row.items():
            self.steps.setdefault(key, []).append(np.asarray(value))

    def arrays(self) -> Dict[str, np.ndarray]:
        return {key: np.stack(values) for key, values in self.steps.items()}

    def save(self, path: str) -> str:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        np.savez_compressed(path, **self.arrays())
        return path


def window_frame(env, size: int, show_map: bool, step: int, episode_return: float, paused: bool = False) -> np.ndarray:
    import cv2

    base = env.unwrapped
    view = cv2.resize(np.asarray(base.render()), (size, size), interpolation=cv2.INTER_NEAREST)
    panels = [view]
    if show_map:
        panels += [np.zeros((size, 4, 3), np.uint8), base.render_map(size)]
    frame = np.concatenate(panels, axis=1)
    bar = np.full((28, frame.shape[1], 3), 25, np.uint8)
    text = f"step {step}  return {episode_return:g}" + ("  PAUSED" if paused else "")
    cv2.putText(bar, text, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (235, 235, 235), 1, cv2.LINE_AA)
    return even_sides(np.concatenate([bar, frame], axis=0))


# OSMesa first: it needs no display, so it cannot clash with the window, and its frames are the
# ones training saw (EGL and OSMesa render bit-identically). Beside a pygame window on Xvfb + Mesa,
# EGL dies (X_GLXMakeCurrent BadAccess) and GLFW renders the first frame only (the view froze while
# the agent moved); GLFW stays as the fallback for a machine without OSMesa.
WINDOW_BACKENDS = ("osmesa", "glfw")
PYOPENGL_PLATFORMS = {"glfw": "glx", "osmesa": "osmesa"}


def has_window() -> bool:
    """True when pygame will open a real window (a display and no dummy video driver)."""
    return os.environ.get("SDL_VIDEODRIVER", "") not in ("dummy", "offscreen") and bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def choose_window_backend() -> str:
    """Sets MUJOCO_GL (and PyOpenGL's platform) to the first of WINDOW_BACKENDS that works here and
    returns a note for the user: which, and what it replaced."""
    from envs.rendering import probe_backend

    before = os.environ.get("MUJOCO_GL", "")
    errors = []
    for backend in WINDOW_BACKENDS:
        error = probe_backend(backend)
        if not error:
            os.environ["MUJOCO_GL"] = backend
            os.environ["PYOPENGL_PLATFORM"] = PYOPENGL_PLATFORMS[backend]
            replaced = f", not MUJOCO_GL={before} from the environment" if before and before != backend else ""
            return f"MUJOCO_GL={backend} (renders beside the window{replaced})"
        errors.append(f"{backend}: {error}")
    raise InputError(f"No OpenGL backend renders beside the pygame window ({'; '.join(errors)}); "
                     "install libosmesa6, or run headless with SDL_VIDEODRIVER=dummy")


def play(env_name: str, out_dir: str, seed: int, keys: Optional[List[int]], max_steps: Optional[int], fps: float,
         size: int, show_map: bool) -> Dict[str, object]:
    """Runs one episode (keyboard or scripted) and saves it; returns paths, return and length."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from envs import make_env
    from evaluation.video import VideoWriter

    env = make_env(env_name, seed=seed, render_mode="rgb_array")
    stem = os.path.join(out_dir, f"{env_name}_seed{seed}_{time.strftime('%Y%m%d-%H%M%S')}")
    recorder = EpisodeRecorder()
    video = VideoWriter(stem + ".mp4", env.metadata.get("render_fps", 4))
    pygame.init()
    try:
        obs, _ = env.reset(seed=seed)
        recorder.add(obs, None, 0.0)
        step, total, paused, running = 0, 0.0, False, True
        frame = window_frame(env, size, show_map, step, total)
        screen = pygame.display.set_mode((frame.shape[1], frame.shape[0]))
        pygame.display.set_caption(f"evaluation.play {env_name} (seed {seed})")
        clock = pygame.time.Clock()
        video.append(frame)
        while running:
            screen.blit(pygame.surfarray.make_surface(frame.transpose(1, 0, 2)), (0, 0))
            pygame.display.flip()
            if keys is None:
                clock.tick(fps)
            held_down = set()
            for event in pygame.event.get():
                if event.type == pygame.QUIT:
                    running = False
                elif event.type == pygame.KEYDOWN:
                    held_down.add(event.key)
                    if event.key == pygame.K_ESCAPE:
                        running = False
                    elif event.key == pygame.K_SPACE:
                        paused = not paused
            if not running:
                break
            if keys is not None:
                if step >= len(keys):
                    break
                action = keys[step]
            else:
                if paused:
                    frame = window_frame(env, size, show_map, step, total, paused=True)
                    continue
                pressed = pygame.key.get_pressed()
                # A tap shorter than one frame still counts, as in memory-maze's GUI.
                action = action_from_keys({k: pressed[k] or k in held_down
                                           for k in (pygame.K_UP, pygame.K_LEFT, pygame.K_RIGHT)})
            obs, reward, terminated, truncated, _ = env.step(action)
            step, total = step + 1, total + float(reward)
            recorder.add(obs, action, reward)
            frame = window_frame(env, size, show_map, step, total)
            video.append(frame)
            if terminated or truncated or (max_steps is not None and step >= max_steps):
                running = False
    finally:
        video.close()
        pygame.quit()
        env.close()
    npz = recorder.save(stem + ".npz")
    return dict(npz=npz, video=video.path, episode_return=total, length=step, seed=seed)


@input_errors_exit_2("evaluation.play")
def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="memory_9x9", help="A memory_* env; an *_extraobs one also records the maze state")
    parser.add_argument("--out", default="recordings", help="Folder for the .npz and .mp4")
    parser.add_argument("--seed", default=None, type=int, help="Maze seed (default: a fresh one, printed)")
    parser.add_argument("--keys", default=None, help="Scripted keys, e.g. up,up,left,up+right,none (no keyboard)")
    parser.add_argument("--max_steps", default=None, type=int, help="End the episode after this many steps")
    parser.add_argument("--fps", default=10.0, type=float, help="Steps per second while playing (memory-maze GUI: 10)")
    parser.add_argument("--size", default=512, type=int, help="Window size of the agent view in pixels")
    parser.add_argument("--show_map", action="store_true", help="Show the top-down map beside the view (not fair play)")
    args = parser.parse_args(argv)
    check_env_name(args.env, trainable=True)
    if env_family(args.env) != "memory":
        raise InputError(f"--env={args.env}: play drives Memory Maze's 6 actions; choose a memory_* env")
    keys = parse_keys(args.keys) if args.keys is not None else None
    check_at_least(1, max_steps=args.max_steps, size=args.size)
    check_at_least(0, seed=args.seed)
    if not args.fps > 0:
        raise InputError(f"--fps={args.fps}; pass a positive rate")
    check_writable_folder("--out", args.out)
    if has_window():
        print(f"evaluation.play: rendering with {choose_window_backend()}")
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    if keys is None:
        print("Arrow keys: up = forward, left/right = turn; SPACE pause, ESC stop.")
    result = play(args.env, args.out, seed, keys, args.max_steps, args.fps, args.size, args.show_map)
    print(f"seed {result['seed']}: return {result['episode_return']:g} in {result['length']} steps")
    print(f"wrote {result['npz']} and {result['video']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
