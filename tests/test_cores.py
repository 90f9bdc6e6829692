"""Unit tests of the memory cores and their shared flat-state interface: LSTMCore, GRUCore, GTrXLCore, LRUCore,
and of the registry (networks.core_loading) that builds, sizes and reloads any core, a newly registered one too."""
import argparse
import copy
from types import SimpleNamespace

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from networks.core_loading import (CORE_NAMES, build_core, core_from_state_dict, core_name, core_names, core_state_size,
                                   register_core, unregister_core)
from networks.flat_state import FlatStateStep
from networks.gru_core import GRUCore
from networks.lstm_core import LSTMCore
from networks.gtrxl_core import GTrXLCore
from networks.lru_core import LRUCore, linear_scan

IN = 6
BUILDERS = {
    "lstm": lambda: LSTMCore(IN, hidden_size=16),
    "gru": lambda: GRUCore(IN, hidden_size=16),
    "gtrxl": lambda: GTrXLCore(IN, d_model=16, num_layers=2, num_heads=2, memory_length=5),
    "lru": lambda: LRUCore(IN, d_model=16, state_size=8, num_layers=2),
}
ATOL = 1e-5


def _random_state(core, B):
    """A non-trivial state: the core's own state after a random warm-up sequence."""
    _, state = core(torch.randn(7, B, IN))
    return state


@pytest.fixture(params=sorted(BUILDERS))
def core(request):
    torch.manual_seed(0)
    return BUILDERS[request.param]().eval()


def test_shapes_and_flat_state_round_trip(core):
    T, B = 4, 3
    out, state = core(torch.randn(T, B, IN))
    assert out.shape == (T, B, core.out_size)
    flat = core.flatten_state(state)
    assert flat.shape == (B, core.state_size) and flat.dtype == torch.float32
    assert torch.equal(core.flatten_state(core.unflatten_state(flat)), flat)
    # Sample Factory zeroes a finished env's flat state: all zeros must be the initial state.
    inputs = torch.randn(T, B, IN)
    from_zeros, _ = core(inputs, core.unflatten_state(torch.zeros(B, core.state_size)))
    from_initial, _ = core(inputs, core.initial_state(B))
    assert torch.equal(from_zeros, from_initial)


def test_state_resets_at_first(core):
    T, B = 8, 2
    inputs = torch.randn(T, B, IN)
    first = torch.zeros(T, B, dtype=torch.bool)
    first[3, 0] = True
    state = _random_state(core, B)
    out, _ = core(inputs, state, first)
    fresh, _ = core(inputs[3:, :1], None)
    torch.testing.assert_close(out[3:, 0], fresh[:, 0], atol=ATOL, rtol=0)
    # env 1 has no reset: it must still see its carried state (so the reset above was not global)
    no_state, _ = core(inputs[:, 1:], None)
    assert not torch.allclose(out[:, 1], no_state[:, 0], atol=1e-3)


def test_whole_sequence_equals_chunks_with_state_carried(core):
    T, B = 12, 3
    inputs = torch.randn(T, B, IN)
    first = torch.rand(T, B) < 0.15
    first[0] = True
    whole, whole_state = core(inputs, None, first)
    state, parts = None, []
    for start, stop in [(0, 1), (1, 5), (5, 6), (6, 12)]:
        out, state = core(inputs[start:stop], state, first[start:stop])
        parts.append(out)
    torch.testing.assert_close(torch.cat(parts), whole, atol=ATOL, rtol=0)
    torch.testing.assert_close(core.flatten_state(state), core.flatten_state(whole_state), atol=ATOL, rtol=0)


def test_step_by_step_through_flat_state_equals_whole(core):
    """Sample Factory's rollout: one step at a time, the state stored flat in between."""
    T, B = 9, 2
    inputs = torch.randn(T, B, IN)
    whole, _ = core(inputs)
    flat, steps = torch.zeros(B, core.state_size), []
    for t in range(T):
        out, state = core(inputs[t : t + 1], core.unflatten_state(flat))
        flat = core.flatten_state(state)
        steps.append(out)
    torch.testing.assert_close(torch.cat(steps), whole, atol=ATOL, rtol=0)


