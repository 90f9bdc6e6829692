"""Every published Memory Maze number this repo quotes, in one place; every tool and the docs read it.

Source: Pasukonis, Lillicrap, Hafner, "Evaluating Long-Term Memory in 3D Mazes", arXiv:2210.13383v1
(24 Oct 2022); later versions may differ, so each number names its table or figure in v1.

- Online (Table 3, Table 1): episode return of the standard task, full episodes. "The RL agents were
  trained for 100M steps, and the reported scores are averaged over five runs, with the standard
  deviation"; the human score is 10 episodes with the bootstrapped standard error of the mean; the
  oracle (Table 1, "mean maximum score") has no spread. Figure A.2's caption adds IMPALA on 15x15
  after 400M steps.
- Learning curves (Figures A.1, A.2) are plots, not tables: the points below are the plotted 5-seed
  means read off the v1 PDF's vector paths (the axes calibrated on the figure's grid lines; the same
  reading gives 27.7 on 15x15 at 400M, as Figure A.2's caption states, and 23.3 / 33.1 at 100M beside
  Table 3's 23.4 / 33.2). Show them as "paper, read from the figure", never as the paper's numbers.
- Probing (Section 3.3, Section 5, Table 4): walls accuracy (%) and objects MSE (averaged over the
  objects, grid units squared), "calculated over the second half of the evaluation episodes" (steps
  500-1000); models trained 1M gradient steps, mean +- std over 3 runs; the constant baseline is one
  number.
"""
from typing import Dict, Optional, Tuple

PAPER = "Pasukonis et al., arXiv:2210.13383v1"
SIZES = ("9x9", "11x11", "13x13", "15x15")
FIGURE_LABEL = "paper, read from the figure"

# (mean, spread); spread is the std over seeds for agents, the bootstrapped s.e. for the human score,
# None where the paper gives none.
Value = Tuple[float, Optional[float]]

ONLINE_BUDGET = 100_000_000  # env steps, Table 3's caption
ONLINE_SEEDS = 5
ORACLE = {"9x9": 34.8, "11x11": 58.0, "13x13": 74.5, "15x15": 87.7}  # Table 1 and Table 3
HUMAN = {"9x9": (26.4, 1.6), "11x11": (44.3, 2.5), "13x13": (55.5, 3.5), "15x15": (67.7, 4.0)}  # 10 episodes
AGENTS: Dict[str, Dict[str, Value]] = {  # Table 3: 100M env steps, 5 seeds, +- std
    "IMPALA": {"9x9": (23.4, 0.4), "11x11": (28.2, 0.3), "13x13": (27.5, 0.6), "15x15": (17.7, 1.4)},
    "Dreamer": {"9x9": (28.2, 0.8), "11x11": (20.4, 1.9), "13x13": (11.6, 0.7), "15x15": (4.1, 1.2)},
    "Dreamer (TBTT)": {"9x9": (33.2, 0.1), "11x11": (31.4, 3.1), "13x13": (21.4, 3.0), "15x15": (5.6, 1.9)},
}
# Table 3's last row trains on the probe targets as an auxiliary loss: "it should not be considered as
# a baseline of the online RL benchmark", so no tool draws it beside an agent.
NOT_A_BASELINE = {"Dreamer (TBTT + probe loss)": {"9x9": (33.9, 0.4), "11x11": (44.5, 1.2), "13x13": (37.3, 1.1),
                                                  "15x15": (14.7, 1.9)}}
# Figure A.2 caption: IMPALA run on to 400M env steps (15x15 only is given as a number).
LONG_RUNS = {"IMPALA (400M)": {"budget": 400_000_000, "scores": {"15x15": (27.7, 0.2)}}}

# 9x9 learning curves, {env steps: return}: Figure A.1 (0-100M, one plotted point per 1M steps),
# Figure A.2 (IMPALA at 400M, between its points at 399M and 401M). Readings, not published numbers:
# see the module docstring. Estimates from a raster redrawing of the figure were off by up to 3.5
# early on (Dreamer (TBTT) ~6 at 1M), hence the vector paths.
CURVE_POINTS = {"9x9": {
    "IMPALA": {1_000_000: 0.35, 2_000_000: 0.54, 3_000_000: 1.32, 5_000_000: 6.86, 10_000_000: 11.15,
               20_000_000: 15.5, 50_000_000: 21.78, 100_000_000: 23.33, 400_000_000: 26.77},
    "Dreamer (TBTT)": {1_000_000: 2.45, 2_000_000: 8.18, 3_000_000: 10.78, 5_000_000: 17.19, 10_000_000: 22.79,
                       20_000_000: 29.63, 50_000_000: 31.68, 100_000_000: 33.13},
}}

