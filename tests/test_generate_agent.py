"""probing.generate --policy=sf:...: the shipped 5M Sample Factory agent (pretrained/memory_9x9, on the
CPU) plays short episodes in the published format; its checks refuse agents of another env in one line.
"""
import glob
import json
import os
import shutil

import numpy as np
import pytest
import torch

from probing import generate
from probing.dataset import list_episodes, load_episode
from probing.format import README_KEYS, entry_shapes

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(REPO, "pretrained", "memory_9x9")
ENV = "memory_9x9"
STEPS = 40
SEED = 3


def _main(out, *flags):
    return generate.main([f"--env={ENV}", "--episodes=2", f"--out={out}", f"--steps={STEPS}", f"--seed={SEED}", *flags])


def _actions(folder):
    return [load_episode(path)["action"] for path in list_episodes(folder)]


@pytest.fixture(scope="module")
def agent_data(tmp_path_factory):
    if not glob.glob(os.path.join(RUN, "checkpoint_p0", "checkpoint_*.pth")):
        pytest.fail(f"no checkpoint in {RUN}: the shipped agent is missing from the checkout")
    out = str(tmp_path_factory.mktemp("agent") / "mm9")
    assert _main(out, f"--policy=sf:{RUN}") == 0
    return out


def test_agent_episodes_load_in_probing_reader_with_the_published_shapes(agent_data):
    files = list_episodes(agent_data)
    assert [os.path.basename(path) for path in files] == ["episode_000000.npz", "episode_000001.npz"]
    shapes = entry_shapes(9, 3)
    for path in files:
        episode = load_episode(path)
        for key in README_KEYS:
            assert episode[key].shape == (STEPS + 1, *shapes[key]), (path, key, episode[key].shape)
        assert not episode["action"][0].any() and (episode["action"][1:].sum(1) == 1).all()
        with np.load(path) as npz:  # the authors' extra entries, beside the README's
            assert npz["reset"][0] and not npz["reset"][1:].any() and not npz["terminal"].any()


def test_agent_actions_are_its_policy_sampled_with_the_episode_seed(agent_data):
    """Replaying the file through the agent (state carried over the whole episode, last action and
    reward read from the file) and drawing from the episode's generator gives the recorded actions:
    the agent saw what the file holds, with its memory carried and reset only at the start."""
    from networks import load_sf_checkpoint
    from probing.representations import agent_inputs

    checkpoint = sorted(glob.glob(os.path.join(RUN, "checkpoint_p0", "checkpoint_*.pth")))[-1]
    agent = load_sf_checkpoint(checkpoint)
    for index, path in enumerate(list_episodes(agent_data)):
        episode = load_episode(path)
        obs = {key: value.unsqueeze(1) for key, value in agent_inputs(agent, episode).items()}
        with torch.no_grad():
            logits, _, _, _ = agent(obs)  # exact: T single steps, as the generator stepped it
        rng = np.random.default_rng(generate.episode_seed(SEED, index))
        replayed = []
        for t in range(STEPS):
            row = logits[t, 0].double().numpy()
            probs = np.exp(row - row.max())
            replayed.append(int(rng.choice(6, p=probs / probs.sum())))
        assert replayed == episode["action"][1:].argmax(1).tolist(), path


@pytest.mark.slow
def test_same_seed_gives_the_same_episodes_also_from_a_pool_and_the_scripted_policy_differs(agent_data, tmp_path):
    again = str(tmp_path / "again")
    assert _main(again, f"--policy=sf:{RUN}", "--workers=2") == 0  # the pooled path: each worker loads the agent
    for first, second in zip(list_episodes(agent_data), list_episodes(again)):
        a, b = load_episode(first), load_episode(second)
        np.testing.assert_array_equal(a["action"], b["action"])
        np.testing.assert_array_equal(a["image"], b["image"])
    scripted = str(tmp_path / "scripted")
    assert _main(scripted) == 0
    for agent_file, scripted_file in zip(list_episodes(agent_data), list_episodes(scripted)):
        a, s = load_episode(agent_file), load_episode(scripted_file)
        np.testing.assert_array_equal(a["maze_layout"], s["maze_layout"])  # the same maze: only the policy differs
        assert not np.array_equal(a["action"], s["action"])


def test_a_rerun_into_the_folder_resumes_and_another_policy_is_refused(agent_data, capsys):
    assert _main(agent_data, f"--policy=sf:{RUN}") == 0  # nothing left to make
    assert _main(agent_data) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'policy': 'scripted'" in err[0] and "use another --out" in err[0], err


