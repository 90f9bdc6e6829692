"""--maze_learner_bf16: the learner's encoder pass runs under bfloat16 autocast, acting stays float32."""
import os

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
    fp32 = encoder_for([f"--maze_encoder={encoder}", "--maze_learner_bf16=False"])
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


def test_default_is_auto_and_a_run_from_before_the_flag_stays_float32(tmp_path):
    import json

    from sf_maze.train import parse_args

    assert parse_args(["--env=memory_9x9"]).maze_learner_bf16 == "auto"
    # A run whose config.json predates the flag trained in float32 and resumes so.
    os.makedirs(tmp_path / "old")
    with open(tmp_path / "old" / "config.json", "w") as f:
        json.dump({"env": "memory_9x9", "experiment": "old", "maze_encoder": "resnet"}, f)
    old = parse_args(["--env=memory_9x9", f"--train_dir={tmp_path}", "--experiment=old"])
    assert old.maze_learner_bf16 is False


@pytest.mark.parametrize("native", [True, False])
def test_auto_follows_the_devices_bfloat16_support(monkeypatch, native):
    import sf_maze.model as model

    monkeypatch.setattr(model, "bf16_is_native", lambda device: native)
    fp32 = encoder_for(["--maze_learner_bf16=False"])
    auto = encoder_for(["--maze_learner_bf16=auto"])
    assert auto.learner_bf16 == "auto"
    auto.load_state_dict(fp32.state_dict())
    batch = obs()
    with torch.inference_mode():  # acting never decides it, and stays float32
        assert torch.equal(auto(batch), fp32(batch))
    assert auto.learner_bf16 == "auto"
    assert torch.equal(auto(batch), fp32(batch)) is not native
    assert auto.learner_bf16 is native


@pytest.mark.parametrize("flags, native", [("fpu sse2 avx512f avx512_bf16 avx_vnni", True),
                                           ("fpu sse2 amx_bf16 amx_tile", True),
                                           ("fpu sse2 avx2 avx512f avx512bw", False)])
def test_a_cpu_computes_bfloat16_natively_only_with_its_instructions(monkeypatch, flags, native):
    import io

    import sf_maze.model as model

    cpuinfo = f"processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: {flags}\n\n"
    monkeypatch.setattr(model, "open", lambda path: io.StringIO(cpuinfo), raising=False)
    assert model.bf16_is_native(torch.device("cpu")) is native


def test_a_bad_bf16_value_says_what_is_allowed(capsys):
    from sf_maze.train import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--env=memory_9x9", "--maze_learner_bf16=maybe"])
    assert "expected True, False or auto, got 'maybe'" in capsys.readouterr().err
