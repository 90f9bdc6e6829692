"""The AMaze teacher: minimax's UEDMaze, where a designer places a maze's walls, goal and agent one
cell per step (PAIRED's adversary), vectorised over N designs like the student's AMazeBatch.

The state is minimax's: an action record `encoding` (N, E) and the step count `time`. Each step
writes one cell index into the record; `decode` reads the level out of it as minimax's
get_env_instance does (TeacherConfig says which step places what). A collision, i.e. an action on a
cell in `used_cells_of_record` (under replace_wall_pos only the agent landing on the goal), is
replaced by a uniformly drawn unused cell. The batch keeps the used cells and the observed image up
to date step by step instead of re-deriving them; the tests check both against these definitions.

Randomness (noise, start direction, collision redraws) comes from one numpy Generator per design,
drawn once per episode, so design i with seed s is the same as a single teacher env seeded s.
"""
from typing import Dict, Optional

import numpy as np
from gymnasium import spaces

from .constants import (
    AGENT_COLOR, AGENT_OBJECT, CODE_TO_ENCODING, COLOR_TO_INDEX, EMPTY, GOAL, NORMALIZE_DIVISOR, OBJECT_TO_INDEX, WALL,
)
from .layouts import Layouts, pick_cells
from .seeding import SeedLike, SeededBatch
from .teacher_config import TeacherConfig

GOAL_ENCODING = (OBJECT_TO_INDEX["goal"], COLOR_TO_INDEX["green"], 0)
WALL_ENCODING = (OBJECT_TO_INDEX["wall"], COLOR_TO_INDEX["grey"], 0)


def teacher_observation_space(cfg: TeacherConfig) -> spaces.Dict:
    """image: (H+2, W+2, 3) map of the design so far, wall border included (uint8 MiniGrid codes, or
    float32 in [0, 1] if normalize_obs); time: steps taken, 0..T; noise: (noise_dim,) float32 in [0, 1)."""
    shape = (cfg.height + 2, cfg.width + 2, 3)
    image = (spaces.Box(0.0, 1.0, shape, dtype=np.float32) if cfg.normalize_obs
             else spaces.Box(0, 255, shape, dtype=np.uint8))
    # T + 1 values: the observation after the last step shows time = T.
    obs = {"image": image, "time": spaces.Discrete(cfg.max_episode_steps + 1)}
    if cfg.noise_dim > 0:
        obs["noise"] = spaces.Box(0.0, 1.0, (cfg.noise_dim,), dtype=np.float32)
    return spaces.Dict(obs)


