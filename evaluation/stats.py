"""Episode statistics for evaluation reports: pure functions of returns and per-step rewards."""
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


def half_split_summary(episodes: Sequence[Sequence[float]]) -> Dict[str, float]:
    """Mean first- and second-half reward rates over episodes, and second/first (NaN if first is 0)."""
    if not episodes:
        raise ValueError("half_split_summary needs at least one episode")
    rates = [half_rates(r) for r in episodes]
    first = float(np.mean([x["first"] for x in rates]))
    second = float(np.mean([x["second"] for x in rates]))
    return dict(first=first, second=second, ratio=second / first if first > 0 else math.nan)