def test_gradients_reach_every_parameter(core):
    out, _ = core(torch.randn(5, 2, IN), _random_state(core, 2))
    out.square().sum().backward()
    missing = [name for name, p in core.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, missing


@pytest.mark.parametrize("T", [1, 2, 7, 16, 33])
def test_linear_scan_equals_recurrence(T):
    torch.manual_seed(T)
    B, N = 3, 5
    decay = torch.polar(torch.rand(T, B, N), torch.rand(T, B, N) * 6.28)
    decay[torch.rand(T, B, N) < 0.1] = 0  # resets
    inputs = torch.complex(torch.randn(T, B, N), torch.randn(T, B, N))
    initial = torch.complex(torch.randn(B, N), torch.randn(B, N))
    h, expected = initial, []
    for t in range(T):
        h = decay[t] * h + inputs[t]
        expected.append(h)
    torch.testing.assert_close(linear_scan(decay, inputs, initial), torch.stack(expected))


def test_lru_eigenvalues_stay_inside_unit_circle():
    core = LRUCore(IN, d_model=8, state_size=32, num_layers=1)
    with torch.no_grad():
        core.layers[0].lru.nu_log.fill_(-20.0)  # |lambda| -> 1 from below, never above
    assert bool((core.layers[0].lru.decay().abs() <= 1).all())


def test_gtrxl_sees_exactly_the_last_m_steps():
    """One layer, memory M: the output at t depends on inputs t-M..t and on nothing older."""
    torch.manual_seed(0)
    M, T = 4, 10
    core = GTrXLCore(IN, d_model=8, num_layers=1, num_heads=2, memory_length=M).eval()
    with torch.no_grad():
        for p in core.parameters():  # larger weights than init so every visible input moves the output
            p.add_(torch.randn_like(p) * 0.3)
    inputs = torch.randn(T, 1, IN)
    base, _ = core(inputs)
    t = T - 1
    inside, outside = inputs.clone(), inputs.clone()
    inside[t - M] += 1.0
    outside[t - M - 1] += 1.0
    assert not torch.allclose(core(inside)[0][t], base[t], atol=1e-4)
    torch.testing.assert_close(core(outside)[0][t], base[t], atol=1e-6, rtol=0)


def test_gtrxl_memory_is_masked_after_reset_and_carried_otherwise():
    torch.manual_seed(1)
    core = GTrXLCore(IN, d_model=8, num_layers=1, num_heads=2, memory_length=6).eval()
    _, state = core(torch.randn(6, 1, IN))
    valid, memory = state
    assert bool(valid.all()) and memory.shape == (1, 1, 6, 8)
    x = torch.randn(1, 1, IN)
    with_memory, _ = core(x, state)
    without, _ = core(x, None)
    reset, after = core(x, state, torch.ones(1, 1, dtype=torch.bool))
    assert not torch.allclose(with_memory, without, atol=1e-4)
    torch.testing.assert_close(reset, without, atol=1e-6, rtol=0)
    assert after[0].tolist() == [[False] * 5 + [True]]


@pytest.mark.parametrize("name,kwargs,message", [
    ("gru", dict(hidden_size=0), "hidden_size must be greater than zero"),
    ("gtrxl", dict(memory_length=0), "memory_length must be >= 1"),
    ("gtrxl", dict(d_model=10, num_heads=4), "d_model=10 is not a multiple of num_heads=4"),
])
def test_bad_sizes_are_refused(name, kwargs, message):
    builder = {"gru": GRUCore, "gtrxl": GTrXLCore}[name]
    with pytest.raises(ValueError, match=message):
        builder(IN, **kwargs)


def test_step_with_first_equals_forward_with_first(core):
    """step() (what the plain agent runs per env step) == forward over the sequence, resets included."""
    T, B = 10, 3
    inputs = torch.randn(T, B, IN)
    first = torch.rand(T, B) < 0.25
    start = _random_state(core, B)
    whole, whole_state = core(inputs, start, first)
    state, steps = start, []
    for t in range(T):
        out, state = core.step(inputs[t], state, first[t])
        steps.append(out)
    torch.testing.assert_close(torch.stack(steps), whole, atol=ATOL, rtol=0)
    torch.testing.assert_close(core.flatten_state(state), core.flatten_state(whole_state), atol=ATOL, rtol=0)


SMALL_SIZES = dict(hidden_size=16, gtrxl_memory=5, gtrxl_layers=3, gtrxl_heads=2, lru_state=8, lru_layers=3)


@pytest.mark.parametrize("name", ["lstm", "gru", "gtrxl", "lru"])
def test_registry_sizes_recognises_and_reloads_every_builtin_core(name):
    core = build_core(name, IN, **SMALL_SIZES)
    assert core.state_size == core_state_size(name, **SMALL_SIZES)
    assert core_state_size(name, **SMALL_SIZES) != core_state_size(name)  # the sizes reach the count
    state = {key: value + 0.5 for key, value in core.state_dict().items()}  # not what any fresh build holds
    assert core_name(state) == name
    rebuilt = core_from_state_dict(state)
    assert type(rebuilt) is type(core) and rebuilt.state_size == core.state_size
    assert rebuilt.state_dict().keys() == state.keys()
    assert all(torch.equal(value, state[key]) for key, value in rebuilt.state_dict().items())


class LeakyCounterCore(FlatStateStep, nn.Module):
    """A core unlike any built-in: h_t = h_{t-1} / 2 + tanh(W x_t), plus a count of the episode's steps.

    forward(inputs (T, B, input_size), state (B, width + 1) or None, first (T, B) bool or None)
    -> (outputs (T, B, width + 1), new state). The state is already flat: [h, count].
    """

    def __init__(self, input_size: int, width: int):
        super().__init__()
        self.leaky_in = nn.Linear(input_size, width)
        self.input_size = input_size
        self.out_size: int = width + 1
        self.state_size: int = self.flat_state_size(hidden_size=width)

    @classmethod
    def from_sizes(cls, input_size, hidden_size, **other_cores_sizes):
        return cls(input_size, hidden_size)

    @staticmethod
    def flat_state_size(hidden_size, **other_cores_sizes):
        return hidden_size + 1

    @staticmethod
    def matches_state_dict(state):
        return "leaky_in.weight" in state

    @classmethod
    def sized_from_state_dict(cls, state):
        width, input_size = state["leaky_in.weight"].shape
        return cls(input_size, width)

    def initial_state(self, batch_size):
        return self.leaky_in.weight.new_zeros(batch_size, self.state_size)

    def flatten_state(self, state):
        return state

    def unflatten_state(self, flat):
        assert flat.shape[1:] == (self.state_size,), (flat.shape, self.state_size)
        return flat

    def forward(self, inputs, state=None, first=None):
        T, B = inputs.shape[:2]
        state = state if state is not None else self.initial_state(B)
        outputs = []
        for t in range(T):
            if first is not None:
                state = state * (~first[t]).to(state.dtype).unsqueeze(-1)
            h, count = state[:, :-1], state[:, -1:]
            state = torch.cat([h / 2 + torch.tanh(self.leaky_in(inputs[t])), count + 1], dim=1)
            outputs.append(state)
        return torch.stack(outputs), state


@pytest.fixture
def leaky_core_registered():
    register_core("leaky", LeakyCounterCore)  # all that adding a core takes, besides its class
    yield "leaky"
    unregister_core("leaky")


def test_a_registered_core_is_built_sized_reloaded_and_run_by_sample_factory(leaky_core_registered):
    from sf_maze import cores as sf_cores
    from sf_maze.patches import install_sf_patches

    name, width, B = leaky_core_registered, 5, 3
    assert core_state_size(name, hidden_size=width) == width + 1  # nothing built
    core = build_core(name, IN, hidden_size=width)
    assert isinstance(core, LeakyCounterCore) and core.state_size == width + 1
    state = {key: value + 0.5 for key, value in core.state_dict().items()}
    assert core_name(state) == name
    rebuilt = core_from_state_dict(state)
    assert isinstance(rebuilt, LeakyCounterCore)
    assert all(torch.equal(value, state[key]) for key, value in rebuilt.state_dict().items())

    # sf_maze: a --maze_core choice whose buffers Sample Factory sizes from cfg alone.
    parser = argparse.ArgumentParser()
    sf_cores.add_core_args(parser)
    copy.deepcopy(parser)  # Sample Factory copies its parser: the choices must copy
    cfg = parser.parse_args([f"--maze_core={name}"])
    cfg.rnn_size, cfg.use_rnn = width, True
    install_sf_patches()  # what register_components and every worker do
    from sample_factory.model.model_utils import get_rnn_size  # the patched one

    assert sf_cores.core_state_size(cfg) == get_rnn_size(cfg) == width + 1

    torch.manual_seed(0)
    adapter = sf_cores.MazeMemoryCore(cfg, IN).eval()
    net, inputs = adapter.net, torch.randn(4, B, IN)
    expected, _ = net(inputs)
    flat, steps = torch.zeros(B, width + 1), []  # a rollout: one step per call, the state stored flat
    for t in range(4):
        out, flat = adapter(inputs[t], flat)
        steps.append(out)
    torch.testing.assert_close(torch.stack(steps), expected, atol=0, rtol=0)
    assert flat[:, -1].tolist() == [4.0] * B
    # The learner: pieces of unequal length, packed, padded for this core and put back in packed order.
    lengths = torch.tensor([4, 2, 3])
    packed, _ = adapter(pack_padded_sequence(inputs, lengths, enforce_sorted=False), torch.zeros(B, width + 1))
    padded, _ = pad_packed_sequence(packed)
    for b, length in enumerate(lengths.tolist()):
        torch.testing.assert_close(padded[:length, b], expected[:length, b], atol=0, rtol=0)


def test_registry_refuses_what_it_cannot_serve(leaky_core_registered):
    with pytest.raises(ValueError, match="registered already"):
        register_core(leaky_core_registered, LeakyCounterCore)
    with pytest.raises(TypeError, match="lacks from_sizes, flat_state_size, matches_state_dict, sized_from_state_dict"):
        register_core("plain", nn.GRU)
    assert "plain" not in core_names() and CORE_NAMES == ("lstm", "gru", "gtrxl", "lru")
    with pytest.raises(ValueError, match="Unknown core 'nope'; expected one of lstm, gru, gtrxl, lru, leaky"):
        build_core("nope", IN)
    with pytest.raises(TypeError, match="Unknown core size"):
        core_state_size("lstm", hidden=3)
    with pytest.raises(ValueError, match="Not a known memory core"):
        core_name({"other.weight": torch.zeros(1)})


def test_a_core_whose_two_state_counts_disagree_is_refused_at_build():
    class MiscountedCore(LeakyCounterCore):
        def __init__(self, input_size, width):
            super().__init__(input_size, width)
            self.state_size = width  # the counter forgotten

    register_core("miscounted", MiscountedCore)
    try:
        with pytest.raises(AssertionError, match="miscounted: core state 4 != flat_state_size 5"):
            build_core("miscounted", IN, hidden_size=4)
    finally:
        unregister_core("miscounted")
