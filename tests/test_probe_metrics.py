"""Probing definitions pinned by hand-computed values on tiny cases (no env, no network: seconds).

Map accuracy with and without the pose input, the wall-label orientation (`maze_layout[y, x]`,
1 = free), pydreamer's `mse_goals` and its root, the two windows, the seen-cells mask, the on-disk
row stores, the supervised oracle's gradient path and the --model=oracle rename.
"""
import os

import numpy as np
import pytest
import torch

from common.cli import InputError
from probing import probe as probe_lib
from probing.features import RowStore, build_features, build_labels
from probing.seen import seen_so_far, visible_cells
from probing.train import WINDOWS, fit_probe, summarize, window_slice



def _episode_file(path, layouts, agent_pos, agent_dir=None, targets_vec=None, image=None):
    """A trajectory NPZ in the published format; per-step layouts, so labels can vary with the step."""
    steps = len(agent_pos)
    data = {
        "image": image if image is not None else np.zeros((steps, 64, 64, 3), np.uint8),
        "action": np.zeros((steps, 6)), "reward": np.zeros(steps),
        "maze_layout": np.asarray(layouts, np.uint8),
        "agent_pos": np.asarray(agent_pos, np.float64),
        "agent_dir": np.asarray(agent_dir if agent_dir is not None else np.tile([1.0, 0.0], (steps, 1)), np.float64),
        "targets_pos": np.zeros((steps, 2, 2)), "target_pos": np.zeros((steps, 2)), "target_vec": np.zeros((steps, 2)),
        "targets_vec": np.asarray(targets_vec if targets_vec is not None else np.zeros((steps, 2, 2)), np.float64),
        "target_color": np.zeros((steps, 3)),
    }
    np.savez(path, **data)
    return str(path)


# ---- labels and pose -------------------------------------------------------------------------------
def test_wall_label_orientation_is_layout_y_x_with_1_free():
    layout = np.ones((3, 3), np.uint8)
    layout[0, 2] = 0  # y = 0 (bottom row), x = 2: a wall
    labels = probe_lib.labels_of("walls", {"maze_layout": layout[None]})
    assert labels.shape == (1, 9)
    expected = np.zeros(9, np.float32)
    expected[0 * 3 + 2] = 1.0  # cell y * N + x, 1 = wall
    np.testing.assert_array_equal(labels[0], expected)


def test_map_coord_is_pydreamers_pose_input():
    # agent_pos / N * 2 - 1, then agent_dir: (4.5, 0) in a 9x9 maze is the middle of the bottom edge.
    coord = probe_lib.map_coord(np.array([[4.5, 0.0], [9.0, 2.25]]), np.array([[0.0, 1.0], [-1.0, 0.0]]), 9)
    np.testing.assert_allclose(coord, [[0.0, -1.0, 0.0, 1.0], [1.0, -0.5, -1.0, 0.0]])
    features = np.zeros((2, 3), np.float32)
    assert probe_lib.probe_input("walls", features, coord).shape == (2, 7)
    assert probe_lib.probe_input("objects", features, coord).shape == (2, 3)  # objects read features only
    assert probe_lib.probe_input("walls", features, None).shape == (2, 3)


# ---- metrics ---------------------------------------------------------------------------------------
def test_walls_accuracy_by_hand():
    logits = np.array([[2.0, -1.0, 0.5, -3.0]])  # predicts wall, free, wall, free
    walls = np.array([[1, 0, 0, 0]])  # cell 2 is free: one wrong of four
    assert probe_lib.walls_accuracy(logits, walls)[0] == pytest.approx(0.75)
    seen = np.array([[1, 0, 1, 0]])  # over cells 0 and 2 only: one right of two
    assert probe_lib.walls_accuracy(logits, walls, seen)[0] == pytest.approx(0.5)
    assert np.isnan(probe_lib.walls_accuracy(logits, walls, np.zeros((1, 4)))[0])


