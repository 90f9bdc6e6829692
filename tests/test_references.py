"""The docs' tables of the paper's numbers (docs/paper.md) and evaluation/references.py say the same thing.

Each table follows a `<!-- references: NAME -->` marker in docs/paper.md; every row and cell is parsed
and compared both ways (a number in one and not the other fails too), so an edit to either side
alone fails here.
"""
import os
import re
from typing import Dict, Optional, Tuple

import pytest

from evaluation import references

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join("docs", "paper.md")  # where the paper's numbers are written out for readers
Cell = Optional[Tuple[float, Optional[float]]]


def parse_cell(text: str) -> Cell:
    """'23.4 ± 0.4' -> (23.4, 0.4); '34.8' -> (34.8, None); '-' -> None."""
    text = text.strip()
    if text == "-":
        return None
    match = re.fullmatch(r"(-?[\d.]+)(?:\s*±\s*([\d.]+))?", text)
    assert match, f"{PAGE} cell {text!r} is not a number, 'a ± b' or '-'"
    return float(match.group(1)), None if match.group(2) is None else float(match.group(2))


def page_table(name: str) -> Tuple[list, Dict[str, list]]:
    """(header cells, {row name: cells}) of the Markdown table after `<!-- references: name -->`."""
    with open(os.path.join(REPO, PAGE), encoding="utf-8") as f:
        text = f.read()
    marker = f"<!-- references: {name} -->"
    assert text.count(marker) == 1, f"{PAGE} needs exactly one {marker}"
    lines = text.split(marker, 1)[1].strip().splitlines()
    table = []
    for line in lines:
        if not line.startswith("|"):
            break
        table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    header, rows = table[0], table[2:]
    named = {row[0]: row[1:] for row in rows}
    assert len(named) == len(rows), f"duplicate row names in the {name} table"
    return header[1:], named


def online_expected() -> Dict[str, Dict[str, Cell]]:
    expected = {"oracle": {size: (value, None) for size, value in references.ORACLE.items()},
                "human": dict(references.HUMAN)}
    expected.update(references.AGENTS)
    expected.update(references.NOT_A_BASELINE)
    expected.update({name: run["scores"] for name, run in references.LONG_RUNS.items()})
    return expected


def test_docs_online_table_is_references_table_3():
    header, rows = page_table("online")
    assert header == list(references.SIZES)
    page = {name: {size: parse_cell(cell) for size, cell in zip(header, cells)} for name, cells in rows.items()}
    expected = {name: {size: values.get(size) for size in references.SIZES}
                for name, values in online_expected().items()}
    assert page == expected


def test_docs_curve_points_are_the_references_readings():
    header, rows = page_table("curves")
    steps = [int(float(cell.rstrip("M")) * 1e6) for cell in header]
    page = {name: {step: parse_cell(cell) for step, cell in zip(steps, cells) if parse_cell(cell) is not None}
            for name, cells in rows.items()}
    expected = {name: {step: (value, None) for step, value in points.items()}
                for name, points in references.CURVE_POINTS["9x9"].items()}
    assert page == expected


def test_docs_probing_table_is_references_table_4():
    header, rows = page_table("probing")
    columns = [re.fullmatch(r"(\d+x\d+) (Walls|Objects) \((%|MSE)\)", cell) for cell in header]
    assert all(columns), header
    page = {}
    for name, cells in rows.items():
        for column, cell in zip(columns, cells):
            size, target = column.group(1), column.group(2).lower()
            page.setdefault(size, {}).setdefault(target, {})[name] = parse_cell(cell)
    assert page == references.PROBING


@pytest.mark.parametrize("path", ["README.md", "docs", "sf_maze", "evaluation", "probing", "launcher", "benchmarks"])
def test_no_budget_is_called_unstated(path):
    """Table 3's caption states the budget (100M steps); nothing may say it is unknown."""
    full = os.path.join(REPO, path)
    files = [full] if os.path.isfile(full) else [os.path.join(d, f) for d, _, names in os.walk(full)
                                                   for f in names if f.endswith((".py", ".md"))]
    stale = ("budget not stated", "no budget stated", "budget at which the paper's IMPALA curve leaves random is not known")
    offenders = [f for f in files if any(phrase in open(f, encoding="utf-8").read() for phrase in stale)]
    assert files and not offenders


def test_format_references_names_the_budget_source_and_spread_for_every_size():
    for size in references.SIZES:
        line = references.format_references(f"memory_{size}")
        for name, values in references.AGENTS.items():
            assert f"{name} {references.format_value(values[size])}" in line, line
        assert "100M env steps" in line and references.PAPER in line and "Table 3" in line
    assert "IMPALA (400M) 27.7 ± 0.2" in references.format_references("memory_15x15_vis")
    assert "400M" not in references.format_references("memory_9x9")
    assert references.format_references("amaze_7x7") == ""
