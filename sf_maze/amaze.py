"""AMaze on Sample Factory: the batched env function, the grid encoder adapter, defaults, evaluation.

One rollout worker steps `--amaze_num_envs` mazes as one vectorised AMazeBatch, which Sample Factory's
batched sampler sees as a multi-agent env (one agent per maze): no per-maze Python loop anywhere.
"""
import logging
from typing import Dict, Optional

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from sample_factory.model.encoder import Encoder

from common.cli import parse_bool
from envs import maze_seeds
from envs.amaze import make_amaze_batch
from envs.amaze.constants import NORMALIZE_DIVISOR
from evaluation.amaze import GridAgentPolicy
from networks import GridEncoder

log = logging.getLogger(__name__)

# ---- command line -------------------------------------------------------------------------------
def add_amaze_args(parser) -> None:
    p = parser
    p.add_argument("--amaze_num_envs", default=64, type=int,
                   help="Mazes one batched env steps together (Sample Factory sees them as agents)")
    p.add_argument("--amaze_obs_agent_pos", default=False, type=parse_bool,
                   help="Add the agent's (x, y) to the observation (minimax's obs_agent_pos)")
    p.add_argument("--amaze_normalize_obs", default=False, type=parse_bool,
                   help="Views as float32 codes / 10, as minimax's student gets them (the encoder multiplies back "
                        "and embeds the integer codes, so checkpoints are the same either way)")
    p.add_argument("--amaze_encoder_out_size", default=128, type=int, help="Size of the GridEncoder's output")
    p.add_argument("--amaze_torch_threads", default=1, type=int,
                   help="Torch threads of the serial-mode process (0: leave torch's default)")


def amaze_defaults(parser) -> None:
    """Overrides of maze_defaults for AMaze on a small CPU machine; each says why it differs."""
    parser.set_defaults(
        # The batched sampler is what consumes a vectorised multi-agent env; the per-env sampler
        # would want a list of per-agent observations.
        batched_sampling=True,
        # One process steps all mazes with numpy; on 2 cores a second worker or a separate learner
        # process only adds IPC and contention (serial mode runs sampling, inference and learning
        # in one process, synchronously, so there is no policy lag either).
        serial_mode=True,
        async_rl=False,
        num_workers=1,
        num_envs_per_worker=1,
        worker_num_splits=1,
        # The view holds integer codes that GridEncoder embeds: no /255 scaling (normalize_input stays
        # off, as maze_defaults has it; AMazeEncoder refuses either).
        obs_scale=1.0,
        # minimax's maze student: LSTM-256 over a small conv; BPTT over 32 steps.
        rnn_size=256,
        rollout=32,
        recurrence=-1,  # = rollout (Sample Factory resolves it), so --rollout alone changes both
        # Each rollout (64 mazes x 32 steps = 2048 samples; sync mode needs an exact multiple) is
        # learnt as 4 minibatches of 512: 4 updates per sample instead of 1 reached ~0.8 return on
        # amaze_7x7 in 300k steps where one 2048 batch stalled near 0.3.
        batch_size=512,
        num_batches_per_epoch=4,
        # Grid episodes are short and dense in decisions: a larger step than Memory Maze's pixel
        # agent learns within minutes on CPU and stayed stable in our runs.
        learning_rate=5e-4,
        # Few hundred steps per episode and a reward that decays with time: 0.99 sees far enough.
        gamma=0.99,
        # This repo's recipe before the Memory Maze paper's (kept: the AMaze learning checks pass
        # with it): entropy 0.01, Adam epsilon 1e-6, plain V-trace, standardised advantages.
        exploration_loss_coeff=0.01,
        adam_eps=1e-6,
        maze_vtrace_lambda=1.0,
        maze_normalize_advantages=True,
        # Frequent small summaries are cheap here and the runs are short.
        experiment_summaries_interval=10,
        save_every_sec=60,
    )