def test_objects_mse_is_mse_goals_and_rmse_its_root():
    prediction = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    vectors = np.array([[3.0, 4.0, 1.0, 1.0], [1.0, 0.0, 0.0, 2.0]])
    # Step 0: object errors 3^2 + 4^2 = 25 and 0 -> 12.5; step 1: 1 and 4 -> 2.5 (sum over x, y; mean over objects).
    np.testing.assert_allclose(probe_lib.objects_squared_error(prediction, vectors), [12.5, 2.5])
    summary = summarize("objects", [{"squared_error": np.array([12.5, 2.5])}])
    assert summary["all"] == pytest.approx({"mse": 7.5, "rmse": np.sqrt(7.5)})


def test_windows_all_steps_and_second_half():
    assert WINDOWS == ("all", "second_half")
    assert window_slice("all", 1001) == slice(0, 1001)
    assert window_slice("second_half", 1001) == slice(500, 1001)  # steps 500..1000 of 1000
    assert window_slice("second_half", 11) == slice(5, 11)
    per_step = np.array([0.0] * 5 + [1.0] * 6)  # 11 entries; right from step 5 on
    episodes = [{"accuracy": per_step}, {"accuracy": np.ones(11)}]
    summary = summarize("walls", episodes)
    # Episode means first, then their mean: (6/11 + 1) / 2 over all; (1 + 1) / 2 over the second half.
    assert summary["all"]["accuracy"] == pytest.approx((6 / 11 + 1) / 2)
    assert summary["second_half"]["accuracy"] == pytest.approx(1.0)


def test_constant_baseline_majority_walls_and_mean_objects():
    walls = np.array([[1, 0], [1, 1], [0, 0]], np.float32)  # cell 0 mostly wall, cell 1 mostly free
    constant = probe_lib.ConstantPredictor.fit("walls", walls)
    np.testing.assert_array_equal(constant.value, [1.0, -1.0])
    assert probe_lib.walls_accuracy(constant.predict(3), walls).mean() == pytest.approx(4 / 6)
    objects = probe_lib.ConstantPredictor.fit("objects", np.array([[1.0, 2.0], [3.0, 6.0]]))
    np.testing.assert_allclose(objects.value, [2.0, 4.0])


