"""Target touch checks for all targets at once, instead of a Python loop per target per substep."""
from typing import List

import numpy as np
from dm_control.locomotion.props import target_sphere


class FastTargetSphere(target_sphere.TargetSphere):
    """A TargetSphere whose per-substep hook is empty, so composer skips it entirely.

    Its activation is done by `TargetContacts` for all targets at once instead; everything else
    (reset, initialize_episode's own check, `activated`) is the inherited package code.
    """

    def after_substep(self, physics, random_state):
        """Empty on purpose: composer drops hooks whose bytecode is empty (see _callable_is_trivial)."""


class TargetContacts:
    """Per-substep touch check for every target of one episode.

    Equivalent to each target's `_update_activation`: a not yet activated target whose geom id is
    in any current contact becomes activated and its material alpha is set to 0.
    """

    def __init__(self, targets: List[FastTargetSphere]):
        # Targets that only count touches by specific geoms are rare; they keep the package loop.
        self._generic = {t._geom_id: t for t in targets if not t._specific_collision_geom_ids}
        self._specific = [t for t in targets if t._specific_collision_geom_ids]
        self._geom_ids = frozenset(self._generic)

    def __call__(self, physics, contact_geoms: np.ndarray) -> None:
        """contact_geoms: (ncon, 2) int array of geom ids of the current contacts."""
        for target in self._specific:
            target._update_activation(physics)
        touched = contact_geoms.ravel().tolist()
        if self._geom_ids.isdisjoint(touched):
            return
        for geom_id in self._geom_ids.intersection(touched):
            target = self._generic[geom_id]
            if not target._activated:
                target._activated = True
                physics.bind(target._material).rgba[-1] = 0
