"""``python -m bench [part ...]``: runs the named parts (all by default), prints one table per
figure and merges every figure into ``bench/results.json`` with the machine it came from.

A part is a function ``run(context: RunContext) -> PartResult`` registered in :data:`PARTS` as
``"module:function"``; modules are imported only when their part runs, so that one part's
imports (moto, the app) do not weigh on another's measurements.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.common import PartResult, RunContext, format_table, machine_info, write_results

# name → (what it measures, "module:function"), in the order `python -m bench` runs them.
# Cold start runs first, while the machine is least warmed by the others.
PARTS: dict[str, tuple[str, str]] = {
    "coldstart": ("cold start of the API vs a bare boto3 GetItem, fresh processes", "bench.coldstart:run"),
    "calls": ("AWS calls per operation and state transitions per dossier, on moto", "bench.calls:run"),
    "cost": ("cost of 1 million dossiers by service, from the measured calls", "bench.cost:run"),
    "scale": ("p50 of browse, track, agency inbox and stats with 1,000 vs 100,000 dossiers (in-process moto)",
              "bench.scale:run"),
    "throughput": ("sustained submissions/s through the local stack vs moto's raw writes, same run",
                   "bench.throughput:run"),
}


def _runner(target: str) -> Callable[[RunContext], PartResult]:
    module_name, function_name = target.split(":")

    def run(context: RunContext) -> PartResult:
        function: Any = getattr(importlib.import_module(module_name), function_name)
        result: PartResult = function(context)
        return result

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("parts", nargs="*", metavar="part", help=f"one or more of: {', '.join(PARTS)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.parts if name not in PARTS]
    if unknown:
        parser.error(f"unknown part {', '.join(unknown)}; known: {', '.join(PARTS)}")
    names = args.parts or list(PARTS)
    context = RunContext({name: _runner(target) for name, (_, target) in PARTS.items()})
    machine = machine_info()
    print(f"motcua benchmarks: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}, "
          f"{machine['date']}, load {machine['load_average_1_5_15']}\n", flush=True)
    start = time.perf_counter()
    for name in names:
        result = context.run(name)
        for table in result.tables:
            print(format_table(table), flush=True)
        print(f"({name}: {context.seconds.get(name, 0.0):.1f} s)\n", flush=True)
    # Only the parts asked for are written: a part measured on demand (calls, for cost) was not
    # printed, so it does not replace that part's last printed figures either.
    write_results({name: {"machine": machine_info(), "seconds": round(context.seconds[name], 2),
                          **context.results[name].data} for name in names})
    print(f"all parts: {time.perf_counter() - start:.1f} s; figures in bench/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
