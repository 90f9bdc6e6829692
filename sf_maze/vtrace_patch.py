"""The paper's IMPALA loss inside Sample Factory 2.1.1's learner: V-trace lambda and optional advantage
standardisation, edited into `Learner._calculate_losses` in one place.

Sample Factory computes V-trace inline in that method, with the trace coefficients c_s = min(c_bar,
rho_s) (lambda = 1) and then always standardises the advantages of the minibatch. The Memory Maze
paper's IMPALA uses lambda = 0.95 (arXiv 2210.13383v1, Table E.2; Espeholt et al. 2018, Remark 2:
c_s = lambda * min(c_bar, rho_s), as SEED RL's `vtrace.from_importance_weights(lambda_=...)` does) and
IMPALA's policy gradient takes the V-trace advantages as they are. Two source lines of the method
are replaced, each checked to occur exactly once, so a changed Sample Factory refuses the patch with
one line instead of training another loss.
"""
import __future__
import inspect
import textwrap
from importlib.metadata import version

SF_VERSION = "2.1.1"
TRACE_LINE = "vtrace_c = torch.min(c_hat, ratios_cpu)"
TRACE_NEW = "vtrace_c = torch.min(c_hat, ratios_cpu) * float(getattr(self.cfg, 'maze_vtrace_lambda', 1.0))"
NORMALIZE_LINE = "adv = (adv - adv_mean) / torch.clamp_min(adv_std, 1e-7)  # normalize advantage"
NORMALIZE_NEW = ("adv = (adv - adv_mean) / torch.clamp_min(adv_std, 1e-7) "
                 "if getattr(self.cfg, 'maze_normalize_advantages', True) else adv")


def patched_calculate_losses(learner_class):
    """A `_calculate_losses` for `learner_class` (Sample Factory's Learner) with the two lines above
    replaced; the method's module globals are kept, so it runs as the original does."""
    if version("sample-factory") != SF_VERSION:
        raise RuntimeError(f"sf_maze's V-trace patch was written for Sample Factory {SF_VERSION}; "
                           f"installed: {version('sample-factory')} (pip install sample-factory=={SF_VERSION})")
    original = getattr(learner_class._calculate_losses, "__sf_maze_original__", learner_class._calculate_losses)
    source = textwrap.dedent(inspect.getsource(original))
    for line in (TRACE_LINE, NORMALIZE_LINE):
        if source.count(line) != 1:
            raise RuntimeError(f"sf_maze's V-trace patch was written for Sample Factory {SF_VERSION}: "
                               f"`{line}` occurs {source.count(line)} times in Learner._calculate_losses")
    source = source.replace(TRACE_LINE, TRACE_NEW).replace(NORMALIZE_LINE, NORMALIZE_NEW)
    namespace = {}
    # learner.py starts with `from __future__ import annotations`: its annotations stay strings here too.
    code = compile(source, inspect.getsourcefile(original), "exec", flags=__future__.annotations.compiler_flag,
                   dont_inherit=True)
    exec(code, original.__globals__, namespace)
    method = namespace[original.__name__]
    method.__sf_maze_original__ = original
    method.__qualname__ = original.__qualname__
    return method
