"""AMaze teacher (minimax's UEDMaze), ACCEL mutators and level metrics.

Expected levels are worked out by hand from minimax's maze_ued.py on a 3x3 grid whose cells are
numbered c = 3y + x:
    0 1 2
    3 4 5
    6 7 8
A collision redraw takes the k-th unused cell with k = floor(u * #unused); the tests pin u to 0
(lowest unused cell) or 0.99 (highest), so the set of cells minimax counts as used decides the level.
"""
from collections import deque

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs import list_envs, make_env
from envs.amaze import (
    AMazeBatch, AMazeTeacherBatch, Layouts, TeacherConfig, flip_wall, level_metrics, make_amaze, make_amaze_batch,
    make_amaze_teacher_batch, make_student_batch, move_goal, mutate, shortest_path_length,
)
from envs.amaze.constants import EMPTY, GOAL, WALL
from envs.amaze.mutators import flip_wall_at, move_goal_to
from envs.amaze.teacher import decode, image_of_design, used_cells_of_record

FIXED, BUDGET, FIRST = "fixed", "budget", "first"
SCHEDULES = {FIXED: dict(fixed_n_wall_steps=True), BUDGET: {}, FIRST: dict(first_wall_pos_sets_budget=True)}


def teacher(schedule, n_walls, replace=False, set_dir=False, size=3, **kw):
    kw.setdefault("noise_dim", 0)
    return TeacherConfig(height=size, width=size, n_walls=n_walls, replace_wall_pos=replace, set_agent_dir=set_dir,
                         **SCHEDULES[schedule], **kw)


def design(cfg, actions, u=0.0, seed=0):
    """Runs one design with collision uniforms pinned to u; returns (level as a tuple, batch)."""
    batch = AMazeTeacherBatch(cfg, 1, auto_reset=False, seed=seed)
    batch.reset()
    batch._uniforms[..., -1] = u
    for a in actions:
        batch.step([a])
    return summary(batch.levels()), batch


def summary(levels: Layouts, i=0):
    """(sorted wall cells, goal cell, agent cell, direction) of level i of a 3-wide grid."""
    w = levels.grid.shape[2]
    walls = tuple(int(c) for c in np.flatnonzero(levels.grid[i].ravel() == WALL))
    cell = lambda xy: int(xy[1] * w + xy[0])  # noqa: E731
    return walls, cell(levels.goal_pos[i]), cell(levels.agent_pos[i]), int(levels.agent_dir[i])


def reset_dir(batch):
    return int(decode(batch.cfg, batch.encoding, batch.time)["agent_dir"][0])


# ---- the step schedule -------------------------------------------------------------------------
@pytest.mark.parametrize("schedule, n_walls, set_dir, steps", [
    (FIXED, 2, False, 4), (FIXED, 2, True, 5), (BUDGET, 4, False, 7), (BUDGET, 4, True, 8),
    (FIRST, 4, False, 6), (FIRST, 4, True, 7),
])
def test_episode_length(schedule, n_walls, set_dir, steps):
    cfg = teacher(schedule, n_walls, set_dir=set_dir)
    assert cfg.max_episode_steps == steps
    batch = AMazeTeacherBatch(cfg, 2, auto_reset=False, seed=0)
    batch.reset()
    for t in range(steps):
        _, rewards, terminated, truncated, _ = batch.step([0, 8])
        assert terminated.all() == (t == steps - 1) and not truncated.any() and not rewards.any()
    with pytest.raises(RuntimeError):
        batch.step([0, 0])


def test_wall_budget_rounds_half_to_even():
    # round(N * a / (H*W)): 4 * a / 8 = 0.5, 1.5, 2.5, 3.5 -> 0, 2, 2, 4 (numpy/jax rounding).
    np.testing.assert_array_equal(TeacherConfig(height=2, width=4, n_walls=4).wall_budget([1, 3, 5, 7]), [0, 2, 2, 4])
    # 4 * a / 9 on the 3x3 grid: budgets of actions 0..8.
    np.testing.assert_array_equal(teacher(BUDGET, 4).wall_budget(np.arange(9)), [0, 0, 1, 1, 2, 2, 3, 3, 4])


