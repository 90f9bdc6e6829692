"""Which family an env name belongs to, and which names a trainer or evaluator can run: the one place
that knows the name prefixes (trainers, evaluators and Dreamer ask here)."""

from typing import List

from common.cli import InputError

FAMILIES = ("memory", "amaze", "amaze_teacher")


def list_envs() -> List[str]:
    """Every name make_env accepts."""
    from envs.amaze import list_amaze_envs  # numpy only, but not needed for the prefix questions
    from envs.memory_maze import memory_maze_names

    return memory_maze_names() + list_amaze_envs()


def env_family(name: str) -> str:
    """'memory' (Memory Maze, any size or variant), 'amaze' (an AMaze student env, OOD mazes included)
    or 'amaze_teacher' (minimax's UEDMaze level designer); ValueError for any other name."""
    if name.startswith("amaze_teacher"):
        return "amaze_teacher"
    if name.startswith("amaze_"):
        return "amaze"
    if name.startswith("memory_"):
        return "memory"
    raise ValueError(f"Unknown env {name!r}: Memory Maze names start with memory_, AMaze names with amaze_")


def is_amaze(name: str) -> bool:
    """An AMaze student env (the grid agent plays it); teacher envs are not."""
    return bool(name) and name.startswith("amaze_") and env_family(name) == "amaze"


def check_env_name(name: str, trainable: bool = False) -> None:
    """InputError (one line, naming what is allowed) unless make_env knows `name`; with trainable=True
    also refuses teacher envs, which no trainer or evaluator here plays, before any process starts."""
    family = env_family(name) if name.startswith(("memory_", "amaze_")) else None
    if trainable and family == "amaze_teacher":
        students = ", ".join(n for n in list_envs() if env_family(n) == "amaze" and "_ood_" not in n)
        raise InputError(f"--env={name} is a teacher (level designer) env, which no trainer or evaluator here "
                         f"runs; choose a student env: memory_9x9 (and other memory_*), {students}, amaze_ood_*")
    if family == "memory":
        from envs.memory_maze import parse_name

        try:
            parse_name(name)
        except ValueError as error:  # it names the size or variant that is wrong
            raise InputError(str(error)) from None
    elif name not in list_envs():
        raise InputError(f"Unknown env {name!r}. Valid names: {', '.join(list_envs())}")
