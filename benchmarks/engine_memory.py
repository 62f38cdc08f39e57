"""Memory of the local training engine, stage by stage: the resident set sampled every half
second while `benchmarks/scale.py`'s local run (read Parquet, split, evaluate, fit, artifact)
trains on demo data, with each stage's peak and seconds.

    .venv/bin/python benchmarks/engine_memory.py                                   # 100k x 5k
    .venv/bin/python benchmarks/engine_memory.py --accounts 300000 --products 10000
    .venv/bin/python benchmarks/engine_memory.py --accounts 3000 --products 400    # quick check

The demo data and its Parquet copy are generated once under --data (as `scale.py --engines`
does) by a child process, so the peak (VmHWM) is the training's own. Parameters: training/
params.json's blend, no tuning, no current model.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale  # benchmarks/scale.py: demo_lake, run_engine


def status_gb(field: str) -> float:
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith(field))
    return int(line.split()[1]) / 1024 / 1024


class Sampler:
    """RSS every `every` seconds, and the stages' start and end times (crossgraph.model.train.timed
    wrapped: run_engine times the Parquet read with it, train the other stages)."""

    def __init__(self, every: float = 0.5) -> None:
        self.started = time.monotonic()
        self.samples: list[tuple[float, float]] = []
        self.stages: list[tuple[str, float, float]] = []
        self.every = every
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            self.samples.append((time.monotonic() - self.started, status_gb("VmRSS")))
            time.sleep(self.every)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        begin = time.monotonic() - self.started
        try:
            yield
        finally:
            self.stages.append((name, begin, time.monotonic() - self.started))

    def peak(self, begin: float, end: float) -> float:
        return max((rss for at, rss in self.samples if begin <= at <= end + self.every), default=0.0)


def child(args: argparse.Namespace) -> None:
    import crossgraph.model.train as train

    demo, lake = scale.demo_lake(args.data, args.accounts, args.products)
    sampler = Sampler()
    timed = train.timed

    @contextlib.contextmanager
    def staged(timings: dict[str, float], stage: str) -> Iterator[None]:
        with sampler.stage(stage), timed(timings, stage):
            yield

    train.timed = staged  # type: ignore[assignment]  # run_engine and train time their stages with it
    run = scale.run_engine("local", demo, lake, None, None)
    rows = [
        {"stage": name, "seconds": round(end - begin, 1), "peak_gb": round(sampler.peak(begin, end), 2)}
        for name, begin, end in sampler.stages
    ]
    print(
        {
            "rows": rows,
            "peak_gb": round(status_gb("VmHWM"), 2),
            "ndcg": run["ndcg@10"],
            "lines": run["train_lines"],
            "pairs": run["pairs"],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--data", type=Path, default=Path("data/scale"), help="demo data and Parquet, kept")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    console = Console() if sys.stdout.isatty() else Console(width=120)
    scale.demo_lake(args.data, args.accounts, args.products)  # here, so the child's peak is training's
    options = ["--accounts", str(args.accounts), "--products", str(args.products), "--data", str(args.data)]
    out = subprocess.run([sys.executable, __file__, "--child", *options], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"the run failed:\n{out.stderr}")
    import ast

    result = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    table = Table(
        title=f"local engine, {args.accounts:,} x {args.products:,} demo data: {result['lines']:,} train "
        f"lines, {result['pairs']:,} pairs, NDCG@10 {result['ndcg']}, peak {result['peak_gb']} GB"
    )
    for column in ("stage", "seconds", "RSS peak GB"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for row in result["rows"]:
        table.add_row(row["stage"], f"{row['seconds']:,.1f}", f"{row['peak_gb']:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