# Each case: schedule, n_walls, replace_wall_pos, set_agent_dir, actions, u, expected
# (walls, goal, agent, dir); dir None = the direction drawn at reset.
CASES = [
    # fixed: N wall steps, goal, agent.
    (FIXED, 2, False, False, [4, 2, 8, 0], 0.0, ((2, 4), 8, 0, None)),
    (FIXED, 2, False, False, [0, 2, 8, 1], 0.0, ((0, 2), 8, 1, None)),  # cell 0 is a fine wall here
    # Wall on a wall: redrawn to the lowest unused cell 0; agent on wall 0: redrawn to 1.
    (FIXED, 2, False, False, [4, 4, 8, 0], 0.0, ((0, 4), 8, 1, None)),
    # Same with the highest unused cell: walls 4, 8; the goal on 8 goes to 7; agent 0 is free.
    (FIXED, 2, False, False, [4, 4, 8, 0], 0.99, ((4, 8), 7, 0, None)),
    # Only one cell left unused: the redraw has no choice.
    (FIXED, 7, False, False, [0, 1, 2, 3, 4, 5, 6, 7, 7], 0.0, ((0, 1, 2, 3, 4, 5, 6), 7, 8, None)),
    # replace_wall_pos: walls may repeat, goal/agent may land on walls (which vanish) ...
    (FIXED, 2, True, False, [4, 4, 8, 0], 0.0, ((4,), 8, 0, None)),
    (FIXED, 2, True, False, [4, 2, 4, 0], 0.0, ((2,), 4, 0, None)),
    (FIXED, 2, True, False, [4, 2, 8, 4], 0.0, ((2,), 8, 4, None)),
    # ... but the agent may not land on the goal: used cells {2, 4, 8}, lowest unused 0.
    (FIXED, 2, True, False, [4, 2, 8, 8], 0.0, ((2, 4), 8, 0, None)),
    # set_agent_dir: one more step, direction floor(4a / 9), never a collision (a = 4 is a wall).
    (FIXED, 2, False, True, [4, 2, 8, 0, 0], 0.0, ((2, 4), 8, 0, 0)),
    (FIXED, 2, False, True, [4, 2, 8, 0, 3], 0.0, ((2, 4), 8, 0, 1)),
    (FIXED, 2, False, True, [4, 2, 8, 0, 5], 0.0, ((2, 4), 8, 0, 2)),
    (FIXED, 2, True, True, [4, 2, 8, 0, 4], 0.0, ((2, 4), 8, 0, 1)),
    (FIXED, 2, True, True, [4, 2, 8, 0, 8], 0.0, ((2, 4), 8, 0, 3)),
    # budget: step 0 sets round(4a / 9) walls (a = 6 -> 3), then walls, goal, agent, padding.
    (BUDGET, 4, False, False, [6, 1, 2, 3, 8, 5, 7], 0.0, ((1, 2, 3), 8, 5, None)),
    (BUDGET, 4, False, False, [8, 1, 2, 3, 4, 6, 5], 0.0, ((1, 2, 3, 4), 6, 5, None)),  # budget 4
    (BUDGET, 4, False, False, [0, 4, 2, 1, 1, 1, 1], 0.0, ((), 4, 2, None)),  # budget 0
    # minimax's window of used cells is one record slot ahead here, so cell 0 always counts as used:
    # the first wall on 0 is redrawn to 1 (lowest) or 8 (highest, and the goal on 8 then goes to 7).
    (BUDGET, 4, False, False, [6, 0, 2, 3, 8, 5, 7], 0.0, ((1, 2, 3), 8, 5, None)),
    (BUDGET, 4, False, False, [6, 0, 2, 3, 8, 5, 7], 0.99, ((2, 3, 8), 7, 5, None)),
    # Agent on cell 0 with {1, 2, 3, 8} used: lowest unused is 4.
    (BUDGET, 4, False, False, [6, 1, 2, 3, 8, 0, 7], 0.0, ((1, 2, 3), 8, 4, None)),
    # replace_wall_pos: cell 0 is a wall like any; the agent on the goal is redrawn (used {0, 1, 8}).
    (BUDGET, 4, True, False, [6, 1, 1, 0, 8, 8, 7], 0.0, ((0, 1), 8, 2, None)),
    (BUDGET, 4, False, True, [6, 1, 2, 3, 8, 5, 7, 7], 0.0, ((1, 2, 3), 8, 5, 3)),
    (BUDGET, 4, True, True, [6, 1, 2, 3, 8, 5, 7, 2], 0.0, ((1, 2, 3), 8, 5, 0)),
    # first_wall_pos_sets_budget: step 0 is the first wall and sets round(4a / 9) walls (a = 6 -> 3).
    (FIRST, 4, False, False, [6, 1, 2, 8, 5, 7], 0.0, ((1, 2, 6), 8, 5, None)),
    (FIRST, 4, False, False, [6, 6, 2, 8, 5, 7], 0.0, ((0, 2, 6), 8, 5, None)),  # repeat redrawn to 0
    # Budget 0 (a = 1): no walls and the first action is the goal; the agent on it is redrawn ...
    (FIRST, 4, False, False, [1, 1, 7, 7, 7, 7], 0.0, ((), 1, 0, None)),
    # ... except under replace_wall_pos, where minimax checks the goal at step 1 and the agent at
    # step 2 (its budget >= 1 schedule) while the level reads them at 0 and 1: the agent stays on it.
    (FIRST, 4, True, False, [1, 1, 7, 7, 7, 7], 0.0, ((), 1, 1, None)),
    # Budget 1 (a = 2) under replace_wall_pos: agent on the goal is redrawn (used {2, 8} -> 0).
    (FIRST, 4, True, False, [2, 8, 8, 7, 7, 7], 0.0, ((2,), 8, 0, None)),
    (FIRST, 4, False, True, [6, 1, 2, 8, 5, 7, 5], 0.0, ((1, 2, 6), 8, 5, 2)),
    (FIRST, 4, True, True, [6, 6, 2, 8, 5, 7, 7], 0.0, ((2, 6), 8, 5, 3)),
]


