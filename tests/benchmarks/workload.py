"""Shared by the benchmarks: a generated workload and peak-memory reading."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BATCH = 1000
KINDS = ("statement", "verdict", "detention", "publication", "other")


PEOPLE = [f"person-{i}" for i in range(500)]


def catalogue() -> list[dict[str, Any]]:
    """The source, a law and 500 people that the generated facts name."""
    return [
        {"type": "source", "id": "src", "title": "Generated", "publisher": "Bench",
         "url": "https://example.org/", "published": "2024-06", "language": "en"},
        {"type": "entity", "id": "code", "kind": "law", "name": "Code",
         "articles": [{"number": "180", "title": "Separatist activity"}]},
        *({"type": "entity", "id": p, "kind": "person", "name": p} for p in PEOPLE),
    ]  # fmt: skip


def fact(rng: random.Random, i: int, fact_id: str) -> dict[str, Any]:
    """A fact: mostly statements and verdicts, every 1,000th a law amendment."""
    kind = rng.choice(KINDS)
    year = rng.randint(1991, 2024)
    record: dict[str, Any] = {
        "type": "fact", "id": fact_id, "kind": kind,
        "when": rng.choice([f"{year}", f"{year}-{rng.randint(1, 12):02d}",
                            f"{year}-2{rng.randint(1, 4)}", f"{year}~"]),
        "summary": f"Generated fact {fact_id} about {rng.choice(PEOPLE)}.",
        "participants": [{"entity": rng.choice(PEOPLE), "role": "subject"}],
        "sources": [{"source": "src", "locator": f"para:{rng.randint(1, 60)}"}],
    }  # fmt: skip
    if i % 1000 == 999:
        record["kind"] = "law_amendment"
        record["details"] = {
            "type": "law_amendment", "law": "code", "articles": ["code:180"],
            "penalties_before": [{"conduct": "calls", "max_term_months": 60}],
            "penalties_after": [{"conduct": "calls", "article": "code:180",
                                 "max_term_months": rng.randint(60, 180)}],
        }  # fmt: skip
    elif kind == "verdict":
        record["participants"] = [{"entity": rng.choice(PEOPLE), "role": "defendant"}]
        record["details"] = {
            "type": "verdict", "charges": ["code:180"],
            "sentences": [{"type": "prison", "term_months": rng.randint(12, 120)}],
        }  # fmt: skip
    return record


def write_catalogue(path: Path) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in catalogue()))


def write_facts(path: Path, ids: Sequence[str], seed: int) -> None:
    """One fact per id, in that order."""
    rng = random.Random(seed)
    with path.open("w") as out:
        for i, fact_id in enumerate(ids):
            out.write(json.dumps(fact(rng, i, fact_id)) + "\n")


def generate(path: Path, facts: int, seed: int = 1) -> None:
    """A bundle-like JSONL file: the catalogue, then N facts."""
    rng = random.Random(seed)
    with path.open("w") as out:
        for record in catalogue():
            out.write(json.dumps(record) + "\n")
        for i in range(facts):
            out.write(json.dumps(fact(rng, i, f"fact-{i}")) + "\n")


def signed_store(location: str) -> Any:
    """A new store at `location` that signs as `init` leaves it: its key, a
    first admin "bench" with a key of their own, and writes signed by it."""
    import tempfile

    from khronika.store import checkpoint as cp
    from khronika.store import signing
    from khronika.store.app import Chronicle

    app = Chronicle(location, create=True)
    keys = Path(tempfile.mkdtemp(prefix="khronika-bench-keys-"))
    cp.generate_key(keys / "store.key", app.origin)
    signing.new_key("bench", keys / "bench.key")
    store, admin = (
        cp.load_signer(keys / "store.key"),
        cp.load_signer(keys / "bench.key"),
    )
    app.begin_signing(store, "bench", cp.load_verifier(keys / "bench.pub"))
    app.hand = signing.Hand("bench", admin)
    return app


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class PhaseError(RuntimeError):
    """A benchmark phase (a subprocess) failed; carries its stderr."""


def run_phase(script: str, *args: str) -> dict[str, Any]:
    """Run `script` with `args` in a fresh process; its last stdout line is JSON."""
    out = subprocess.run(
        [sys.executable, script, *args], capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise PhaseError(
            f"phase {' '.join(args[:2])} exited with {out.returncode}:\n"
            + out.stderr.strip()[-4000:]
        )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
