"""Peak resident memory of probing as the number of episodes grows (features streamed to disk).

    python benchmarks/probe_memory.py --data=data/mm9 --episodes=50,500 --out_dir=runs/probe_memory \
        -- --model=random --steps=1500 --hidden=256

Each size runs `probing.train` in its own process on the first N episode files of --data (linked into
a folder of their own, split 90/10 as usual) and reads back the peak RSS (`ru_maxrss`) that the run
writes into its result JSON. Arguments after `--` go to probing.train unchanged. Prints a Markdown
table; the target is that 10x the episodes costs under 20% more peak memory.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def subset_folder(data: str, episodes: int, out_dir: str, allow_repeats: bool = False) -> str:
    """A folder of links to the first `episodes` files of `data`; with allow_repeats, files are cycled
    (each repeat under a new name) when `data` has fewer: memory depends on the rows, not their content."""
    files = sorted(glob.glob(os.path.join(data, "*.npz")))
    if not files or (len(files) < episodes and not allow_repeats):
        raise SystemExit(f"{data} has {len(files)} episodes, fewer than {episodes} (see --allow_repeats)")
    folder = os.path.join(out_dir, f"data_{episodes}ep")
    os.makedirs(folder, exist_ok=True)
    for index in range(episodes):
        path = files[index % len(files)]
        name = os.path.basename(path)
        if index >= len(files):
            name = name.replace(".npz", f"_copy{index // len(files)}.npz")
        link = os.path.join(folder, name)
        if not os.path.exists(link):
            os.symlink(os.path.abspath(path), link)
    return folder


def main() -> None:
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--episodes", default="50,500")
    parser.add_argument("--out_dir", required=True, help="Subset folders, result JSONs and the shared work dir")
    parser.add_argument("--allow_repeats", action="store_true", help="Cycle --data's files to reach a size")
    args = parser.parse_args(own)
    model = next((a.split("=", 1)[1] for a in extra if a.startswith("--model=")), "random")
    rows = []
    for episodes in [int(n) for n in args.episodes.split(",")]:
        folder = subset_folder(args.data, episodes, args.out_dir, args.allow_repeats)
        out = os.path.join(args.out_dir, f"{model.split(':')[0]}_{episodes}ep.json")
        command = [sys.executable, "-m", "probing.train", f"--data={folder}", f"--out={out}",
                   f"--work_dir={os.path.join(args.out_dir, 'probe_work')}", *extra]
        if not any(a.startswith("--model=") for a in extra):
            command.append("--model=random")
        start = time.time()
        subprocess.run(command, cwd=REPO, check=True, env=dict(os.environ, PYTHONPATH=REPO))
        with open(out) as file:
            result = json.load(file)
        rows.append((episodes, result, time.time() - start))
    print("| episodes (train / eval) | entries | peak RSS (MiB) | run (s) |")
    print("|---|---|---|---|")
    for episodes, result, seconds in rows:
        print(f"| {episodes} ({result['train_episodes']} / {result['eval_episodes']}) | "
              f"{result['train_steps'] + result['eval_steps']} | {result['peak_rss_mib']:.0f} | {seconds:.0f} |")
    if len(rows) >= 2:
        growth = rows[-1][1]["peak_rss_mib"] / rows[0][1]["peak_rss_mib"] - 1
        print(f"\npeak RSS growth from {rows[0][0]} to {rows[-1][0]} episodes: {growth:+.1%} (target: under +20%)")


if __name__ == "__main__":
    main()
