"""Top-down map of a live Memory Maze episode, drawn with numpy/OpenCV (no second GL camera).

The map shows walls (from the arena's maze layout), the objects in their colours with the current
target ringed, the agent (a disc with a heading tick) and its trail, and a header with the running
score. Positions are read from the physics the same way memory_maze's AgentPositionWrapper and
TargetsPositionWrapper compute `agent_pos` / `targets_pos`, so the map agrees with ExtraObs
observations: grid coordinates in cells, (0, 0) the bottom-left corner of the inner maze.
"""
from dataclasses import dataclass
from typing import List, Optional

import cv2
import numpy as np

# A colour no target, wall or floor uses, so tests (and viewers) can find the agent by colour.
AGENT_COLOR = (255, 255, 255)
HEADING_COLOR = (20, 20, 20)
WALL_COLOR = (70, 60, 40)
FLOOR_COLOR = (150, 175, 215)
TRAIL_COLOR = (255, 150, 0)
RING_COLOR = (255, 0, 255)
HEADER_COLOR = (25, 25, 25)
TEXT_COLOR = (235, 235, 235)


@dataclass
class MapState:
    """What the map shows, in grid coordinates (x right, y up, one unit per maze cell)."""

    free: np.ndarray  # (N, N) bool, free[y, x]; row 0 is the bottom row
    agent_pos: np.ndarray  # (2,) x, y
    agent_dir: np.ndarray  # (2,) unit vector of the agent's heading
    targets_pos: np.ndarray  # (n_targets, 2)
    target_colors: np.ndarray  # (n_targets, 3) uint8 RGB
    current_target: int
    score: float


def read_map_state(env) -> MapState:
    """Reads the live state of a MemoryMazeEnv (or anything with `_composer` set the same way)."""
    composer_env = env._composer
    task, physics = composer_env.task, composer_env.physics
    arena = task._maze_arena
    maze = arena.maze
    # memory_maze's MazeLayoutWrapper: drop the outer walls, flip so row 0 is the bottom row; walls
    # carry texture-variation digits, so free cells are exactly these three characters.
    layout = np.flip(np.asarray(maze.entity_layer)[1:-1, 1:-1], 0)
    free = (layout == " ") | (layout == "P") | (layout == "G")
    center = np.array([maze.width - 2.0, maze.height - 2.0]) / 2.0
    scale = arena.xy_scale

    root = physics.bind(task._walker.root_body)
    agent_pos = np.asarray(root.xpos[:2], dtype=np.float64) / scale + center
    # AgentPositionWrapper's agent_dir: the body's y axis, the direction "forward" moves it.
    agent_dir = np.reshape(np.asarray(root.xmat), (3, 3))[:2, 1].astype(np.float64)
    targets_pos = np.array([np.asarray(physics.bind(t.geom).xpos[:2]) / scale + center for t in task._targets]).reshape(-1, 2)
    colors = np.array(task._target_colors[: len(task._targets)], dtype=np.float64).reshape(-1, 3)
    target_colors = np.clip(np.round(colors * 255), 0, 255).astype(np.uint8)
    return MapState(free=free, agent_pos=agent_pos, agent_dir=agent_dir, targets_pos=targets_pos,
                    target_colors=target_colors, current_target=int(task._current_target_ix),
                    score=float(task._targets_obtained))