# Table 4. Walls in %, objects MSE; constant baseline without spread.
PROBING_WINDOW = "second half (steps 500-1000)"
PROBING_RUNS = 3
PROBING_GRADIENT_STEPS = 1_000_000
PROBING_METRICS = {"walls": "accuracy (%)", "objects": "MSE"}
PROBING: Dict[str, Dict[str, Dict[str, Value]]] = {
    "9x9": {
        "walls": {"Constant baseline": (80.8, None), "VAE (no memory)": (84.1, 0.3), "Supervised oracle": (99.7, 0.1),
                  "RSSM": (89.0, 0.3), "VAE+GRU (TBTT)": (90.0, 0.1), "RSSM (TBTT)": (94.0, 0.5)},
        "objects": {"Constant baseline": (23.9, None), "VAE (no memory)": (17.2, 0.2), "Supervised oracle": (0.3, 0.1),
                    "RSSM": (8.3, 0.3), "VAE+GRU (TBTT)": (7.8, 0.2), "RSSM (TBTT)": (6.2, 0.3)},
    },
    "15x15": {
        "walls": {"Constant baseline": (78.3, None), "VAE (no memory)": (78.7, 0.1), "Supervised oracle": (88.5, 0.1),
                  "RSSM": (80.0, 0.1), "VAE+GRU (TBTT)": (80.2, 0.1), "RSSM (TBTT)": (80.5, 0.2)},
        "objects": {"Constant baseline": (64.8, None), "VAE (no memory)": (56.2, 0.1), "Supervised oracle": (9.2, 0.8),
                    "RSSM": (39.5, 0.3), "VAE+GRU (TBTT)": (34.9, 0.1), "RSSM (TBTT)": (33.8, 0.1)},
    },
}


def steps_text(steps: int) -> str:
    """100_000_000 -> '100M'."""
    return f"{steps / 1e6:g}M"


def format_value(value: Value) -> str:
    """(23.4, 0.4) -> '23.4 ± 0.4'; (34.8, None) -> '34.8'. One decimal, as every table of the paper."""
    mean, spread = value
    return f"{mean:.1f}" if spread is None else f"{mean:.1f} ± {spread:.1f}"


def maze_size(env_name: str) -> Optional[str]:
    """'memory_9x9_vis' -> '9x9'; None for envs without published references (AMaze)."""
    parts = env_name.split("_")
    if len(parts) >= 2 and parts[0] == "memory" and parts[1] in SIZES:
        return parts[1]
    return None


def reference_values(env_name: str) -> Dict[str, Value]:
    """{'human': .., 'oracle': .., <agent>: ..} as (mean, spread) for a Memory Maze env; {} for others.

    The references are full-episode returns of the standard task; variants that change the task
    (hifreq, top camera, ...) are shown against them only as a rough guide.
    """
    size = maze_size(env_name)
    if size is None:
        return {}
    values = {"human": HUMAN[size], "oracle": (ORACLE[size], None)}
    values.update({name: scores[size] for name, scores in AGENTS.items()})
    values.update({name: run["scores"][size] for name, run in LONG_RUNS.items() if size in run["scores"]})
    return values


def reference_scores(env_name: str) -> Dict[str, float]:
    """The means of reference_values."""
    return {name: mean for name, (mean, _) in reference_values(env_name).items()}


def reference_budgets(env_name: str) -> Dict[str, str]:
    """The training budget of each trained baseline in reference_scores (human and oracle have none)."""
    budgets = {name: steps_text(ONLINE_BUDGET) + " env steps" for name in AGENTS}
    budgets.update({name: steps_text(run["budget"]) + " env steps" for name, run in LONG_RUNS.items()})
    return {name: budgets[name] for name in reference_scores(env_name) if name in budgets}


def format_references(env_name: str) -> str:
    """One line: 'human 26.4 ± 1.6 (s.e.), oracle 34.8, IMPALA 23.4 ± 0.4, ... (100M env steps, ...)'; '' without."""
    size = maze_size(env_name)
    if size is None:
        return ""
    agents = ", ".join(f"{name} {format_value(scores[size])}" for name, scores in AGENTS.items())
    text = (f"human {format_value(HUMAN[size])} (s.e., 10 episodes), oracle {ORACLE[size]:.1f}, {agents} "
            f"({steps_text(ONLINE_BUDGET)} env steps, ± std over {ONLINE_SEEDS} seeds; {PAPER}, Table 3)")
    for name, run in LONG_RUNS.items():
        if size in run["scores"]:
            text += f"; {name} {format_value(run['scores'][size])} (Figure A.2)"
    return text
