"""Run every benchmark module: ``python -m bench [NAME...]`` (e.g. ``python -m bench search``)."""

from __future__ import annotations

import importlib
import logging
import os
import sys
import time
import traceback
from pathlib import Path


def main(argv: list[str]) -> int:
    # moto's embedded web server logs every request; benchmarks print their own lines.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # The core's Powertools loggers take their level when the benchmark modules import
    # them, before the local stack's quiet mode: without this the storm prints every
    # worker's INFO lines among the figures.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
    wanted = {a.removeprefix("bench_").removesuffix(".py") for a in argv}
    failed = 0
    for path in sorted(Path(__file__).resolve().parent.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if wanted and name not in wanted:
            continue
        print(f"== {path.stem}", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{path.stem}")
            run = getattr(module, "run", None)
            if run is None:
                print("   (no run())")
                continue
            for line in run():
                print(f"   {line}", flush=True)
        except Exception:
            failed += 1
            traceback.print_exc()
        print(f"   ({time.perf_counter() - started:.1f} s)\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