# ---- seen cells ------------------------------------------------------------------------------------
def test_seen_cells_stop_at_walls():
    # 4x4, all free except a wall at (x=2, y=0); agent at the centre of (0, 0) looking along +x.
    layout = np.ones((4, 4), np.uint8)
    layout[0, 2] = 0
    view = visible_cells(layout, np.array([[0.5, 0.5]]), np.array([[1.0, 0.0]]))[0].reshape(4, 4)
    assert view[0, 0] and view[0, 1] and view[0, 2], "own cell, the free cell ahead and the wall that stops the ray"
    assert not view[0, 3], "the cell behind the wall"
    assert not view[2, 0], "straight up (90 degrees off the heading) is outside the field of view"
    # Turning to +y later adds the column x = 0, and what was seen stays seen.
    seen = seen_so_far(layout, np.array([[0.5, 0.5], [0.5, 0.5]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert seen[1].reshape(4, 4)[3, 0] and seen[1].reshape(4, 4)[0, 2] and not seen[0].reshape(4, 4)[3, 0]


# ---- stores and the pose input end to end ----------------------------------------------------------
def _pose_only_data(folder, episodes=6, steps=60, seed=0):
    """3x3 mazes whose only 'wall' is the agent's own cell: a label only the pose can predict."""
    rng = np.random.default_rng(seed)
    files = []
    for i in range(episodes):
        cells = rng.integers(0, 3, size=(steps, 2))
        layouts = np.ones((steps, 3, 3), np.uint8)
        layouts[np.arange(steps), cells[:, 1], cells[:, 0]] = 0
        files.append(_episode_file(os.path.join(folder, f"episode_{i:06d}.npz"), layouts, cells + 0.5))
    return files


def test_walls_probe_uses_pose_input(tmp_path):
    files = _pose_only_data(str(tmp_path))
    labels = build_labels(str(tmp_path / "work"), files)
    zeros = lambda episode: np.zeros((len(episode["image"]), 2), np.float32)  # noqa: E731  features carry nothing
    features = build_features(str(tmp_path / "work"), files, zeros, ("image",), dict(model="zeros"))
    assert labels.rows == features.rows == 6 * 60
    mean, std = np.zeros(2, np.float32), np.ones(2, np.float32)
    accuracy = {}
    for pose in (True, False):
        probe = fit_probe(target="walls", features=features, labels=labels, mean=mean, std=std, pose=pose, steps=300,
                          batch_size=64, lr=3e-3, seed=0, hidden=64, layers=2)
        x = probe_lib.probe_input("walls", np.zeros((labels.rows, 2), np.float32),
                                  labels.read("pose", slice(None)) if pose else None)
        with torch.no_grad():
            logits = probe(torch.from_numpy(x)).numpy()
        accuracy[pose] = probe_lib.walls_accuracy(logits, labels.read("walls", slice(None))).mean()
    assert accuracy[True] > 0.99, accuracy
    assert accuracy[False] == pytest.approx(8 / 9, abs=0.01), accuracy  # all-free: 8 of 9 cells right


def test_row_store_round_trip_and_reuse(tmp_path):
    files = _pose_only_data(str(tmp_path), episodes=3, steps=7)
    counter = {"calls": 0}

    def extractor(episode):
        counter["calls"] += 1
        return np.arange(len(episode["image"]) * 2, dtype=np.float32).reshape(-1, 2) + counter["calls"] * 100

    store = build_features(str(tmp_path / "w"), files, extractor, ("image",), dict(model="count"))
    assert store.lengths == [7, 7, 7] and store.starts == [0, 7, 14] and store.rows == 21
    np.testing.assert_array_equal(store.episode("features", 1)[:, 0], np.arange(0, 14, 2) + 200)
    np.testing.assert_allclose(store.meta["mean"], store.read("features", slice(None)).mean(0))
    again = build_features(str(tmp_path / "w"), files, extractor, ("image",), dict(model="count"))
    assert counter["calls"] == 3 and again.folder == store.folder, "same files and model: the store is reused"
    build_features(str(tmp_path / "w"), files, extractor, ("image",), dict(model="other"))
    assert counter["calls"] == 6, "another model key builds a new store"
    labels = build_labels(str(tmp_path / "w"), files)
    np.testing.assert_array_equal(labels.episode("step", 2), np.arange(7))
    with pytest.raises(FileNotFoundError, match="not a complete row store"):
        RowStore(str(tmp_path / "missing"))


# ---- supervised oracle and the rename --------------------------------------------------------------
def test_supervised_oracle_trains_the_cnn_and_lstm(tmp_path):
    from probing.supervised import build_network, train_supervised

    rng = np.random.default_rng(0)
    files = [_episode_file(tmp_path / f"e{i}.npz", np.ones((12, 3, 3), np.uint8), rng.uniform(0, 3, (12, 2)),
                           image=rng.integers(0, 255, (12, 64, 64, 3), dtype=np.uint8)) for i in range(2)]
    torch.manual_seed(0)
    initial = build_network()  # train_supervised seeds the same way: same initial weights
    trained = train_supervised(files, updates=3, batch=2, sequence=5, hidden=16, layers=1, seed=0, lr=1e-2)
    for name in ("encoder.convs.0.weight", "core.lstm.weight_ih_l0"):
        before, after = initial.state_dict()[name], trained.state_dict()[name]
        assert not torch.allclose(before, after), f"{name} got no gradient from the probe losses"
    assert not any(p.requires_grad for p in trained.parameters()), "frozen before it is probed"


def test_model_oracle_is_renamed():
    from probing.representations import load_representation, state_features

    with pytest.raises(InputError, match="--model=state"):
        load_representation("oracle")
    extractor, keys = load_representation("state")
    assert extractor is state_features and "maze_layout" in keys


def test_generation_throughput_per_worker():
    from probing.generate import episodes_per_hour

    # 10 episodes in half an hour on 2 workers: 20 per hour in all, 10 per worker.
    assert episodes_per_hour(10, 1800.0, 2) == pytest.approx(10.0)
