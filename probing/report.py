"""Markdown tables from `probing.train` result JSONs, beside the paper's Table 4 on its own scale.

    python -m probing.report results/state.json results/random.json results/sf.json ...

First the headline: the paper's window (the second half of each eval episode, steps 500-1000) and
scale (walls accuracy in %, objects MSE), the paper's rows (arXiv:2210.13383v1, Table 4, from
`evaluation.references`) above ours. Then ours in full: second half first, then all steps, with the
seen-cells accuracy and the objects RMSE. The constant baseline row comes from the first JSON (it
depends on the data only). A missing, unreadable or wrong-shaped file is one line and exit code 2.
"""
import argparse
import json
import sys
from typing import Dict, List, Optional, Sequence

from common.cli import InputError, input_errors_exit_2
from evaluation.references import PAPER, PROBING, PROBING_GRADIENT_STEPS, PROBING_RUNS, PROBING_WINDOW, format_value

HEADLINE = "second_half"  # the paper's window (Section 3.3, Table 4)
WINDOW_NAMES = {"second_half": "2nd half", "all": "all steps"}
# (target, metric, window, header); walls accuracy as % like the paper
COLUMNS = tuple(
    column for window in ("second_half", "all") for column in (
        ("walls", "accuracy", window, f"Walls acc (%), {WINDOW_NAMES[window]}"),
        ("walls", "accuracy_seen", window, f"Walls acc seen cells (%), {WINDOW_NAMES[window]}"),
        ("objects", "mse", window, f"Objects MSE (cells²), {WINDOW_NAMES[window]}"),
        ("objects", "rmse", window, f"Objects RMSE (cells), {WINDOW_NAMES[window]}"),
    ))
DATA_KEYS = ("model", "train_episodes", "eval_episodes", "train_steps", "eval_steps", "episode_entries",
             "probe_mlp", "probe_steps", "probe_batch", "probe_pose")


class ResultFileError(InputError):
    """A results file that cannot be reported; the message names the file and the problem."""


def load_result(path: str) -> Dict:
    """The JSON `probing.train --out` wrote at path, checked for what the tables read."""
    try:
        with open(path) as file:
            result = json.load(file)
    except OSError as error:
        raise ResultFileError(f"{path}: cannot read it ({error.strerror or error})") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ResultFileError(f"{path}: not a JSON file ({error})") from None
    if not isinstance(result, dict):
        raise ResultFileError(f"{path}: not a probing.train result (a JSON {type(result).__name__}, not an object)")
    missing = [key for key in ("targets", *DATA_KEYS) if key not in result]
    if missing:
        raise ResultFileError(f"{path}: not a probing.train result (no {', '.join(repr(k) for k in missing)})")
    targets = result["targets"]
    if not isinstance(targets, dict) or not targets:
        raise ResultFileError(f"{path}: 'targets' holds no probed target")
    for target, entry in targets.items():
        for source in ("probe", "constant"):
            windows = entry.get(source) if isinstance(entry, dict) else None
            if not isinstance(windows, dict) or not all(isinstance(windows.get(w), dict) for w in WINDOW_NAMES):
                raise ResultFileError(f"{path}: targets.{target}.{source} lacks the windows {', '.join(WINDOW_NAMES)}")
    return result


def _value(result: Dict, source: str, target: str, metric: str, window: str) -> Optional[float]:
    entry = result["targets"].get(target)
    value = None if entry is None else entry[source][window].get(metric)
    return None if value is None else (100.0 * value if target == "walls" else value)


def _cell(result: Dict, source: str, target: str, metric: str, window: str) -> str:
    value = _value(result, source, target, metric, window)
    return "-" if value is None else (f"{value:.1f}" if target == "walls" else f"{value:.2f}")


def _rows(results: Sequence[Dict], names: Optional[Sequence[str]]):
    """(row name, result, source): the constant from the first file, then each file's probe."""
    yield "constant (train-split majority / mean)", results[0], "constant"
    for index, result in enumerate(results):
        yield (names[index] if names else result["model"]), result, "probe"


def size_name(maze_size: int) -> str:
    return f"{maze_size}x{maze_size}"


def headline_table(results: Sequence[Dict], names: Optional[Sequence[str]] = None, maze_size: int = 9) -> str:
    """The paper's Table 4 rows for this size and ours, one window (the second half), one scale."""
    size = size_name(maze_size)
    window = results[0].get("windows", {}).get(HEADLINE)
    ours_window = f"entries {window[0]}-{window[1]}" if window else "second half"
    lines = [f"| Memory Maze {size}, {PROBING_WINDOW} | Walls accuracy (%) | Objects MSE |", "|---|---:|---:|"]
    paper = PROBING.get(size)
    if paper:
        for name in paper["walls"]:
            lines.append(f"| paper: {name} | {format_value(paper['walls'][name])} | "
                         f"{format_value(paper['objects'][name])} |")
    for name, result, source in _rows(results, names):
        lines.append(f"| ours: {name} ({ours_window}) | {_cell(result, source, 'walls', 'accuracy', HEADLINE)} | "
                     f"{_cell(result, source, 'objects', 'mse', HEADLINE)} |")
    return "\n".join(lines)


def paper_line(maze_size: int = 9) -> str:
    size = size_name(maze_size)
    if size not in PROBING:
        return (f"{PAPER} has no {size} probing benchmark (Table 4: {', '.join(PROBING)} only); "
                "the table shows ours alone.")
    return (f"paper: {PAPER}, Table 4: mean ± std over {PROBING_RUNS} runs of models trained "
            f"{PROBING_GRADIENT_STEPS / 1e6:g}M gradient steps; its probe reads the representation concatenated "
            "with the agent's position and orientation (Section 3.3).")


def ours_table(results: Sequence[Dict], names: Optional[Sequence[str]] = None) -> str:
    """Ours in every window and metric, the paper's window first."""
    header = ["representation", *[column[3] for column in COLUMNS]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, result, source in _rows(results, names):
        lines.append(f"| {name} | " + " | ".join(_cell(result, source, t, m, w) for t, m, w, _ in COLUMNS) + " |")
    return "\n".join(lines)


def data_line(result: Dict) -> str:
    return (f"{result['train_episodes']} train / {result['eval_episodes']} eval episodes "
            f"({result['train_steps']} / {result['eval_steps']} entries, {result['episode_entries']} per episode); "
            f"probe MLP {result['probe_mlp'][0]}x{result['probe_mlp'][1]}, {result['probe_steps']} steps of "
            f"batch {result['probe_batch']}; probe inputs: walls = features"
            f"{' + pose' if result['probe_pose'] else ''}, objects = features")


@input_errors_exit_2("probing.report")
def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="+", help="probing.train --out JSONs, one per representation")
    parser.add_argument("--names", default="", help="Comma-separated row names (default: each JSON's --model)")
    args = parser.parse_args(argv)
    results = [load_result(path) for path in args.results]
    names = [name.strip() for name in args.names.split(",")] if args.names else None
    if names and len(names) != len(results):
        raise InputError(f"--names has {len(names)} names for {len(results)} result files")
    sizes = {result.get("maze_size", 9) for result in results}  # JSONs written before maze_size: 9x9 runs
    if len(sizes) > 1:
        raise InputError(f"the result files come from different maze sizes {sorted(sizes)}; report one size at a time")
    maze_size = sizes.pop()
    print(headline_table(results, names, maze_size))
    print()
    print(paper_line(maze_size))
    print()
    print(ours_table(results, names))
    print()
    print("Data: " + data_line(results[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
