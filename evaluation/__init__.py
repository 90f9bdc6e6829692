"""Trainer-free evaluation: the paper's numbers, statistics, reports, curves, videos, run folders.

Every trainer (sf_maze, dreamer), probing and the launcher import it; it imports no trainer, so
scoring, plotting and reading a run never need Sample Factory installed or started.
"""
