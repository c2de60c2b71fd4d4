"""Run every benchmark and gather their reports into var/bench/report.md.

`make bench` runs the sizes the issues name (hours on a 2-core machine);
`make bench BENCH_SCALE=quick` runs small sizes to check the harness and see
the ratios. Each benchmark also runs alone: `python -m benchmarks.<name> --help`.
"""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "var" / "bench"

# (module, arguments at "quick" scale); "full" uses each module's defaults,
# which are the sizes stated in the issues.
BENCHMARKS = [
    ("sweep", ["--open", "100000", "--small", "10000", "--throughput", "5000", "--repeat", "3"]),
    ("crm_search", ["--customers", "50000", "--samples", "100"]),
    ("timeline", ["--rows", "200000", "--samples", "100"]),
    (
        "sync",
        ["--customers", "5000", "--interactions", "50000", "--batches", "3", "--seconds", "4"],
    ),
    ("board", ["--followups", "20000", "--interactions", "100000", "--samples", "10"]),
    ("csv_import", ["--rows", "10000", "--export", "50000"]),
    ("webhooks", ["--due", "2000", "--repeat", "2"]),
    ("lists", ["--interactions", "1000000", "--samples", "10", "--rounds", "2"]),
]


def main() -> int:
    scale = os.environ.get("BENCH_SCALE", "full")
    only = set(sys.argv[1:])
    REPORTS.mkdir(parents=True, exist_ok=True)
    sections, failures = [], []
    for name, quick_args in BENCHMARKS:
        if only and name not in only:
            continue
        args = quick_args if scale == "quick" else []
        print(f"== benchmarks.{name} {' '.join(args)}", flush=True)
        result = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args], cwd=ROOT)
        report = REPORTS / f"{name}.md"
        if result.returncode != 0:
            failures.append(name)
            sections.append(f"## {name}\n\nFAILED with exit code {result.returncode}.\n")
        elif report.exists():
            sections.append(report.read_text())
        else:
            sections.append(f"## {name}\n\n(no report written)\n")
    stamp = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()
    header = (
        f"# Rapport benchmarks\n\nRun {stamp}, scale `{scale}`, load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores.\n\n"
    )
    (REPORTS / "report.md").write_text(header + "\n\n".join(sections))
    print(f"report: {REPORTS / 'report.md'}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