@pytest.mark.parametrize("schedule, n_walls, replace, set_dir, actions, u, expected", CASES)
def test_actions_to_level(schedule, n_walls, replace, set_dir, actions, u, expected):
    cfg = teacher(schedule, n_walls, replace, set_dir)
    assert len(actions) == cfg.max_episode_steps
    batch = AMazeTeacherBatch(cfg, 1, auto_reset=False, seed=0)
    batch.reset()
    direction = reset_dir(batch)
    batch._uniforms[..., -1] = u
    for a in actions:
        batch.step([a])
    walls, goal, agent, want_dir = expected
    assert summary(batch.levels()) == (walls, goal, agent, direction if want_dir is None else want_dir)


def test_reset_direction_is_uniform_and_encoded_as_minimax():
    # minimax stores direction d as cell ceil(d / 4 * 9) = 0, 3, 5, 7 and reads floor(4c / 9) back.
    cfg = teacher(FIXED, 2)
    batch = AMazeTeacherBatch(cfg, 400, auto_reset=False, seed=0)
    batch.reset()
    cells = batch.encoding[:, -1]
    assert set(cells.tolist()) == {0, 3, 5, 7}
    dirs = decode(cfg, batch.encoding, batch.time)["agent_dir"]
    np.testing.assert_array_equal(dirs, np.searchsorted([0, 3, 5, 7], cells))
    assert np.bincount(dirs).min() > 70


