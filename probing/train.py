"""Trains probes on a frozen representation and reports the paper's Walls / Objects metrics.

    python -m probing.train --data=data/mm9 --model=sf:run/checkpoint_p0/checkpoint_X.pth \
        --target=walls,objects --steps=3000 --out=results/sf_probe.json [--video=probe.mp4]

The network runs once over every trajectory (state carried through the episode, no gradients) and
its per-step features stream into a row store on disk (`probing.features`, under --work_dir), next
to the labels; probes are MLPs fitted on random rows of the train split, read from there, so memory
does not grow with the number of episodes. The walls probe reads the features plus the agent's pose
(`--probe_pose=False` drops it). Eval-split metrics are given over two windows of every episode:
`all` (every entry, as the authors' `evaluate()` averages whole held-out episodes) and
`second_half` (steps 500-1000 of 1000, scaled for shorter data), beside a constant predictor fitted
on the train split. Results go to --out (JSON), the probe weights beside it (.pt).

`--model=supervised` first trains the paper's supervised oracle (`probing.supervised`) on the train
split, saves it beside --out as `*_supervised.pt`, and probes it like the others.
"""
import argparse
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from typing import Dict, List, Optional

import numpy as np
import torch

from probing.dataset import MalformedEpisodeError, check_episode_files, load_episode, split_episodes
from probing.features import RowStore, build_features, build_labels
from probing.probe import (PAPER_9X9, POSE_SIZE, TARGETS, ConstantPredictor, ProbeMLP, loss_fn, objects_squared_error,
                           probe_input, walls_accuracy)
from probing.representations import check_model_spec, load_representation
from common.files import write_atomic
from common.cli import InputError, input_errors_exit_2  # the repo's one "one line, exit 2" helper

log = logging.getLogger(__name__)

WINDOWS = ("all", "second_half")
# Every entry a run reads: the labels and pose, and the inputs of every --model kind.
READ_KEYS = ("image", "action", "maze_layout", "agent_pos", "agent_dir", "targets_vec", "targets_pos")


def eval_window(length: int, start_fraction: float = 0.5) -> slice:
    """Entries of steps 500..1000 of a 1001-entry trajectory; the same fraction for other lengths."""
    steps = length - 1
    return slice(int(start_fraction * steps), length)


def window_slice(name: str, length: int) -> slice:
    if name == "all":
        return slice(0, length)
    if name == "second_half":
        return eval_window(length)
    raise ValueError(f"unknown window {name!r}; expected one of {WINDOWS}")


def _probe_rows(target: str, features: RowStore, labels: RowStore, index, mean: np.ndarray, std: np.ndarray,
                pose: bool):
    x = (features.read("features", index) - mean) / std
    x = probe_input(target, x.astype(np.float32), labels.read("pose", index) if pose else None)
    return x, labels.read(target, index).astype(np.float32)


def fit_probe(*, target: str, features: RowStore, labels: RowStore, mean: np.ndarray, std: np.ndarray, pose: bool,
              steps: int, batch_size: int, lr: float, seed: int, hidden: int = 1024, layers: int = 4) -> ProbeMLP:
    """Adam on random rows of the train split, read batch by batch from the stores."""
    from tqdm import tqdm

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    in_features = features.width("features") + (POSE_SIZE if target == "walls" and pose else 0)
    probe = ProbeMLP(in_features=in_features, out_features=labels.width(target), hidden=hidden, layers=layers)
    optimizer = torch.optim.Adam(probe.parameters(), lr=lr)
    progress = tqdm(range(steps), desc=f"probe {target}", unit="step")
    running = None
    for step in progress:
        index = np.sort(rng.integers(0, features.rows, size=batch_size))  # sorted: fewer pages per read
        x, y = _probe_rows(target, features, labels, index, mean, std, pose)
        loss = loss_fn(target, probe(torch.from_numpy(x)), torch.from_numpy(y))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 50 == 0:
            progress.set_postfix(loss=f"{running:.4f}")
    probe.eval()
    return probe


@torch.no_grad()
def predict(probe: ProbeMLP, inputs: np.ndarray) -> np.ndarray:
    return probe(torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))).numpy()


