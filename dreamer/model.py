"""Import point for probing: `from dreamer.model import WorldModel` (see dreamer.checkpoint.load_world_model)."""
from dreamer.rssm import RSSM, State
from dreamer.world_model import WorldModel

__all__ = ["RSSM", "State", "WorldModel"]
