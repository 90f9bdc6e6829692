"""The house plan's import rules, read from the source with ast (nothing is imported to check them).

No two project modules may import each other, directly or in a loop, counting imports inside
functions too (a lazy import is still a dependency); each package imports only the packages below it
(STYLE.md); and importing a Dreamer module changes nothing in the process. PACKAGES lists the packages
held to these rules: every package.
"""
import ast
import os
import subprocess
import sys
from typing import Dict, List, Set

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("common", "envs", "networks", "evaluation", "sf_maze", "dreamer", "launcher", "probing")
# Project packages each package may import (the house plan, STYLE.md), every package listed. `common`
# (one-line exit-2 errors, files, processes) sits below them all; `evaluation` (paper numbers,
# statistics, reports, curves, videos, run folders) sits below every trainer and imports none;
# probing may read Dreamer's saved world model but never a trainer's training code; the launcher
# starts trainers as command lines only.
ALLOWED = {"common": {"common"}, "networks": {"networks"}, "envs": {"envs", "common"},
           "evaluation": {"evaluation", "common", "envs", "networks"},
           "sf_maze": {"sf_maze", "evaluation", "envs", "networks", "common"},
           "dreamer": {"dreamer", "evaluation", "envs", "networks", "common"},
           "probing": {"probing", "evaluation", "dreamer", "envs", "networks", "common"},
           "launcher": {"launcher", "evaluation", "common"}}


def test_every_package_is_under_the_rules():
    assert set(ALLOWED) == set(PACKAGES)


def module_files() -> Dict[str, str]:
    """Every project module's dotted name -> its file."""
    out = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(REPO, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    parts = os.path.relpath(path, REPO)[:-3].split(os.sep)
                    out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports_of(name: str, path: str, modules: Set[str]) -> Set[str]:
    """Project modules that module `name` imports anywhere in its file (`from a import b`: a.b if a module, else a)."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a name inside a.b
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph(packages=PACKAGES) -> Dict[str, Set[str]]:
    files = module_files()
    modules = set(files)
    return {name: imports_of(name, path, modules) for name, path in files.items() if name.split(".")[0] in packages}


def cycles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in edges:
                continue  # outside the checked packages
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return out


def test_a_lazy_import_inside_a_function_counts(tmp_path):
    path = tmp_path / "actors.py"
    path.write_text("import os\nfrom . import agent\n\ndef main():\n    from dreamer.train import env_seed\n")
    modules = {"dreamer", "dreamer.actors", "dreamer.agent", "dreamer.train"}
    assert imports_of("dreamer.actors", str(path), modules) == {"dreamer.agent", "dreamer.train"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_packages_import_only_the_packages_below_them():
    wrong = [f"{name} imports {target}" for name, targets in graph(tuple(ALLOWED)).items() for target in targets
             if target.split(".")[0] not in ALLOWED[name.split(".")[0]]]
    assert wrong == []


PROBE = """
import os, signal, sys, threading
import torch
before = ([signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)], torch.get_num_threads(),
          threading.active_count(), sorted(os.listdir('.')))
import dreamer.{names}
after = ([signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)], torch.get_num_threads(),
         threading.active_count(), sorted(os.listdir('.')))
assert before == after, (before, after)
assert not [m for m in sys.modules if m.split('.')[0] in ('sample_factory', 'sf_maze')], 'dreamer imported sf_maze'
print('ok')
"""


@pytest.mark.slow
def test_importing_dreamer_modules_does_nothing(tmp_path):
    names = sorted(name.split(".", 1)[1] for name in graph(("dreamer",)) if "." in name)
    code = PROBE.replace("dreamer.{names}", ", ".join(f"dreamer.{name}" for name in names))
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr


SF_PROBE = """
import os, signal, sys, threading
from sample_factory.algo.learning.learner import Learner
from sample_factory.model import model_utils
def state():
    return ([signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)], threading.active_count(),
            model_utils.get_rnn_size, Learner._calculate_losses, Learner._record_summaries)
before = state()
import {names}
assert state() == before, 'importing sf_maze changed Sample Factory or the process'
import pickle
from sf_maze.patches import InWorker
from sf_maze.env import make_sf_env
pickle.loads(pickle.dumps(InWorker(make_sf_env)))  # what each spawned worker does with our factories
after = state()
assert after[2] is not before[2] and after[3] is not before[3] and after[4] is not before[4], 'unpickling patched nothing'
print('ok')
"""


@pytest.mark.slow
def test_importing_sf_maze_patches_nothing_and_a_worker_unpickling_a_factory_installs_the_patches(tmp_path):
    names = sorted(name for name in graph(("sf_maze",)) if "." in name)
    code = SF_PROBE.replace("{names}", ", ".join(names))
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr
