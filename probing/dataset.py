"""Reads offline trajectories: our generated files and the published dataset's (same NPZ format).

A folder is either flat (our `probing.generate` output: split here, by file name) or laid out like the
published download, with `train/` and `eval/` subfolders (their split is used as is).
"""
import glob
import logging
import os
import types
import zlib
import zipfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from probing.format import IMAGE_SHAPE, NUM_ACTIONS, README_KEYS

log = logging.getLogger(__name__)


class MalformedEpisodeError(ValueError):
    """A trajectory file that does not follow the published format; the message names file and key."""


def _fail(path: str, key: Optional[str], problem: str) -> MalformedEpisodeError:
    return MalformedEpisodeError(f"{path}: key {key!r} {problem}" if key else f"{path}: {problem}")


def _check_entry(path: str, key: str, array: np.ndarray, length: int) -> None:
    """Shape and dtype of one entry, against the README table (N, K read off the file itself)."""
    if array.ndim == 0 or array.shape[0] != length:
        raise _fail(path, key, f"has shape {array.shape}, expected a leading time axis of {length} "
                               f"(the length of 'image')")
    shape = array.shape[1:]
    if key == "image":
        expected, ok_dtype = IMAGE_SHAPE, array.dtype == np.uint8
        dtype_text = "uint8"
    elif key == "action":
        expected, ok_dtype = (NUM_ACTIONS,), array.dtype.kind in "biuf"
        dtype_text = "binary (bool, int or float) one-hot"
    elif key == "maze_layout":
        expected, ok_dtype = (shape[0], shape[0]) if len(shape) == 2 else ("N", "N"), array.dtype.kind in "biuf"
        dtype_text = "binary (bool, int or float)"
    elif key in ("targets_pos", "targets_vec"):
        expected, ok_dtype = (shape[0], 2) if len(shape) == 2 else ("K", 2), array.dtype.kind == "f"
        dtype_text = "float"
    else:
        expected = {"reward": (), "target_color": (3,)}.get(key, (2,))
        ok_dtype, dtype_text = array.dtype.kind == "f", "float"
    if tuple(shape) != tuple(expected):
        raise _fail(path, key, f"has per-step shape {tuple(shape)}, expected {tuple(expected)} "
                               f"(full shape {array.shape})")
    if not ok_dtype:
        raise _fail(path, key, f"has dtype {array.dtype}, expected {dtype_text}")


def _stored_shape(npz, key: str) -> Tuple[int, ...]:
    """An entry's shape from its .npy header, without decompressing the (large) array."""
    with npz.zip.open(f"{key}.npy") as file:
        version = np.lib.format.read_magic(file)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        return tuple(reader(file)[0])


def load_episode(path: str, keys: Optional[Sequence[str]] = None) -> Dict[str, np.ndarray]:
    """The entries `keys` (default: all README keys) of one trajectory file, validated.

    Raises MalformedEpisodeError naming the file (and the key) for unreadable files, missing keys,
    and shapes or dtypes that differ from the published format.
    """
    wanted = tuple(keys) if keys is not None else README_KEYS
    try:
        with np.load(path, allow_pickle=False) as npz:
            present = set(npz.files)
            missing = [key for key in (*wanted, "image") if key not in present]
            if missing:
                raise _fail(path, missing[0], f"is missing (file has {sorted(present)})")
            data = {key: npz[key] for key in wanted}
            image_shape = data["image"].shape if "image" in data else _stored_shape(npz, "image")
    except MalformedEpisodeError:
        raise
    except zipfile.BadZipFile as error:
        raise _unreadable(path, error) from error
    except (OSError, ValueError, EOFError, zlib.error) as error:
        if isinstance(error, ValueError) and "pickled" in str(error):
            raise _unreadable(path, error) from error
        raise _fail(path, None, f"cannot be read as NPZ ({type(error).__name__}: {error})") from error
    length = int(image_shape[0]) if len(image_shape) else 0
    if length < 2:
        raise _fail(path, "image", f"has {length} steps, expected at least 2 (observation before and after an action)")
    for key in wanted:
        _check_entry(path, key, data[key], length)
    return data


def _unreadable(path: str, error: Exception) -> MalformedEpisodeError:
    """What is wrong with a file that does not open as a zip archive, in words."""
    with open(path, "rb") as file:
        head = file.read(4)
    size = os.path.getsize(path)
    if not head:
        return _fail(path, None, "cannot be read: it is empty (0 bytes)")
    if head == b"PK\x03\x04":  # a zip that lost its end (the directory): a killed copy or download
        return _fail(path, None, f"cannot be read: it is truncated ({size} bytes, the zip archive's directory "
                                 "is missing)")
    return _fail(path, None, f"cannot be read: it is not a zip file (NPZ files are zip archives; {size} bytes "
                             f"starting {head!r})")


