"""The one evaluation report: reward rates in windows of episode time, the report's keys from every
trainer (Sample Factory's in test_enjoy_evaluate.py, Dreamer's in test_dreamer.py, AMaze's here, all
checked by `check_report_files`), and the reward-window figure read back."""
import csv
import glob
import json
import math
import os

import numpy as np
import pytest

# What every trainer's report holds: written out here, not imported, so a key dropped or renamed in
# evaluation.report fails these tests.
REPORT_KEYS = {"trainer", "env", "experiment", "checkpoint", "checkpoint_env_steps", "label", "episodes", "eval_seed",
               "max_episode_steps", "full_episodes", "deterministic", "memory_span", "confidence", "scores", "references",
               "reference_budgets", "random_note", "episode_returns"}
SCORE_KEYS = {"returns", "half_split", "reward_windows", "mean_length", "solve_rate"}
WINDOW_KEYS = {"windows", "n", "confidence", "start", "end", "mean", "std", "ci_low", "ci_high"}
WINDOW_COLUMNS = [f"window_{w}_rate" for w in range(1, 11)]


def check_report_files(json_path: str, trainer: str) -> dict:
    """The JSON and its two CSVs have the one format; returns the report."""
    report = json.load(open(json_path))
    assert set(report) == REPORT_KEYS, set(report) ^ REPORT_KEYS
    assert report["trainer"] == trainer
    assert report["checkpoint"] is None or not os.path.isabs(report["checkpoint"]), report["checkpoint"]
    for name, score in report["scores"].items():
        assert set(score) == SCORE_KEYS, (name, set(score) ^ SCORE_KEYS)
        windows = score["reward_windows"]
        assert set(windows) == WINDOW_KEYS and windows["windows"] == 10 and windows["n"] == report["episodes"]
        assert all(len(windows[key]) == 10 for key in ("start", "end", "mean", "std", "ci_low", "ci_high"))
    rows = list(csv.DictReader(open(json_path[:-5] + ".csv")))
    assert rows and set(WINDOW_COLUMNS) <= set(rows[0]) and {"policy", "seed", "episode_return", "length"} <= set(rows[0])
    for name in report["scores"]:
        mine = [r for r in rows if r["policy"] == name]
        assert [float(r["episode_return"]) for r in mine] == report["episode_returns"][name]
        # The JSON's window means are the means of the CSV's per-episode window rates.
        per_episode = np.array([[float(r[c]) for c in WINDOW_COLUMNS] for r in mine])
        np.testing.assert_allclose(per_episode.mean(axis=0), report["scores"][name]["reward_windows"]["mean"], atol=1e-9)
    window_rows = list(csv.DictReader(open(json_path[:-5] + "_windows.csv")))
    assert len(window_rows) == 10 * len(report["scores"])
    assert {"policy", "window", "mean_rate", "ci_low", "ci_high"} <= set(window_rows[0])
    return report


# ---- windows --------------------------------------------------------------------------------------
def test_reward_only_in_the_last_tenth_shows_only_in_the_last_window():
    from evaluation.stats import window_rates

    rewards = np.zeros(1000)
    rewards[[905, 950, 999]] = 1.0
    rates = window_rates(rewards)
    assert rates.shape == (10,)
    np.testing.assert_array_equal(rates[:9], 0.0)
    assert rates[9] == pytest.approx(3 / 100)  # 3 rewards in the last 100 steps
    # Rates times window length give back the return.
    assert rates.sum() * 100 == pytest.approx(rewards.sum())


def test_windows_split_steps_by_time_when_the_length_is_not_a_multiple_of_ten():
    from evaluation.stats import window_rates

    # 5 steps, 10 windows: each window is half a step; window w holds half of step w // 2.
    np.testing.assert_allclose(window_rates([0, 0, 0, 0, 2]), [0] * 8 + [2, 2])
    np.testing.assert_allclose(window_rates([1, 0, 0, 0, 0]), [1, 1] + [0] * 8)
    # 15 steps: window 0 is steps 0 and the first half of 1 (1.5 steps).
    rates = window_rates([3] + [0] * 14)
    assert rates[0] == pytest.approx(3 / 1.5) and not rates[1:].any()
    with pytest.raises(ValueError):
        window_rates([])


