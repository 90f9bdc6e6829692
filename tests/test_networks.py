import os
import subprocess
import sys
import textwrap

import pytest
import torch

from networks import ConvEncoder, LSTMCore, PolicyValueHeads, RecurrentAgent, preprocess_frames

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("out_features,image_size", [(256, 64), (None, 64), (128, 256)])
def test_encoder_out_size_matches_forward(out_features, image_size):
    encoder = ConvEncoder(image_size=image_size, depth=8, out_features=out_features)
    out = encoder(torch.rand(2, 5, 3, image_size, image_size))
    assert out.shape == (2, 5, encoder.out_size)
    if out_features is None:
        spatial = {64: 2, 256: 14}[image_size]
        assert encoder.out_size == 8 * 8 * spatial * spatial


def test_encoder_does_not_mutate_input():
    images = torch.rand(3, 3, 64, 64)
    copy = images.clone()
    ConvEncoder(depth=4)(images)
    assert torch.equal(images, copy)


def test_preprocess_frames_layout_and_range():
    frames = torch.randint(0, 256, (4, 2, 64, 64, 3), dtype=torch.uint8)
    x = preprocess_frames(frames)
    assert x.shape == (4, 2, 3, 64, 64) and x.dtype == torch.float32
    assert torch.equal(x[1, 1, 2], frames[1, 1, :, :, 2].float() * (1.0 / 255))  # Sample Factory scales by mul


def test_heads_shapes():
    heads = PolicyValueHeads(32, 6)
    logits, value = heads(torch.randn(7, 3, 32))
    assert logits.shape == (7, 3, 6) and value.shape == (7, 3)


def test_core_out_size_and_state():
    core = LSTMCore(input_size=16)
    assert core.out_size == 256
    out, (h, c) = core(torch.randn(5, 3, 16))
    assert out.shape == (5, 3, 256) and h.shape == (3, 256) and c.shape == (3, 256)


def test_lstm_state_resets_at_episode_start():
    torch.manual_seed(0)
    core = LSTMCore(input_size=8, hidden_size=16)
    T, B = 6, 2
    inputs = torch.randn(T, B, 8)
    first = torch.zeros(T, B, dtype=torch.bool)
    first[3, 0] = True  # env 0 starts a new episode at step 3
    state = (torch.randn(B, 16), torch.randn(B, 16))
    out, _ = core(inputs, state, first)
    # env 0 from step 3 on must equal a fresh run from a zero state on the same inputs
    fresh, _ = core(inputs[3:, :1], None)
    assert torch.allclose(out[3:, :1], fresh, atol=1e-6)
    # env 1 never resets: equal to an uninterrupted run from its given state
    cont, _ = core(inputs[:, 1:], (state[0][1:], state[1][1:]))
    assert torch.allclose(out[:, 1:], cont, atol=1e-6)
    # and without the reset flag env 0 would differ (the state carries information)
    no_reset, _ = core(inputs, state)
    assert not torch.allclose(no_reset[3:, :1], fresh, atol=1e-4)


def test_agent_forward_shapes():
    encoder = ConvEncoder(depth=4, out_features=32)
    agent = RecurrentAgent(encoder, LSTMCore(32, 24), PolicyValueHeads(24, 6))
    frames = torch.randint(0, 256, (3, 2, 64, 64, 3), dtype=torch.uint8)
    logits, values, features, state = agent(frames)
    assert logits.shape == (3, 2, 6) and values.shape == (3, 2) and features.shape == (3, 2, 24)


def test_networks_import_pulls_in_no_trainer():
    code = textwrap.dedent("""
        import sys
        from networks import ConvEncoder, LSTMCore, PolicyValueHeads, load_sf_checkpoint
        banned = [m for m in sys.modules if m.split('.')[0] in ('sample_factory', 'envs', 'sf_maze', 'dreamer', 'memory_maze', 'dm_control')]
        assert not banned, banned
        print('clean')
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "clean" in result.stdout, result.stdout + result.stderr
