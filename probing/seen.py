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
SAMPLE_SPACING = 0.1  # grid units between points along a ray


def visible_cells(layout: np.ndarray, agent_pos: np.ndarray, agent_dir: np.ndarray, *,
                  fov_degrees: float = FIELD_OF_VIEW_DEGREES, rays: int = RAYS,
                  spacing: float = SAMPLE_SPACING) -> np.ndarray:
    """(N, N) layout (1 = free, [y, x]), (T, 2) positions (grid units), (T, 2) unit directions ->
    (T, N*N) bool: cell y*N + x is in view at step t."""
    size = layout.shape[0]
    # A ring of wall around the grid stops rays that leave it; the ring is cropped off at the end.
    free = np.zeros((size + 2, size + 2), dtype=bool)
    free[1:-1, 1:-1] = np.asarray(layout) > 0.5
    steps = agent_pos.shape[0]
    heading = np.arctan2(agent_dir[:, 1], agent_dir[:, 0])  # (T,)
    offsets = np.deg2rad(np.linspace(-fov_degrees / 2, fov_degrees / 2, rays))
    angles = (heading[:, None] + offsets[None, :]).astype(np.float32)  # (T, R)
    distances = np.arange(0.0, size * np.sqrt(2) + spacing, spacing, dtype=np.float32)  # (S,)
    position = np.asarray(agent_pos, np.float32) + 1.0  # in padded cells
    # Truncation is floor for the non-negative values; anything below 0 is clipped onto the ring.
    cell_x = np.clip(position[:, 0, None, None] + np.cos(angles)[..., None] * distances, 0, size + 1).astype(np.int16)
    cell_y = np.clip(position[:, 1, None, None] + np.sin(angles)[..., None] * distances, 0, size + 1).astype(np.int16)
    cell = cell_y.astype(np.int32) * (size + 2) + cell_x  # (T, R, S) padded cell index
    blocked = ~free.reshape(-1)[cell]
    # Points up to and including a ray's first blocked one are visible (rays start in a free cell).
    first_blocked = np.where(blocked.any(-1), blocked.argmax(-1), blocked.shape[-1] - 1)  # (T, R)
    visible = np.arange(blocked.shape[-1], dtype=np.int32) <= first_blocked[..., None]
    mask = np.zeros((steps, (size + 2) ** 2), dtype=bool)
    step_index = np.broadcast_to(np.arange(steps, dtype=np.int32)[:, None, None], visible.shape)
    mask[step_index[visible], cell[visible]] = True
    return mask.reshape(steps, size + 2, size + 2)[:, 1:-1, 1:-1].reshape(steps, size * size)


def seen_so_far(layout: np.ndarray, agent_pos: np.ndarray, agent_dir: np.ndarray, **kwargs) -> np.ndarray:
    """(T, N*N) bool: cell seen at any step up to and including t (see `visible_cells`)."""
    return np.logical_or.accumulate(visible_cells(layout, agent_pos, agent_dir, **kwargs), axis=0)
