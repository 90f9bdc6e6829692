"""Vectorised numpy core: N mazes of one size stepped together.

Each maze lives in a wall-padded (H + 2P) x (W + 2P) uint8 grid of cell codes, P = V - 1, so any
V x V view window around an in-grid agent stays inside the array and sees walls beyond the border
(minimax pads the same way). All N grids sit in one contiguous array, and positions are flat
indices into it, so a move is one add and a view is one fancy-index with precomputed offsets.
"""
from typing import Dict, Optional

import numpy as np

from .config import AMazeConfig
from .constants import (
    AGENT_COLOR, AGENT_OBJECT, CODE_TO_ENCODING, DIR_TO_VEC, EMPTY, FORWARD, LEFT, NORMALIZE_DIVISOR, RIGHT, WALL,
)
from .layouts import Layouts, Sampler
from .seeding import SeedLike, SeededBatch
from .spaces import action_space, observation_space



def view_offsets(view: int, row_stride: int) -> np.ndarray:
    """(4, V*V) flat offsets from the agent's cell to each view cell, per direction.

    View cell (i, j) lies V-1-i tiles ahead of the agent and j - V//2 tiles to its right, so the agent
    sits at (V-1, V//2) looking up the image: minimax's rotated crop (MiniGrid's egocentric view).
    """
    i, j = np.meshgrid(np.arange(view), np.arange(view), indexing="ij")
    ahead, right = (view - 1 - i).ravel(), (j - view // 2).ravel()
    out = np.empty((4, view * view), dtype=np.int64)
    for d in range(4):
        fx, fy = DIR_TO_VEC[d]
        rx, ry = DIR_TO_VEC[(d + 1) % 4]  # one right turn from the facing direction
        out[d] = (ahead * fy + right * ry) * row_stride + ahead * fx + right * rx
    return out


class AMazeBatch(SeededBatch):
    """N AMaze instances; `step` takes (N,) actions and returns (N, ...) arrays.

    With auto_reset (the default, what Sample Factory's batched sampling expects) a maze whose
    episode ends is reset inside `step`, and the returned observation is the new episode's first.
    Each maze draws its layouts from its own numpy Generator, so maze i with seed s matches a
    single env seeded s, episode after episode.

    With `levels` (Layouts of N mazes, e.g. a teacher's designs) maze i replays levels[i] on every
    reset instead of sampling (minimax's student playing a designed level).

    Also a Sample Factory multi-agent env: num_agents = N, per-agent observation/action spaces.
    """

    is_multiagent = True

    def __init__(self, cfg: AMazeConfig, sampler: Sampler, num_envs: int, auto_reset: bool = True,
                 seed: SeedLike = None, render_mode: Optional[str] = None, levels: Optional[Layouts] = None):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        if levels is not None and len(levels) != num_envs:
            raise ValueError(f"Got {len(levels)} levels for {num_envs} envs")
        self.levels = levels
        self.cfg, self.sampler, self.num_envs, self.auto_reset = cfg, sampler, num_envs, auto_reset
        self.render_mode = render_mode
        self.observation_space, self.action_space = observation_space(cfg), action_space()
        p = cfg.padding
        self._rows, self._cols = cfg.height + 2 * p, cfg.width + 2 * p
        self._grid = np.full((num_envs, self._rows, self._cols), WALL, dtype=np.uint8)
        self._flat = self._grid.reshape(-1)  # a view: writes to _grid show up here
        self._base = np.arange(num_envs, dtype=np.int64) * (self._rows * self._cols)
        self._move = DIR_TO_VEC[:, 1] * self._cols + DIR_TO_VEC[:, 0]  # (4,) flat step per direction
        self._view = view_offsets(cfg.agent_view_size, self._cols)
        lut = (CODE_TO_ENCODING / NORMALIZE_DIVISOR).astype(np.float32) if cfg.normalize_obs else CODE_TO_ENCODING
        # Each code's 3-channel encoding as one opaque item: a 1-D take of whole items is ~4x faster
        # than fancy-indexing the (codes, 3) table.
        self._image_dtype = lut.dtype
        self._lut_items = np.ascontiguousarray(lut).view(np.dtype((np.void, 3 * lut.itemsize))).ravel()
        self.pos = np.zeros(num_envs, dtype=np.int64)  # flat index into _flat
        self.dir = np.zeros(num_envs, dtype=np.int64)
        self.goal = np.zeros(num_envs, dtype=np.int64)  # flat index
        self.distractor = np.full(num_envs, -1, dtype=np.int64)  # flat index, -1: none
        self.time = np.zeros(num_envs, dtype=np.int64)
        self.generators = [None] * num_envs
        if seed is not None:
            self.seed(seed)

    # ---- seeding and resets ------------------------------------------------------------------
    def _generators_for(self, slots: np.ndarray):
        if self.cfg.singleton_seed >= 0:
            return [np.random.default_rng(self.cfg.singleton_seed) for _ in slots]
        for i in slots:
            if self.generators[i] is None:
                self.generators[i] = np.random.default_rng()
        return [self.generators[i] for i in slots]

    def reset(self, seed: SeedLike = None, options: Optional[dict] = None):
        """Resets every maze. options={"layouts": Layouts of N mazes} loads hand-built mazes instead.

        Returns (obs dict of (N, ...) arrays, info dict).
        """
        if seed is not None:
            self.seed(seed)
        slots = np.arange(self.num_envs)
        if options and "layouts" in options:
            self.load(options["layouts"], slots)
        else:
            self._reset_slots(slots)
        return self.observe(), {}

    def _reset_slots(self, slots: np.ndarray) -> None:
        if self.levels is not None:
            self.load(self.levels.take(slots), slots)
            return
        self.load(self.sampler(self.cfg, self._generators_for(slots)), slots)

    def load(self, layouts: Layouts, slots: Optional[np.ndarray] = None) -> None:
        """Puts K layouts into mazes `slots` (default: all) and restarts their episodes."""
        slots = np.arange(self.num_envs) if slots is None else np.asarray(slots)
        h, w, p = self.cfg.height, self.cfg.width, self.cfg.padding
        if layouts.grid.shape != (len(slots), h, w):
            raise ValueError(f"Layout grids {layouts.grid.shape} do not match {len(slots)} mazes of {h}x{w}")
        self._grid[slots, p:p + h, p:p + w] = layouts.grid
        base = self._base[slots]
        self.pos[slots] = base + self._flat_index(layouts.agent_pos)
        self.dir[slots] = layouts.agent_dir
        self.goal[slots] = base + self._flat_index(layouts.goal_pos)
        has_distractor = layouts.distractor_pos[:, 0] >= 0
        self.distractor[slots] = np.where(has_distractor, base + self._flat_index(layouts.distractor_pos), -1)
        self.time[slots] = 0

    def _flat_index(self, xy: np.ndarray) -> np.ndarray:
        p = self.cfg.padding
        return (xy[:, 1] + p) * self._cols + xy[:, 0] + p

    # ---- dynamics ------------------------------------------------------------------------------
    def step(self, actions):
        """actions: (N,) ints in [0, 7). Returns obs, rewards (N,) float32, terminated (N,) bool,
        truncated (N,) bool, info dict.

        Moving forward into a wall (or the border) leaves the agent in place; into the goal pays
        1 - 0.9 * (t + 1) / T (t: steps taken before this one) and terminates, into a distractor
        terminates unpaid. Reaching t + 1 == T without terminating truncates.
        """
        a = np.asarray(actions).reshape(self.num_envs)
        forward = a == FORWARD
        target = self.pos + self._move[self.dir] * forward
        blocked = self._flat[target] != EMPTY
        hit_goal = forward & (target == self.goal)
        terminated = hit_goal | (forward & (target == self.distractor))
        self.pos = np.where(blocked, self.pos, target)
        self.dir = (self.dir + (a == RIGHT) - (a == LEFT)) & 3
        self.time += 1
        rewards = np.where(hit_goal, 1.0 - 0.9 * self.time / self.cfg.max_episode_steps, 0.0).astype(np.float32)
        truncated = (self.time >= self.cfg.max_episode_steps) & ~terminated
        if self.auto_reset:
            done = np.flatnonzero(terminated | truncated)
            if len(done):
                self._reset_slots(done)
        return self.observe(), rewards, terminated, truncated, {}

    def observe(self) -> Dict[str, np.ndarray]:
        """image (N, V, V, 3), agent_dir (N,) int64 and, if obs_agent_pos, agent_pos (N, 2) int64."""
        v = self.cfg.agent_view_size
        codes = np.take(self._flat, self.pos[:, None] + self._view[self.dir])
        image = np.take(self._lut_items, codes).view(self._image_dtype).reshape(self.num_envs, v, v, 3)
        if self.cfg.see_agent:
            # The agent is not in the grid (its cell reads EMPTY); draw it where it sits in the view.
            scale = 1.0 / NORMALIZE_DIVISOR if self.cfg.normalize_obs else 1
            image[:, v - 1, v // 2, 0] = AGENT_OBJECT * scale
            image[:, v - 1, v // 2, 1] = AGENT_COLOR * scale
            image[:, v - 1, v // 2, 2] = self.dir * scale
        obs = {"image": image, "agent_dir": self.dir.copy()}
        if self.cfg.obs_agent_pos:
            obs["agent_pos"] = self.agent_pos
        return obs

    # ---- state (minimax's EnvState fields) -----------------------------------------------------
    def _xy(self, flat: np.ndarray) -> np.ndarray:
        local = flat - self._base
        p = self.cfg.padding
        return np.stack([local % self._cols - p, local // self._cols - p], axis=1)

    @property
    def agent_pos(self) -> np.ndarray:
        """(N, 2) int64 (x, y)."""
        return self._xy(self.pos)

    @property
    def agent_dir(self) -> np.ndarray:
        return self.dir.copy()

    @property
    def goal_pos(self) -> np.ndarray:
        return self._xy(self.goal)

    @property
    def grid(self) -> np.ndarray:
        """(N, H, W) uint8 cell codes without the padding (a copy)."""
        p = self.cfg.padding
        return self._grid[:, p:p + self.cfg.height, p:p + self.cfg.width].copy()

    @property
    def wall_map(self) -> np.ndarray:
        """(N, H, W) bool, True at walls."""
        return self.grid == WALL

    def layouts(self) -> Layouts:
        """The N mazes as Layouts with the agents' current poses (their start poses right after a
        reset), e.g. for level_metrics as minimax's get_env_metrics reads its state."""
        has_distractor = self.distractor >= 0
        distractor = np.where(has_distractor[:, None], self._xy(np.where(has_distractor, self.distractor, self._base)),
                              -1)
        return Layouts(grid=self.grid, agent_pos=self.agent_pos, agent_dir=self.dir.copy(), goal_pos=self.goal_pos,
                       distractor_pos=distractor)

    def render(self, index: int = 0) -> np.ndarray:
        """Top-down RGB frame of maze `index`, see render.py."""
        from .render import render_frame

        return render_frame(self.grid[index], self.agent_pos[index], int(self.dir[index]), self.cfg.agent_view_size)

    def close(self) -> None:
        pass
