"""Shared test setup: cap threads on the 2-core CI machine."""
import os

import torch

os.environ.setdefault('OMP_NUM_THREADS', '2')
torch.set_num_threads(2)
