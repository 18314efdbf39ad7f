"""`export` and `verify-release`: a release imports back to the same record,
its tables drop nothing, and any change to it is caught."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from khronika.projections.release import TABLES
from khronika.store.app import Chronicle
from khronika.store.attest import ensure_key

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from test_export import bundle_docs, dump_docs  # noqa: E402
from test_views import build  # noqa: E402

Run = Callable[..., Result]
SOURCE = "worldcrunch-kz-separatism"
# record time, and a version's own details: when, by whom, which one, why
RECORD_FIELDS = (
    "known_at", "recorded_at", "recorded_from", "recorded_by", "version", "reason",
)  # fmt: skip
README = (Path(__file__).parents[2] / "README.md").read_text("utf-8")


def ok(run: Run, *args: str, **kwargs: Any) -> Result:
    result = run(*args, **kwargs)
    assert result.exit_code == 0, result.output
    return result


def data(run: Run, *args: str) -> Any:
    return json.loads(ok(run, *args, "--format", "json").stdout)


def without_record_fields(answer: Any) -> Any:
    """An answer with the record's own details (when, by whom, which
    version) left out: a release replays the record, not its history."""
    if isinstance(answer, dict):
        return {
            k: without_record_fields(v)
            for k, v in answer.items()
            if k not in RECORD_FIELDS
        }
    if isinstance(answer, list):
        return [without_record_fields(v) for v in answer]
    return answer


def answers(run: Run, *point: str) -> Any:
    """What a reader sees: timeline, entities, sources, a person, a law, stats."""
    return without_record_fields({
        "timeline": data(run, "timeline", *point),
        "entities": data(run, "entity", "list", *point),
        "sources": data(run, "source", "list", *point),
        "person": data(run, "person", "viktor-kazimirchuk", "--as-of", "2024",
                       *point),
        "law": data(run, "law", "kz-criminal-code-2014", "--as-of", "2024", *point),
        "stats": data(run, "stats", "--by", "year", "--as-of", "2024", *point),
    })  # fmt: skip


def on(run: Run, store: str) -> Run:
    """The CLI on another store."""
    return lambda *args, **kwargs: run("--store", store, *args, **kwargs)


def fresh(run: Run, path: Path) -> str:
    """A new empty store at `path`, with a signing key of its own."""
    shared = os.environ["KHRONIKA_KEY"]
    os.environ["KHRONIKA_KEY"] = f"{path}.key"
    try:
        ok(run, "--store", str(path), "init")
    finally:
        os.environ["KHRONIKA_KEY"] = shared
    return str(path)


def edit(run: Run, tmp_path: Path) -> None:
    """Corrections, a retraction, a merge, an alias, a rename, a corrected
    source and a second source with its archived copy."""
    copy = tmp_path / "notes.txt"
    copy.write_text("A first paragraph.\n\nThe court met on a Tuesday.\n")
    ok(run, "source", "add", "court-notes", "--title", "Court notes",
       "--publisher", "A monitor", "--url", "https://example.org/notes",
       "--published", "2024-02", "--file", str(copy))  # fmt: skip
    ok(run, "correct", "serebryakova-verdict-2023", "--set", "when=2023-05-31",
       "--reason", "the notes", "--source", "court-notes@para:2",
       "--quote", "The court met on a Tuesday.")  # fmt: skip
    ok(run, "retract", "instagram-lenin-monument-comment", "--reason", "doubtful",
       "--source", f"{SOURCE}@para:35")  # fmt: skip
    ok(run, "entity", "add", "person", "t-serebryakova", "--name", "T. S.")
    ok(run, "entity", "merge", "t-serebryakova", "tatyana-serebryakova",
       "--reason", "the same woman")  # fmt: skip
    ok(run, "entity", "alias", "viktor-kazimirchuk", "V. Kazimirchuk")
    ok(run, "entity", "rename", "viktor-antoshko", "Viktor Antoshko (ataman)")
    ok(run, "source", "correct", SOURCE, "--set", "published=2024-06-13",
       "--reason", "the page's date")  # fmt: skip


def test_demo_release_imports_back_to_the_same_record(
    demo: Run, tmp_path: Path
) -> None:
    ok(demo, "export", "out")
    copy = fresh(demo, tmp_path / "copy.db")
    assert ok(demo, "--store", copy, "import", "out").output == (
        "out: added 2 sources, 64 entities, 50 facts\n"
    )
    assert answers(demo) == answers(on(demo, copy))


def test_a_corrected_record_imports_back_the_same_at_each_record_time(
    demo: Run, tmp_path: Path
) -> None:
    before = data(demo, "log", "-n", "1")[0]["recorded_at"]
    edit(demo, tmp_path)
    ok(demo, "export", "now", "--events")
    ok(demo, "export", "then", "--known-at", before)
    for release, point in (("now", ()), ("then", ("--known-at", before))):
        copy = fresh(demo, tmp_path / f"{release}.db")
        imported = ok(demo, "--store", copy, "import", release).output
        assert answers(demo, *point) == answers(on(demo, copy))
        if release == "now":
            assert "1 merge, 1 retraction" in imported
            again = ok(demo, "--store", copy, "import", release).output
            assert again.startswith(f"{release}: nothing new")
    # the archived copy travelled with the release and is stored again
    shown = data(demo, "--store", str(tmp_path / "now.db"), "source", "show",
                 "court-notes")  # fmt: skip
    assert shown["copy_bytes"] == len((tmp_path / "notes.txt").read_bytes())


def test_as_of_keeps_earlier_facts_and_the_verdicts_they_name(
    demo: Run, tmp_path: Path
) -> None:
    ok(demo, "export", "early", "--as-of", "2006")
    lines = Path("early/facts.jsonl").read_text("utf-8").splitlines()
    facts = [json.loads(line) for line in lines]
    ids = [f["id"] for f in facts]
    assert "kazimirchuk-release" in ids and "serebryakova-verdict-2023" not in ids
    # the release names the verdict, which comes before it
    assert ids.index("rus-organisation-verdict") < ids.index("kazimirchuk-release")
    listed = [f["id"] for f in data(demo, "timeline", "--as-of", "2006")["facts"]]
    assert sorted(ids) == sorted(listed)
    copy = fresh(demo, tmp_path / "early.db")
    ok(demo, "--store", copy, "import", "early")


def test_tables_have_every_item_under_documented_columns(demo: Run) -> None:
    ok(demo, "export", "out", "--format", "csv")
    assert not Path("out/facts.jsonl").exists()
    timeline = data(demo, "timeline")["facts"]
    rows = {table: _csv(f"out/csv/{table}.csv") for table in TABLES}
    for table, columns in TABLES.items():
        assert list(rows[table][0]) == [name for name, _ in columns], table
        for name, _ in columns:  # the README documents every column
            assert f"| {table} | `{name}` |" in README, (table, name)
    assert sorted(r["id"] for r in rows["facts"]) == sorted(f["id"] for f in timeline)
    assert len(rows["participants"]) == sum(len(f["participants"]) for f in timeline)
    assert len(rows["citations"]) == sum(len(f["sources"]) for f in timeline)
    verdicts = [f for f in timeline if f["kind"] == "verdict"]
    assert len(rows["charges"]) == sum(len(f["details"]["charges"]) for f in verdicts)
    assert len(rows["sentences"]) == sum(
        len(f["details"]["sentences"]) for f in verdicts
    )
    spring = next(r for r in rows["facts"] if r["id"] == "serebryakova-verdict-2023")
    assert (spring["outcome"], spring["earliest"], spring["retracted"]) == (
        "convicted", "2023-05-30", "false",
    )  # fmt: skip


def _csv(path: str, encoding: str = "utf-8") -> list[dict[str, str]]:
    with open(path, newline="", encoding=encoding) as f:
        return list(csv.DictReader(f))


def test_verify_release_passes_a_release_and_its_store(demo: Run) -> None:
    ok(demo, "export", "out", "--events")
    result = ok(demo, "verify-release", "out", "--pubkey", _pub(), "--in-store")
    assert "files match the signed MANIFEST" in result.output
    assert "events hash to the checkpoint's root" in result.output
    assert "the store's log begins with the release's" in result.output
    # and a later checkpoint's log begins with it too, by a consistency proof
    ok(demo, "append", "-", input=json.dumps(_fact()))
    ok(demo, "checkpoint", "--out", "later.txt")
    ok(demo, "prove", "--consistency", "out/checkpoint.txt", "later.txt",
       "--out", "proof.json")  # fmt: skip
    proved = ok(demo, "verify-release", "out", "--pubkey", _pub(),
                "--proof", "proof.json", "--checkpoint", "later.txt")  # fmt: skip
    assert "is a prefix of the log of size" in proved.output


def _pub() -> str:
    return str(next(Path().glob("*.pub")))


def _fact() -> dict[str, Any]:
    return {"type": "fact", "id": "a-later-fact", "kind": "other", "when": "2024",
            "summary": "Something later.",
            "sources": [{"source": SOURCE, "locator": "para:1"}]}  # fmt: skip


def _append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def _outside(path: str) -> None:
    """The file or folder moved out of the release, a symlink to it left in
    its place: the bytes are the same, but outside the release."""
    moved = Path("outside") / Path(path).name
    moved.parent.mkdir()
    Path(path).rename(moved)
    os.symlink(moved.resolve(), path)


def _replace(path: str, old: str, new: str) -> None:
    p = Path(path)
    p.write_text(p.read_text("utf-8").replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda: _append("out/facts.jsonl", "\n"), "facts.jsonl: its SHA-256 is not"),
        (lambda: Path("out/csv/facts.csv").unlink(), "csv/facts.csv: listed in"),
        (lambda: Path("out/extra.txt").write_text("x"), "extra.txt: in the release"),
        (lambda: _replace("out/MANIFEST", "as-of -", "as-of 2020"),
         "does not verify: the note was altered"),
        (lambda: _replace("out/events.jsonl", '"version":1', '"version":2'),
         "events.jsonl: its SHA-256"),
        (lambda: Path("out/MANIFEST").unlink(), "MANIFEST: missing"),
        (lambda: os.symlink("/", "out/root"),
         "root: in the release but not in its MANIFEST (a symlink)"),
        (lambda: Path("out/extra").mkdir(),
         "extra: in the release but not in its MANIFEST (a folder)"),
        (lambda: Path("out/csv/more").mkdir(),
         "csv/more: in the release but not in its MANIFEST (a folder)"),
        (lambda: _outside("out/facts.jsonl"),
         "facts.jsonl: listed in the MANIFEST, but a symlink now, not the file"),
        (lambda: _outside("out/csv"),
         "csv: holds files the MANIFEST lists, but a symlink now"),
    ],
)  # fmt: skip
def test_verify_release_names_what_was_changed(
    demo: Run, change: Callable[[], Any], message: str
) -> None:
    ok(demo, "export", "out", "--events")
    change()
    result = demo("verify-release", "out", "--pubkey", _pub())
    assert result.exit_code == 1 and message in result.output, result.output


def test_rewritten_events_with_a_re_signed_manifest_still_fail(
    demo: Run, tmp_path: Path
) -> None:
    """Only the log's own events hash to the checkpoint's root."""
    from khronika.store import checkpoint as cp
    from khronika.store import release as rel

    ok(demo, "export", "out", "--events")
    _replace("out/events.jsonl", "Serebryakova", "Serebryakov")
    signer = cp.load_signer(Path(_pub()).with_suffix(".key"))
    note = Path("out/MANIFEST").read_text("utf-8")
    manifest = rel.read(note, cp.load_verifier(Path(_pub())))
    files = [rel.file_of(Path("out"), Path("out") / f.path) for f in manifest.files]
    forged = rel.Manifest(**{**_fields(manifest), "files": files})
    Path("out/MANIFEST").write_text(rel.sign(forged, signer), encoding="utf-8")
    result = demo("verify-release", "out", "--pubkey", _pub())
    assert result.exit_code == 1
    assert "does not match its commitment" in result.output  # a name, outside the leaf


def _fields(manifest: Any) -> dict[str, Any]:
    return {name: getattr(manifest, name) for name in manifest.__struct_fields__}


def test_export_leaves_nothing_when_it_cannot_finish(demo: Run) -> None:
    Path("full").mkdir()
    Path("full/file").write_text("x")
    busy = demo("export", "full")
    assert busy.exit_code == 2 and "full is not empty" in busy.output
    Path(_pub()).with_suffix(".key").rename("moved.key")
    keyless = demo("export", "out")
    assert keyless.exit_code == 1 and "no signing key" in keyless.output
    assert not Path("out").exists() and not list(Path().glob(".out.*"))


def test_what_a_killed_export_left_is_removed_by_the_next(demo: Run) -> None:
    """SIGKILL runs no `finally`: the scratch folder of an export whose
    process is gone is removed by the next export of that name; one whose
    process still runs is not."""
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()  # its pid now names no process
    left = Path(f".out.export-{gone.pid}")
    left.mkdir()
    (left / "facts.jsonl").write_text("{}\n")
    odd = [Path(".out.export-99999999999999999999"), Path(".out.export-12")]
    odd[0].mkdir()  # no process has such an id
    odd[1].symlink_to(Path.cwd())  # a link is no folder an export made
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    running = Path(f".out.export-{alive.pid}")  # an export still at work
    running.mkdir()
    try:
        result = ok(demo, "export", "out")
    finally:
        alive.kill()
        alive.wait()
    assert f"removed {left.resolve()}, left by an export that was stopped" in (
        result.stderr
    )
    assert not left.exists() and running.is_dir()
    assert all(p.exists() or p.is_symlink() for p in odd)
    assert sorted(p.name for p in Path().glob(".out.*")) == sorted(
        [running.name, *(p.name for p in odd)]
    )
    ok(demo, "verify-release", "out", "--pubkey", _pub())


def test_format_writes_only_those_parts_and_they_verify(demo: Run) -> None:
    result = ok(demo, "export", "out", "--format", "ftm", "--format", "timelinejs")
    assert "facts" not in result.output  # no bundle was read
    assert "ftm.json: 195 items" in result.output
    names = sorted(p.name for p in Path("out").iterdir())
    assert names == ["MANIFEST", "checkpoint.txt", "ftm.json", "timelinejs.json"]
    ok(demo, "verify-release", "out", "--pubkey", _pub())


@pytest.mark.sqlite_only
def test_the_benchmark_baseline_dumps_the_same_facts(tmp_path: Path, run: Run) -> None:
    """sqlite3's dump of the fact documents equals the bundle's facts."""
    store = build(tmp_path, 300)  # with corrections and retractions
    ensure_key(Chronicle(str(store)))
    ok(run, "--store", str(store), "export", "out", "--format", "bundle")
    dump_docs(store, tmp_path / "dump.jsonl")
    dumped = (tmp_path / "dump.jsonl").read_bytes().splitlines()
    assert bundle_docs(Path("out")) == dumped
    assert len(dumped) == 300


def test_a_store_takes_its_own_release_and_a_copy_refuses_a_newer_one(
    demo: Run, tmp_path: Path
) -> None:
    ok(demo, "export", "r0")
    copy = fresh(demo, tmp_path / "copy.db")
    ok(demo, "--store", copy, "import", "r0")
    ok(demo, "entity", "rename", "elena-potopa", "Yelena Potopa")
    ok(demo, "export", "r1")
    # the store holds r1's records as they stand now, and r0's as first written
    assert "nothing new" in ok(demo, "import", "r1").output
    assert "nothing new" in ok(demo, "import", "r0").output
    # a copy made from r0 holds other values: a release is not a correction
    newer = demo("--store", copy, "import", "r1")
    assert newer.exit_code == 1
    assert "entity 'elena-potopa' exists already with other values in name" in (
        newer.output
    )


def test_known_at_is_cut_within_the_log(demo: Run) -> None:
    last = data(demo, "log", "-n", "1")[0]["recorded_at"]
    ok(demo, "export", "later", "--known-at", "2999-01-01")
    assert f"known-at {last}\n" in Path("later/MANIFEST").read_text("utf-8")
    early = demo("export", "early", "--known-at", "2000-01-01")
    assert early.exit_code == 1 and "nothing was recorded by" in early.output
    assert not Path("early").exists()


def test_export_where_no_folder_can_be_made_says_so(demo: Run) -> None:
    Path("afile").write_text("x")
    result = demo("export", "afile/sub")
    assert result.exit_code == 1
    assert "cannot write a release at afile/sub" in result.output


def test_events_jsonl_is_not_imported_as_a_bundle(demo: Run, tmp_path: Path) -> None:
    ok(demo, "export", "out", "--events")
    copy = fresh(demo, tmp_path / "copy.db")
    result = demo("--store", copy, "import", "out/events.jsonl")
    assert result.exit_code == 1 and "is a release's event log" in result.output


def test_a_proof_about_other_checkpoints_is_refused(demo: Run) -> None:
    ok(demo, "checkpoint", "--out", "older.txt")
    ok(demo, "append", "-", input=json.dumps(_fact()))
    ok(demo, "export", "out")
    ok(demo, "prove", "--consistency", "older.txt", "out/checkpoint.txt",
       "--out", "proof.json")  # fmt: skip
    result = demo("verify-release", "out", "--pubkey", _pub(),
                  "--proof", "proof.json", "--checkpoint", "older.txt")  # fmt: skip
    assert result.exit_code == 1
    assert "is not a proof that the release's log" in result.output


def test_an_unlisted_fifo_fails_verification(demo: Run) -> None:
    ok(demo, "export", "out", "--format", "bundle")
    os.mkfifo("out/pipe")
    result = demo("verify-release", "out", "--pubkey", _pub())
    assert result.exit_code == 1 and "pipe: in the release but not" in result.output


def test_a_dry_run_of_a_release_spans_its_batches(demo: Run, tmp_path: Path) -> None:
    ok(demo, "retract", "instagram-lenin-monument-comment", "--reason", "doubt",
       "--source", f"{SOURCE}@para:35")  # fmt: skip
    ok(demo, "export", "out", "--format", "bundle")
    copy = fresh(demo, tmp_path / "copy.db")
    dry = ok(demo, "--store", copy, "import", "out", "--dry-run", "--batch-size", "7")
    assert "would add 2 sources, 64 entities, 50 facts, 1 retraction" in dry.output
    events = [row["event"] for row in data(demo, "--store", copy, "log")]
    assert events == ["MaintainerAdded"]  # its first admin, and nothing imported


def test_tables_flag_a_retracted_facts_rows_and_neutralise_formulas(
    demo: Run,
) -> None:
    gone = "instagram-lenin-monument-comment"
    ok(demo, "retract", gone, "--reason", "doubt", "--source", f"{SOURCE}@para:35")
    formula = {"when": "-0044-03-15", "summary": "=cmd|' /C calc'!A0"}
    ok(demo, "append", "-", input=json.dumps(_fact() | formula))
    ok(demo, "export", "out", "--format", "csv", "--bom")
    for table, columns in TABLES.items():
        raw = Path(f"out/csv/{table}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), table  # so Excel reads UTF-8
        if columns[0][0] != "fact":
            continue
        found = _csv(f"out/csv/{table}.csv", "utf-8-sig")
        assert found and all(
            r["retracted"] == ("true" if r["fact"] == gone else "false") for r in found
        ), table
    citations = _csv("out/csv/citations.csv", "utf-8-sig")
    assert any(r["fact"] == gone and r["retracted"] == "true" for r in citations)
    (later,) = (r for r in _csv("out/csv/facts.csv", "utf-8-sig")
                if r["id"] == "a-later-fact")  # fmt: skip
    assert (later["summary"], later["when"]) == ("'=cmd|' /C calc'!A0", "'-0044-03-15")
    assert later["earliest"] == "'-0044-03-15"
    ok(demo, "verify-release", "out", "--pubkey", _pub())


def test_a_release_gets_ordinary_permissions(demo: Run) -> None:
    """Folders 0755 and files 0644 under the usual umask, as mkdir and open
    make them; not the 0700 of a private scratch folder."""
    old = os.umask(0o022)
    try:
        ok(demo, "export", "out")
    finally:
        os.umask(old)
    folders = [Path("out"), *(p for p in Path("out").rglob("*") if p.is_dir())]
    files = [p for p in Path("out").rglob("*") if p.is_file()]
    assert len(folders) > 1 and files
    assert {oct(p.stat().st_mode & 0o777) for p in folders} == {"0o755"}
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o644"}


def _manifest_a_fifo() -> None:
    Path("out/MANIFEST").unlink()
    os.mkfifo("out/MANIFEST")


def _manifest_a_symlink() -> None:
    Path("out/MANIFEST").rename("MANIFEST")
    os.symlink(Path("MANIFEST").resolve(), "out/MANIFEST")


@pytest.mark.parametrize(
    ("change", "message"),
    [(_manifest_a_fifo, "MANIFEST out/MANIFEST is a FIFO, not a regular file"),
     (_manifest_a_symlink, "MANIFEST out/MANIFEST is a symlink, not a regular file"),
     (lambda: Path("out/MANIFEST").write_bytes(b"\\0" * 100_000_001),
      "MANIFEST out/MANIFEST is larger than 100,000,000 bytes")],
)  # fmt: skip
def test_a_manifest_is_read_only_from_a_regular_file_in_the_release(
    demo: Run, change: Callable[[], Any], message: str
) -> None:
    ok(demo, "export", "out", "--format", "bundle")
    change()
    result = demo("verify-release", "out", "--pubkey", _pub())
    assert result.exit_code == 1 and result.output.startswith(f"Error: {message}")


def test_the_tables_and_format_csv_share_their_conventions(demo: Run) -> None:
    """Booleans, lists and the date's column read as `--format csv` writes
    them, so that a spreadsheet user meets one convention."""
    ok(demo, "entity", "alias", "tatyana-serebryakova", "Tanya S.")
    ok(demo, "export", "out", "--format", "csv")
    facts = _csv("out/csv/facts.csv", "utf-8")
    cli = list(
        csv.DictReader(io.StringIO(ok(demo, "timeline", "--format", "csv").stdout))
    )
    assert "when" in facts[0] and "edtf" not in facts[0] and "when" in cli[0]
    by_id = {r["id"]: r for r in facts}
    assert {r["id"]: r["when"] for r in cli} == {
        slug: by_id[slug]["when"] for slug in (r["id"] for r in cli)
    }
    flags = {r[c] for r in facts for c in ("approximate", "uncertain", "retracted")}
    assert flags == {"true", "false"}
    shown = list(
        csv.DictReader(
            io.StringIO(
                ok(demo, "fact", "serebryakova-verdict-2023", "--format", "csv").stdout
            )
        )
    )
    assert shown[0]["retracted"] in ("true", "false")
    entities = {r["id"]: r for r in _csv("out/csv/entities.csv", "utf-8")}
    listed = {r["id"]: r for r in csv.DictReader(io.StringIO(
        ok(demo, "entity", "list", "--format", "csv").stdout))}  # fmt: skip
    tatyana = entities["tatyana-serebryakova"]["aliases"]
    assert tatyana == listed["tatyana-serebryakova"]["aliases"]
    assert tatyana.endswith("; Tanya S.")