def decode(cfg: TeacherConfig, encoding: np.ndarray, time: np.ndarray) -> Dict[str, np.ndarray]:
    """The level an action record describes so far (minimax's get_env_instance).

    encoding: (N, E) int64 cell indices; time: (N,) steps taken.
    Returns wall_map (N, H, W) bool, goal_pos and agent_pos (N, 2) int64 (x, y), goal_placed and
    agent_placed (N,) bool, agent_dir (N,) int64. Walls under the goal or agent are removed.
    """
    n, w, rows = len(encoding), cfg.width, np.arange(len(encoding))
    if cfg.fixed_n_wall_steps:
        budget, first = np.full(n, cfg.n_walls, dtype=np.int64), 0
    else:
        budget, first = cfg.wall_budget(encoding[:, 0]), int(cfg.budget_mode)
    goal_index = budget + first  # walls occupy record slots first .. first + budget - 1
    agent_index = goal_index + 1
    n_placed = np.clip(np.minimum(time - first, budget), 0, None)
    r, k = np.nonzero(np.arange(cfg.n_walls)[None, :] < n_placed[:, None])
    walls = np.zeros((n, cfg.cells), dtype=bool)
    walls[r, encoding[r, first + k]] = True
    goal_cell, agent_cell = encoding[rows, goal_index], encoding[rows, agent_index]
    goal_placed, agent_placed = time > goal_index, time > agent_index
    walls[rows[goal_placed], goal_cell[goal_placed]] = False
    walls[rows[agent_placed], agent_cell[agent_placed]] = False
    agent_dir = direction_of(cfg, encoding[:, -1])  # the last record slot holds the direction
    return dict(
        wall_map=walls.reshape(n, cfg.height, w),
        goal_pos=np.stack([goal_cell % w, goal_cell // w], axis=1), goal_placed=goal_placed,
        agent_pos=np.stack([agent_cell % w, agent_cell // w], axis=1), agent_placed=agent_placed,
        agent_dir=agent_dir,
    )


def direction_of(cfg: TeacherConfig, cell: np.ndarray) -> np.ndarray:
    """floor(4 * cell / (H*W)) in float32, minimax's reading of the direction slot."""
    return np.floor((4 * np.asarray(cell)).astype(np.float32) / np.float32(cfg.cells)).astype(np.int64)


def used_cells_of_record(cfg: TeacherConfig, encoding: np.ndarray, time: np.ndarray) -> np.ndarray:
    """(N, H*W) bool: cells step `time` collides with (minimax's pos_dist == 0).

    minimax looks at a window of N + 2 record slots, starting at slot 1 when the first step is the
    budget; there the window reaches the slot about to be written, still 0, so cell 0 counts as used
    from step 1 on (kept for parity).
    """
    start, size = int(cfg.budget_mode), cfg.n_walls + 2
    r, k = np.nonzero(np.arange(size)[None, :] < time[:, None])
    used = np.zeros((len(encoding), cfg.cells), dtype=bool)
    used[r, encoding[r, start + k]] = True
    return used


def image_of_design(cfg: TeacherConfig, decoded: Dict[str, np.ndarray]) -> np.ndarray:
    """(N, H+2, W+2, 3) uint8 map of decoded designs (minimax's make_maze_map without padding):
    wall border, walls, the agent (object 10, colour red, its direction) and the goal over it."""
    walls = decoded["wall_map"]
    n = len(walls)
    codes = np.full((n, cfg.height + 2, cfg.width + 2), WALL, dtype=np.uint8)
    codes[:, 1:-1, 1:-1] = np.where(walls, WALL, EMPTY)
    image = CODE_TO_ENCODING[codes]
    a = np.flatnonzero(decoded["agent_placed"])
    ax, ay = decoded["agent_pos"][a].T
    image[a, ay + 1, ax + 1] = np.stack([np.full(len(a), AGENT_OBJECT), np.full(len(a), AGENT_COLOR),
                                         decoded["agent_dir"][a]], axis=1)
    g = np.flatnonzero(decoded["goal_placed"])
    gx, gy = decoded["goal_pos"][g].T
    image[g, gy + 1, gx + 1] = GOAL_ENCODING
    return image


class AMazeTeacherBatch(SeededBatch):
    """N teacher envs; `step` takes (N,) cell indices in [0, H*W) and returns (N, ...) arrays.

    Every design takes exactly T = cfg.max_episode_steps steps and ends `terminated` (the design is
    complete); the reward is always 0 (a curriculum method scores the level from the student's
    play). With auto_reset the finished designs are returned in info["levels"] (Layouts, in slot
    order of info["level_slots"]) and the returned observation is the next design's first.
    `levels()` reads the designs of all slots at any time after their agent is placed.
    """

    is_multiagent = True

    def __init__(self, cfg: TeacherConfig, num_envs: int, auto_reset: bool = True, seed: SeedLike = None):
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.cfg, self.num_envs, self.auto_reset = cfg, num_envs, auto_reset
        self.observation_space = teacher_observation_space(cfg)
        self.action_space = spaces.Discrete(cfg.cells)
        self.encoding = np.zeros((num_envs, cfg.encoding_dim), dtype=np.int64)
        self.time = np.zeros(num_envs, dtype=np.int64)
        # Per design and episode: row 0 for the reset (noise, direction), row t + 1 for step t
        # (noise, collision redraw).
        self._uniforms = np.zeros((num_envs, cfg.max_episode_steps + 1, cfg.noise_dim + 1))
        self.generators = [None] * num_envs
        # Kept step by step (decode + image_of_design is the definition, checked in the tests):
        self._budget = np.zeros(num_envs, dtype=np.int64)  # walls of the design
        self._goal_cell = np.full(num_envs, -1, dtype=np.int64)
        self._agent_cell = np.full(num_envs, -1, dtype=np.int64)
        self._dir = np.zeros(num_envs, dtype=np.int64)
        self._used = np.zeros((num_envs, cfg.cells), dtype=bool)
        self._blank = image_of_design(cfg, decode(cfg, self.encoding[:1], self.time[:1]))[0]
        self._image = np.repeat(self._blank[None], num_envs, axis=0)
        if seed is not None:
            self.seed(seed)

    # ---- seeding and resets ------------------------------------------------------------------
    def reset(self, seed: SeedLike = None, options: Optional[dict] = None):
        """Blank designs everywhere. Returns (obs dict of (N, ...) arrays, info dict)."""
        if seed is not None:
            self.seed(seed)
        self._reset_slots(np.arange(self.num_envs))
        return self.observe(), {}

    def _reset_slots(self, slots: np.ndarray) -> None:
        cfg = self.cfg
        for i in slots:
            if self.generators[i] is None:
                self.generators[i] = np.random.default_rng()
            self._uniforms[i] = self.generators[i].random(self._uniforms.shape[1:])
        self.encoding[slots] = 0
        self.time[slots] = 0
        if not cfg.set_agent_dir:
            # minimax stores a random direction d as the cell ceil(d / 4 * H*W), in float32.
            direction = np.floor(self._uniforms[slots, 0, -1] * 4).astype(np.float32)
            cell = np.ceil(direction / np.float32(4) * np.float32(cfg.cells))
            self.encoding[slots, -1] = cell.astype(np.int64)
        self._dir[slots] = direction_of(cfg, self.encoding[slots, -1])
        self._budget[slots] = cfg.n_walls if cfg.fixed_n_wall_steps else 0  # minimax reads the unset slot as 0
        self._goal_cell[slots] = -1
        self._agent_cell[slots] = -1
        self._used[slots] = False
        self._image[slots] = self._blank

    # ---- dynamics ------------------------------------------------------------------------------
    def _last_wall_step(self) -> np.ndarray:
        """(N,) step index of the last wall as minimax's step_env counts it (before the goal step)."""
        if self.cfg.first_wall_pos_sets_budget:
            return np.maximum(self._budget, 1) - 1
        return self._budget - 1 if self.cfg.fixed_n_wall_steps else self._budget

    def used_cells(self, rows: Optional[np.ndarray] = None) -> np.ndarray:
        """(N, H*W) bool (or the given rows): cells a step now collides with (minimax's pos_dist == 0),
        kept up to date step by step; used_cells_of_record is the definition."""
        rows = np.arange(self.num_envs) if rows is None else rows
        used = self._used[rows]
        used[:, 0] |= self._cell0_used(rows)
        return used

    def _cell0_used(self, rows) -> np.ndarray:
        """Under the budget schedule the window's unwritten slot reads cell 0 while it lies within
        the window's N + 2 slots (steps 1 .. N + 2)."""
        t = self.time[rows]
        return self.cfg.budget_mode & (t >= 1) & (t <= self.cfg.n_walls + 2)

    def step(self, actions):
        """actions: (N,) cell indices. Returns obs, rewards (N,) float32 zeros, terminated (N,),
        truncated (N,) all False, info."""
        cfg, rows = self.cfg, np.arange(self.num_envs)
        cell = np.asarray(actions).reshape(self.num_envs).astype(np.int64)
        if cell.min() < 0 or cell.max() >= cfg.cells:
            raise ValueError(f"Teacher actions are cells in [0, {cfg.cells}), got {cell.min()}..{cell.max()}")
        t = self.time
        if (t >= cfg.max_episode_steps).any():
            raise RuntimeError("step() after a finished design: call reset() (or use auto_reset)")
        goal_step = self._last_wall_step() + 1
        direction_step = cfg.set_agent_dir & (t + 1 >= cfg.max_episode_steps)
        collision = (self._used[rows, cell] | ((cell == 0) & self._cell0_used(rows))) & ~direction_step
        if cfg.replace_wall_pos:
            # Only the agent landing on the goal collides.
            collision &= (t == goal_step + 1) & (self.encoding[rows, goal_step] == cell)
        if collision.any():
            hit = np.flatnonzero(collision)
            cell[hit] = pick_cells(~self.used_cells(hit), self._uniforms[hit, t[hit] + 1, -1])
        slot = np.where(direction_step, cfg.encoding_dim - 1, t)
        self.encoding[rows, slot] = cell
        self._update(t, cell, direction_step)
        self.time = t + 1
        terminated = self.time >= cfg.max_episode_steps
        info = {}
        if self.auto_reset and terminated.any():
            done = np.flatnonzero(terminated)
            info = {"levels": self._levels(done), "level_slots": done}
            self._reset_slots(done)
        return (self.observe(), np.zeros(self.num_envs, dtype=np.float32), terminated,
                np.zeros(self.num_envs, dtype=bool), info)

    def _update(self, t: np.ndarray, cell: np.ndarray, direction_step: np.ndarray) -> None:
        """Applies step t's cell to the used cells and the image: what decode would read, per step."""
        cfg, w = self.cfg, self.cfg.width
        first = int(cfg.budget_mode)
        first_step = t == 0
        if not cfg.fixed_n_wall_steps and first_step.any():
            self._budget = np.where(first_step, cfg.wall_budget(cell), self._budget)
        placing = ~direction_step
        goal_index = self._budget + first
        is_wall = placing & (t >= first) & (t < goal_index)
        is_goal = placing & (t == goal_index)
        is_agent = placing & (t == goal_index + 1)
        # Written cells of the used-cell window (see used_cells_of_record): every placing step but
        # the budget step.
        in_window = np.flatnonzero(placing & (t >= first))
        self._used[in_window, cell[in_window]] = True
        x, y = cell % w + 1, cell // w + 1
        r = np.flatnonzero(is_wall)
        self._image[r, y[r], x[r]] = WALL_ENCODING
        r = np.flatnonzero(is_goal)
        self._image[r, y[r], x[r]] = GOAL_ENCODING
        self._goal_cell[r] = cell[r]
        r = np.flatnonzero(is_agent)
        self._agent_cell[r] = cell[r]
        draw = is_agent
        if cfg.set_agent_dir and direction_step.any():
            r = np.flatnonzero(direction_step)
            self._dir[r] = direction_of(cfg, cell[r])
            draw = is_agent | (direction_step & (self._agent_cell >= 0))
        # The agent is drawn on placement and redrawn when the direction step turns it; an agent on
        # the goal stays hidden under it, as in minimax.
        r = np.flatnonzero(draw & (self._agent_cell != self._goal_cell))
        if len(r):
            ac = self._agent_cell[r]
            self._image[r, ac // w + 1, ac % w + 1] = np.stack(
                [np.full(len(r), AGENT_OBJECT), np.full(len(r), AGENT_COLOR), self._dir[r]], axis=1)

    def observe(self) -> Dict[str, np.ndarray]:
        """image (N, H+2, W+2, 3), time (N,) int64 and, if noise_dim > 0, noise (N, noise_dim) float32."""
        cfg, n = self.cfg, self.num_envs
        if cfg.normalize_obs:
            image = self._image * np.float32(1.0 / NORMALIZE_DIVISOR)
        else:
            image = self._image.copy()
        obs = {"image": image, "time": self.time.copy()}
        if cfg.noise_dim > 0:
            step_row = np.minimum(self.time, cfg.max_episode_steps)
            obs["noise"] = self._uniforms[np.arange(n), step_row, :cfg.noise_dim].astype(np.float32)
        return obs

    # ---- the designed levels ---------------------------------------------------------------------
    def levels(self) -> Layouts:
        """The N designed levels (K = N), playable by the student env (make_student_batch, or
        AMazeEnv.reset(options={"layout": levels.take([i])})). Raises if an agent is not placed yet."""
        return self._levels(np.arange(self.num_envs))

    def _levels(self, slots: np.ndarray) -> Layouts:
        d = decode(self.cfg, self.encoding[slots], self.time[slots])
        unfinished = slots[~(d["agent_placed"] & d["goal_placed"])]
        if len(unfinished):
            raise ValueError(f"Designs {unfinished.tolist()} have no goal/agent yet")
        k, rows = len(slots), np.arange(len(slots))
        grid = np.where(d["wall_map"], WALL, EMPTY).astype(np.uint8)
        grid[rows, d["goal_pos"][:, 1], d["goal_pos"][:, 0]] = GOAL
        return Layouts(grid=grid, agent_pos=d["agent_pos"], agent_dir=d["agent_dir"], goal_pos=d["goal_pos"],
                       distractor_pos=np.full((k, 2), -1, dtype=np.int64))

    def close(self) -> None:
        pass
