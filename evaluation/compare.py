"""Paired comparison of evaluation reports: `python -m evaluation.compare A.json B.json [C.json D.json ...]`.

Each pair (A, B), (C, D), ... is two evaluations of agents on the same maze seeds (e.g. an agent as
trained and the same agent with `--memory_span=1`). Episodes are matched by maze seed, and the table
gives the mean of A's return minus B's with its 95% t-interval over the matched episodes, per pair and
pooled over all pairs. Pairing removes the spread between mazes, so it finds smaller differences than
two separate intervals do. Reads the per-episode CSV that every report keeps beside its JSON.
"""
import argparse
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from common.cli import InputError


def agent_returns(report_path: str) -> Dict[int, float]:
    """{maze seed: episode return} of the report's agent (its one policy other than random)."""
    from evaluation.report import read_episode_rows

    rows = [row for row in read_episode_rows(report_path) if row.get("policy") != "random"]
    policies = sorted({row.get("policy") for row in rows})
    if len(policies) != 1:
        raise InputError(f"{report_path} holds {len(policies)} agents ({', '.join(map(str, policies)) or 'none'}); "
                         "a comparison needs exactly one")
    try:
        return {int(row["seed"]): float(row["episode_return"]) for row in rows}
    except (KeyError, ValueError) as error:
        raise InputError(f"{report_path}'s per-episode file is not a report ({type(error).__name__}: {error})") from None


def paired_differences(first: Dict[int, float], second: Dict[int, float], names: Tuple[str, str]) -> List[float]:
    seeds = sorted(set(first) & set(second))
    if len(seeds) < 2:
        raise InputError(f"{names[0]} and {names[1]} share {len(seeds)} maze seeds; a paired interval needs two")
    return [first[seed] - second[seed] for seed in seeds]


def compare(report_paths: Sequence[str], labels: Optional[Sequence[str]] = None) -> str:
    """Markdown table: one row per pair, then the pooled row when there are several pairs."""
    from evaluation.stats import summarize_returns

    if len(report_paths) < 2 or len(report_paths) % 2:
        raise InputError(f"Give reports in pairs (A B [C D ...]); got {len(report_paths)}")
    if labels and len(labels) != len(report_paths) // 2:
        raise InputError(f"--labels gives {len(labels)} names for {len(report_paths) // 2} pairs; give one per pair")
    lines = ["| pair | matched episodes | A return | B return | A - B, paired by maze seed [95% CI] |",
             "|---|---:|---:|---:|---|"]
    pooled: List[float] = []
    for i in range(0, len(report_paths), 2):
        a_path, b_path = report_paths[i], report_paths[i + 1]
        a, b = agent_returns(a_path), agent_returns(b_path)
        differences = paired_differences(a, b, (a_path, b_path))
        pooled += differences
        seeds = sorted(set(a) & set(b))
        name = labels[i // 2] if labels else f"{os.path.basename(a_path)} - {os.path.basename(b_path)}"
        lines.append(_row(name, differences, sum(a[s] for s in seeds) / len(seeds), sum(b[s] for s in seeds) / len(seeds),
                          summarize_returns))
    if len(report_paths) > 2:
        lines.append(_row("pooled over the pairs", pooled, None, None, summarize_returns))
    return "\n".join(lines) + "\n"


def _row(name, differences, a_mean, b_mean, summarize) -> str:
    s = summarize(differences)
    means = " | ".join("" if m is None else f"{m:.2f}" for m in (a_mean, b_mean))
    return f"| {name} | {s['n']} | {means} | {s['mean']:+.2f} [{s['ci_low']:+.2f}, {s['ci_high']:+.2f}] |"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", metavar="REPORT.json", help="Evaluation reports, in pairs A B")
    parser.add_argument("--labels", nargs="+", default=None, help="One name per pair")
    parser.add_argument("--out", default=None, help="Also write the table to this Markdown file")
    args = parser.parse_args(argv)
    try:
        table = compare(args.reports, args.labels)
    except InputError as error:
        print(f"evaluation.compare: error: {error}", file=sys.stderr)
        return 2
    print(table, end="")
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
