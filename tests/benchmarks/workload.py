"""Shared by the benchmarks: a generated workload and peak-memory reading."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

BATCH = 1000
KINDS = ("statement", "verdict", "detention", "publication", "other")


def generate(path: Path, facts: int, seed: int = 1) -> None:
    """A bundle-like JSONL file: a source, a law, 500 people, N facts."""
    rng = random.Random(seed)
    people = [f"person-{i}" for i in range(500)]
    with path.open("w") as out:
        out.write(
            json.dumps(
                {
                    "type": "source",
                    "id": "src",
                    "title": "Generated",
                    "publisher": "Bench",
                    "url": "https://example.org/",
                    "published": "2024-06",
                    "language": "en",
                }
            )
            + "\n"
        )
        out.write(
            json.dumps(
                {
                    "type": "entity",
                    "id": "code",
                    "kind": "law",
                    "name": "Code",
                    "articles": [{"number": "180", "title": "Separatist activity"}],
                }
            )
            + "\n"
        )
        for slug in people:
            out.write(
                json.dumps(
                    {"type": "entity", "id": slug, "kind": "person", "name": slug}
                )
                + "\n"
            )
        for i in range(facts):
            kind = rng.choice(KINDS)
            year = rng.randint(1991, 2024)
            fact: dict[str, Any] = {
                "type": "fact",
                "id": f"fact-{i}",
                "kind": kind,
                "when": rng.choice(
                    [
                        f"{year}",
                        f"{year}-{rng.randint(1, 12):02d}",
                        f"{year}-2{rng.randint(1, 4)}",
                        f"{year}~",
                    ]
                ),
                "summary": f"Generated fact number {i} about {rng.choice(people)}.",
                "participants": [{"entity": rng.choice(people), "role": "subject"}],
                "sources": [{"source": "src", "locator": f"para:{rng.randint(1, 60)}"}],
            }
            if i % 1000 == 999:
                fact["kind"] = "law_amendment"
                fact["details"] = {
                    "type": "law_amendment", "law": "code", "articles": ["code:180"],
                    "penalties_before": [{"conduct": "calls", "max_term_months": 60}],
                    "penalties_after": [
                        {"conduct": "calls", "article": "code:180",
                         "max_term_months": rng.randint(60, 180)}
                    ],
                }  # fmt: skip
            elif kind == "verdict":
                fact["participants"] = [
                    {"entity": rng.choice(people), "role": "defendant"}
                ]
                fact["details"] = {
                    "type": "verdict",
                    "charges": ["code:180"],
                    "sentences": [
                        {"type": "prison", "term_months": rng.randint(12, 120)}
                    ],
                }
            out.write(json.dumps(fact) + "\n")


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
