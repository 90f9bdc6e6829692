"""Plain PyTorch networks of the sf-maze agents; importing them pulls in no trainer.

    from networks import ConvEncoder, LSTMCore, PolicyValueHeads, load_sf_checkpoint
"""
from networks.agent import RecurrentAgent
from networks.checkpoint import agent_from_state_dict, load_sf_checkpoint, read_sf_checkpoint
from networks.lstm_core import LSTMCore
from networks.core_loading import build_core, core_from_state_dict, core_state_size, register_core
from networks.encoder import ConvEncoder, preprocess_frames
from networks.grid_encoder import GridAgent, GridEncoder
from networks.gru_core import GRUCore
from networks.gtrxl_core import GTrXLCore
from networks.heads import PolicyValueHeads
from networks.lru_core import LRUCore
from networks.resnet_encoder import ResNetEncoder

__all__ = [
    "ConvEncoder", "GRUCore", "GTrXLCore", "GridAgent", "GridEncoder", "LRUCore", "LSTMCore", "PolicyValueHeads",
    "RecurrentAgent", "ResNetEncoder", "agent_from_state_dict", "build_core", "core_from_state_dict", "core_state_size",
    "load_sf_checkpoint", "preprocess_frames", "read_sf_checkpoint", "register_core",
]
