"""Our plain `networks` modules inside Sample Factory's actor-critic.

Each adapter holds the plain module as `.net` (or `.heads`), so a checkpoint's weights load straight
into `networks` (see networks/checkpoint.py for the key prefixes).
"""
import torch
from sample_factory.algo.utils.context import global_model_factory
from sample_factory.model.actor_critic import ActorCriticSharedWeights
from sample_factory.model.core import ModelCore
from sample_factory.model.encoder import Encoder

from networks import ConvEncoder, PolicyValueHeads, ResNetEncoder
from networks.core_input import last_action_reward_size, with_last_action_reward
from sf_maze.cores import MazeMemoryCore
from sf_maze.patches import InWorker


def bf16_is_native(device: torch.device) -> bool:
    """Whether `device` computes bfloat16 in hardware: a CUDA GPU that supports it, or a CPU with
    AVX512-BF16 or AMX (Linux's CPU flags). Elsewhere oneDNN emulates bfloat16, which can be slower
    than float32, so `--maze_learner_bf16=auto` stays off there."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class MazeEncoder(Encoder):
    """`--maze_encoder` (DreamerV2's CNN or the IMPALA ResNet) on the frame, with the last reward and
    action appended when the env gives them (`--maze_last_action_reward`, sf_maze.env)."""

    def __init__(self, cfg, obs_space):
        super().__init__(cfg)
        channels, height, width = obs_space["obs"].shape
        if height != width:
            raise ValueError(f"The image encoders take square images; the env gives {height}x{width}")
        if getattr(cfg, "maze_encoder", "cnn") == "resnet":
            self.net = ResNetEncoder(in_channels=channels, image_size=height, out_features=cfg.maze_cnn_out_size)
        else:
            self.net = ConvEncoder(in_channels=channels, image_size=height, depth=cfg.maze_cnn_depth,
                                   out_features=cfg.maze_cnn_out_size)
        self.last_action_reward = "last_action" in obs_space.spaces
        self.learner_bf16 = getattr(cfg, "maze_learner_bf16", False)
        self.out_size = self.net.out_size
        if self.last_action_reward:
            self.out_size += last_action_reward_size(obs_space["last_action"].shape[0])

    def forward(self, obs_dict):
        image = obs_dict["obs"]
        if self.learner_bf16 == "auto" and torch.is_grad_enabled():
            self.learner_bf16 = bf16_is_native(image.device)  # decided once, on the learner's own device
        if self.learner_bf16 is True and torch.is_grad_enabled():
            # Only the learner runs with gradients (Sample Factory's inference runs in inference mode),
            # so acting and checkpoints stay float32, and the LSTM and the losses too.
            with torch.autocast(image.device.type, dtype=torch.bfloat16):
                embedding = self.net(image)
            embedding = embedding.float()
        else:
            embedding = self.net(image)
        if not self.last_action_reward:
            return embedding
        return with_last_action_reward(embedding, obs_dict["last_action"], obs_dict["last_reward"])

    def get_out_size(self) -> int:
        return self.out_size


class MazeActorCritic(ActorCriticSharedWeights):
    """Sample Factory's shared-weights actor-critic with our PolicyValueHeads as its two linear outputs."""

    def __init__(self, model_factory, obs_space, action_space, cfg):
        super().__init__(model_factory, obs_space, action_space, cfg)
        self.heads = PolicyValueHeads(self.decoder.get_out_size(), int(action_space.n))
        self.heads.apply(self.initialize_weights)
        self.critic_linear = self.heads.value
        self.action_parameterization.distribution_linear = self.heads.policy


def make_encoder(cfg, obs_space) -> Encoder:
    if "agent_dir" in obs_space.spaces:  # AMaze: a grid of codes, not a camera image
        from sf_maze.amaze import AMazeEncoder

        return AMazeEncoder(cfg, obs_space)
    return MazeEncoder(cfg, obs_space)


def make_core(cfg, core_input_size: int) -> ModelCore:
    if not cfg.use_rnn:
        from sample_factory.model.core import ModelCoreIdentity

        return ModelCoreIdentity(cfg, core_input_size)
    return MazeMemoryCore(cfg, core_input_size)  # --maze_core=lstm|gru|gtrxl|lru; sf_maze.checks refuses --rnn_type


def make_actor_critic(cfg, obs_space, action_space):
    return MazeActorCritic(global_model_factory(), obs_space, action_space, cfg)


def register_models() -> None:
    """Our model factories, each wrapped so the workers that unpickle them get sf_maze's patches."""
    factory = global_model_factory()
    factory.register_encoder_factory(InWorker(make_encoder))
    factory.register_model_core_factory(InWorker(make_core))
    factory.register_actor_critic_factory(InWorker(make_actor_critic))