def map_geometry(n_cells: int, size: int):
    """(header height, cell size in px, left/top offset of the maze area) for a size x size frame."""
    header = max(14, size // 10)
    cell = max(1, min(size, size - header) // n_cells)
    x0 = (size - cell * n_cells) // 2
    y0 = header + (size - header - cell * n_cells) // 2
    return header, cell, x0, y0


def grid_to_pixel(pos, n_cells: int, size: int) -> np.ndarray:
    """Grid (x, y), y up -> pixel (col, row) of the map frame."""
    _, cell, x0, y0 = map_geometry(n_cells, size)
    x, y = float(pos[0]), float(pos[1])
    return np.array([x0 + x * cell, y0 + (n_cells - y) * cell])


def draw_map(state: MapState, trail: Optional[List[np.ndarray]] = None, size: int = 256,
             step: Optional[int] = None, max_steps: Optional[int] = None) -> np.ndarray:
    """(size, size, 3) uint8 RGB frame of `state`; `trail` is the agent's past grid positions."""
    n = state.free.shape[0]
    header, cell, x0, y0 = map_geometry(n, size)
    frame = np.zeros((size, size, 3), np.uint8)
    frame[:] = WALL_COLOR
    frame[:header] = HEADER_COLOR

    # Cells: image row r holds grid row n-1-r, because the grid's y axis points up.
    cells = np.where(np.flipud(state.free)[..., None], np.array(FLOOR_COLOR, np.uint8), np.array(WALL_COLOR, np.uint8))
    maze_px = np.repeat(np.repeat(cells, cell, axis=0), cell, axis=1)
    frame[y0:y0 + n * cell, x0:x0 + n * cell] = maze_px

    def px(pos):
        p = grid_to_pixel(pos, n, size)
        return int(round(p[0])), int(round(p[1]))

    if trail is not None and len(trail) > 1:
        points = np.array([px(p) for p in trail], np.int32).reshape(-1, 1, 2)
        cv2.polylines(frame, [points], False, TRAIL_COLOR, max(1, cell // 10), cv2.LINE_AA)

    radius = max(2, int(cell * 0.3))
    for i, (pos, color) in enumerate(zip(state.targets_pos, state.target_colors)):
        center = px(pos)
        if i == state.current_target:
            cv2.circle(frame, center, radius + max(2, cell // 8), RING_COLOR, max(1, cell // 12), cv2.LINE_AA)
        cv2.circle(frame, center, radius, tuple(int(c) for c in color), -1, cv2.LINE_AA)

    center = px(state.agent_pos)
    agent_radius = max(2, int(cell * 0.22))
    # No anti-aliasing on the agent disc: its colour must stay exact where it is drawn.
    cv2.circle(frame, center, agent_radius, AGENT_COLOR, -1, cv2.LINE_8)
    heading = np.asarray(state.agent_dir, np.float64)
    norm = np.linalg.norm(heading)
    if norm > 0:
        # Grid y points up, image rows point down. The tick starts off-centre so the disc's centre,
        # the agent's exact position, keeps AGENT_COLOR.
        unit = np.array([heading[0], -heading[1]]) / norm

        def along(fraction):
            return tuple(int(round(c + u * agent_radius * fraction)) for c, u in zip(center, unit))

        cv2.line(frame, along(0.7), along(1.9), HEADING_COLOR, max(1, agent_radius // 2), cv2.LINE_AA)

    text = f"score {state.score:g}"
    if step is not None:
        text += f"  t {step}" + (f"/{max_steps}" if max_steps else "")
    swatch_w = header  # the current target's colour, right of the text
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, header / 40.0
    (width, _), _ = cv2.getTextSize(text, font, scale, 1)
    scale *= min(1.0, (size - swatch_w - 12) / max(width, 1))
    cv2.putText(frame, text, (4, int(header * 0.7)), font, scale, TEXT_COLOR, 1, cv2.LINE_AA)
    if len(state.target_colors):
        swatch = tuple(int(c) for c in state.target_colors[state.current_target])
        cv2.rectangle(frame, (size - swatch_w - 4, header // 4), (size - 4, header - header // 4), swatch, -1)
    return frame


class MazeMapRenderer:
    """Keeps the agent's trail across calls; a new episode (step counter went back) clears it."""

    def __init__(self, size: int = 256):
        self.size = size
        self.trail: List[np.ndarray] = []
        self._last_step = -1

    def render(self, env, size: Optional[int] = None) -> np.ndarray:
        step = int(getattr(env, "_steps", 0))
        if step <= self._last_step or step == 0:
            self.trail = []
        self._last_step = step
        state = read_map_state(env)
        if not self.trail or not np.allclose(self.trail[-1], state.agent_pos):
            self.trail.append(state.agent_pos.copy())
        return draw_map(state, self.trail, size or self.size, step=step, max_steps=getattr(env, "max_episode_steps", None))
