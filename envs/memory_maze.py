"""Memory Maze (the memory-maze package's dm_env tasks) behind the gymnasium API.

Episode lengths, the 4 Hz control, targets per size and rewards are the package's own, so scores
stay comparable with the paper. Names are `memory_<size>[_<variant>...]`, mirroring the gym ids
the package registers (`MemoryMaze-9x9-ExtraObs-Vis-v0` -> `memory_9x9_extraobs_vis`).
"""
import importlib
import importlib.util
import logging
import math
import sys
import types
import warnings
from typing import Any, Dict, List, Optional

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.actions import checked_action, checked_seed
from envs.rendering import ensure_gl_backend

log = logging.getLogger(__name__)

SEED_LIMIT = 2**32  # the package seeds a numpy RandomState
SIZES = ("9x9", "11x11", "13x13", "15x15")

# One entry per variant the package registers as a gym id, with the task keywords it uses there.
VARIANTS: Dict[str, Dict[str, Any]] = {
    "": dict(image_only_obs=True),
    "vis": dict(image_only_obs=True, good_visibility=True),
    "hd": dict(image_only_obs=True, camera_resolution=256),
    "top": dict(image_only_obs=True, camera_resolution=256, top_camera=True),
    "extraobs": dict(global_observables=True),
    "extraobs_vis": dict(global_observables=True, good_visibility=True),
    "extraobs_top": dict(global_observables=True, camera_resolution=256, top_camera=True),
    "oracle": dict(image_only_obs=True, global_observables=True, show_path=True),
    "oracle_top": dict(image_only_obs=True, global_observables=True, show_path=True, camera_resolution=256, top_camera=True),
    "oracle_extraobs": dict(global_observables=True, show_path=True),
    "hifreq": dict(image_only_obs=True, control_freq=40),
    "hifreq_vis": dict(image_only_obs=True, control_freq=40, good_visibility=True),
    "hifreq_hd": dict(image_only_obs=True, control_freq=40, camera_resolution=256),
    "6cl": dict(randomize_colors=True, image_only_obs=True),
    "6cl_top": dict(randomize_colors=True, image_only_obs=True, camera_resolution=256, top_camera=True),
    "6cl_extraobs": dict(randomize_colors=True, global_observables=True),
}

# Keywords of memory_maze.tasks._memory_maze a user may override through make_env(**overrides).
TASK_KEYWORDS = (
    "control_freq", "discrete_actions", "image_only_obs", "target_color_in_image", "global_observables",
    "top_camera", "good_visibility", "show_path", "camera_resolution", "randomize_colors",
)


def memory_maze_names() -> List[str]:
    return [f"memory_{size}" + (f"_{variant}" if variant else "") for size in SIZES for variant in VARIANTS]


def parse_name(name: str):
    """'memory_15x15_extraobs' -> ('15x15', 'extraobs'); ValueError naming what is allowed."""
    parts = name.split("_")
    if len(parts) < 2 or parts[0] != "memory":
        raise ValueError(f"{name!r} is not a Memory Maze name (memory_<size>[_<variant>])")
    size, variant = parts[1], "_".join(parts[2:])
    if size not in SIZES:
        raise ValueError(f"Unknown maze size {size!r} in env name {name!r}; sizes: {', '.join(SIZES)}")
    if variant not in VARIANTS:
        allowed = ", ".join(repr(v) for v in VARIANTS if v)
        raise ValueError(f"Unknown Memory Maze variant {variant!r} in env name {name!r}; variants: {allowed}")
    return size, variant


