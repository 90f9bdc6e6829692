"""Unit tests of the memory cores and their shared flat-state interface: LSTMCore, GRUCore, GTrXLCore, LRUCore."""
import pytest
import torch

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
