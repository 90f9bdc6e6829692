"""Which maze cells the agent has seen so far, derived from the trajectory's pose and layout.

The files carry no visibility record (pydreamer's `map_seen_mask` comes from `map_seen` / `map_vis`
observations that the Memory Maze dataset does not have), so it is reconstructed: from the agent's
position, rays fan out over the camera's horizontal field of view around `agent_dir` (the walker's
egocentric camera has fovy = 80 degrees on a square image, dm_control `jumping_ball` asset) and run
until they leave the grid or enter a wall cell. Every cell a ray passes through is seen, the wall
cell that stops it included (walls are full height, so nothing behind one shows). A cell stays seen
for the rest of the episode. This ignores the camera's small forward offset and downward tilt and
the floor hidden right below it, so it slightly over-counts near cells; it never sees through walls.
"""
import numpy as np

FIELD_OF_VIEW_DEGREES = 80.0
RAYS = 33  # about 2.5 degrees apart: a 1-cell gap 9 cells away still gets a ray


def visible_cells(layout: np.ndarray, agent_pos: np.ndarray, agent_dir: np.ndarray, *,
                  fov_degrees: float = FIELD_OF_VIEW_DEGREES, rays: int = RAYS) -> np.ndarray:
    """(N, N) layout (1 = free, [y, x]), (T, 2) positions (grid units), (T, 2) unit directions ->
    (T, N*N) bool: cell y*N + x is in view at step t.

    Rays walk the grid cell by cell (Amanatides-Woo traversal), all T x rays of them at once: each
    iteration marks every live ray's cell and moves it across the nearer cell border.
    """
    size = layout.shape[0]
    free = np.asarray(layout).reshape(-1) > 0.5
    steps = agent_pos.shape[0]
    heading = np.arctan2(agent_dir[:, 1], agent_dir[:, 0])
    angles = (heading[:, None] + np.deg2rad(np.linspace(-fov_degrees / 2, fov_degrees / 2, rays))[None]).reshape(-1)
    step_index = np.repeat(np.arange(steps), rays)
    origin = np.repeat(np.asarray(agent_pos, np.float64), rays, axis=0)  # (T*R, 2)
    direction = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    cell = np.floor(origin).astype(np.int64)
    step = np.where(direction >= 0, 1, -1)
    with np.errstate(divide="ignore"):
        delta = np.where(direction != 0, 1.0 / np.abs(direction), np.inf)  # ray length per cell crossed
        border = np.where(direction >= 0, cell + 1 - origin, origin - cell)
        next_cross = np.where(direction != 0, border * delta, np.inf)  # ray length to the next x / y border
    mask = np.zeros((steps, size * size), dtype=bool)
    live = np.ones(len(angles), dtype=bool)
    for _ in range(2 * size + 2):  # a ray crosses at most 2N borders before leaving the grid
        inside = live & (cell[:, 0] >= 0) & (cell[:, 0] < size) & (cell[:, 1] >= 0) & (cell[:, 1] < size)
        flat = cell[inside, 1] * size + cell[inside, 0]
        mask[step_index[inside], flat] = True  # a wall cell is seen too, and stops its ray
        blocked = np.ones(len(angles), dtype=bool)
        blocked[inside] = ~free[flat]
        live &= ~blocked
        if not live.any():
            break
        axis = (next_cross[:, 1] < next_cross[:, 0]).astype(np.int64)  # 0: cross an x border, 1: a y border
        rows = np.arange(len(angles))
        cell[rows, axis] += step[rows, axis]
        next_cross[rows, axis] += delta[rows, axis]
    return mask


def seen_so_far(layout: np.ndarray, agent_pos: np.ndarray, agent_dir: np.ndarray, **kwargs) -> np.ndarray:
    """(T, N*N) bool: cell seen at any step up to and including t (see `visible_cells`)."""
    return np.logical_or.accumulate(visible_cells(layout, agent_pos, agent_dir, **kwargs), axis=0)
