"""`make bench`: throughput figures on this machine (JSON lines, then a table).

- simulation: clips per second for each preset (one process; generation runs two);
- training: steps per second of the default training config (fp32 and bf16).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from .config import SimConfig, SimoneConfig, load_yaml

REPO = Path(__file__).resolve().parents[1]


def bench_sim(preset: str, clips: int) -> dict:
    from .data.sim import SceneSimulator
    cfg = SimConfig.preset(preset)
    with SceneSimulator(cfg) as sim:
        sim.clip(0)
        start = time.perf_counter()
        for seed in range(1, clips + 1):
            sim.clip(seed)
        elapsed = time.perf_counter() - start
    per_s = clips / elapsed
    return {'bench': 'sim', 'preset': preset, 'clips_per_s_1proc': round(per_s, 2),
            'est_2000_clips_2proc_s': round(2000 / (2 * per_s), 1)}


def bench_train(amp: bool, steps: int) -> dict:
    from .model import Simone
    raw = load_yaml(REPO / 'config' / 'train_small.yaml')
    cfg = SimoneConfig.from_dict(raw['model'])
    batch = raw['train']['batch_size']
    torch.manual_seed(0)
    model = Simone(cfg)
    optim = torch.optim.Adam(model.parameters(), lr=1e-4)
    video = torch.rand(batch, cfg.frames, cfg.channels, cfg.height, cfg.width)
    times = []
    for _ in range(steps + 1):
        start = time.perf_counter()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
            loss = model(video)['loss']
        optim.zero_grad()
        loss.backward()
        optim.step()
        times.append(time.perf_counter() - start)
    median = sorted(times[1:])[len(times[1:]) // 2]
    return {'bench': 'train_step', 'amp': 'bf16' if amp else 'fp32', 'batch': batch,
            'median_s': round(median, 4), 'clips_per_s': round(batch / median, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='video-object-bench', description=__doc__.splitlines()[0])
    parser.add_argument('--clips', type=int, default=20, help='clips per simulation preset')
    parser.add_argument('--steps', type=int, default=5, help='timed training steps')
    parser.add_argument('--threads', type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = [bench_sim(p, args.clips) for p in SimConfig.PRESETS]
    results += [bench_train(False, args.steps), bench_train(True, args.steps)]
    for r in results:
        print(json.dumps(r))
    print(f'\n{"benchmark":<28} {"figure":>12}  ratio')
    for r in results:
        if r['bench'] == 'sim':
            print(f'{"sim " + r["preset"]:<28} {r["clips_per_s_1proc"]:>8.1f} c/s  2000 clips in ~'
                  f'{r["est_2000_clips_2proc_s"]:.0f} s with 2 procs ({r["est_2000_clips_2proc_s"] / 300:.2f} of the '
                  '5-minute target)')
    fp32, bf16 = results[-2], results[-1]
    for r in (fp32, bf16):
        print(f'{"train step " + r["amp"]:<28} {r["median_s"]:>8.3f} s    {r["clips_per_s"]:.0f} clips/s')
    print(f'{"bf16 speed-up":<28} {fp32["median_s"] / bf16["median_s"]:>8.2f} x')
    return 0


if __name__ == '__main__':
    sys.exit(main())