def check_episode_file(path: str, keys: Sequence[str]) -> None:
    """Validates `keys` of a trajectory file from the .npy headers alone (cheap for every file of a
    folder); MalformedEpisodeError naming the file, the key and the problem."""
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise _fail(path, None, "holds one .npy array, not an NPZ archive of named entries")
        with npz:
            present = set(npz.files)
            missing = [key for key in (*keys, "image") if key not in present]
            if missing:
                raise _fail(path, missing[0], f"is missing (file has {sorted(present)})")
            headers = {key: _stored_header(npz, key) for key in dict.fromkeys(("image", *keys))}
    except MalformedEpisodeError:
        raise
    except (zipfile.BadZipFile, EOFError) as error:  # EOFError: np.load of an empty file
        raise _unreadable(path, error) from error
    except ValueError as error:
        if "pickled" in str(error):  # np.load's guess for bytes that are neither zip nor .npy
            raise _unreadable(path, error) from error
        raise _fail(path, None, f"cannot be read as NPZ ({type(error).__name__}: {error})") from error
    except (OSError, zlib.error) as error:
        raise _fail(path, None, f"cannot be read as NPZ ({type(error).__name__}: {error})") from error
    length = int(headers["image"].shape[0]) if headers["image"].shape else 0
    if length < 2:
        raise _fail(path, "image", f"has {length} steps, expected at least 2 (observation before and after an action)")
    for key in keys:
        _check_entry(path, key, headers[key], length)


def _stored_header(npz, key: str):
    """An entry's shape, ndim and dtype from its .npy header (what _check_entry reads), no data."""
    try:
        with npz.zip.open(f"{key}.npy") as file:
            version = np.lib.format.read_magic(file)
            reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = reader(file)
    except (ValueError, EOFError, zlib.error, zipfile.BadZipFile) as error:
        raise _fail(path_of(npz), key, f"has an unreadable header ({type(error).__name__}: {error})") from error
    return types.SimpleNamespace(shape=tuple(shape), ndim=len(shape), dtype=dtype)


def path_of(npz) -> str:
    return getattr(npz.zip, "filename", None) or "<npz>"


def check_episode_files(files: Sequence[str], keys: Sequence[str]) -> None:
    """check_episode_file on every file; one MalformedEpisodeError for the first bad one, counting the rest."""
    problems = []
    for path in files:
        try:
            check_episode_file(path, keys)
        except MalformedEpisodeError as error:
            problems.append(error)
    if problems:
        more = f"; {len(problems) - 1} more malformed file(s): " + ", ".join(
            os.path.basename(str(p).split(":")[0]) for p in problems[1:6]) if len(problems) > 1 else ""
        raise MalformedEpisodeError(f"{problems[0]}{more}")


def list_episodes(folder: str) -> List[str]:
    files = sorted(glob.glob(os.path.join(folder, "*.npz")))
    return files


def _hash_order(path: str) -> int:
    return zlib.crc32(os.path.basename(path).encode())


def split_episodes(folder: str, eval_fraction: float = 0.2) -> Tuple[List[str], List[str]]:
    """(train files, eval files), deterministic.

    The published layout's `train/` and `eval/` folders are kept. A flat folder is split by a hash of
    each file's name, so a file stays on its side when others are added; at least one file goes to
    each side when there are two or more.
    """
    if os.path.isdir(os.path.join(folder, "train")) and os.path.isdir(os.path.join(folder, "eval")):
        train, evaluation = list_episodes(os.path.join(folder, "train")), list_episodes(os.path.join(folder, "eval"))
    else:
        files = list_episodes(folder)
        if len(files) < 2:
            raise ValueError(f"{folder}: {len(files)} .npz episode file(s); need at least 2 for a train/eval split")
        ordered = sorted(files, key=lambda path: (_hash_order(path), path))
        num_eval = min(len(files) - 1, max(1, int(round(eval_fraction * len(files)))))
        evaluation, train = sorted(ordered[:num_eval]), sorted(ordered[num_eval:])
    if not train or not evaluation:
        raise ValueError(f"{folder}: split gave {len(train)} train and {len(evaluation)} eval episodes")
    return train, evaluation
