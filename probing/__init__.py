"""Offline probing of frozen memory representations on Memory Maze (the paper's second benchmark).

    python -m probing.generate --env=memory_9x9 --episodes=30 --out=data/mm9
    python -m probing.train --data=data/mm9 --model=sf:CHECKPOINT.pth --target=walls,objects
    python -m probing.video --data=data/mm9 --model=sf:CHECKPOINT.pth --probe=results.pt --out=probe.mp4

Only `networks` (and lazily `dreamer`) are imported here, never a trainer.
"""
