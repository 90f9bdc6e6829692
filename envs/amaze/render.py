"""Top-down RGB frames for videos: the whole maze with its border, MiniGrid colours.

Walls grey, goals green (red in the Memory maze), the agent a red triangle pointing where it
faces, and the tiles of its V x V view lightened.
"""
from functools import lru_cache

import numpy as np

from .constants import DIR_TO_VEC, WALL

TILE = 32  # pixels per tile
CODE_COLORS = np.array([(0, 0, 0), (100, 100, 100), (0, 255, 0), (255, 0, 0)], dtype=np.uint8)
AGENT_COLOR = np.array((255, 0, 0), dtype=np.uint8)
GRID_LINE = np.array((60, 60, 60), dtype=np.uint8)
HIGHLIGHT = 0.3  # fraction of the way to white for tiles in view


@lru_cache(maxsize=8)
def _triangle(tile: int, direction: int) -> np.ndarray:
    """(tile, tile) bool mask of MiniGrid's agent triangle pointing in `direction`."""
    c = (np.arange(tile) + 0.5) / tile
    v, u = np.meshgrid(c, c, indexing="ij")  # v down, u right
    right = (u >= 0.12) & (np.abs(v - 0.5) <= (0.87 - u) * (0.31 / 0.75))
    return np.rot90(right, k=-direction)  # np.rot90 turns counter-clockwise; directions turn clockwise


def render_frame(grid: np.ndarray, agent_pos, agent_dir: int, view_size: int, tile: int = TILE) -> np.ndarray:
    """grid: (H, W) cell codes; agent_pos: (x, y). Returns ((H+2)*tile, (W+2)*tile, 3) uint8."""
    h, w = grid.shape
    codes = np.full((h + 2, w + 2), WALL, dtype=np.uint8)
    codes[1:-1, 1:-1] = grid
    colors = CODE_COLORS[codes].astype(np.float32)

    # View tiles: ahead 0..V-1, sideways -V//2..V//2 (no occlusion, as in minimax).
    ahead, side = np.meshgrid(np.arange(view_size), np.arange(view_size) - view_size // 2, indexing="ij")
    f, r = DIR_TO_VEC[agent_dir], DIR_TO_VEC[(agent_dir + 1) % 4]
    xs = agent_pos[0] + 1 + ahead * f[0] + side * r[0]
    ys = agent_pos[1] + 1 + ahead * f[1] + side * r[1]
    inside = (xs >= 0) & (xs < w + 2) & (ys >= 0) & (ys < h + 2)
    colors[ys[inside], xs[inside]] += (255 - colors[ys[inside], xs[inside]]) * HIGHLIGHT

    frame = np.repeat(np.repeat(colors.astype(np.uint8), tile, axis=0), tile, axis=1)
    frame[::tile, :] = GRID_LINE
    frame[:, ::tile] = GRID_LINE
    ay, ax = (agent_pos[1] + 1) * tile, (agent_pos[0] + 1) * tile
    frame[ay:ay + tile, ax:ax + tile][_triangle(tile, int(agent_dir))] = AGENT_COLOR
    return frame
