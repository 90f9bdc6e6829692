"""The docs are built, current and free of machine paths.

- docs/reference/flags-*.md are what docs/gen_flags.py writes from each command's `--help` today;
- `mkdocs build --strict` passes (mkdocs.yml's validation makes a broken link, a missing anchor or a
  page left out of the nav an error);
- no tracked text file names a path of the machine a run was made on.
"""
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGENERATE = ".venv/bin/python docs/gen_flags.py"

sys.path.insert(0, os.path.join(REPO, "docs"))
import gen_flags  # noqa: E402  (docs/ is not a package: the script is run as a file)


@pytest.mark.slow  # runs three commands' --help, ~7 s each
def test_flag_reference_is_current(tmp_path):
    assert gen_flags.main(["--out", str(tmp_path)]) == 0
    stale = []
    for _, name, _ in gen_flags.COMMANDS:
        committed = os.path.join(gen_flags.OUT, name)
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        if not os.path.exists(committed) or open(committed, encoding="utf-8").read() != fresh:
            stale.append(os.path.relpath(committed, REPO))
    assert not stale, f"out of date: {', '.join(stale)}; regenerate with `{REGENERATE}`"


def test_flag_reference_names_no_machine_value():
    for _, name, _ in gen_flags.COMMANDS:
        text = open(os.path.join(gen_flags.OUT, name), encoding="utf-8").read()
        assert REPO not in text, name
        assert "(default: one per usable core" in text or "num_workers" not in text, name


def test_neutral_replaces_machine_defaults():
    help_text = ("  --num_workers NUM_WORKERS\n                        Number of workers. (default:\n"
                 "                        16)\n  --train_dir TRAIN_DIR\n                        Root (default: "
                 f"{REPO}/train_dir)\n  --seed SEED           Seed (default: 3)\n")
    text = gen_flags.neutral(help_text)
    assert "16)" not in text and REPO not in text and "(default: 3)" in text, text


def test_mkdocs_build_is_strict_clean(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    if "No module named mkdocs" in result.stderr:
        pytest.fail("mkdocs is not installed: it is in the docs extra and the lock (pip install -e '.[docs]')")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_docs_page_is_in_the_nav():
    """mkdocs warns about pages left out of the nav (an error under --strict); this names them directly."""
    nav = open(os.path.join(REPO, "mkdocs.yml"), encoding="utf-8").read()
    listed = set(re.findall(r":\s*([\w/.-]+\.md)\s*$", nav, flags=re.M))
    pages = {os.path.relpath(os.path.join(folder, name), os.path.join(REPO, "docs"))
             for folder, _, names in os.walk(os.path.join(REPO, "docs")) for name in names if name.endswith(".md")}
    assert pages - listed == set(), f"pages missing from mkdocs.yml's nav: {sorted(pages - listed)}"
    assert listed - pages == set(), f"nav entries with no page: {sorted(listed - pages)}"


# A path on the machine that made a file: home folders, the work and scratch areas, temporary folders.
MACHINE_PATH = re.compile(r"(?<![\w.~$<-])/(?:work|home|tmp|scratch|mnt|root|Users)/[\w.-]+")
# Code may default to a scratch folder under /tmp (a benchmark's run folder); records of runs may not.
CODE_SUFFIXES = (".py", ".sh", "Makefile")
TEXT_SUFFIXES = (".md", ".json", ".csv", ".txt", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".in", ".py", ".sh", "Makefile")


def tracked_text_files():
    # Tracked files and new ones not ignored, so a file is checked before its first commit too.
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout
    return sorted({name for name in listed.decode().split("\0") if name.endswith(TEXT_SUFFIXES)
                   and os.path.isfile(os.path.join(REPO, name))})


def machine_paths(name: str, text: str):
    for number, line in enumerate(text.splitlines(), 1):
        for match in MACHINE_PATH.finditer(line):
            if match.group(0).startswith("/tmp/") and name.endswith(CODE_SUFFIXES):
                continue
            yield f"{name}:{number}: {match.group(0)}"


def test_machine_path_pattern():
    work, home, tmp = "/" + "work", "/" + "home", "/" + "tmp"  # spelt apart so this file passes its own test
    found = list(machine_paths("x.md", f"run in {work}/runs/a, {home}/me/x and {tmp}/y; not ~/x or $HOME/x"))
    assert [line.split(": ")[1] for line in found] == [f"{work}/runs", f"{home}/me", f"{tmp}/y"]
    assert list(machine_paths("x.py", f'default="{tmp}/runs"')) == []
    assert len(list(machine_paths("x.py", f"--data={work}/wt/data"))) == 1


def test_no_tracked_text_names_a_machine_path():
    if not os.path.isdir(os.path.join(REPO, ".git")):
        pytest.skip("not a git checkout")
    offenders = []
    for name in tracked_text_files():
        try:
            text = open(os.path.join(REPO, name), encoding="utf-8").read()
        except UnicodeDecodeError:
            continue
        offenders.extend(machine_paths(name, text))
    assert not offenders, ("paths of the machine a file was made on (record paths relative to the run "
                           "folder, or none):\n" + "\n".join(offenders))


@pytest.mark.parametrize("page", ["README.md", os.path.join("pretrained", "README.md")])
def test_readme_links_resolve(page):
    """The READMEs live outside docs/, where mkdocs does not check them: every relative link and image
    must name a file of the checkout."""
    text = open(os.path.join(REPO, page), encoding="utf-8").read()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]
    missing = [t for t in local if not os.path.exists(os.path.join(REPO, os.path.dirname(page), t))]
    assert local and not missing, f"{page} links to missing files: {missing}"
