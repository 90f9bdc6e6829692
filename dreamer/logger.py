"""Scalars to tensorboard (in the logdir), <logdir>/metrics.jsonl and, optionally, offline wandb.

Names follow the Sample Factory runs where they mean the same: reward/reward (episode return),
len/len (episode length), perf/_fps (env steps per second); the x axis is env steps.
"""
import json
import os
import uuid
from collections import defaultdict
from typing import Dict, Optional

import numpy as np


def configure_wandb_env() -> None:
    """Wandb never needs the network or a key: offline unless the user configured one."""
    if not os.environ.get("WANDB_API_KEY"):
        os.environ.setdefault("WANDB_MODE", "offline")


class Logger:
    def __init__(self, logdir: str, config: dict, use_wandb: bool = False):
        from torch.utils.tensorboard import SummaryWriter

        self.logdir = logdir
        self.writer = SummaryWriter(logdir)
        self.jsonl = open(os.path.join(logdir, "metrics.jsonl"), "a")
        self.values: Dict[str, list] = defaultdict(list)
        self.wandb = None
        if use_wandb:
            configure_wandb_env()
            import wandb

            id_path = os.path.join(logdir, "wandb_id.txt")
            run_id = open(id_path).read().strip() if os.path.exists(id_path) else uuid.uuid4().hex[:8]
            with open(id_path, "w") as f:
                f.write(run_id)
            self.wandb = wandb.init(project="sf-maze-dreamer", dir=logdir, config=config, id=run_id, resume="allow",
                                    name=os.path.basename(os.path.abspath(logdir)))

    def add(self, metrics: Dict[str, float]) -> None:
        for key, value in metrics.items():
            self.values[key].append(float(value))

    def write(self, env_steps: int, extra: Optional[Dict[str, float]] = None) -> Dict[str, float]:
        """Means of everything added since the last write (plus `extra` as is), at x = env_steps."""
        scalars = {key: float(np.mean(values)) for key, values in self.values.items() if values}
        scalars.update(extra or {})
        for key, values in self.values.items():
            if key == "reward/reward" and values:  # min/max of episode returns, as Sample Factory logs them
                scalars["reward/reward_min"], scalars["reward/reward_max"] = min(values), max(values)
        for key, value in scalars.items():
            self.writer.add_scalar(key, value, env_steps)
        self.writer.flush()
        self.jsonl.write(json.dumps({"env_steps": env_steps, **scalars}) + "\n")
        self.jsonl.flush()
        if self.wandb is not None:
            self.wandb.log(scalars, step=env_steps)
        self.values.clear()
        return scalars

    def close(self) -> None:
        self.writer.close()
        self.jsonl.close()
        if self.wandb is not None:
            self.wandb.finish()
