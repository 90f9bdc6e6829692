"""Every change sf_maze makes to Sample Factory 2.1.1, in one place: `install_sf_patches()`.

Nothing is patched at import. The main process installs the patches from
`sf_maze.train.register_components()`; Sample Factory's workers are spawned processes that receive
the registered env and model factories pickled, and `InWorker` wraps those factories so that
unpickling them (the first thing a worker does) installs the patches and the parent-death watch
there (serial mode runs everything in the main process). Each patch, with its reason:

- `get_rnn_size`: Sample Factory sizes the per-env recurrent state of its buffers for its own GRU
  and LSTM only; our GRU/GTrXL/LRU cores carry other sizes (sf_maze.cores.core_state_size).
- `Learner._record_summaries`: with V-trace the advantages live only in the loss's locals, and the
  summary code reads mb.advantages (set only by GAE): the learner died at its first summary.
- `Learner._calculate_losses`: the paper's IMPALA loss. Sample Factory computes V-trace inline with
  the trace coefficients c_s = min(c_bar, rho_s) (lambda = 1) and always standardises the advantages
  of the minibatch; the Memory Maze paper's IMPALA uses lambda = 0.95 (arXiv 2210.13383v1, Table
  E.2; Espeholt et al. 2018, Remark 2: c_s = lambda * min(c_bar, rho_s), as SEED RL's
  `vtrace.from_importance_weights(lambda_=...)` does) and takes the V-trace advantages as they are.
  Two source lines of the method are replaced (--maze_vtrace_lambda, --maze_normalize_advantages),
  each checked to occur exactly once, so a changed Sample Factory is refused with one line instead
  of training another loss.
- torch's safe globals: the learner resumes with torch.load's weights_only=True, which refuses the
  numpy scalar (best_performance) Sample Factory stores once --save_best_after is passed; after three
  failed tries it trained from scratch and its rotation deleted the real checkpoints.
- `Learner.init`: first makes the learner's process keep the heap it frees (--maze_learner_keep_heap,
  common.heap.keep_freed_heap): glibc's default returns each large activation tensor to the kernel
  at free, and the learner then spent 40% of its CPU time page-faulting them back in.
- `Learner._load_state`: Sample Factory loads the checkpoint's "optimizer" unconditionally, and a
  weights-only checkpoint (`sf_maze.export`, the shipped agents in pretrained/) has none: its learner
  died with KeyError. Such a checkpoint now loads its weights and counters and keeps the learner's
  fresh optimizer at --learning_rate, saying so in one log line (fine-tuning; see sf_maze/export.py).
- `Runner._save_cfg`: Sample Factory rewrites config.json in place at every start. A report polling
  a running sweep read it empty (CI, test_launcher), and a run killed during the write left a
  config.json that its relaunch refuses. Written through a temporary file and os.replace instead.
"""
import __future__
import functools
import inspect
import json
import os
import sys
import textwrap
from importlib.metadata import version
from typing import Callable, Optional

from common.cli import InputError
from common.files import write_atomic
from common.heap import keep_freed_heap

SF_VERSION = "2.1.1"
TRACE_LINE = "vtrace_c = torch.min(c_hat, ratios_cpu)"
TRACE_NEW = "vtrace_c = torch.min(c_hat, ratios_cpu) * float(getattr(self.cfg, 'maze_vtrace_lambda', 1.0))"
NORMALIZE_LINE = "adv = (adv - adv_mean) / torch.clamp_min(adv_std, 1e-7)  # normalize advantage"
NORMALIZE_NEW = ("adv = (adv - adv_mean) / torch.clamp_min(adv_std, 1e-7) "
                 "if getattr(self.cfg, 'maze_normalize_advantages', True) else adv")

# Logged when a run resumes from a weights-only checkpoint (sf_maze.export); tests look for it.
FINE_TUNE_LINE = ("Checkpoint has no optimizer state (weights only, sf_maze.export): fine-tuning its weights with a "
                  "fresh optimizer at --learning_rate, counters kept")

_installed_in_pid: Optional[int] = None