def per_step_metrics(target: str, prediction: np.ndarray, labels: np.ndarray,
                     seen: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
    """(T,) arrays: walls -> accuracy and accuracy over seen cells; objects -> squared error."""
    if target == "walls":
        metrics = {"accuracy": walls_accuracy(prediction, labels)}
        if seen is not None:
            metrics["accuracy_seen"] = walls_accuracy(prediction, labels, seen)
        return metrics
    return {"squared_error": objects_squared_error(prediction, labels)}


def summarize(target: str, per_episode: List[Dict[str, np.ndarray]]) -> Dict[str, Dict[str, float]]:
    """Window -> metric: each episode's steps in the window averaged, then episodes averaged.

    objects_rmse is the root of the window's objects_mse (not a mean of per-step roots).
    """
    summary = {}
    for window in WINDOWS:
        values = {}
        for name in per_episode[0]:
            means = [np.nanmean(metrics[name][window_slice(window, len(metrics[name]))]) for metrics in per_episode]
            values[name] = float(np.mean(means))
        if target == "objects":
            mse = values.pop("squared_error")
            values = {"mse": mse, "rmse": float(np.sqrt(mse))}
        summary[window] = values
    return summary


def evaluate(target: str, predict_episode, labels: RowStore, episodes: range) -> Dict[str, Dict[str, float]]:
    per_episode = []
    for episode in episodes:
        truth = labels.episode(target, episode).astype(np.float32)
        seen = labels.episode("seen", episode) if target == "walls" else None
        per_episode.append(per_step_metrics(target, predict_episode(episode), truth, seen))
    return summarize(target, per_episode)


def train_mean(target: str, labels: RowStore, chunk_rows: int = 20_000) -> np.ndarray:
    """Per-column mean of a label array over the train split, read in chunks."""
    total = np.zeros(labels.width(target), np.float64)
    for start in range(0, labels.rows, chunk_rows):
        total += labels.read(target, slice(start, start + chunk_rows)).astype(np.float64).sum(0)
    return total / labels.rows


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="Folder of trajectory NPZs (flat, or train/ + eval/)")
    parser.add_argument("--model", required=True, help="sf:PATH | dreamer:PATH | random[:PATH] | state | supervised[:PATH]")
    parser.add_argument("--target", default="walls,objects", help="walls, objects, or both comma-separated")
    parser.add_argument("--probe_pose", type=lambda text: text.lower() in ("1", "true", "yes"), default=True,
                        help="Walls probe also reads the agent's pose, as the authors' MapProbeHead (True/False)")
    parser.add_argument("--steps", type=int, default=3000, help="Probe optimizer steps")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--hidden", type=int, default=1024, help="Probe width (paper: 1024)")
    parser.add_argument("--layers", type=int, default=4, help="Probe hidden layers (paper: 4)")
    parser.add_argument("--eval_fraction", type=float, default=0.1, help="Share of a flat folder's files held out")
    parser.add_argument("--max_episodes", type=int, default=0, help="Use at most this many files per split (0: all)")
    parser.add_argument("--train_report_episodes", type=int, default=50,
                        help="Train-split episodes scored to show over-fitting (0: none)")
    parser.add_argument("--supervised_updates", type=int, default=2000, help="Oracle optimizer steps (--model=supervised)")
    parser.add_argument("--supervised_batch", type=int, default=8, help="Oracle episodes per update")
    parser.add_argument("--supervised_sequence", type=int, default=50, help="Oracle truncated-BPTT length (steps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="Torch CPU threads; more than one is often slower on a shared 2-core machine")
    parser.add_argument("--out", default="", help="Results JSON (probe weights go beside it as .pt)")
    parser.add_argument("--work_dir", default="",
                        help="Where feature and label stores go (default: probe_work/ beside --out, else a temp "
                             "folder removed at the end); stores are reused by later runs on the same data")
    parser.add_argument("--video", default="", help="Also render the first eval episode with the probes' predictions")
    return parser


def _prepare_model(args: argparse.Namespace, train_files: List[str]):
    """(extractor, keys, spec, cache key) of --model; trains the supervised oracle first if asked."""
    spec = args.model
    if spec == "supervised":
        from probing.supervised import save_network, train_supervised

        settings = dict(updates=args.supervised_updates, batch=args.supervised_batch,
                        sequence=args.supervised_sequence, lr=args.lr, hidden=args.hidden, layers=args.layers,
                        seed=args.seed)
        network = train_supervised(train_files, **settings)
        folder = os.path.dirname(os.path.abspath(args.out)) if args.out else args.work_dir
        path = (os.path.splitext(args.out)[0] if args.out else os.path.join(folder, "oracle")) + "_supervised.pt"
        save_network(network, path, settings)
        log.info("supervised oracle saved: %s", path)
        spec = f"supervised:{path}"
    extractor, keys = load_representation(spec, seed=args.seed)
    kind, _, path = spec.partition(":")
    # A checkpoint's identity for the feature cache: its path, size and modification time.
    stamp = [os.path.abspath(path), os.path.getsize(path), os.path.getmtime(path)] if path and os.path.isfile(path) else path
    return extractor, keys, spec, dict(model=kind, checkpoint=stamp, seed=args.seed if kind == "random" else None)


def _relative_to_out(path: str, out: Optional[str]) -> str:
    folder = os.path.dirname(os.path.abspath(out)) if out else os.getcwd()
    return os.path.relpath(os.path.abspath(path), folder)


def check_inputs(args: argparse.Namespace):
    """(train files, eval files) once every flag, the model spec and every data file is known good;
    InputError naming the bad one otherwise, before any model is built or trained."""
    from common.cli import check_at_least, check_writable_folder

    check_at_least(1, steps=args.steps, batch_size=args.batch_size, hidden=args.hidden, layers=args.layers,
                   threads=args.threads, supervised_updates=args.supervised_updates,
                   supervised_batch=args.supervised_batch, supervised_sequence=args.supervised_sequence)
    check_at_least(0, max_episodes=args.max_episodes, train_report_episodes=args.train_report_episodes)
    if not 0 < args.eval_fraction < 1:
        raise InputError(f"--eval_fraction={args.eval_fraction}; pass a share between 0 and 1")
    if not args.lr > 0:
        raise InputError(f"--lr={args.lr}; pass a positive learning rate")
    if not os.path.isdir(args.data):
        raise InputError(f"--data={args.data}: no such folder")
    # Results are written after the whole run: an unwritable place must be refused now.
    for flag, path in (("--out", args.out), ("--video", args.video)):
        if path:
            check_writable_folder(flag, os.path.dirname(os.path.abspath(path)), value=path)
    if args.work_dir:
        check_writable_folder("--work_dir", args.work_dir)
    check_model_spec(args.model)
    try:
        train_files, eval_files = split_episodes(args.data, args.eval_fraction)
    except ValueError as error:
        raise InputError(f"--data={args.data}: {error}") from None
    if args.max_episodes:
        train_files, eval_files = train_files[:args.max_episodes], eval_files[:args.max_episodes]
    try:
        check_episode_files(train_files + eval_files, READ_KEYS)
    except MalformedEpisodeError as error:
        raise InputError(str(error)) from None
    return train_files, eval_files


def run(args: argparse.Namespace) -> Dict:
    targets = [t.strip() for t in args.target.split(",") if t.strip()]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or not targets:
        raise InputError(f"--target={args.target!r}: choose from {', '.join(TARGETS)}")
    train_files, eval_files = check_inputs(args)
    start = time.time()
    torch.set_num_threads(args.threads)
    log.info("%s: %d train / %d eval episodes", args.data, len(train_files), len(eval_files))
    temporary = not args.work_dir and not args.out
    work_dir = args.work_dir or (os.path.join(os.path.dirname(os.path.abspath(args.out)), "probe_work") if args.out
                                 else tempfile.mkdtemp(prefix="probe_work_"))
    os.makedirs(work_dir, exist_ok=True)
    try:
        results, probes, extractor, mean, std = _run_in(args, targets, train_files, eval_files, work_dir)
    finally:
        if temporary:
            shutil.rmtree(work_dir, ignore_errors=True)
    results["seconds"] = round(time.time() - start, 1)
    results["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    if args.out:
        write_atomic(args.out, json.dumps(results, indent=1))
        torch.save({"model": results["model"], "feature_mean": mean, "feature_std": std, "probe_pose": args.probe_pose,
                    "probes": {t: p.state_dict() for t, p in probes.items()},
                    "sizes": {t: dict(in_features=p.net[0].in_features, out_features=p.net[-1].out_features,
                                      hidden=args.hidden, layers=args.layers) for t, p in probes.items()}},
                   os.path.splitext(args.out)[0] + ".pt")
        log.info("results: %s", args.out)
    if args.video:
        from probing.probe import pose_of
        from probing.video import render_episode_video

        episode = load_episode(eval_files[0])
        features = (extractor(episode).astype(np.float32) - mean) / std
        pose = pose_of(episode) if args.probe_pose else None
        predictions = {t: predict(p, probe_input(t, features, pose)) for t, p in probes.items()}
        render_episode_video(episode=episode, predictions=predictions, path=args.video)
        log.info("video: %s", args.video)
    return results


def _run_in(args, targets, train_files, eval_files, work_dir):
    extractor, keys, spec, model_key = _prepare_model(args, train_files)
    labels = {"train": build_labels(work_dir, train_files), "eval": build_labels(work_dir, eval_files)}
    features = {split: build_features(work_dir, files, extractor, keys, model_key, desc=f"features {split}")
                for split, files in (("train", train_files), ("eval", eval_files))}
    mean = np.asarray(features["train"].meta["mean"], np.float32)
    # Standardised per feature (train statistics): a linear change that keeps what the features
    # encode, while letting one probe recipe fit features of any scale (e.g. a random network's).
    std = np.asarray(features["train"].meta["std"], np.float32) + 1e-6
    lengths = sorted(set(labels["eval"].lengths))
    maze_size = int(load_episode(train_files[0], keys=["maze_layout"])["maze_layout"].shape[-1])
    results = {
        # folders relative to the results file, so results copied into docs name no path of this machine
        "model": spec, "data": _relative_to_out(args.data, args.out),
        "train_episodes": len(train_files), "eval_episodes": len(eval_files),
        "train_steps": int(labels["train"].rows), "eval_steps": int(labels["eval"].rows),
        "episode_entries": lengths,
        "windows": {name: [window_slice(name, lengths[0]).start, window_slice(name, lengths[0]).stop - 1]
                    for name in WINDOWS},
        "feature_size": features["train"].width("features"), "probe_pose": args.probe_pose,
        "probe_steps": args.steps, "probe_mlp": [args.layers, args.hidden], "probe_batch": args.batch_size,
        "seed": args.seed, "work_dir": _relative_to_out(work_dir, args.out), "maze_size": maze_size, "targets": {},
    }
    if maze_size == 9:  # the only size whose paper numbers this repo transcribed
        results["paper_9x9"] = PAPER_9X9
    if spec.startswith("supervised"):
        results["supervised"] = dict(updates=args.supervised_updates, batch=args.supervised_batch,
                                     sequence=args.supervised_sequence)
    probes = {}
    for target in targets:
        pose = args.probe_pose and target == "walls"
        probe = fit_probe(target=target, features=features["train"], labels=labels["train"], mean=mean, std=std,
                          pose=pose, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                          hidden=args.hidden, layers=args.layers)
        probes[target] = probe

        def predictor(split):
            def predict_episode(episode):
                rows = slice(features[split].starts[episode], features[split].starts[episode] + features[split].lengths[episode])
                x, _ = _probe_rows(target, features[split], labels[split], rows, mean, std, pose)
                return predict(probe, x)
            return predict_episode

        constant = ConstantPredictor.from_mean(target, train_mean(target, labels["train"]))
        entry = {
            "probe": evaluate(target, predictor("eval"), labels["eval"], range(len(eval_files))),
            "constant": evaluate(target, lambda e: constant.predict(labels["eval"].lengths[e]), labels["eval"],
                                 range(len(eval_files))),
        }
        if args.train_report_episodes:
            entry["probe_train"] = evaluate(target, predictor("train"), labels["train"],
                                            range(min(args.train_report_episodes, len(train_files))))
        results["targets"][target] = entry
        log.info("%s %s: probe %s | constant %s", spec, target, entry["probe"], entry["constant"])
    return results, probes, extractor, mean, std


@input_errors_exit_2("probing.train")
def main(argv: Optional[List[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
