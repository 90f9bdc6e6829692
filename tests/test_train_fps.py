"""benchmarks/train_fps.py reads a training run's speed from Sample Factory's reports."""
import os
import sys
from datetime import datetime, timedelta

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

from train_fps import stepped_fps  # noqa: E402


def _log(reports, start=datetime(2026, 12, 6, 10, 0, 0)):
    """Sample Factory's report lines, one every 5 s: (total trained frames, samples stepped)."""
    lines = []
    for i, (total, samples) in enumerate(reports):
        stamp = (start + timedelta(seconds=5 * i)).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        lines.append(f"\x1b[36m[{stamp}][12345] Fps is (10 sec: 0.0, 60 sec: 0.0, 300 sec: 0.0). Total num frames: "
                     f"{total}. Throughput: 0: 1.0. Samples: {samples}. Policy #0 lag: (min: 0.0, avg: 0.5, max: 1.0)")
    return "\n".join(["[2026-12-06 10:00:00,000][12345] Other lines are ignored"] + lines)


def test_stepped_fps_is_the_sample_slope_after_the_first_batches():
    # start-up: nothing stepped for 3 reports, then 200 frames/s; batches of 1000 trained every 5 reports
    reports = [(0, 0)] * 3 + [(1000 * ((i + 1) // 5), 1000 * (i + 1)) for i in range(40)]
    # the second batch shows at index 3 + 9 (samples 10,000); the last report is 40,000 samples, 150 s later
    assert abs(stepped_fps(_log(reports)) - 200.0) < 1e-9
    assert abs(stepped_fps(_log(reports), skip_batches=1) - 200.0) < 1e-9


def test_stepped_fps_reads_the_last_session_of_a_resumed_run():
    first = [(1000 * ((i + 1) // 5), 500 * (i + 1)) for i in range(20)]  # 100 frames/s, then killed
    resumed = [(10_000 + 1000 * ((i + 1) // 5), 1500 * (i + 1)) for i in range(30)]  # 300 frames/s, counts restart
    assert abs(stepped_fps(_log(first + resumed)) - 300.0) < 1e-9


def test_stepped_fps_refuses_a_window_too_short_to_mean_anything():
    assert stepped_fps(_log([(0, 0)] * 5)) is None  # no batch trained
    short = [(1000 * ((i + 1) // 2), 400 * (i + 1)) for i in range(6)]  # 2nd batch at 15 s, last report at 25 s
    assert stepped_fps(_log(short)) is None
    assert stepped_fps(_log(short), skip_batches=1) is not None
