"""Published Memory Maze scores (Pasukonis et al. 2022) to put beside our own, per env name.

Every trained baseline carries the training budget it belongs to. The paper trains its agents for
100M env steps and runs IMPALA on to 400M for its learning curve; the memory-maze README captions
its IMPALA videos "(400M)". No source we could read ties 23.4 or 33.2 to one of those budgets (the
README's score table is an image), so both say "budget not stated" until one does.
"""
from typing import Dict, Optional

from envs.memory_maze import HUMAN_SCORE, ORACLE_SCORE

BUDGET_NOT_STATED = "budget not stated"
# The paper's trained baselines on 9x9 (IMPALA; Dreamer with truncated BPTT); other sizes not quoted here.
AGENT_SCORES = {"9x9": {"IMPALA": 23.4, "Dreamer (TBTT)": 33.2}}
AGENT_BUDGETS = {"IMPALA": BUDGET_NOT_STATED, "Dreamer (TBTT)": BUDGET_NOT_STATED}


def maze_size(env_name: str) -> Optional[str]:
    """'memory_9x9_vis' -> '9x9'; None for envs without published references (AMaze)."""
    parts = env_name.split("_")
    if len(parts) >= 2 and parts[0] == "memory" and parts[1] in HUMAN_SCORE:
        return parts[1]
    return None


def reference_scores(env_name: str) -> Dict[str, float]:
    """{'human': .., 'oracle': .., <agent>: ..} for a Memory Maze env; {} for others.

    The references are full-episode returns of the standard task; variants that change the task
    (hifreq, top camera, ...) are shown against them only as a rough guide.
    """
    size = maze_size(env_name)
    if size is None:
        return {}
    return dict(human=HUMAN_SCORE[size], oracle=ORACLE_SCORE[size], **AGENT_SCORES.get(size, {}))


def reference_budgets(env_name: str) -> Dict[str, str]:
    """The training budget of each trained baseline in reference_scores (human and oracle have none)."""
    return {name: AGENT_BUDGETS[name] for name in reference_scores(env_name) if name in AGENT_BUDGETS}


def format_references(env_name: str) -> str:
    """'human 26.4, oracle 34.8, IMPALA 23.4 (budget not stated), ...'; '' without references."""
    budgets = reference_budgets(env_name)
    return ", ".join(f"{name} {value:g}" + (f" ({budgets[name]})" if name in budgets else "")
                     for name, value in reference_scores(env_name).items())