def import_memory_maze_tasks():
    """Imports memory_maze.tasks without running memory_maze/__init__.py.

    That __init__ only registers old-`gym` ids (we use the dm_env tasks), re-raises ImportError when
    `gym` is missing and prints gym's deprecation banner; so the package directory is mounted as a
    bare namespace and only the task module is loaded.
    """
    ensure_gl_backend()
    if "memory_maze" not in sys.modules:
        spec = importlib.util.find_spec("memory_maze")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("The memory-maze package is not installed: run `make setup` or pip install memory-maze==1.0.3")
        package = types.ModuleType("memory_maze")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["memory_maze"] = package
    tasks = importlib.import_module("memory_maze.tasks")
    # dm_control turns every DeprecationWarning into a printed line, flooding training logs.
    warnings.simplefilter("default", DeprecationWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(dm_control|labmaze|memory_maze)")
    return tasks


# At every reset dm_control's UprightInitializer (walkers/initializers) zeroes the walker's velocity
# with Entity.set_velocity, which for Memory Maze's ball walker (slide and hinge joints, no free
# joint) only logs this through absl: the walker's joints were just reset to rest, nothing is wrong.
VELOCITY_WARNING = "Cannot set velocity on Entity with no free joint."


class DropMessage(logging.Filter):
    """Drops log records whose message is exactly `message`; every other record passes."""

    def __init__(self, message: str):
        super().__init__()
        self.message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != self.message


def quiet_velocity_warning() -> None:
    """Filters VELOCITY_WARNING, and only it, off absl's logger in this process (idempotent)."""
    absl_logger = logging.getLogger("absl")
    if not any(isinstance(f, DropMessage) and f.message == VELOCITY_WARNING for f in absl_logger.filters):
        absl_logger.addFilter(DropMessage(VELOCITY_WARNING))


def _spec_to_space(spec) -> spaces.Box:
    dtype = np.dtype(spec.dtype)
    low = getattr(spec, "minimum", -np.inf)
    high = getattr(spec, "maximum", np.inf)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        low = info.min if np.isneginf(low).all() else low
        high = info.max if np.isposinf(high).all() else high
    return spaces.Box(low=np.broadcast_to(low, spec.shape).astype(dtype), high=np.broadcast_to(high, spec.shape).astype(dtype),
                      shape=spec.shape, dtype=dtype)


def _composer_env(dm_env):
    """The dm_control composer.Environment under memory_maze's wrapper chain."""
    while hasattr(dm_env, "env"):
        dm_env = dm_env.env
    return dm_env


class MemoryMazeEnv(gym.Env):
    """One Memory Maze task as a gymnasium env.

    Observations: the (R, R, 3) uint8 camera image (R = 64, or 256 for HD/Top), or for ExtraObs
    variants a Dict with `image`, `target_color` and the global observables (`agent_pos`,
    `agent_dir`, `maze_layout`, `targets_vec`, `targets_pos`, `target_vec`, `target_pos`).
    Actions: Discrete(6) (noop, forward, left, right, forward+left, forward+right).
    Memory Maze never terminates; `truncated` is True at the package's time limit.

    `reset(seed=s)` gives the same maze and first frame as constructing the env with `seed=s`.
    """

    metadata = {"render_modes": ["rgb_array", "map"], "render_fps": 4}

    def __init__(self, name: str, seed: Optional[int] = None, render_mode: Optional[str] = None,
                 reference_impl: bool = False, **overrides):
        size, variant = parse_name(name)
        seed = checked_seed(seed, below=SEED_LIMIT)
        unknown = sorted(set(overrides) - set(TASK_KEYWORDS))
        if unknown:
            raise ValueError(f"Unknown Memory Maze option(s) {unknown} for {name!r}; allowed: {', '.join(TASK_KEYWORDS)}, reference_impl")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(f"render_mode={render_mode!r}; allowed: None, {', '.join(self.metadata['render_modes'])}")
        self.name, self.size, self.variant = name, size, variant
        self.render_mode = render_mode
        self.reference_impl = reference_impl
        self.task_kwargs = dict(VARIANTS[variant], **overrides)
        if self.task_kwargs.get("control_freq", 4.0) != 4.0:
            self.metadata = dict(self.metadata, render_fps=self.task_kwargs["control_freq"])

        tasks = import_memory_maze_tasks()
        quiet_velocity_warning()  # here, not at import: in each process that builds an env
        from envs.fast_memory_maze import build_task  # imported late: it needs the GL backend chosen

        task_fn = getattr(tasks, f"memory_maze_{size}")
        self._dm_env = build_task(task_fn, reference_impl=reference_impl, seed=seed, **self.task_kwargs)
        self._composer = _composer_env(self._dm_env)
        # _6cl shuffles task._target_colors in place every episode; a reseed starts from this order.
        self._initial_target_colors = list(self._composer.task._target_colors)
        self.max_episode_steps = int(math.ceil(self._composer._time_limit / self._composer.control_timestep()))

        obs_spec = self._dm_env.observation_spec()
        self._dict_obs = isinstance(obs_spec, dict)
        if self._dict_obs:
            self.observation_space = spaces.Dict({key: _spec_to_space(spec) for key, spec in obs_spec.items()})
        else:
            self.observation_space = _spec_to_space(obs_spec)
        self.action_space = spaces.Discrete(int(self._dm_env.action_spec().num_values))
        self._last_image: Optional[np.ndarray] = None
        self._steps: Optional[int] = None  # None until the first reset

    # Reseeding rebuilds only what the package derives from its seed: the numpy RandomState and the
    # labmaze generator seeded from its first draw (tasks._memory_maze does exactly this at build),
    # plus the target colour order that randomize_colors (_6cl) reshuffles in place each episode.
    def _reseed(self, seed: int) -> None:
        import labmaze

        random_state = np.random.RandomState(seed)
        maze = self._composer.task._maze_arena.maze
        fresh = labmaze.RandomMaze(
            height=maze._height, width=maze._width, max_rooms=maze._max_rooms,
            room_min_size=maze._room_min_size, room_max_size=maze._room_max_size,
            max_variations=maze._max_variations, spawns_per_room=maze._spawns_per_room,
            spawn_token=maze._spawn_token, objects_per_room=maze._objects_per_room,
            object_token=maze._object_token, simplify=True,
            random_seed=random_state.randint(2147483648),
        )
        maze._native_maze = fresh._native_maze
        self._composer.task._target_colors[:] = self._initial_target_colors
        self._composer._random_state = random_state

    def _convert(self, observation):
        if self._dict_obs:
            self._last_image = observation["image"]
            return {key: np.asarray(observation[key], dtype=space.dtype) for key, space in self.observation_space.spaces.items()}
        self._last_image = observation
        return observation

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        super().reset(seed=checked_seed(seed, below=SEED_LIMIT))
        if seed is not None:
            self._reseed(int(seed))
        time_step = self._dm_env.reset()
        self._steps = 0
        return self._convert(time_step.observation), {}

    def step(self, action):
        if self._steps is None:
            raise RuntimeError(f"{self.name}: step() called before reset(); call env.reset() first")
        time_step = self._dm_env.step(checked_action(action, self.action_space))
        self._steps += 1
        # The package ends episodes only by its time limit, never by a true terminal state.
        truncated = bool(time_step.last())
        reward = float(time_step.reward or 0.0)
        return self._convert(time_step.observation), reward, False, truncated, {}

    def render(self):
        """The agent's current camera frame, (R, R, 3) uint8; with render_mode="map" the top-down map."""
        if self._last_image is None:
            raise RuntimeError("render() called before reset()")
        if self.render_mode == "map":
            return self.render_map()
        return self._last_image

    def render_map(self, size: int = 256) -> np.ndarray:
        """Top-down map (size, size, 3) uint8: walls, objects, current target, agent + trail, score.

        The trail joins the positions seen by earlier calls this episode: call it every step.
        """
        from envs.memory_maze_map import MazeMapRenderer

        if self._last_image is None:
            raise RuntimeError("render_map() called before reset()")
        if getattr(self, "_map_renderer", None) is None:
            self._map_renderer = MazeMapRenderer(size)
        return self._map_renderer.render(self, size)

    def close(self):
        if getattr(self, "_dm_env", None) is not None:
            self._dm_env.close()
            self._dm_env = None
