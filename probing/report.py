"""Markdown tables from `probing.train` result JSONs: ours in one table, the paper's in another.

    python -m probing.report results/state.json results/random.json results/sf.json ...

The constant baseline row comes from the first JSON (it depends on the data only). Every column
names its window (all entries of an episode, or the second half, steps 500-1000) and its scale.
"""
import argparse
import json
from typing import Dict, List, Optional, Sequence

from probing.probe import PAPER_9X9

COLUMNS = (
    ("walls", "accuracy", "all", "Walls acc, all"),
    ("walls", "accuracy", "second_half", "Walls acc, 2nd half"),
    ("walls", "accuracy_seen", "all", "Walls acc seen cells, all"),
    ("walls", "accuracy_seen", "second_half", "Walls acc seen cells, 2nd half"),
    ("objects", "mse", "all", "Objects MSE (cells²), all"),
    ("objects", "mse", "second_half", "Objects MSE (cells²), 2nd half"),
    ("objects", "rmse", "all", "Objects RMSE (cells), all"),
    ("objects", "rmse", "second_half", "Objects RMSE (cells), 2nd half"),
)


def _cell(result: Dict, source: str, target: str, metric: str, window: str) -> str:
    entry = result["targets"].get(target)
    if entry is None:
        return "-"
    value = entry[source][window].get(metric)
    return "-" if value is None else (f"{value:.3f}" if target == "walls" else f"{value:.2f}")


def ours_table(results: Sequence[Dict], names: Optional[Sequence[str]] = None) -> str:
    header = ["representation", *[column[3] for column in COLUMNS]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    first = results[0]
    lines.append("| constant (train-split mean / majority) | "
                 + " | ".join(_cell(first, "constant", t, m, w) for t, m, w, _ in COLUMNS) + " |")
    for index, result in enumerate(results):
        name = names[index] if names else result["model"]
        lines.append(f"| {name} | " + " | ".join(_cell(result, "probe", t, m, w) for t, m, w, _ in COLUMNS) + " |")
    return "\n".join(lines)


def data_line(result: Dict) -> str:
    return (f"{result['train_episodes']} train / {result['eval_episodes']} eval episodes "
            f"({result['train_steps']} / {result['eval_steps']} entries, {result['episode_entries']} per episode); "
            f"probe MLP {result['probe_mlp'][0]}x{result['probe_mlp'][1]}, {result['probe_steps']} steps of "
            f"batch {result['probe_batch']}; walls probe pose input: {result['probe_pose']}")


def paper_table(maze_size: int = 9) -> str:
    """The paper's numbers for the data's maze size (only 9x9 is transcribed here)."""
    if maze_size != 9:
        return (f"The paper's {maze_size}x{maze_size} probing numbers are not transcribed in this repo "
                "(Pasukonis et al. 2023, Table 3); only its 9x9 row is.")
    lines = ["| Memory Maze 9x9 (paper) | constant | RSSM (TBTT) | supervised oracle |", "|---|---|---|---|"]
    for target, label in (("walls", "Walls accuracy"), ("objects", "Objects (MSE or its root: not stated)")):
        row = PAPER_9X9[target]
        lines.append(f"| {label} | {row['constant']} | {row['rssm_tbtt']} | {row['supervised_oracle']} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="probing.train --out JSONs, one per representation")
    parser.add_argument("--names", default="", help="Comma-separated row names (default: each JSON's --model)")
    args = parser.parse_args(argv)
    results = []
    for path in args.results:
        with open(path) as file:
            results.append(json.load(file))
    names = [name.strip() for name in args.names.split(",")] if args.names else None
    if names and len(names) != len(results):
        raise SystemExit(f"--names has {len(names)} names for {len(results)} result files")
    print(ours_table(results, names))
    print()
    print("Data: " + data_line(results[0]))
    print()
    sizes = {result.get("maze_size", 9) for result in results}  # JSONs written before maze_size: 9x9 runs
    if len(sizes) > 1:
        raise SystemExit(f"the result files come from different maze sizes {sorted(sizes)}; report one size at a time")
    print(paper_table(sizes.pop()))


if __name__ == "__main__":
    main()