def test_collision_redraw_is_uniform_over_unused_cells():
    cfg = teacher(FIXED, 2)
    batch = AMazeTeacherBatch(cfg, 800, auto_reset=False, seed=0)
    batch.reset()
    batch.step(np.full(800, 4))
    batch.step(np.full(800, 4))  # collides: redrawn among the 8 other cells
    counts = np.bincount(batch.encoding[:, 1], minlength=9)
    assert counts[4] == 0 and counts.min() == 0 and np.sort(counts)[1] > 60


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("set_dir", [False, True])
def test_step_by_step_state_matches_the_record(schedule, replace, set_dir):
    # The batch keeps used cells and the image up to date incrementally; they must equal what
    # minimax derives from the whole action record at every step (small grid: many collisions).
    cfg = teacher(schedule, 4, replace, set_dir, size=4)
    batch = AMazeTeacherBatch(cfg, 64, auto_reset=False, seed=0)
    obs, _ = batch.reset()
    actions = np.random.default_rng(1).integers(0, 16, size=(cfg.max_episode_steps, 64))
    for row in actions:
        np.testing.assert_array_equal(batch.used_cells(), used_cells_of_record(cfg, batch.encoding, batch.time))
        np.testing.assert_array_equal(obs["image"], image_of_design(cfg, decode(cfg, batch.encoding, batch.time)))
        obs, *_ = batch.step(row)
    np.testing.assert_array_equal(obs["image"], image_of_design(cfg, decode(cfg, batch.encoding, batch.time)))


# ---- observations -----------------------------------------------------------------------------
def test_observation_of_a_design_in_progress():
    cfg = teacher(FIXED, 2, noise_dim=5)
    batch = AMazeTeacherBatch(cfg, 1, auto_reset=False, seed=3)
    obs, _ = batch.reset()
    interior = obs["image"][0, 1:-1, 1:-1]
    assert (interior == (1, 0, 0)).all() and (obs["image"][0, 0] == (2, 5, 0)).all()
    assert obs["time"][0] == 0 and obs["noise"].shape == (1, 5)
    noise = obs["noise"].copy()
    for a in (4, 2, 8):
        obs, *_ = batch.step([a])
    image = obs["image"][0]
    assert obs["time"][0] == 3 and not np.array_equal(obs["noise"], noise)
    assert tuple(image[2, 2]) == (2, 5, 0) and tuple(image[1, 3]) == (2, 5, 0)  # walls at (1, 1), (2, 0)
    assert tuple(image[3, 3]) == (8, 1, 0)  # goal at (2, 2)
    assert (image[..., 0] == 10).sum() == 0  # no agent yet
    obs, *_ = batch.step([0])
    assert tuple(obs["image"][0, 1, 1]) == (10, 0, reset_dir(batch))
    assert batch.observation_space.contains({k: v[0] for k, v in obs.items()})


def test_goal_drawn_over_an_agent_on_it():
    _, batch = design(teacher(FIRST, 4, replace=True), [1, 1, 7, 7, 7, 7])
    image = batch.observe()["image"][0]
    assert tuple(image[1, 2]) == (8, 1, 0) and (image[..., 0] == 10).sum() == 0


def test_normalized_observation():
    cfg = teacher(FIXED, 2, normalize_obs=True)
    batch = AMazeTeacherBatch(cfg, 1, auto_reset=False, seed=0)
    batch.reset()
    for a in (4, 2, 8, 0):
        obs, *_ = batch.step([a])
    assert obs["image"].dtype == np.float32 and obs["image"].max() == pytest.approx(1.0)
    assert tuple(obs["image"][0, 3, 3]) == pytest.approx((0.8, 0.1, 0.0))
    assert batch.observation_space.contains({k: v[0] for k, v in obs.items()})


def test_bad_actions_and_configs():
    batch = AMazeTeacherBatch(teacher(FIXED, 2), 1, seed=0)
    batch.reset()
    with pytest.raises(ValueError, match=r"\[0, 9\)"):
        batch.step([9])
    with pytest.raises(ValueError, match="fixed_n_wall_steps"):
        TeacherConfig(fixed_n_wall_steps=True, first_wall_pos_sets_budget=True)
    with pytest.raises(ValueError, match="n_walls"):
        teacher(BUDGET, 7)
    with pytest.raises(ValueError, match="no goal/agent"):
        batch.levels()


