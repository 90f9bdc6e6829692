"""Episode statistics for evaluation reports: pure functions of returns and per-step rewards (return
intervals, the half split, reward rates in windows of episode time)."""
import math
from typing import Dict, Sequence

import numpy as np


def t_quantile(confidence: float, dof: int) -> float:
    """Two-sided Student-t critical value (1.96-ish for large samples)."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2.0, dof))


def summarize_returns(returns: Sequence[float], confidence: float = 0.95) -> Dict[str, float]:
    """n, mean, sample std (ddof=1) and the t-interval of the mean at `confidence`.

    The interval is for the mean episode return (what the paper's tables report), not the spread of
    single episodes; with one episode the std and interval are undefined (NaN).
    """
    x = np.asarray(returns, dtype=np.float64)
    n = int(x.size)
    if n == 0:
        raise ValueError("summarize_returns needs at least one episode return")
    mean = float(x.mean())
    if n == 1:
        return dict(n=1, mean=mean, std=math.nan, ci_low=math.nan, ci_high=math.nan, ci_halfwidth=math.nan,
                    confidence=confidence)
    std = float(x.std(ddof=1))
    half = t_quantile(confidence, n - 1) * std / math.sqrt(n)
    return dict(n=n, mean=mean, std=std, ci_low=mean - half, ci_high=mean + half, ci_halfwidth=half,
                confidence=confidence)


def half_rates(rewards: Sequence[float]) -> Dict[str, float]:
    """Reward per step in the first and second half of one episode.

    An agent that remembers where the objects are collects them faster late in the episode, so a
    second-half rate above the first-half one is the paper's sign that memory is used. With an odd
    length the middle step goes to the second half.
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.size < 2:
        raise ValueError(f"an episode needs at least 2 steps to split in halves, got {r.size}")
    mid = r.size // 2
    return dict(first=float(r[:mid].mean()), second=float(r[mid:].mean()))


def half_split_summary(episodes: Sequence[Sequence[float]], confidence: float = 0.95) -> Dict[str, float]:
    """Mean first- and second-half reward rates over episodes, second/first (NaN if first is 0), and
    the paired change second - first with its t-interval over episodes (`change`, `change_ci_low`,
    `change_ci_high`): an interval above 0 says the rate rises through the episode.

    Episodes of one step (an AMaze goal next to the start) have no halves and are left out; NaN
    rates when no episode has two steps.
    """
    if not len(episodes):
        raise ValueError("half_split_summary needs at least one episode")
    rates = [half_rates(r) for r in episodes if len(r) >= 2]
    if not rates:
        return dict(first=math.nan, second=math.nan, ratio=math.nan, change=math.nan, change_ci_low=math.nan,
                    change_ci_high=math.nan)
    first = float(np.mean([x["first"] for x in rates]))
    second = float(np.mean([x["second"] for x in rates]))
    change = summarize_returns([x["second"] - x["first"] for x in rates], confidence)
    return dict(first=first, second=second, ratio=second / first if first > 0 else math.nan,
                change=change["mean"], change_ci_low=change["ci_low"], change_ci_high=change["ci_high"])


REWARD_WINDOWS = 10  # the report's windows of episode time: reward per step in each tenth


def window_rates(rewards: Sequence[float], windows: int = REWARD_WINDOWS) -> np.ndarray:
    """Reward per step in `windows` equal windows of one episode's time, shape (windows,).

    Step t covers the time [t, t + 1) of an episode of T steps, window w the time [w T / n, (w + 1) T / n);
    a step that straddles a window boundary counts in each window by the share of it that lies there,
    so every window of any episode (even one shorter than `windows` steps) has a rate, and with T a
    multiple of `windows` window w is simply the mean reward of steps w T / n ... (w + 1) T / n - 1.
    Rising rates are what an agent that remembers the maze shows: it finds targets faster later on.
    """
    r = np.asarray(rewards, dtype=np.float64)
    if r.ndim != 1 or r.size < 1:
        raise ValueError(f"window_rates needs the rewards of an episode of at least one step, got shape {r.shape}")
    if windows < 1:
        raise ValueError(f"windows={windows}; pass at least 1")
    length = r.size
    cumulative = np.concatenate([[0.0], np.cumsum(r)])  # reward collected by time t, linear within a step
    edges = np.linspace(0.0, length, windows + 1)
    collected = np.interp(edges, np.arange(length + 1), cumulative)
    return np.diff(collected) / (length / windows)


def window_summary(episodes: Sequence[Sequence[float]], windows: int = REWARD_WINDOWS,
                   confidence: float = 0.95) -> Dict[str, object]:
    """Per window (lists of `windows` floats): the mean reward rate over episodes, its sample std and
    t-interval (summarize_returns per window); `start`/`end`: each window's span as a fraction of the episode."""
    if not len(episodes):
        raise ValueError("window_summary needs at least one episode")
    rates = np.stack([window_rates(r, windows) for r in episodes])  # (episodes, windows)
    per_window = [summarize_returns(rates[:, w], confidence) for w in range(windows)]
    out: Dict[str, object] = dict(windows=windows, n=len(episodes), confidence=confidence,
                                  start=[w / windows for w in range(windows)],
                                  end=[(w + 1) / windows for w in range(windows)])
    for key in ("mean", "std", "ci_low", "ci_high"):
        out[key] = [float(s[key]) for s in per_window]
    return out
