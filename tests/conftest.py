import os
import sys

# Tests import the repo's packages from a plain checkout too (make test installs them editable).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("WANDB_MODE", "offline")
# Torch's CPU thread pools and several env processes fight over CI's 2 cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
