"""--maze_learner_bf16: the learner's encoder pass runs under bfloat16 autocast, acting stays float32."""
import numpy as np
import pytest
import torch
from gymnasium import spaces


def encoder_for(argv):
    from sf_maze.model import MazeEncoder
    from sf_maze.train import parse_args

    cfg = parse_args(["--env=memory_9x9", "--device=cpu", *argv])
    obs_space = spaces.Dict({"obs": spaces.Box(0, 255, (3, 64, 64), np.uint8),
                             "last_action": spaces.Box(0, 1, (6,), np.float32),
                             "last_reward": spaces.Box(-1, 1, (1,), np.float32)})
    torch.manual_seed(0)
    return MazeEncoder(cfg, obs_space)


def obs(batch=8):
    generator = torch.Generator().manual_seed(1)
    return {"obs": torch.rand(batch, 3, 64, 64, generator=generator), "last_action": torch.eye(6)[torch.arange(batch) % 6],
            "last_reward": torch.ones(batch, 1)}


@pytest.mark.parametrize("encoder", ["resnet", "cnn"])
def test_bf16_only_with_gradients(encoder):
    fp32 = encoder_for([f"--maze_encoder={encoder}"])
    bf16 = encoder_for([f"--maze_encoder={encoder}", "--maze_learner_bf16=True"])
    bf16.load_state_dict(fp32.state_dict())
    batch = obs()
    with torch.inference_mode():  # what Sample Factory's inference worker does
        assert torch.equal(bf16(batch), fp32(batch))
    reference, learner = fp32(batch), bf16(batch)
    assert learner.dtype == torch.float32 and learner.requires_grad
    # bfloat16 keeps 8 bits of mantissa: close, but not the float32 result.
    assert not torch.equal(learner, reference)
    torch.testing.assert_close(learner, reference, atol=0.05, rtol=0.05)
    learner.sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in bf16.parameters() if p.requires_grad)


def test_default_is_float32():
    from sf_maze.train import parse_args

    assert parse_args(["--env=memory_9x9"]).maze_learner_bf16 is False