# ---- gymnasium API, factory, batch == single -----------------------------------------------------
def test_gymnasium_env_through_the_factory():
    assert {"amaze_teacher_13x13", "amaze_teacher_13x13_paired"} <= set(list_envs())
    env = make_env("amaze_teacher_13x13", seed=0)
    check_env(env, skip_render_check=True)
    assert env.action_space.n == 169 and env.cfg.max_episode_steps == 28  # UEDMaze: 25 walls + 3
    obs, _ = env.reset(seed=1)
    assert obs["image"].shape == (15, 15, 3) and obs["noise"].shape == (16,)
    for t in range(28):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert reward == 0.0 and not truncated and terminated == (t == 27)
    assert len(info["level"]) == 1 and env.observation_space.contains(obs)
    with pytest.raises(ValueError, match="amaze_teacher_13x13"):
        make_env("amaze_teacher_13x13", n_wall=3)
    with pytest.raises(ValueError, match="teacher"):  # e.g. Sample Factory's student env function
        make_amaze_batch("amaze_teacher_13x13", 4)


def test_batch_matches_single_envs_and_auto_resets():
    name, n = "amaze_teacher_9x9", 3
    batch = make_amaze_teacher_batch(name, n, seed=10)
    obs, _ = batch.reset()
    singles = [make_amaze(name, seed=10 + i) for i in range(n)]
    single_obs = [env.reset()[0] for env in singles]
    actions = np.random.default_rng(0).integers(0, 81, size=(batch.cfg.max_episode_steps, n))
    for row in actions:
        for i, env in enumerate(singles):
            for key in obs:
                np.testing.assert_array_equal(obs[key][i], single_obs[i][key])
            single_obs[i], *_, info_i = env.step(row[i])
        obs, _, terminated, _, info = batch.step(row)
    assert terminated.all() and (obs["time"] == 0).all()  # auto-reset: the next design's first obs
    for i, env in enumerate(singles):
        assert summary(info["levels"], i) == summary(env.level)


# ---- the student plays the design ----------------------------------------------------------------
def test_student_plays_the_designed_level():
    # walls (0, 1), (1, 1); goal (2, 2); agent (0, 0) facing right (last action 0).
    cfg = teacher(FIXED, 2, set_dir=True)
    level, batch = design(cfg, [3, 4, 8, 0, 0])
    assert level == ((3, 4), 8, 0, 0)
    levels = batch.levels()
    np.testing.assert_array_equal(level_metrics(levels)["shortest_path_length"], [4])
    env = make_amaze("amaze_7x7", height=3, width=3, n_walls=0)
    env.reset(seed=0, options={"layout": levels})
    FORWARD, RIGHT = 2, 1
    rewards = [env.step(a)[1] for a in (FORWARD, FORWARD, RIGHT, FORWARD)]
    _, reward, terminated, _, _ = env.step(FORWARD)
    assert not any(rewards) and terminated and reward == pytest.approx(1 - 0.9 * 5 / 100, abs=1e-6)
    # A student batch replays each design on every reset.
    student = make_student_batch(Layouts.concat([levels, levels]), "amaze_7x7", seed=0)
    student.reset()
    for a in (FORWARD, FORWARD, RIGHT, FORWARD, FORWARD):
        _, reward, terminated, _, _ = student.step([a, a])
    assert terminated.all() and (reward > 0).all()
    np.testing.assert_array_equal(student.agent_pos, [[0, 0], [0, 0]])
    assert (student.grid == levels.grid).all()


def test_student_batch_from_a_teacher_batch():
    teacher_batch = make_amaze_teacher_batch("amaze_teacher_13x13_paired", 4, seed=0)
    teacher_batch.reset()
    for _ in range(teacher_batch.cfg.max_episode_steps):
        *_, info = teacher_batch.step(np.random.default_rng(1).integers(0, 169, 4))
    student = make_student_batch(info["levels"], "amaze_13x13", normalize_obs=True)
    obs, _ = student.reset()
    np.testing.assert_array_equal(student.agent_pos, info["levels"].agent_pos)
    assert obs["image"].dtype == np.float32 and len(obs["image"]) == 4
    with pytest.raises(ValueError, match="4 levels for 3 envs"):
        AMazeBatch(student.cfg, None, 3, levels=info["levels"])


# ---- level metrics ---------------------------------------------------------------------------------
OOD_FIXED = ["sixteenrooms", "sixteenrooms2", "labyrinth", "labyrinthflipped", "labyrinth2", "standardmaze",
             "standardmaze2", "standardmaze3", "smallcorridor", "largecorridor", "perfectmaze"]