def test_window_summary_is_a_mean_with_a_t_interval_per_window():
    from evaluation.stats import window_summary

    late = np.zeros(20)
    late[-2:] = 1.0  # both rewards in the last tenth: rate 1
    early = np.zeros(20)
    early[0] = 1.0  # rate 0.5 in the first tenth
    summary = window_summary([late, early, late])
    assert summary["n"] == 3 and summary["windows"] == 10
    assert summary["mean"][9] == pytest.approx(2 / 3) and summary["mean"][0] == pytest.approx(0.5 / 3)
    assert summary["mean"][1:9] == pytest.approx([0.0] * 8)
    # t(0.975, 2) = 4.302653; std of (1, 0, 1) = 0.57735.
    assert summary["ci_high"][9] - summary["mean"][9] == pytest.approx(4.302653 * 0.57735027 / math.sqrt(3), rel=1e-5)
    assert summary["start"][9] == pytest.approx(0.9) and summary["end"][9] == 1.0


def test_score_of_one_step_episodes_has_windows_and_no_half_split():
    from evaluation.score import score

    episodes = [dict(seed=1, rewards=np.array([1.0]), length=1, solved=True),
                dict(seed=2, rewards=np.array([0.0]), length=1, solved=False)]
    result = score(episodes)
    assert set(result) == SCORE_KEYS
    assert math.isnan(result["half_split"]["first"]) and result["solve_rate"] == 0.5
    assert result["reward_windows"]["mean"] == pytest.approx([0.5] * 10)


# ---- AMaze through the same report -----------------------------------------------------------------
def test_amaze_evaluation_writes_the_one_report(tmp_path):
    from evaluation.amaze import evaluate, random_policy

    result = evaluate(random_policy(0), "amaze_7x7", num_episodes=6, seed=1_000_000, out=str(tmp_path))
    assert {"mean_return", "solve_rate", "episodes"} <= set(result) and result["episodes"] == 6
    [json_path] = glob.glob(str(tmp_path / "*.json"))
    report = check_report_files(json_path, "amaze")
    assert report["scores"]["agent"]["returns"]["mean"] == pytest.approx(result["mean_return"])
    rows = list(csv.DictReader(open(json_path[:-5] + ".csv")))
    assert [int(r["seed"]) for r in rows] == list(range(1_000_000, 1_000_006))
    # AMaze rewards only at the goal: an episode's return shows up in exactly its last window's rate.
    for r in rows:
        rates = [float(r[c]) for c in WINDOW_COLUMNS]
        length = int(r["length"])
        assert sum(rates) * length / 10 == pytest.approx(float(r["episode_return"]), abs=1e-6)


class SeededWalker:
    """Random actions from a generator seeded by the episode's maze seed (Agent.start): its episodes
    depend on each maze's seed alone, never on the slot or the other episodes."""

    def reset(self, num_envs):
        self.rngs = [None] * num_envs

    def start(self, slot, seed):
        self.rngs[slot] = np.random.default_rng(seed)

    def act(self, observations, slots):
        return np.array([self.rngs[slot].integers(3) for slot in slots])


@pytest.mark.parametrize("num_envs", [2, 5])
def test_episode_i_plays_seed_i_whatever_slot_takes_it(num_envs):
    from envs.amaze import make_amaze
    from evaluation.score import play_episodes

    seeds = [40, 41, 42, 43, 44]
    alone = [play_episodes(lambda index: make_amaze("amaze_7x7"), SeededWalker(), [seed], processes=False,
                           progress=False)[0] for seed in seeds]
    together = play_episodes(lambda index: make_amaze("amaze_7x7"), SeededWalker(), seeds, num_envs=num_envs,
                             processes=False, progress=False)
    assert [e["seed"] for e in together] == seeds
    for a, b in zip(alone, together):
        assert a["length"] == b["length"] and np.array_equal(a["rewards"], b["rewards"]) and a["solved"] == b["solved"]
    assert len({e["length"] for e in together}) > 1  # different mazes, different episodes: the match means something


