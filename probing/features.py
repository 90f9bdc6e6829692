"""Per-step rows of a split on disk, so probing memory stays flat in the number of episodes.

A store is a folder of `.npy` files with one row per trajectory entry, episodes back to back, and a
`meta.json` naming the episode files, their lengths and what made the rows:

    labels store:   walls (R, N*N) uint8 1 = wall (cell y*N + x), seen (R, N*N) uint8 (`probing.seen`),
                    objects (R, 2K) float32 targets_vec, pose (R, 4) float32 (`probe.map_coord`),
                    step (R,) int32 index of the entry within its episode
    features store: features (R, F) float32, with the per-feature mean and std of its rows in meta

Rows are written and read through memory maps that are opened for one episode or one batch and
closed again: the pages they touched leave this process (the OS may keep them cached), so the
resident set does not grow with the data. A store is built aside and renamed into place when
complete, and an existing one whose meta matches is reused, so a second probe run on the same data
and model skips the network.
"""
import hashlib
import json
import logging
import os
import shutil
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from probing.dataset import _stored_shape, load_episode
from probing.probe import labels_of, pose_of
from common.files import TMP_MARK
from probing.seen import seen_so_far

log = logging.getLogger(__name__)

META = "meta.json"
LABEL_ARRAYS = ("walls", "seen", "objects", "pose", "step")


def episode_length(path: str) -> int:
    """Entries of one trajectory file, read from the image header without decompressing it."""
    with np.load(path, allow_pickle=False) as npz:
        return int(_stored_shape(npz, "image")[0])


def fingerprint(files: Sequence[str], **extra) -> Dict:
    """What a store's rows depend on: the files (name, size) and the caller's settings."""
    listing = [[os.path.abspath(path), os.path.getsize(path)] for path in files]
    digest = hashlib.sha1(json.dumps(listing).encode()).hexdigest()
    return dict(extra, files_sha1=digest, episodes=len(files))


def store_name(prefix: str, key: Dict) -> str:
    return f"{prefix}-{hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]}"


def _read_meta(folder: str) -> Optional[Dict]:
    try:
        with open(os.path.join(folder, META)) as file:
            return json.load(file)
    except (OSError, ValueError):
        return None


def _write_store(folder: str, files: Sequence[str], key: Dict, rows_of: Callable[[str], Dict[str, np.ndarray]],
                 desc: str, mean_of: Optional[str] = None) -> Dict:
    """Writes rows_of(file) for every file into `folder`, atomically; returns its meta."""
    from tqdm import tqdm

    lengths = [episode_length(path) for path in files]
    total = int(sum(lengths))
    tmp = f"{folder}{TMP_MARK}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    shapes: Dict[str, Tuple[str, int]] = {}
    sums = squares = None
    start = 0
    for path, length in zip(tqdm(files, desc=desc, unit="ep"), lengths):
        rows = rows_of(path)
        for name, array in rows.items():
            if array.shape[0] != length:
                raise ValueError(f"{path}: {name} has {array.shape[0]} rows for {length} entries")
            if name not in shapes:  # widths are known from the first episode
                shapes[name] = (array.dtype.str, int(np.prod(array.shape[1:])))
                shape = (total,) if array.ndim == 1 else (total, shapes[name][1])
                np.lib.format.open_memmap(os.path.join(tmp, f"{name}.npy"), mode="w+", dtype=array.dtype, shape=shape)
            stored = np.load(os.path.join(tmp, f"{name}.npy"), mmap_mode="r+")
            stored[start:start + length] = array.reshape(stored[start:start + length].shape)
            stored.flush()
            del stored
        if mean_of is not None:
            values = rows[mean_of].astype(np.float64)
            sums = values.sum(0) if sums is None else sums + values.sum(0)
            squares = (values ** 2).sum(0) if squares is None else squares + (values ** 2).sum(0)
        start += length
    meta = dict(key=key, files=[os.path.abspath(p) for p in files], lengths=lengths, rows=total,
                arrays={name: list(spec) for name, spec in shapes.items()})
    if mean_of is not None:
        mean = sums / total
        meta["mean"] = mean.tolist()
        meta["std"] = np.sqrt(np.maximum(squares / total - mean ** 2, 0.0)).tolist()
    with open(os.path.join(tmp, META), "w") as file:
        json.dump(meta, file)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return meta


def _cached(folder: str, key: Dict) -> bool:
    meta = _read_meta(folder)
    return meta is not None and meta.get("key") == key


def build_labels(work_dir: str, files: Sequence[str]) -> "RowStore":
    """The labels store of `files` under `work_dir` (reused when it exists for the same files)."""
    key = fingerprint(files, kind="labels", version=1)
    folder = os.path.join(work_dir, store_name("labels", key))
    if not _cached(folder, key):
        def rows_of(path: str) -> Dict[str, np.ndarray]:
            episode = load_episode(path, keys=("maze_layout", "agent_pos", "agent_dir", "targets_vec"))
            layout = episode["maze_layout"]
            return {
                "walls": labels_of("walls", episode).astype(np.uint8),
                "seen": seen_so_far(layout[0], episode["agent_pos"], episode["agent_dir"]).astype(np.uint8),
                "objects": labels_of("objects", episode),
                "pose": pose_of(episode),
                "step": np.arange(layout.shape[0], dtype=np.int32),
            }

        _write_store(folder, files, key, rows_of, desc="labels")
    return RowStore(folder)


def build_features(work_dir: str, files: Sequence[str], extractor: Callable[[Dict[str, np.ndarray]], np.ndarray],
                   keys: Sequence[str], model_key: Dict, desc: str = "features") -> "RowStore":
    """The features store of `files` for one representation (reused when `model_key` matches)."""
    key = fingerprint(files, kind="features", **model_key)
    folder = os.path.join(work_dir, store_name("features", key))
    if not _cached(folder, key):
        def rows_of(path: str) -> Dict[str, np.ndarray]:
            return {"features": np.asarray(extractor(load_episode(path, keys=tuple(keys))), np.float32)}

        _write_store(folder, files, key, rows_of, desc=desc, mean_of="features")
    return RowStore(folder)


class RowStore:
    """Reads a store's rows; every read maps the file, copies the rows out and unmaps it again."""

    def __init__(self, folder: str):
        self.folder = folder
        meta = _read_meta(folder)
        if meta is None:
            raise FileNotFoundError(f"{folder}: no {META}; not a complete row store")
        self.meta = meta
        self.rows: int = meta["rows"]
        self.lengths: List[int] = meta["lengths"]
        self.starts: List[int] = np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(int).tolist()

    def width(self, name: str) -> int:
        return int(self.meta["arrays"][name][1])

    def read(self, name: str, index) -> np.ndarray:
        """Rows `index` (a slice, or an int array, best sorted) of array `name`, as an in-memory copy."""
        stored = np.load(os.path.join(self.folder, f"{name}.npy"), mmap_mode="r")
        try:
            return np.array(stored[index])
        finally:
            del stored

    def episode(self, name: str, episode: int) -> np.ndarray:
        start = self.starts[episode]
        return self.read(name, slice(start, start + self.lengths[episode]))
