"""Sample Factory 2.1.1's harmless noise kept off the terminal, each piece matched by its exact text.

A user who sees the same warnings at every run learns to ignore warnings, and then misses the one
that matters; so each filter below names one message from one Sample Factory module, and nothing
else is hidden. Neither can be fixed in our code: both lines are Sample Factory's own, and patching
its source for a log line is not worth the risk (sf_maze.patches patches only what changes results).

- torch's "Converting a tensor with requires_grad=True to a scalar": Learner._train logs the actor
  loss with `float(actor_loss)` (learner.py, line 739 in 2.1.1) on the loss it then back-propagates;
  the float is only a statistic, so nothing is wrong.
- numpy's "Conversion of an array with ndim > 0 to a scalar is deprecated": the inference worker
  hands each env's per-step outputs as (1,) arrays and the non-batched sampler stores them into
  scalar slots (tensor_dict.py, line 69); numpy takes the one element. It shows at all only because
  dm_control turns every DeprecationWarning on (see envs.memory_maze.import_memory_maze_tasks).
- The profiler trees Sample Factory logs at the end of a run (one per worker, ~40 lines) go to the
  run's sf_log.txt only, not to the terminal, whose last lines then say what to do next.
"""
import logging
import re
import warnings

TORCH_SCALAR_WARNING = "Converting a tensor with requires_grad=True to a scalar"
NUMPY_SCALAR_WARNING = "Conversion of an array with ndim > 0 to a scalar is deprecated"


def quiet_sample_factory_warnings() -> None:
    """Filters the two warnings above in this process, each for its one Sample Factory module.

    Call it in every process of a run (sf_maze.patches.InWorker does in each worker), and again
    after building a Memory Maze env: that re-enables DeprecationWarnings in front of earlier filters.
    """
    warnings.filterwarnings("ignore", message=re.escape(TORCH_SCALAR_WARNING), category=UserWarning,
                            module=r"sample_factory\.algo\.learning\.learner\Z")
    warnings.filterwarnings("ignore", message=re.escape(NUMPY_SCALAR_WARNING), category=DeprecationWarning,
                            module=r"sample_factory\.algo\.utils\.tensor_dict\Z")


class NotProfilerTree(logging.Filter):
    """Drops Sample Factory's profiler trees: it logs its `Timing` objects themselves as the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        from sample_factory.utils.timing import Timing

        return not isinstance(record.msg, Timing)


def profiler_trees_to_log_file(cfg) -> None:
    """Keeps the profiler trees off Sample Factory's terminal handler (idempotent); they still go to
    <train_dir>/<experiment>/sf_log.txt. With --log_to_file=False they stay on the terminal, the only
    place they would be."""
    import sample_factory.utils.utils as sf_utils

    if not cfg.log_to_file:
        return
    handler = sf_utils.stream_handler
    if not any(isinstance(f, NotProfilerTree) for f in handler.filters):
        handler.addFilter(NotProfilerTree())
