"""Published Memory Maze scores (Pasukonis et al. 2022) to put beside our own, per env name."""
from typing import Dict, Optional

from envs.memory_maze import HUMAN_SCORE, ORACLE_SCORE

# The paper's trained baselines on 9x9 (IMPALA; Dreamer with truncated BPTT); other sizes not quoted here.
AGENT_SCORES = {"9x9": {"IMPALA": 23.4, "Dreamer (TBTT)": 33.2}}


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
