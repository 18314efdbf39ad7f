"""Export rate against sqlite3's own dump of the same rows, and its memory.

Opt-in. As a benchmark:  pytest tests/benchmarks --benchmarks
As a report:             python tests/benchmarks/test_export.py --facts 100000

  build     the views benchmark's store (test_views.build): N generated facts,
            5% corrected and 1% retracted later; the views caught up
  bundle    `khronika export DIR --format bundle`, in a fresh process: the
            fact documents as they stand, in slug order, and the rest
  sqlite3   the sqlite3 shell writing the same fact documents from the same
            view rows (`dump_docs`); tests/cli/test_release.py checks that
            its output equals the bundle's facts, line for line. The two run
            in turns after a warm-up dump, twice each; the best of each counts
  full      `khronika export DIR --events`: bundle, CSV tables and the whole
            log, for the rate and peak memory of the complete release
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from workload import peak_rss_mib, run_phase  # noqa: E402

OPEN = "9999-12-31T23:59:59.999999Z"
DOCS = f"SELECT doc FROM view_facts WHERE recorded_to = '{OPEN}' ORDER BY fact"


def dump_docs(store: Path, out: Path) -> None:
    """The baseline: the sqlite3 shell writing every current fact document."""
    sqlite3 = shutil.which("sqlite3")
    if sqlite3 is None:
        raise RuntimeError("no sqlite3 shell here: apt-get install sqlite3")
    with out.open("wb") as f:
        subprocess.run([sqlite3, "-readonly", str(store), DOCS], stdout=f, check=True)


def phase_export(store: Path, out: Path, *args: str) -> dict[str, Any]:
    from khronika.cli.main import cli

    start_rss = peak_rss_mib()
    started = time.perf_counter()
    cli.main(["--store", str(store), "export", str(out), *args],
             standalone_mode=False)  # fmt: skip
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rss_before": start_rss, "rss_peak": peak_rss_mib()}


def measure(workdir: Path, facts: int, store: Path | None = None) -> dict[str, Any]:
    """On `store` (made by test_views.build with `facts` facts), or a new one."""
    from test_views import build

    from khronika.projections.views import Views
    from khronika.store.app import Chronicle
    from khronika.store.attest import ensure_key

    store = store or build(workdir, facts)
    app = Chronicle(str(store))
    ensure_key(app)  # a release is signed
    Views(str(store)).catch_up(app.read_after)
    script = str(Path(__file__))
    bundle, dump = workdir / "bundle", workdir / "dump.jsonl"
    dump_docs(store, dump)  # warms the page cache for both
    exports, dumps = [], []
    for _ in range(2):  # in turns; the best of each counts
        shutil.rmtree(bundle, ignore_errors=True)
        exports.append(run_phase(script, "export", str(store), str(bundle),
                                 "--format", "bundle"))  # fmt: skip
        started = time.perf_counter()
        dump_docs(store, dump)
        dumps.append(time.perf_counter() - started)
    results: dict[str, Any] = {
        "facts": facts,
        "bundle": min(exports, key=lambda r: float(r["seconds"])),
        "sqlite3": {"seconds": min(dumps)},
        "full": run_phase(
            script, "export", str(store), str(workdir / "full"), "--events"
        ),  # fmt: skip
    }
    results["full"]["bytes"] = sum(
        p.stat().st_size for p in (workdir / "full").rglob("*") if p.is_file()
    )
    bundle, dump = results["bundle"], results["sqlite3"]
    results["bundle_per_s"] = facts / bundle["seconds"]
    results["sqlite3_per_s"] = facts / dump["seconds"]
    results["full_per_s"] = facts / results["full"]["seconds"]
    return results


def bundle_docs(release: Path) -> list[bytes]:
    """The fact documents of a release's facts.jsonl, without its retractions."""
    lines = (release / "facts.jsonl").read_bytes().splitlines()
    return [line for line in lines if not line.startswith(b'{"type":"retraction"')]


@pytest.mark.slow
def test_export_rate_against_sqlite3(tmp_path: Path) -> None:
    results = measure(tmp_path, 5_000)
    print(json.dumps(results, indent=2))
    dumped = (tmp_path / "dump.jsonl").read_bytes().splitlines()
    assert bundle_docs(tmp_path / "bundle") == dumped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--store", type=Path, help="a store test_views.build made")
    args, rest = parser.parse_known_args()
    if rest and rest[0] == "export":
        print(json.dumps(phase_export(Path(rest[1]), Path(rest[2]), *rest[3:])))
        return
    with tempfile.TemporaryDirectory() as tmp:
        results = measure(Path(tmp), args.facts, args.store)
    print(json.dumps(results, indent=2))
    print(f"bundle {results['bundle_per_s']:,.0f} facts/s, sqlite3 dump "
          f"{results['sqlite3_per_s']:,.0f} facts/s: "
          f"{results['bundle_per_s'] / results['sqlite3_per_s']:.0%}; full release "
          f"{results['full_per_s']:,.0f} facts/s, peak "
          f"{results['full']['rss_peak']:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