# ---- env ----------------------------------------------------------------------------------------
class AMazeSampleFactoryEnv(gym.Env):
    """AMazeBatch in the shape Sample Factory's batched sampler takes.

    Observations are a dict of (N, ...) arrays: `obs` the (V, V, 3) uint8 view, float32 codes / 10 with
    normalize_obs (SF scales and normalises only the key `obs`), `agent_dir`, and `agent_pos` when
    enabled. `info["solved"]` flags, per maze, a step that reached the goal; SF averages it over
    finished episodes (the solve rate).
    """

    is_multiagent = True

    def __init__(self, env_name: str, num_mazes: int, run_seed: Optional[int] = None, env_id: int = 0,
                 obs_agent_pos: bool = False, render_mode: Optional[str] = None, normalize_obs: bool = False):
        self.batch = make_amaze_batch(env_name, num_mazes, obs_agent_pos=obs_agent_pos, normalize_obs=normalize_obs)
        self.run_seed, self.env_id, self.render_mode = run_seed, env_id, render_mode
        single = self.batch.observation_space
        obs = {"obs": single["image"], "agent_dir": single["agent_dir"]}
        if "agent_pos" in single.spaces:
            obs["agent_pos"] = single["agent_pos"]
        self.observation_space = spaces.Dict(obs)
        self.action_space = self.batch.action_space
        self.num_agents = num_mazes
        self._seeded = False

    def _sf_obs(self, obs: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        out = {"obs": obs["image"], "agent_dir": obs["agent_dir"]}
        if "agent_pos" in obs:
            out["agent_pos"] = obs["agent_pos"]
        return out

    def reset(self, *, seed: Optional[int] = None, options: Optional[dict] = None):
        if seed is not None:
            self.env_id = int(seed)  # SF passes the env's global index as the seed
        if seed is not None or not self._seeded:
            self.batch.seed(maze_seeds(self.run_seed, self.env_id, self.num_agents))
            self._seeded = True
        obs, info = self.batch.reset(options=options)
        return self._sf_obs(obs), info

    def step(self, actions):
        obs, rewards, terminated, truncated, _ = self.batch.step(actions)
        info = {"solved": torch.from_numpy(terminated & (rewards > 0)).float()}
        return self._sf_obs(obs), rewards, terminated, truncated, info

    def render(self):
        return self.batch.render(0) if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        self.batch.close()


def make_amaze_sf_env(full_env_name: str, cfg=None, env_config=None, render_mode: Optional[str] = None):
    """Sample Factory env function (top-level, so spawned workers can unpickle it)."""
    num_mazes = int(getattr(cfg, "amaze_num_envs", 64))
    if cfg is not None and not cfg.batched_sampling:
        raise ValueError("AMaze is a vectorised multi-agent env: it needs --batched_sampling=True")
    if cfg is not None and cfg.num_envs_per_worker != cfg.worker_num_splits:
        # SF would chain several batched envs with SequentialVectorizeWrapper, which mangles dict
        # infos; one batched env per split already vectorises, so grow --amaze_num_envs instead.
        raise ValueError(f"AMaze runs one batched env per worker split: set --num_envs_per_worker="
                         f"{cfg.worker_num_splits} (= --worker_num_splits) and raise --amaze_num_envs for more mazes")
    env_id = int(getattr(env_config, "env_id", 0)) if env_config is not None else 0
    threads = int(getattr(cfg, "amaze_torch_threads", 0))
    if cfg is not None and cfg.serial_mode and threads > 0:
        # Serial mode leaves torch one thread per core (SF's worker processes pin 1). Our batches are
        # tiny (64 mazes), so threads only add sync cost, ~10x slower on a loaded 2-core machine.
        # Set here because the env is built in the process that learns, before any model runs.
        torch.set_num_threads(threads)
    log.debug("AMaze %s: env %d steps %d mazes", full_env_name, env_id, num_mazes)
    return AMazeSampleFactoryEnv(full_env_name, num_mazes, run_seed=getattr(cfg, "seed", None), env_id=env_id,
                                 obs_agent_pos=bool(getattr(cfg, "amaze_obs_agent_pos", False)),
                                 render_mode=render_mode,
                                 normalize_obs=bool(getattr(cfg, "amaze_normalize_obs", False)))


# ---- model --------------------------------------------------------------------------------------
class AMazeEncoder(Encoder):
    """GridEncoder inside Sample Factory; held as `.net` so checkpoints load into networks.GridEncoder."""

    def __init__(self, cfg, obs_space):
        super().__init__(cfg)
        if abs(cfg.obs_scale - 1.0) > 1e-6 or abs(cfg.obs_subtract_mean) > 1e-6 or cfg.normalize_input:
            raise ValueError("AMaze views are category codes: run with --obs_scale=1 --obs_subtract_mean=0 "
                             "--normalize_input=False")
        view, _, channels = obs_space["obs"].shape
        if channels != 3:
            raise ValueError(f"GridEncoder takes (V, V, 3) MiniGrid views, got {obs_space['obs'].shape}")
        pos_size = int(obs_space["agent_pos"].high.max()) + 1 if "agent_pos" in obs_space.spaces else 0
        self.net = GridEncoder(view_size=view, pos_size=pos_size, out_size=cfg.amaze_encoder_out_size)
        # normalize_obs views (float, codes / 10) go back to the integer codes GridEncoder embeds, so a
        # checkpoint is the same network whichever way it was trained.
        normalized = np.issubdtype(obs_space["obs"].dtype, np.floating) and float(obs_space["obs"].high.max()) <= 1.0
        self.code_scale = NORMALIZE_DIVISOR if normalized else 1.0

    def forward(self, obs_dict):
        image = obs_dict["obs"]
        if self.code_scale != 1.0:
            image = torch.round(image * self.code_scale)
        return self.net(image, obs_dict["agent_dir"], obs_dict.get("agent_pos"))

    def get_out_size(self) -> int:
        return self.net.out_size


# ---- evaluation (evaluation.amaze scores any policy) ----------------------------------------------


def agent_policy(agent, greedy: bool = True) -> GridAgentPolicy:
    """A GridAgent (networks.load_sf_checkpoint) as an evaluation Agent; it keeps each maze's core state."""
    return GridAgentPolicy(agent, greedy=greedy)
