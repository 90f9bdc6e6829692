"""Write the flag reference pages (docs/reference/flags-*.md) from each command's own `--help`.

    .venv/bin/python docs/gen_flags.py              # rewrite docs/reference/
    .venv/bin/python docs/gen_flags.py --out DIR    # write elsewhere (tests/test_docs.py compares)

Each command runs as a subprocess, as a user would run it, with a fixed terminal width so that
argparse wraps the text the same way everywhere. Defaults that depend on the machine the help was
printed on (cores, free memory, a GPU, where the checkout lives) are replaced by a sentence saying
what they follow, so the pages are the same on every machine.
"""
import argparse
import os
import re
import subprocess
import sys
from typing import Dict, List, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "docs", "reference")

# (module, page name, title)
COMMANDS: List[Tuple[str, str, str]] = [
    ("sf_maze.train", "flags-sf_maze-train.md", "`python -m sf_maze.train`: Sample Factory training"),
    ("dreamer.train", "flags-dreamer-train.md", "`python -m dreamer.train`: DreamerV2 training"),
    ("probing.train", "flags-probing-train.md", "`python -m probing.train`: probes on a frozen representation"),
]

# Flags whose default is computed from the machine: what the default follows instead of its value here.
MACHINE_DEFAULTS: Dict[str, str] = {
    "--num_workers": "one per usable core, fewer when free memory is short (sf_maze.params.machine_defaults)",
    "--num_envs_per_worker": "8, fewer when free memory is short (sf_maze.params.machine_defaults)",
    "--device": "gpu when CUDA is available, else cpu",
    "--train_dir": "train_dir in the checkout",
}


def help_text(module: str) -> str:
    env = dict(os.environ, COLUMNS="100", LINES="50", PYTHONWARNINGS="ignore")
    result = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise SystemExit(f"gen_flags: {module} --help exited {result.returncode}: {result.stderr.strip()[-500:]}")
    return result.stdout


def neutral(text: str) -> str:
    """The help with machine-bound defaults and paths replaced."""
    # An option's block: its line "  --flag ..." and the indented lines after it, up to the next option.
    blocks = re.split(r"(?m)^(?=  -)", text)
    for i, block in enumerate(blocks):
        match = re.match(r"  (?:-\w, )?(--[\w-]+)", block)
        if match and match.group(1) in MACHINE_DEFAULTS:
            blocks[i] = re.sub(r"\(default:\s+[^)]*\)", f"(default: {MACHINE_DEFAULTS[match.group(1)]})", block)
    text = "".join(blocks)
    text = text.replace(REPO, "<checkout>")
    text = re.sub(r"/(?:tmp|home|work|root|mnt|scratch)/[^\s)'\"]*", "<path>", text)
    # The program name argparse prints is the file's, not the module's.
    return text


def page(module: str, title: str) -> str:
    return "\n".join([
        f"# {title}",
        "",
        f"Generated from `python -m {module} --help` by `docs/gen_flags.py`; do not edit by hand. Rerun",
        "`.venv/bin/python docs/gen_flags.py` after changing a flag (`tests/test_docs.py` fails until then).",
        "Defaults that depend on the machine say what they follow instead of a value.",
        "",
        "```text",
        neutral(help_text(module)).rstrip(),
        "```",
        "",
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=OUT, help="Folder for the pages (default: docs/reference)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for module, name, title in COMMANDS:
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as f:
            f.write(page(module, title))
        print(f"wrote {os.path.join(args.out, name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
