"""Hand-designed test mazes of minimax's maze_ood.py (from dcd), as data.

Rows run top (y=0) to bottom, '1' is a wall; positions are (x, y). `dir` is the start direction:
minimax turns an unset direction into 0 (right) in MazeSingleton.__init__, so these mazes always
start facing right, and we keep that. `goals` with several entries: one is drawn per reset.
"""

SIXTEEN_ROOMS = dict(
    rows=["0001001001000", "0000000001000", "0001001000000", "1011101101110", "0001000000000",
          "0000001001000", "1101011011101", "0001000001000", "0001001000000", "0111101101011",
          "0001001001000", "0000001000000", "0001000001000"],
    agent=(1, 1), dir=0, goals=[(11, 11)],
)
SIXTEEN_ROOMS2 = dict(
    rows=["0001000001000", "0000001001000", "0001001001000", "1111011011101", "0001001000000",
          "0000001001000", "1011111011111", "0001001001000", "0001000000000", "1101101101111",
          "0001001001000", "0000001000000", "0001001001000"],
    agent=(1, 1), dir=0, goals=[(11, 11)],
)
LABYRINTH = dict(
    rows=["0000000000000", "0111111111110", "0100000000010", "0101111111010", "0101000001010",
          "0101011101010", "0101010101010", "0101010101010", "0100010001010", "0111111111010",
          "0000010000010", "1111010111110", "0000010000000"],
    agent=(0, 12), dir=0, goals=[(6, 6)],
)
LABYRINTH_FLIPPED = dict(
    rows=["0000000000000", "0111111111110", "0100000000010", "0101111111010", "0101000001010",
          "0101011101010", "0101010101010", "0101010101010", "0101000100010", "0101111111110",
          "0100000100000", "0111110101111", "0000000100000"],
    agent=(12, 12), dir=2, goals=[(6, 6)],
)
LABYRINTH2 = dict(
    rows=["0100000000000", "0101111111110", "0101000000010", "0101011111010", "0101010001010",
          "0001010101010", "1111010101010", "0001011101010", "0101000001010", "0101111111010",
          "0100000000010", "0111111111110", "0000000000000"],
    agent=(0, 0), dir=0, goals=[(6, 6)],
)
STANDARD_MAZE = dict(
    rows=["0000010000100", "0111011110110", "0100000000000", "0111111110111", "0000000010000",
          "1111110111110", "0000100100000", "0110001101111", "0010100100010", "1010110111010",
          "1010010001000", "1011011101110", "0001000101000"],
    agent=(6, 0), dir=0, goals=[(6, 12)],
)
STANDARD_MAZE2 = dict(
    rows=["0001010000100", "0101011110001", "0100000000100", "0111111110111", "0001001010100",
          "1101011010100", "0101000010110", "0101101110010", "0100100111010", "0110110101010",
          "0100010101010", "0101010101010", "0001000100000"],
    agent=(0, 6), dir=0, goals=[(12, 4)],
)
STANDARD_MAZE3 = dict(
    rows=["0000101000000", "0111101011110", "0100001010000", "0001111010101", "1101000010100",
          "0001011010110", "0101010010010", "0101010111011", "0100010101000", "0111010101110",
          "0100010100010", "0101110101010", "0100010001000"],
    agent=(3, 0), dir=0, goals=[(12, 6)],
)


def _corridor_rows(size: int) -> list:
    # Vertical corridors above and below a horizontal wall, open rows at top and bottom.
    teeth = "".join("1" if x % 2 else "0" for x in range(size))
    spine = "0" + "1" * (size - 2) + "0"
    half = size // 2
    return ["0" * size] + [teeth] * (half - 1) + [spine] + [teeth] * (half - 1) + ["0" * size]


# Goal at the inner end of one corridor, next to the spine.
SMALL_CORRIDOR = dict(
    rows=_corridor_rows(13), agent=(0, 6), dir=0,
    goals=[(x, y) for y in (5, 7) for x in range(2, 12, 2)],
)
LARGE_CORRIDOR = dict(
    rows=_corridor_rows(19), agent=(0, 9), dir=0,
    goals=[(x, y) for y in (8, 10) for x in range(2, 18, 2)],
)

# Memory: a clue tile left of the start shows the goal's colour; the two coloured goals sit up and
# down a corridor, and walking into the wrong one ends the episode unpaid.
MEMORY = dict(
    rows=["000000001010000"] * 5 + ["111100001010000", "000111111010000", "000000000010000",
                                     "000111111010000", "111100001010000"] + ["000000001010000"] * 5,
    agent=(0, 7), dir=0, clue=(0, 6), top_goal=(9, 5), bottom_goal=(9, 9),
)