def reference_path_length(walls, start, goal):
    """Plain queue BFS over (x, y) tuples, -1 when unreachable: an independent check of metrics.py."""
    h, w = walls.shape
    dist, queue = {tuple(start): 0}, deque([tuple(start)])
    while queue:
        x, y = queue.popleft()
        if (x, y) == tuple(goal):
            return dist[(x, y)]
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if 0 <= nx < w and 0 <= ny < h and not walls[ny, nx] and (nx, ny) not in dist:
                dist[(nx, ny)] = dist[(x, y)] + 1
                queue.append((nx, ny))
    return -1


def hand_level(rows):
    """'#' wall, 'A' agent (facing right), 'G' goal."""
    text = "".join(rows)
    w = len(rows[0])
    a, g = text.index("A"), text.index("G")
    return Layouts.single(np.array([[c == "#" for c in r] for r in rows]), (a % w, a // w), 0, (g % w, g // w))


@pytest.mark.parametrize("rows, walls, length, minimax_length", [
    (["A.#", "#.#", "..G"], 3, 4, 4),
    (["AG.", "...", "..."], 0, 1, 1),
    (["A..#.", "##.#.", "...#.", "#####", "....G"], 10, 0, 0),   # unreachable, agent first cell of its region
    ([".A#", "##.", "G.."], 3, 0, 2),  # unreachable; minimax links it via cell (0, 0): 1 + 1
    (["...", ".#.", "A#G"], 2, 6, 6),
])
def test_metrics_on_hand_drawn_mazes(rows, walls, length, minimax_length):
    level = hand_level(rows)
    m = level_metrics(level)
    assert (m["n_walls"][0], m["shortest_path_length"][0], m["passable"][0]) == (walls, length, length > 0)
    assert level_metrics(level, minimax_unreachable=True)["shortest_path_length"][0] == minimax_length
    assert shortest_path_length(level.grid[0] == WALL, level.agent_pos[0], level.goal_pos[0]) == length


def test_metrics_on_student_and_ood_levels():
    batch = make_amaze_batch("amaze_13x13", 64, seed=0)
    batch.reset()
    levels = batch.layouts()
    m = level_metrics(levels)
    assert (m["n_walls"] == 25).all() and m["passable"].mean() > 0.8
    manhattan = np.abs(levels.agent_pos - levels.goal_pos).sum(axis=1)
    assert (m["shortest_path_length"][m["passable"]] >= manhattan[m["passable"]]).all()
    for i in range(0, 64, 8):
        assert m["shortest_path_length"][i] == max(reference_path_length(levels.grid[i] == WALL, levels.agent_pos[i],
                                                                         levels.goal_pos[i]), 0)
    memory = make_amaze_batch("amaze_ood_memory", 2, seed=0)
    memory.reset()
    reloaded = make_amaze_batch("amaze_ood_memory", 2)
    reloaded.reset(options={"layouts": memory.layouts()})  # distractor included
    np.testing.assert_array_equal(reloaded.layouts().distractor_pos, memory.layouts().distractor_pos)
    assert (memory.layouts().distractor_pos >= 0).all()
    for key in OOD_FIXED:
        env = make_amaze("amaze_ood_" + key)
        env.reset(seed=0)
        s = env.state
        grid = np.where(s["wall_map"], WALL, EMPTY).astype(np.uint8)
        grid[s["goal_pos"][1], s["goal_pos"][0]] = GOAL
        m = level_metrics(Layouts.single(None, s["agent_pos"], 0, s["goal_pos"], grid=grid))
        want = reference_path_length(s["wall_map"], s["agent_pos"], s["goal_pos"])
        assert (m["n_walls"][0], m["shortest_path_length"][0]) == (s["wall_map"].sum(), want) and want > 0, key


# ---- mutators ----------------------------------------------------------------------------------------
KNOWN = hand_level(["A.#", "#..", "..G"])  # agent cell 0, goal cell 8, walls 2 and 3


def test_flip_and_move_at_known_cells():
    assert summary(flip_wall_at(KNOWN, [4]))[:3] == ((2, 3, 4), 8, 0)
    assert summary(flip_wall_at(KNOWN, [2]))[:3] == ((3,), 8, 0)
    moved = move_goal_to(KNOWN, [6])
    assert summary(moved)[:3] == ((2, 3), 6, 0) and moved.grid[0, 2, 2] == EMPTY and moved.grid[0, 2, 0] == GOAL
    assert summary(KNOWN)[:3] == ((2, 3), 8, 0)  # input untouched


def test_flip_wall_and_move_goal_choose_as_minimax():
    many = KNOWN.take(np.zeros(1400, dtype=int))
    flipped = flip_wall(many, np.random.default_rng(0))
    changed = flipped.grid.reshape(1400, 9) != KNOWN.grid.reshape(1, 9)
    assert (changed.sum(axis=1) == 1).all()
    counts = changed.sum(axis=0)  # every cell but the agent's (0) and the goal's (8), uniformly
    assert counts[0] == counts[8] == 0 and counts[1:8].min() > 150
    moved = move_goal(many, np.random.default_rng(1))
    cells = moved.goal_pos[:, 1] * 3 + moved.goal_pos[:, 0]
    assert set(cells.tolist()) == {1, 4, 5, 6, 7}  # free cells other than the agent's and the goal's
    assert ((moved.grid == GOAL).sum(axis=(1, 2)) == 1).all() and ((moved.grid == WALL).sum(axis=(1, 2)) == 2).all()


def test_mutate_draws_no_op_flip_or_move_uniformly():
    many = KNOWN.take(np.zeros(3000, dtype=int))
    out = mutate(many, np.random.default_rng(0), n=1)
    goal_moved = (out.goal_pos != KNOWN.goal_pos).any(axis=1)
    wall_flipped = (out.grid == WALL).sum(axis=(1, 2)) != 2
    unchanged = (out.grid == many.grid).all(axis=(1, 2))
    assert not (goal_moved & wall_flipped).any() and (unchanged == ~(goal_moved | wall_flipped)).all()
    np.testing.assert_allclose([unchanged.mean(), wall_flipped.mean(), goal_moved.mean()], 1 / 3, atol=0.04)
    out = mutate(KNOWN, np.random.default_rng(0), n=20)
    assert out.grid[0, 0, 0] == EMPTY and (out.grid == GOAL).sum() == 1
    assert summary(mutate(KNOWN, np.random.default_rng(0), n=0)) == summary(KNOWN)


# ---- minimax's student setting (normalize_obs) through the Sample Factory adapter ------------------
def test_sample_factory_adapter_trains_on_normalized_views():
    import torch
    from sample_factory.utils.attr_dict import AttrDict

    from sf_maze.amaze import AMazeEncoder, make_amaze_sf_env

    def build(normalize):
        cfg = AttrDict(amaze_num_envs=8, batched_sampling=True, num_envs_per_worker=1, worker_num_splits=1,
                       serial_mode=False, seed=3, amaze_normalize_obs=normalize, obs_scale=1.0,
                       obs_subtract_mean=0.0, normalize_input=False, amaze_encoder_out_size=32)
        env = make_amaze_sf_env("amaze_7x7", cfg)
        return env, AMazeEncoder(cfg, env.observation_space)

    (raw_env, raw_encoder), (norm_env, norm_encoder) = build(False), build(True)
    assert norm_env.observation_space["obs"].dtype == np.float32 and norm_encoder.code_scale == 10.0
    norm_encoder.load_state_dict(raw_encoder.state_dict())
    raw_obs, _ = raw_env.reset()
    norm_obs, _ = norm_env.reset()
    for _ in range(3):  # same mazes, same views: the encoders must agree exactly
        to_torch = lambda obs: {k: torch.as_tensor(v).float() for k, v in obs.items()}  # noqa: E731
        torch.testing.assert_close(norm_encoder(to_torch(norm_obs)), raw_encoder(to_torch(raw_obs)))
        actions = np.full(8, 2)
        raw_obs, *_ = raw_env.step(actions)
        norm_obs, *_ = norm_env.step(actions)