def install_sf_patches() -> None:
    """Installs every patch above in this process (idempotent); InputError (one line) for a Sample
    Factory other than the one they were written for."""
    global _installed_in_pid
    if _installed_in_pid == os.getpid():
        return
    installed = version("sample-factory")
    if installed != SF_VERSION:
        raise InputError(f"sf_maze patches Sample Factory {SF_VERSION}; installed: {installed} "
                         f"(pip install sample-factory=={SF_VERSION})")
    import torch
    from sample_factory.algo.learning.learner import Learner

    from networks.checkpoint import checkpoint_safe_globals

    _patch_rnn_size()
    _patch_save_cfg()
    Learner._record_summaries = _record_summaries_with_vtrace_advantages(Learner)
    Learner._calculate_losses = patched_calculate_losses(Learner)
    Learner.init = _init_keeping_heap(Learner)
    Learner._load_state = _load_state_without_optimizer(Learner)
    torch.serialization.add_safe_globals(checkpoint_safe_globals())
    _installed_in_pid = os.getpid()


class InWorker:
    """A registered factory (env or model function) that installs sf_maze's patches and the
    parent-death watch in every process that unpickles it: each Sample Factory worker does, first."""

    def __init__(self, function: Callable):
        self.function = function
        functools.update_wrapper(self, function)

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __getstate__(self):
        return {"function": self.function}

    def __setstate__(self, state):
        from sf_maze.lifecycle import die_with_parent
        from sf_maze.quiet import quiet_sample_factory_warnings

        self.__init__(state["function"])
        die_with_parent()  # before anything can wait on a dead main process
        install_sf_patches()
        quiet_sample_factory_warnings()


def _patch_rnn_size() -> None:
    from sample_factory.model import model_utils

    from sf_maze.cores import core_state_size

    original = getattr(model_utils.get_rnn_size, "__wrapped_sf__", model_utils.get_rnn_size)

    def get_rnn_size(cfg):
        return core_state_size(cfg) if cfg.use_rnn else original(cfg)

    get_rnn_size.__wrapped_sf__ = original
    # Modules that did `from ... import get_rnn_size` before this ran hold their own reference.
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("sample_factory") and \
                getattr(module, "get_rnn_size", None) in (original, model_utils.get_rnn_size):
            module.get_rnn_size = get_rnn_size
    model_utils.get_rnn_size = get_rnn_size


def _patch_save_cfg() -> None:
    from sample_factory.algo.runners.runner import Runner
    from sample_factory.cfg.arguments import cfg_dict
    from sample_factory.utils.utils import cfg_file

    def save_cfg(self):
        write_atomic(cfg_file(self.cfg), json.dumps(cfg_dict(self.cfg), indent=2))

    Runner._save_cfg = save_cfg


def _record_summaries_with_vtrace_advantages(learner_class):
    original = getattr(learner_class._record_summaries, "__wrapped__", learner_class._record_summaries)

    @functools.wraps(original)
    def record_summaries(self, train_loop_vars):
        minibatch = train_loop_vars.mb
        if "advantages" not in minibatch and "adv" in train_loop_vars:
            minibatch["advantages"] = train_loop_vars.adv
        return original(self, train_loop_vars)

    return record_summaries


def _init_keeping_heap(learner_class):
    original = getattr(learner_class.init, "__wrapped__", learner_class.init)

    @functools.wraps(original)
    def init(self):
        if getattr(self.cfg, "maze_learner_keep_heap", False):
            keep_freed_heap()
        return original(self)

    return init


def _load_state_without_optimizer(learner_class):
    original = getattr(learner_class._load_state, "__wrapped__", learner_class._load_state)

    @functools.wraps(original)
    def load_state(self, checkpoint_dict, load_progress=True):
        if "optimizer" not in checkpoint_dict:
            from sample_factory.utils.utils import log

            log.warning(f"{FINE_TUNE_LINE} (policy {self.policy_id}: env_steps={checkpoint_dict.get('env_steps')}, "
                        f"train_step={checkpoint_dict.get('train_step')})")
            # The learner's own fresh state, so the original runs unchanged and loads nothing into it; and
            # no stored rate, so the fresh optimizer runs at --learning_rate (a stored one would win).
            checkpoint_dict = {key: value for key, value in checkpoint_dict.items() if key != "curr_lr"}
            checkpoint_dict["optimizer"] = self.optimizer.state_dict()
        return original(self, checkpoint_dict, load_progress)

    return load_state


def patched_calculate_losses(learner_class):
    """A `_calculate_losses` for `learner_class` (Sample Factory's Learner) with the two lines above
    replaced; the method's module globals are kept, so it runs as the original does."""
    original = getattr(learner_class._calculate_losses, "__sf_maze_original__", learner_class._calculate_losses)
    source = textwrap.dedent(inspect.getsource(original))
    for line in (TRACE_LINE, NORMALIZE_LINE):
        if source.count(line) != 1:
            raise InputError(f"sf_maze's V-trace patch was written for Sample Factory {SF_VERSION}: "
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
