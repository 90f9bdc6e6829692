"""`--maze_core=lstm|gru|gtrxl|lru`: the agent's memory core, and the one adapter that lets Sample
Factory drive every core of `networks/`.

Sample Factory carries each env's recurrent state as one float32 (B, N) row and sizes every buffer
with `get_rnn_size(cfg)`, which only knows its own GRU/LSTM; sf_maze.patches makes it ask
`core_state_size` here, which asks the core registry of networks.core_loading (so a core added there
with `register_core` is a --maze_core choice with the right buffers).
"""
import torch
from sample_factory.model.core import ModelCore
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from networks import core_loading
from networks.core_loading import CORE_DEFAULTS, build_core, core_names

_FLAG_HELP = "Memory core: lstm (the paper's IMPALA LSTM), gru, gtrxl (gated transformer-XL), lru (linear recurrent unit)"


def add_core_args(parser) -> None:
    p = parser
    p.add_argument("--maze_core", default="lstm", choices=core_names(), help=_FLAG_HELP + "; width: --rnn_size")
    d = CORE_DEFAULTS
    p.add_argument("--maze_gtrxl_memory", default=d["gtrxl_memory"], type=int,
                   help="GTrXL: past steps M each step attends to (carried in the recurrent state)")
    p.add_argument("--maze_gtrxl_layers", default=d["gtrxl_layers"], type=int, help="GTrXL: transformer layers")
    p.add_argument("--maze_gtrxl_heads", default=d["gtrxl_heads"], type=int,
                   help="GTrXL: attention heads (must divide --rnn_size)")
    p.add_argument("--maze_lru_state", default=d["lru_state"], type=int, help="LRU: complex state units per layer")
    p.add_argument("--maze_lru_layers", default=d["lru_layers"], type=int, help="LRU: stacked LRU blocks")


def core_kwargs(cfg) -> dict:
    """build_core's keyword arguments from a run's cfg (configs older than a flag get CORE_DEFAULTS)."""
    sizes = {key: getattr(cfg, f"maze_{key}", default) for key, default in CORE_DEFAULTS.items() if key != "hidden_size"}
    return dict(hidden_size=cfg.rnn_size, **sizes)


def core_state_size(cfg) -> int:
    """Floats per env in a core's flat recurrent state (build_core checks the built core agrees)."""
    return core_loading.core_state_size(getattr(cfg, "maze_core", "lstm"), **core_kwargs(cfg))


class MazeMemoryCore(ModelCore):
    """A core of `networks` (LSTM, GRU, GTrXL, LRU) driven the way Sample Factory drives RNN cores.

    Rollouts pass one step per env, head_output (B, D) and rnn_states (B, N): the core runs that step
    from the unflattened state. Learning passes a PackedSequence cut at episode and rollout boundaries
    with the states of each piece's first step (already zeroed at episode starts): a core that
    `takes_packed` (the LSTM, as Sample Factory's own LSTM core does) runs it as it is; for the others
    the pieces are padded to (T, N, D), run as one batch, and put back in packed order. Padding sits after each piece's end and
    every core is causal, so it changes no output; the returned state of a padded piece is not its true
    final state, which the learner does not use.
    """

    def __init__(self, cfg, input_size: int):
        super().__init__(cfg)
        self.net = build_core(cfg.maze_core, input_size, **core_kwargs(cfg))
        self.core_output_size = self.net.out_size

    def forward(self, head_output, rnn_states):
        if torch.is_tensor(head_output):
            out, state = self.net(head_output.unsqueeze(0), self.net.unflatten_state(rnn_states))
            return out.squeeze(0), self.net.flatten_state(state)
        if getattr(self.net, "takes_packed", False):
            out, state = self.net(head_output, self.net.unflatten_state(rnn_states))
            return out, self.net.flatten_state(state)
        padded, _ = pad_packed_sequence(head_output)  # (T, N, D), N in rnn_states' order
        out, state = self.net(padded, self.net.unflatten_state(rnn_states))
        order = head_output.sorted_indices
        if order is None:
            order = torch.arange(padded.shape[1], device=padded.device)
        # Packed layout: step t holds the pieces order[:batch_sizes[t]], longest first.
        data = torch.cat([out[t, order[:size]] for t, size in enumerate(head_output.batch_sizes.tolist())])
        packed = PackedSequence(data, head_output.batch_sizes, head_output.sorted_indices, head_output.unsorted_indices)
        return packed, self.net.flatten_state(state)
