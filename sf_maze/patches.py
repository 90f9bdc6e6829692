"""Fixes for Sample Factory 2.1.1 bugs that our defaults hit, applied in whichever process needs them.

Workers are spawned, so a patch made in the launching process does not reach them: each patch is
applied from code that runs inside the worker (model construction, env construction) and is
idempotent.
"""
import functools

import torch

from networks.checkpoint import checkpoint_safe_globals
from sf_maze.vtrace_patch import patched_calculate_losses

_APPLIED = False


def apply_sf_patches() -> None:
    global _APPLIED
    if _APPLIED:
        return
    from sample_factory.algo.learning.learner import Learner

    original = Learner._record_summaries

    # With V-trace the advantages live only in the loss's locals; 2.1.1's summary code reads
    # mb.advantages (set only by GAE) and kills the learner at its first summary.
    @functools.wraps(original)
    def record_summaries(self, train_loop_vars):
        minibatch = train_loop_vars.mb
        if "advantages" not in minibatch and "adv" in train_loop_vars:
            minibatch["advantages"] = train_loop_vars.adv
        return original(self, train_loop_vars)

    Learner._record_summaries = record_summaries

    # V-trace lambda and optional advantage standardisation (--maze_vtrace_lambda,
    # --maze_normalize_advantages), the paper's IMPALA loss; see sf_maze/vtrace_patch.py.
    Learner._calculate_losses = patched_calculate_losses(Learner)

    # The learner resumes with torch.load's default weights_only=True, which refuses the numpy
    # scalar (best_performance) Sample Factory itself stores once --save_best_after is passed; after
    # three failed tries it trains from scratch and its rotation deletes the real checkpoints.
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    _APPLIED = True
