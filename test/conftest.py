"""Shared test setup: cap threads on the 2-core CI machine (OMP_NUM_THREADS=1 when a training run shares it)."""
import os

import torch

os.environ.setdefault('OMP_NUM_THREADS', '2')
torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
