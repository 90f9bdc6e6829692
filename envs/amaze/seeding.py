"""What the batched student and teacher envs share: one numpy generator per env, seeded together."""
from typing import List, Sequence, Union

import numpy as np

SeedLike = Union[None, int, Sequence[int]]


class SeededBatch:
    """Mixin for a batch of `num_envs` envs (Sample Factory's agents) with per-env `generators`."""

    num_envs: int
    generators: List

    @property
    def num_agents(self) -> int:
        return self.num_envs

    def seed(self, seed: SeedLike) -> None:
        """int s: env i gets seed s + i (as gymnasium vector envs do); a sequence: one seed each."""
        seeds = [seed + i for i in range(self.num_envs)] if np.isscalar(seed) else list(seed)
        if len(seeds) != self.num_envs:
            raise ValueError(f"Got {len(seeds)} seeds for {self.num_envs} envs")
        self.generators = [np.random.default_rng(int(s)) for s in seeds]