# ---- refusals: one line naming both, exit 2, no output folder -------------------------------------------
def _sf_state(encoder, core, heads):
    """An sf_maze actor-critic state dict (the prefixes networks.checkpoint reads) of plain modules."""
    state = {}
    for prefix, module in (("encoder.net.", encoder), ("core.net.", core), ("heads.", heads)):
        state.update({prefix + key: value for key, value in module.state_dict().items()})
    return state


def _bare_checkpoint(tmp_path, state):
    """A .pth with no config.json two folders above it: only its weights tell its env."""
    path = tmp_path / "bare" / "checkpoint_p0" / "checkpoint_000000001_16.pth"
    path.parent.mkdir(parents=True)
    torch.save({"model": state, "env_steps": 16, "train_step": 1}, str(path))
    return str(path)


def _amaze_agent(tmp_path):
    from networks import GridEncoder, LSTMCore, PolicyValueHeads

    encoder = GridEncoder(view_size=5)
    core = LSTMCore(encoder.out_size, 32)
    return _bare_checkpoint(tmp_path, _sf_state(encoder, core, PolicyValueHeads(32, 4)))


def _agent_256px(tmp_path):
    from networks import LSTMCore, PolicyValueHeads, ResNetEncoder

    encoder = ResNetEncoder(image_size=256, channels=(4, 4, 4), num_blocks=1, out_features=16)
    core = LSTMCore(encoder.out_size, 16)
    return _bare_checkpoint(tmp_path, _sf_state(encoder, core, PolicyValueHeads(16, 6)))


def _shipped_weights_alone(tmp_path):
    source = sorted(glob.glob(os.path.join(RUN, "checkpoint_p0", "checkpoint_*.pth")))[-1]
    path = tmp_path / "bare" / "checkpoint_p0" / os.path.basename(source)
    path.parent.mkdir(parents=True)
    shutil.copy(source, path)
    return str(path)


def _run_with_env(tmp_path, env):
    run = tmp_path / "run"
    shutil.copytree(RUN, run, ignore=shutil.ignore_patterns("eval", "*.json"))
    with open(os.path.join(RUN, "config.json")) as file:
        config = json.load(file)
    (run / "config.json").write_text(json.dumps(dict(config, env=env)))
    return str(run)


def _not_torch(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_text("not a checkpoint")
    return str(path)


def _empty_folder(tmp_path):
    (tmp_path / "empty_run").mkdir()
    return str(tmp_path / "empty_run")


@pytest.mark.parametrize("make_agent,env,expected", [
    (_run_with_env, None, ["trained on amaze_7x7", "--env=memory_9x9"]),  # config.json: an AMaze run
    (_amaze_agent, None, ["AMaze grid observations", "--env=memory_9x9"]),  # weights only: an AMaze agent
    (_agent_256px, None, ["256x256x3 frames", "64x64x3", "--env=memory_9x9"]),  # weights only: 256 px
    (None, "memory_9x9_extraobs_top", ["trained on memory_9x9 ", "--env=memory_9x9_extraobs_top"]),  # 64 px agent, 256 px env
    (_shipped_weights_alone, "memory_9x9_extraobs_top", ["64x64x3 frames", "256x256x3", "--env=memory_9x9_extraobs_top"]),
    (lambda tmp_path: str(tmp_path / "missing.pth"), None, ["no such checkpoint", "missing.pth", "--env=memory_9x9"]),
    (_not_torch, None, ["junk.pth cannot be loaded", "--env=memory_9x9"]),
    (_empty_folder, None, ["empty_run holds no checkpoint", "--env=memory_9x9"]),
])
def test_an_agent_of_another_env_is_refused_in_one_line_naming_both(tmp_path, capsys, make_agent, env, expected):
    if make_agent is _run_with_env:
        path = _run_with_env(tmp_path, "amaze_7x7")
    else:
        path = make_agent(tmp_path) if make_agent is not None else RUN
    out = tmp_path / "data"
    assert generate.main([f"--env={env or ENV}", "--episodes=1", f"--out={out}", "--steps=5",
                          f"--policy=sf:{path}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("probing.generate: error: --policy=sf:"), err
    for part in expected:
        assert part in err[0], (part, err[0])
    assert not out.exists()


@pytest.mark.parametrize("flags,expected", [
    (["--policy=sf:" + RUN, "--epsilon=0.1"], "--epsilon=0.1 is the scripted policy's action noise"),
    (["--policy=agent"], "--policy=agent: expected scripted or sf:"),
    (["--policy=sf:"], "--policy=sf:: expected scripted or sf:"),
])
def test_bad_policy_flags_are_refused_before_the_folder(tmp_path, capsys, flags, expected):
    out = tmp_path / "data"
    assert generate.main([f"--env={ENV}", "--episodes=1", f"--out={out}", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert not out.exists()
