"""benchmarks/env_speed.py's tables: rows per backend and the ratios between impls and backends
(the measurement itself spawns a process per row and is left to the benchmark)."""
import argparse
import importlib.util
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_benchmark():
    spec = importlib.util.spec_from_file_location("env_speed", os.path.join(REPO, "benchmarks", "env_speed.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def row(sps: float, uss: float, reset_ms: float = 0.2) -> dict:
    return dict(sps=sps, episode_sps=1e3 / (1e3 / sps + reset_ms), physics_ms=0.5, render_ms=1.0, other_ms=0.1,
                reset_ms=reset_ms, build_s=1.0, uss_mib=uss, rss_mib=uss + 7, lp_num_threads="0")


def test_tables_compare_impls_on_the_first_backend_and_backends_per_impl(capsys):
    bench = load_benchmark()
    args = argparse.Namespace(sizes=["9x9"], envs=[1, 4], backend=["egl", "osmesa"], impls=["before", "ours"],
                              steps=600, package_steps=150, repeats=3, before="ba7a01d")
    results = {("9x9", "before", 1, "egl"): row(400.0, 1000, reset_ms=0.3), ("9x9", "ours", 1, "egl"): row(500.0, 500, reset_ms=0.1),
               ("9x9", "before", 1, "osmesa"): row(380.0, 1000), ("9x9", "ours", 1, "osmesa"): row(450.0, 500),
               ("9x9", "ours", 4, "egl"): row(420.0, 1100), ("9x9", "ours", 4, "osmesa"): row(400.0, 1106)}
    bench.print_tables(results, args, load_before=0.5)
    out = capsys.readouterr().out
    assert "| 9x9 | ours | osmesa | 4 | 400.0 |" in out
    assert "| 9x9 | ours | egl | 4 | 420.0 | 387.5 | 0.50 | 1.00 | 0.10 | 0.20 | 1.00 | 1100 | 1107 | 200 | 200 | 0 |" in out
    # steps/s 500 / 400; with resets (2.0 + 0.1 ms against 2.5 + 0.3 ms per step) 476.2 / 357.1
    assert "| 9x9 | 1 | ours egl / before egl | 1.25x | 1.33x |" in out
    assert "| 9x9 | 1 | ours osmesa / ours egl | 0.90x | 0.87x |" in out
    assert "| 9x9 | 1 | before osmesa / before egl | 0.95x | 0.99x |" in out
    assert "ours osmesa / before" not in out  # impls are compared on the first backend only


def test_an_unknown_backend_is_refused(capsys):
    bench = load_benchmark()
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--backend", "vulkan"])
    assert exit_.value.code == 2
    assert "invalid choice: 'vulkan'" in capsys.readouterr().err
