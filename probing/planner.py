"""The scripted data-collection policy: walk to random points along shortest grid paths, under action noise.

Coordinates follow the package's ExtraObs (memory_maze/wrappers.py): `agent_pos` is (x, y) in grid
cells with (0, 0) at the bottom-left corner, and `maze_layout[y, x]` is 1 where cell (x, y) is free
(the package flips the rows so that row 0 is the bottom one). So a position indexes the layout as
`layout[int(y), int(x)]`, never `layout[int(x), int(y)]`.
"""
from collections import deque
from typing import List, Optional, Tuple

import numpy as np

Cell = Tuple[int, int]  # (x, y)

NOOP, FORWARD, LEFT, RIGHT, FORWARD_LEFT, FORWARD_RIGHT = range(6)


def cell_of(pos: np.ndarray) -> Cell:
    return int(np.floor(pos[0])), int(np.floor(pos[1]))


def free_cells(layout: np.ndarray) -> List[Cell]:
    ys, xs = np.nonzero(layout)
    return [(int(x), int(y)) for x, y in zip(xs, ys)]


def shortest_path(layout: np.ndarray, start: Cell, goal: Cell) -> Optional[List[Cell]]:
    """4-connected BFS over free cells; the cells from start to goal inclusive, or None if unreachable."""
    height, width = layout.shape
    if not (0 <= goal[0] < width and 0 <= goal[1] < height) or not layout[goal[1], goal[0]]:
        return None
    parent = {start: start}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        if cell == goal:
            path = [cell]
            while path[-1] != start:
                path.append(parent[path[-1]])
            return path[::-1]
        x, y = cell
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if 0 <= nx < width and 0 <= ny < height and layout[ny, nx] and (nx, ny) not in parent:
                parent[(nx, ny)] = cell
                queue.append((nx, ny))
    return None


def steer(pos: np.ndarray, heading: np.ndarray, point: np.ndarray) -> int:
    """The discrete action that turns toward / drives to `point`.

    Turning "left" rotates agent_dir counter-clockwise in (x, y) (y up), so a positive signed angle
    from heading to the point means turn left.
    """
    to_point = point - pos
    angle = np.arctan2(heading[0] * to_point[1] - heading[1] * to_point[0], heading @ to_point)
    if abs(angle) < 0.3:
        return FORWARD
    # Moving while turning through wide angles would cut corners into walls; turn on the spot instead.
    if abs(angle) < 0.9:
        return FORWARD_LEFT if angle > 0 else FORWARD_RIGHT
    return LEFT if angle > 0 else RIGHT


class WaypointPolicy:
    """Goes to a random free cell along the BFS path, cell centre to cell centre; then picks another.

    With probability `epsilon` a step's action is replaced by a uniformly random one, the paper's
    "action noise"; it also makes trajectories wander off the centre lines and form loops.
    `waypoints_reached` counts goals reached, for tests and logs.
    """

    def __init__(self, *, layout: np.ndarray, rng: np.random.Generator, epsilon: float = 0.2,
                 reach_radius: float = 0.3, patience: int = 60):
        self.layout = np.asarray(layout)
        self.rng = rng
        self.epsilon, self.reach_radius, self.patience = epsilon, reach_radius, patience
        self.cells = free_cells(self.layout)
        self.goal: Optional[Cell] = None
        self.path: List[Cell] = []
        self.next_index = 0
        self.steps_since_progress = 0
        self.waypoints_reached = 0

    def _new_goal(self, current: Cell) -> None:
        choices = [cell for cell in self.cells if cell != current] or self.cells
        self.goal = choices[int(self.rng.integers(len(choices)))]
        self._replan(current, pos=None)

    def _replan(self, current: Cell, pos: Optional[np.ndarray]) -> None:
        self.path = shortest_path(self.layout, current, self.goal) or [current]
        # Head for the current cell's centre first only when far from it, so turns happen on centre lines.
        far_from_centre = pos is not None and np.linalg.norm(pos - (np.asarray(current) + 0.5)) > self.reach_radius
        self.next_index = 0 if far_from_centre or len(self.path) == 1 else 1
        self.steps_since_progress = 0

    def __call__(self, agent_pos: np.ndarray, agent_dir: np.ndarray) -> int:
        current = cell_of(agent_pos)
        if self.goal is None:
            self._new_goal(current)
        # Pushed off the path (noise, collisions): plan again from where we are.
        on_path = current in self.path[max(0, self.next_index - 1): self.next_index + 1]
        if not on_path or self.steps_since_progress > self.patience:
            self._replan(current, agent_pos)
        target = np.asarray(self.path[self.next_index]) + 0.5
        if np.linalg.norm(agent_pos - target) < self.reach_radius:
            self.next_index += 1
            self.steps_since_progress = 0
            if self.next_index >= len(self.path):
                self.waypoints_reached += 1
                self._new_goal(current)
            target = np.asarray(self.path[self.next_index]) + 0.5
        self.steps_since_progress += 1
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(6))
        return steer(agent_pos, agent_dir, target)