# ---- figure ---------------------------------------------------------------------------------------
def _report_file(path, windows_by_policy):
    scores = {name: dict(reward_windows=dict(windows=10, n=4, confidence=0.95, start=[w / 10 for w in range(10)],
                                             end=[(w + 1) / 10 for w in range(10)], mean=list(mean),
                                             std=[0.01] * 10, ci_low=[m - 0.01 for m in mean],
                                             ci_high=[m + 0.01 for m in mean]))
              for name, mean in windows_by_policy.items()}
    path.write_text(json.dumps(dict(experiment="x", label="checkpoint_1", scores=scores)))
    # the per-episode rows beside it: 4 episodes whose second-half rate is the first-half one + 0.01 * k
    lines = ["policy,episode,seed,episode_return,length,solved,first_half_rate,second_half_rate"]
    for name in windows_by_policy:
        lines += [f"{name},{k},{k},{2 * k},100,0,0.01,{0.01 + 0.01 * k}" for k in range(4)]
    path.with_suffix(".csv").write_text("\n".join(lines) + "\n")
    return str(path)


def test_plot_draws_several_agents_reward_windows_on_one_png(tmp_path, capsys):
    import imageio

    from evaluation.plot import main

    rising = np.linspace(0.005, 0.02, 10)
    flat = np.full(10, 0.01)
    a = _report_file(tmp_path / "a.json", {"agent": rising, "random": np.full(10, 0.0003)})
    b = _report_file(tmp_path / "b.json", {"agent": flat})
    out = tmp_path / "windows.png"
    assert main(["--reward_windows", a, b, "--labels", "LSTM", "no memory", f"--out={out}"]) == 0
    table = (tmp_path / "windows.md").read_text()
    assert table in capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| LSTM") or line.startswith("| no memory")
            or line.startswith("| uniform random")]
    # returns 0, 2, 4, 6: mean 3, t(0.975, 3) * std / 2 = 3.182 * 2.582 / 2 = 4.11; change 0.015 +- 0.0205
    assert [r.split(" | ")[0] for r in rows] == ["| LSTM", "| uniform random", "| no memory"]
    assert "| 4 | 3.00 [-1.11, 7.11] | 0.0100 | 0.0250 | +0.0150 [-0.0055, +0.0355] |" in rows[0]
    image = imageio.v2.imread(out)
    assert image.ndim == 3 and image.shape[0] > 300 and image.std() > 1
    # Without the random policy's line the picture differs: every curve given is drawn.
    alone = tmp_path / "alone.png"
    assert main(["--reward_windows", b, f"--out={alone}"]) == 0
    assert imageio.v2.imread(alone).shape == image.shape and np.abs(imageio.v2.imread(alone)[..., :3].astype(int)
                                                                        - image[..., :3].astype(int)).max() > 50


def test_plot_reward_windows_bad_input_is_one_line(tmp_path, capsys):
    from evaluation.plot import main

    old = tmp_path / "old.json"
    old.write_text(json.dumps(dict(scores=dict(agent=dict(returns={})))))
    good = _report_file(tmp_path / "good.json", {"agent": np.full(10, 0.01)})
    os.remove(good[:-5] + ".csv")
    for argv, expected in [([str(tmp_path / "missing.json")], "missing.json"), ([str(old)], "no reward windows"),
                           ([good], "No per-episode file"),
                           ([str(old), "--labels", "a", "b"], "2 names for 1 reports")]:
        assert main(["--reward_windows", *argv, f"--out={tmp_path / 'x.png'}"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "x.png").exists()
