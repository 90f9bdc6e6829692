"""AMaze env names -> (config, sampler), and the public constructors."""
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .config import CONFIG_KEYS, AMazeConfig
from .core import AMazeBatch
from .env import AMazeEnv
from .layouts import Layouts, Sampler
from .ood import OOD_SPECS
from .random_maze import sample_random_mazes
from .teacher import AMazeTeacherBatch
from .teacher_config import TEACHER_KEYS, TeacherConfig
from .teacher_env import AMazeTeacherEnv

log = logging.getLogger(__name__)

# Domain-randomised mazes. amaze_13x13 is minimax's Maze default; amaze_13x13_train is the setting of
# minimax's maze/*.json training configs (60 walls drawn with replacement); the small ones keep
# minimax's wall density (~25 per 169 cells) for quick experiments and tests.
RANDOM_MAZES: Dict[str, AMazeConfig] = {
    "amaze_7x7": AMazeConfig(height=7, width=7, n_walls=7, max_episode_steps=100),
    "amaze_9x9": AMazeConfig(height=9, width=9, n_walls=12, max_episode_steps=150),
    "amaze_13x13": AMazeConfig(),
    "amaze_13x13_train": AMazeConfig(n_walls=60, replace_wall_pos=True),
    "amaze_15x15": AMazeConfig(height=15, width=15, n_walls=33, max_episode_steps=300),
}

# Teacher (designer) envs, minimax's UEDMaze: amaze_teacher_13x13 has UEDMaze's constructor defaults,
# _paired the maze_ued_* settings of minimax's maze/paired.json; the others pair with the student
# mazes of their size (same wall budget).
TEACHERS: Dict[str, TeacherConfig] = {
    "amaze_teacher_7x7": TeacherConfig(height=7, width=7, n_walls=7),
    "amaze_teacher_9x9": TeacherConfig(height=9, width=9, n_walls=12),
    "amaze_teacher_13x13": TeacherConfig(),
    "amaze_teacher_13x13_paired": TeacherConfig(n_walls=60, noise_dim=50, replace_wall_pos=True,
                                                fixed_n_wall_steps=True, normalize_obs=True),
    "amaze_teacher_15x15": TeacherConfig(height=15, width=15, n_walls=33),
}

OOD_PREFIX = "amaze_ood_"
# What an OOD maze lets a caller change: its layout is fixed, its observation options are not.
OOD_KEYS = ("agent_view_size", "see_agent", "normalize_obs", "obs_agent_pos", "max_episode_steps", "singleton_seed")


def list_amaze_envs() -> List[str]:
    """Every AMaze env name make_amaze accepts."""
    return list(RANDOM_MAZES) + [OOD_PREFIX + key for key in OOD_SPECS] + list(TEACHERS)


def resolve_teacher(name: str, **overrides) -> TeacherConfig:
    """TeacherConfig of teacher env `name` with `overrides` applied (ValueError on bad names/keys)."""
    if name not in TEACHERS:
        raise ValueError(f"Unknown AMaze teacher env {name!r}. Valid names: {', '.join(TEACHERS)}")
    _check_keys(name, overrides, TEACHER_KEYS)
    return TEACHERS[name].replace(**overrides)


def resolve(name: str, **overrides) -> Tuple[AMazeConfig, Sampler]:
    """Config and layout sampler of env `name` with `overrides` applied (ValueError on bad names/keys)."""
    if name in RANDOM_MAZES:
        _check_keys(name, overrides, CONFIG_KEYS)
        log.debug("AMaze %s with overrides %s", name, overrides)
        return RANDOM_MAZES[name].replace(**overrides), sample_random_mazes
    if name.startswith(OOD_PREFIX) and name[len(OOD_PREFIX):] in OOD_SPECS:
        spec = OOD_SPECS[name[len(OOD_PREFIX):]]
        _check_keys(name, overrides, OOD_KEYS + (("height", "width") if spec.resizable else ()))
        log.debug("AMaze %s with overrides %s", name, overrides)
        return spec.config(**overrides), spec.sampler
    if name in TEACHERS:
        raise ValueError(f"{name} is a teacher (level designer) env, not a maze to play: build it with "
                         f"make_amaze({name!r}) or make_amaze_teacher_batch, and play its levels with "
                         f"make_student_batch")
    raise ValueError(f"Unknown AMaze env {name!r}. Valid names: {', '.join(list_amaze_envs())}")


def _check_keys(name: str, overrides: dict, allowed: Sequence[str]) -> None:
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ValueError(f"Unknown override(s) {unknown} for {name}. Allowed keys: {', '.join(allowed)}")


def make_amaze(name: str, seed: Optional[int] = None, render_mode: Optional[str] = None, **overrides
               ) -> Union[AMazeEnv, AMazeTeacherEnv]:
    """Single gymnasium env (no auto-reset). `seed` seeds the first reset that gets none itself.
    Teacher names (amaze_teacher_*) give an AMazeTeacherEnv."""
    if name in TEACHERS:
        return AMazeTeacherEnv(resolve_teacher(name, **overrides), name=name, seed=seed, render_mode=render_mode)
    cfg, sampler = resolve(name, **overrides)
    return AMazeEnv(cfg, sampler, name=name, seed=seed, render_mode=render_mode)


def make_amaze_batch(name: str, num_envs: int, seed: Union[None, int, Sequence[int]] = None,
                     render_mode: Optional[str] = None, **overrides) -> AMazeBatch:
    """`num_envs` auto-resetting mazes stepped as one; maze i with int seed s matches make_amaze(name, s + i)."""
    cfg, sampler = resolve(name, **overrides)
    return AMazeBatch(cfg, sampler, num_envs, auto_reset=True, seed=seed, render_mode=render_mode)


def make_amaze_teacher_batch(name: str, num_envs: int, seed: Union[None, int, Sequence[int]] = None,
                             auto_reset: bool = True, **overrides) -> AMazeTeacherBatch:
    """`num_envs` teacher envs stepped as one; design i with int seed s matches make_amaze(name, s + i)."""
    return AMazeTeacherBatch(resolve_teacher(name, **overrides), num_envs, auto_reset=auto_reset, seed=seed)


def make_student_batch(levels: Layouts, student: str = "amaze_13x13", seed: Union[None, int, Sequence[int]] = None,
                       **overrides) -> AMazeBatch:
    """An auto-resetting student batch whose maze i replays levels[i] (e.g. a teacher's designs).

    `student` names a domain-randomised AMaze (amaze_7x7, amaze_13x13, ...) for its observation and
    episode settings (agent_view_size, see_agent, normalize_obs, max_episode_steps, ... as overrides);
    its size is taken from the levels.
    """
    if student not in RANDOM_MAZES:
        raise ValueError(f"student must be one of {', '.join(RANDOM_MAZES)}, got {student!r}")
    _, h, w = levels.grid.shape
    cfg, sampler = resolve(student, height=h, width=w, n_walls=0, **overrides)
    return AMazeBatch(cfg, sampler, len(levels), auto_reset=True, seed=seed, levels=levels)
