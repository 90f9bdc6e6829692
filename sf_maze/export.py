"""Weights-only copy of a run: `python -m sf_maze.export <run folder or checkpoint .pth> --out <folder>`.

A Sample Factory checkpoint of the paper's agent is 13.9 MB: 4.6 MB of model weights and 9.3 MB of
Adam state that evaluating (`sf_maze.evaluate`), watching (`sf_maze.enjoy`), loading
(`networks.load_sf_checkpoint`) and probing never read. This writes the newest `checkpoint_*.pth` of
each `checkpoint_p*/` with what Sample Factory's learner reads besides the optimizer
(`Learner._load_state`): the model's state dict and the counters `train_step`, `env_steps` and
`best_performance` (each where the source has it; not `curr_lr`, the optimizer's rate), under
Sample Factory's own name `checkpoint_{train_step:09d}_{env_steps}.pth`. It copies `config.json`,
`eval/` and `memory_learning_*.json` beside it, so `--out` is a run folder that those commands take
as `--train_dir=<parent> --experiment=<name>`. The weights are read back and compared before it
ends. `best_*.pth` and older checkpoints are not exported (`--load_checkpoint_kind=latest` reads
the newest).

Training on a weights-only folder (`python -m sf_maze.train --train_dir=<parent> --experiment=<name>`)
fine-tunes: the learner loads the weights and counters and starts a fresh optimizer (Adam's moments
at zero) at --learning_rate (the command line's, else config.json's), and says so in one log line
(sf_maze.patches.FINE_TUNE_LINE). Chosen over refusing because the weights-only agents are the only
ones the checkout ships, and a fresh optimizer is how any fine-tune starts. It is not the run the
full checkpoint would have continued (those moments are gone): a continuation that must match an
uninterrupted run resumes from a full checkpoint (`pretrained/in_progress/`, or git history for the
shipped agents). The env-step counter is kept, so pass a --train_for_env_steps above the
checkpoint's to train further.

Bad input (a missing source, no config.json, no checkpoint, an unreadable one, an --out that already
holds checkpoints or is the source) is one line on stderr and exit status 2; nothing is written then.
"""
import argparse
import glob
import os
import re
import shutil
import sys
from typing import Any, Dict, List, Optional, Tuple

from common.cli import InputError, check_writable_folder, input_errors_exit_2
from common.files import atomic_path

# What Sample Factory 2.1.1's Learner._load_state reads besides "optimizer" and "curr_lr" (learner.py).
KEPT_KEYS = ("model", "train_step", "env_steps", "best_performance")
# What a run folder holds besides checkpoints that the reading commands and reports use.
COPIED = ("config.json", "eval", "memory_learning_*.json")
POLICY_FOLDER = re.compile(r"checkpoint_p\d+$")


def has_optimizer_state(checkpoint: Dict[str, Any]) -> bool:
    return "optimizer" in checkpoint


def weights_only(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """The checkpoint's model and counters (KEPT_KEYS present in it), without the optimizer state."""
    return {key: checkpoint[key] for key in KEPT_KEYS if key in checkpoint}


def checkpoint_name(checkpoint: Dict[str, Any]) -> str:
    """Sample Factory's name for a checkpoint (Learner._save_impl): sorting by it sorts by train step."""
    return f"checkpoint_{int(checkpoint.get('train_step', 0)):09d}_{int(checkpoint.get('env_steps', 0))}.pth"


def find_sources(source: str) -> Tuple[str, List[str]]:
    """(run folder, newest checkpoint_*.pth of each checkpoint_p*/, or the one file given); InputError otherwise."""
    given, source = source, os.path.abspath(source)
    if os.path.isfile(source):
        policy_dir = os.path.dirname(source)
        run_dir = os.path.dirname(policy_dir)
        in_run = os.path.isfile(os.path.join(run_dir, "config.json"))
        if not POLICY_FOLDER.match(os.path.basename(policy_dir)) or not in_run:
            raise InputError(f"{source} is not in a run folder's checkpoint_p*/ beside a config.json (Sample Factory's "
                             "<run>/checkpoint_p0/checkpoint_*.pth); export needs the run's config.json")
        return run_dir, [source]
    if not os.path.isdir(source):
        raise InputError(f"{given}: no such file or folder; pass a run folder or one of its checkpoint_*.pth")
    if not os.path.isfile(os.path.join(source, "config.json")):
        raise InputError(f"{source} holds no config.json: not a Sample Factory run folder")
    checkpoints = []
    for policy_dir in sorted(glob.glob(os.path.join(source, "checkpoint_p*"))):
        found = sorted(glob.glob(os.path.join(policy_dir, "checkpoint_*.pth")))
        if POLICY_FOLDER.match(os.path.basename(policy_dir)) and found:
            checkpoints.append(found[-1])
    if not checkpoints:
        raise InputError(f"{source} holds no checkpoint_p*/checkpoint_*.pth; nothing to export")
    return source, checkpoints


def check_out(out: str, run_dir: str) -> None:
    if os.path.realpath(out) == os.path.realpath(run_dir):
        raise InputError(f"--out={out} is the run folder itself; pass another folder (then move it over the run)")
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out={out} is a file, not a folder")
    existing = glob.glob(os.path.join(out, "checkpoint_p*", "*.pth"))
    if existing:
        raise InputError(f"--out={out} already holds checkpoints ({os.path.relpath(existing[0], out)}); "
                         "pass a new or empty folder")
    check_writable_folder("--out", out)


def export(source: str, out: str) -> List[Tuple[str, int, int]]:
    """Writes the weights-only run folder (see the module docstring); returns (written path, its size,
    the source file's size) per checkpoint. InputError, with nothing written, for bad input."""
    import torch

    from networks.checkpoint import read_sf_checkpoint

    run_dir, sources = find_sources(source)
    check_out(out, run_dir)
    loaded = []
    for path in sources:  # every file read before anything is written
        try:
            loaded.append((path, read_sf_checkpoint(path)))
        except (ValueError, FileNotFoundError) as error:
            raise InputError(str(error)) from None
    written = []
    for path, checkpoint in loaded:
        target = os.path.join(out, os.path.basename(os.path.dirname(path)), checkpoint_name(checkpoint))
        with atomic_path(target) as tmp:
            torch.save(weights_only(checkpoint), tmp)
        saved = read_sf_checkpoint(target)
        same = saved["model"].keys() == checkpoint["model"].keys() and all(
            torch.equal(saved["model"][key], value) for key, value in checkpoint["model"].items())
        if not same or has_optimizer_state(saved):
            raise RuntimeError(f"{target} does not read back as {path}'s weights alone")
        written.append((target, os.path.getsize(target), os.path.getsize(path)))
    for pattern in COPIED:
        for path in glob.glob(os.path.join(run_dir, pattern)):
            target = os.path.join(out, os.path.basename(path))
            if os.path.isdir(path):
                shutil.copytree(path, target, dirs_exist_ok=True)
            else:
                shutil.copy2(path, target)
    return written


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sf_maze.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="A run folder (config.json, checkpoint_p*/) or one checkpoint_*.pth in it")
    parser.add_argument("--out", required=True, help="The folder to write: a new run folder, weights only")
    return parser.parse_args(argv)


@input_errors_exit_2("sf_maze.export")
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    for target, size, source_size in export(args.source, args.out):
        print(f"wrote {target} ({size / 1e6:.1f} MB, weights only; the source was {source_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
