"""evaluation.compare: paired differences of two evaluations on the same maze seeds."""
import pytest


def _report(tmp_path, name, returns, seeds=None, random=()):
    """A report's JSON and the per-episode CSV beside it (only the CSV is read)."""
    seeds = seeds or list(range(1000, 1000 + len(returns)))
    lines = ["policy,episode,seed,episode_return,length"]
    lines += [f"agent,{i},{s},{r},1000" for i, (s, r) in enumerate(zip(seeds, returns))]
    lines += [f"random,{i},{s},{r},1000" for i, (s, r) in enumerate(zip(seeds, random))]
    (tmp_path / f"{name}.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / f"{name}.json").write_text("{}")
    return str(tmp_path / f"{name}.json")


def test_pairs_by_maze_seed_and_pools(tmp_path, capsys):
    from evaluation.compare import main

    # B is A minus 1 on every maze, listed in another order and with one maze A lacks: the paired
    # difference is exactly 1 with no spread, though the returns themselves spread widely.
    a = _report(tmp_path, "a", [10, 2, 7], seeds=[1, 2, 3], random=[0, 1, 0])
    b = _report(tmp_path, "b", [6, 1, 9, 5], seeds=[3, 2, 1, 4])
    c = _report(tmp_path, "c", [4, 6])
    d = _report(tmp_path, "d", [4, 2])
    out = tmp_path / "table.md"
    assert main([a, b, c, d, "--labels", "A-B", "C-D", f"--out={out}"]) == 0
    table = out.read_text()
    assert table in capsys.readouterr().out
    rows = table.splitlines()[2:]
    assert rows[0] == "| A-B | 3 | 6.33 | 5.33 | +1.00 [+1.00, +1.00] |"
    # C - D: 0 and 4, mean 2, t(0.975, 1) * 2.828 / sqrt(2) = 25.41
    assert rows[1].startswith("| C-D | 2 | 5.00 | 3.00 | +2.00 [-23.4")
    assert rows[2].startswith("| pooled over the pairs | 5 |  |  | +1.40 [")


@pytest.mark.parametrize("make, expected", [
    (lambda p: [_report(p, "a", [1, 2])], "in pairs"),
    (lambda p: [_report(p, "a", [1, 2]), str(p / "missing.json")], "No per-episode file"),
    (lambda p: [_report(p, "a", [1, 2], seeds=[1, 2]), _report(p, "b", [1, 2], seeds=[2, 3])], "share 1 maze seeds"),
])
def test_bad_input_is_one_line(tmp_path, capsys, make, expected):
    from evaluation.compare import main

    assert main(make(tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
