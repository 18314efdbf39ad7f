"""Writes over HTTP: `khronika serve --writable`, and the CLI with --store URL.

A real server in a subprocess, on a free loopback port, over a store made
with `khronika init`, on SQLite and on PostgreSQL. Each maintainer has their
own configuration folder (KHRONIKA_CONFIG), so their own key. Ann made the
store (its first admin); Bob is registered as a maintainer over HTTP.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner, Result

from khronika.cli.main import cli
from khronika.domain import aggregates as agg
from khronika.domain.documents import FactDoc
from khronika.domain.events import (
    Erased,
    Event,
    FactRecorded,
    MaintainerAdded,
    Redacted,
    SigningKeyRotated,
)
from khronika.domain.ids import (
    SIGNING_KEY,
    SIGNING_KEY_STREAM,
    maintainer_stream,
    redaction_stream,
)
from khronika.store import checkpoint as cp
from khronika.store import signing
from khronika.store.app import Chronicle
from khronika.store.codec import MsgspecMapper, NullTranscoder
from khronika.store.remote import Batch, Stored

SOURCE, PERSON = "src-one", "ann-smith"
_mapper = MsgspecMapper(transcoder=NullTranscoder())


@dataclass
class Served:
    url: str
    store: str
    tmp: Path

    def config(self, who: str) -> Path:
        return self.tmp / who

    def cli(self, who: str, *args: str) -> Result:
        """The CLI in this process, as `who`, against the served chronicle."""
        env = {"KHRONIKA_CONFIG": str(self.config(who)), "KHRONIKA_USER": who}
        return CliRunner().invoke(
            cli, ["--store", self.url, *args], env=env, catch_exceptions=False
        )

    def hand(self, who: str) -> signing.Hand:
        signer = cp.load_signer(self.config(who) / "maintainer.key")
        return signing.Hand(who, signer)

    @property
    def origin(self) -> str:
        """The served chronicle's origin, which every intent names."""
        app = Chronicle(self.store)
        try:
            return app.origin
        finally:
            app.close()

    def seal(self, event: Event, who: str, created: datetime | None = None) -> Stored:
        return stored(signing.seal(event, self.hand(who), self.origin, created))

    def post(self, events: list[Stored]) -> tuple[int, Any]:
        body = msgspec.json.encode(Batch(events=events))
        return request("POST", self.url + "/api/write/events", body)


def request(method: str, url: str, body: bytes | None = None) -> tuple[int, Any]:
    sent = urllib.request.Request(url, data=body, method=method)
    sent.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(sent, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as e:
        with e:
            assert e.headers["Content-Type"] == "application/problem+json"
            return e.code, json.loads(e.read())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def khronika(who: Path, *args: str) -> subprocess.Popen[str]:
    env = os.environ | {"KHRONIKA_CONFIG": str(who), "KHRONIKA_USER": who.name}
    return subprocess.Popen(
        [sys.executable, "-m", "khronika", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def serve(
    store_path: str, tmp_path: Path, run: Callable[..., Result]
) -> Iterator[Callable[..., Served]]:
    """Start `khronika serve` over a store Ann made with `khronika init`."""
    servers: list[subprocess.Popen[str]] = []
    env = {"KHRONIKA_CONFIG": str(tmp_path / "Ann"), "KHRONIKA_USER": "Ann"}
    made = CliRunner().invoke(cli, ["--store", store_path, "init"], env=env)
    assert made.exit_code == 0, made.output

    def start(*flags: str) -> Served:
        port = free_port()
        args = ["--store", store_path, "serve", "--port", str(port), *flags]
        server = khronika(tmp_path / "Ann", *args, "--refresh", "0.2")
        servers.append(server)
        scheme = "https" if "--tls-cert" in flags else "http"
        url = f"{scheme}://127.0.0.1:{port}"
        for _ in range(200):
            try:
                with urllib.request.urlopen(url + "/api/status", timeout=5):
                    return Served(url, store_path, tmp_path)
            except OSError:
                assert server.poll() is None, server.communicate()
                time.sleep(0.05)
        raise AssertionError("the server did not start")

    yield start
    for server in servers:
        server.terminate()
        server.communicate(timeout=20)


@pytest.fixture
def served(serve: Callable[..., Served]) -> Served:
    """A writable chronicle with a source and a person; Bob is a maintainer."""
    served = serve("--writable")
    key = served.cli("Bob", "key", "new", "--name", "Bob")
    assert key.exit_code == 0, key.output
    pub = str(served.config("Bob") / "maintainer.pub")
    for args in (
        ("maintainer", "add", "Bob", "--pubkey", pub),
        ("source", "add", SOURCE, "--title", "T", "--publisher", "P",
         "--url", "https://example.org/a", "--published", "2024-06"),
        ("entity", "add", "person", PERSON, "--name", "Ann Smith"),
    ):  # fmt: skip
        done = served.cli("Ann", *args)
        assert done.exit_code == 0, done.output
    return served


def fact(slug: str, **changes: Any) -> dict[str, Any]:
    return {
        "id": slug, "kind": "statement", "when": "2024-05",
        "summary": f"A statement, {slug}.",
        "participants": [{"entity": PERSON, "role": "speaker"}],
        "sources": [{"source": SOURCE, "locator": "para:1"}],
    } | changes  # fmt: skip


def stored(event: Event) -> Stored:
    return Stored.of(_mapper.to_stored_event(event))


def sealed_fact(
    served: Served, who: str, slug: str, created: datetime | None = None
) -> Stored:
    doc = msgspec.convert(fact(slug), FactDoc)
    event = agg.record_fact(doc, datetime.now(UTC), who)
    return served.seal(event, who, created)


def test_two_maintainers_import_at_once_each_fact_once_all_signed(
    served: Served,
) -> None:
    files = {}
    for who in ("Ann", "Bob"):
        files[who] = served.tmp / f"{who}.jsonl"
        lines = [json.dumps({"type": "fact"} | fact(f"{who.lower()}-fact-{i}"))
                 for i in range(2000)]  # fmt: skip
        files[who].write_text("\n".join(lines) + "\n")
    writers = [
        khronika(served.config(who), "--store", served.url, "import", str(path))
        for who, path in files.items()
    ]
    for writer, path in zip(writers, files.values(), strict=True):
        out, err = writer.communicate(timeout=600)
        assert writer.returncode == 0, err
        assert out == f"{path}: added 2000 facts\n"
    app = Chronicle(served.store)
    slugs = Counter(event.slug for _, event in app.read_events(FactRecorded))
    app.close()
    assert len(slugs) == 4000 and set(slugs.values()) == {1}
    verify = CliRunner().invoke(cli, ["--store", served.store, "verify"])
    assert verify.exit_code == 0, verify.output
    assert "4004 events signed, all valid" in verify.output
    assert "2000  Bob (key" in verify.output
    assert "2003  Ann (key" in verify.output


def refused(
    served: Served, make: Any, events: list[Stored], status: int, reason: str
) -> dict[str, Any]:
    """POST `events`: refused with `status`, naming `reason`; nothing written."""
    before = make.dump(served.store)
    code, problem = served.post(events)
    assert (code, problem["status"]) == (status, status), problem
    assert reason in problem["detail"]
    assert make.dump(served.store) == before
    return dict(problem)


def test_an_unregistered_key_is_refused(served: Served, make: Any) -> None:
    signing.new_key("Eve", served.config("Eve") / "maintainer.key")
    event = sealed_fact(served, "Eve", "eve-fact")
    refused(served, make, [event], 403, "signed by an unknown key Eve+")


def test_a_revoked_key_is_refused(served: Served, make: Any) -> None:
    revoke = served.cli("Ann", "maintainer", "revoke", "Bob", "--reason", "left")
    assert revoke.exit_code == 0, revoke.output
    event = sealed_fact(served, "Bob", "bob-fact")
    refused(served, make, [event], 403, "whose key was revoked at position")


def test_a_maintainer_doing_an_admins_change_is_refused(
    served: Served, make: Any
) -> None:
    carol = signing.new_key("Carol", served.config("Carol") / "maintainer.key")
    key = cp.load_verifier(carol.with_suffix(".pub"))
    event = MaintainerAdded(
        originator_id=maintainer_stream("Carol"), originator_version=1,
        timestamp=datetime.now(UTC), recorded_by="Bob", slug="Carol",
        key=str(key), role="admin",
    )  # fmt: skip
    sealed = served.seal(event, "Bob")
    refused(served, make, [sealed], 403, "is a maintainer; only an admin may")


def test_a_replayed_request_is_already_recorded_and_adds_nothing(
    served: Served, make: Any
) -> None:
    events = [sealed_fact(served, "Bob", "bob-fact")]
    code, first = served.post(events)
    assert (code, first["status"]) == (200, "recorded")
    after = make.dump(served.store)
    code, again = served.post(events)
    assert (code, again["status"]) == (200, "already recorded")
    assert again["events"] == first["events"]
    assert make.dump(served.store) == after


def test_a_body_altered_after_signing_is_refused(served: Served, make: Any) -> None:
    event = sealed_fact(served, "Bob", "bob-fact")
    assert event.state.count(b"para:1") == 1  # in the signed intent
    altered = msgspec.structs.replace(
        event, state=event.state.replace(b"para:1", b"para:2")
    )
    refused(served, make, [altered], 403, "does not verify: altered after signing")


def test_a_creation_time_an_hour_off_is_refused(served: Served, make: Any) -> None:
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    event = sealed_fact(served, "Bob", "bob-fact", created=an_hour_ago)
    refused(served, make, [event], 403, "s from the server's clock (the window is")


def test_a_server_without_writable_takes_no_writes(
    serve: Callable[..., Served], make: Any
) -> None:
    served = serve()
    event = sealed_fact(served, "Ann", "ann-fact")
    before = make.dump(served.store)
    code, problem = served.post([event])
    assert code in (404, 405), problem
    code, _ = request("PUT", served.url + "/api/write/copies/" + "0" * 64, b"x")
    assert code in (404, 405)
    done = served.cli("Ann", "entity", "add", "person", "someone", "--name", "S")
    assert done.exit_code == 1
    assert "was started without `khronika serve --writable`" in done.output
    assert make.dump(served.store) == before


def test_the_server_rechecks_a_fact_as_the_cli_does(served: Served, make: Any) -> None:
    doc = fact("bob-fact", participants=[{"entity": "no-one", "role": "speaker"}])
    (served.tmp / "fact.json").write_text(json.dumps(doc))
    local = CliRunner().invoke(
        cli, ["--store", served.store, "append", str(served.tmp / "fact.json")],
        env={"KHRONIKA_CONFIG": str(served.config("Bob"))},
    )  # fmt: skip
    assert local.exit_code == 1
    event = agg.record_fact(msgspec.convert(doc, FactDoc), datetime.now(UTC), "Bob")
    sealed = served.seal(event, "Bob")
    problem = refused(served, make, [sealed], 422, "no-one")
    assert local.output == f"Error: {problem['detail']}\n"
    assert problem["parameter"] == "participants[0].entity"


def test_an_event_that_is_not_what_its_command_makes_is_refused(
    served: Served, make: Any
) -> None:
    entity = Chronicle(served.store)
    alias = agg.add_alias(
        agg.apply(None, entity.history("entity", PERSON)[0][1]),  # type: ignore[arg-type]
        "A. Smith",
        datetime.now(UTC),
        "Bob",
    )
    entity.close()
    padded = msgspec.structs.replace(alias, alias="  A. Smith  ")  # add_alias strips
    sealed = served.seal(padded, "Bob")
    refused(served, make, [sealed], 422, "whose alias are not what its command makes")


@pytest.mark.parametrize(
    "args",
    [
        ("entity", "add", "person", PERSON, "--name", "Someone Else"),
        ("entity", "merge", PERSON, PERSON, "--reason", "same"),
        ("entity", "alias", PERSON, "Ann Smith"),
        ("retract", "no-such-fact", "--reason", "r", "--source", f"{SOURCE}@para:1"),
        ("source", "correct", SOURCE, "--set", "title=T", "--reason", "same"),
        ("maintainer", "revoke", "Nobody", "--reason", "r"),
    ],
    ids=lambda a: "-".join(a[:2]),
)
def test_the_cli_over_http_fails_as_on_the_store_itself(
    served: Served, args: tuple[str, ...]
) -> None:
    env = {"KHRONIKA_CONFIG": str(served.config("Ann")), "KHRONIKA_USER": "Ann"}
    local = CliRunner().invoke(cli, ["--store", served.store, *args], env=env)
    remote = served.cli("Ann", *args)
    assert (remote.exit_code, remote.output) == (local.exit_code, local.output)
    assert local.exit_code == 1


def test_a_copy_is_stored_only_under_the_hash_of_its_bytes(served: Served) -> None:
    content = b"the archived page"
    wrong = served.url + "/api/write/copies/" + "0" * 64
    code, problem = request("PUT", wrong, content)
    assert (code, problem["parameter"]) == (422, "file")
    assert "SHA-256 is not its name" in problem["detail"]
    right = served.url + "/api/write/copies/" + hashlib.sha256(content).hexdigest()
    assert request("PUT", right, content) == (200, {"stored": True})
    assert request("PUT", right, content) == (200, {"stored": False})


def test_the_openapi_document_lists_writes_only_on_a_writable_server(
    serve: Callable[..., Served],
) -> None:
    writable, reading = serve("--writable"), serve()
    code, document = request("GET", writable.url + "/api/openapi.json")
    assert "post" in document["paths"]["/api/write/events"]
    assert "put" in document["paths"]["/api/write/copies/{sha256}"]
    assert "Batch" in document["components"]["schemas"]
    code, document = request("GET", reading.url + "/api/openapi.json")
    assert not [p for p in document["paths"] if p.startswith("/api/write")]


def test_a_bundle_with_a_copy_a_merge_and_a_retraction_imports_over_http(
    served: Served,
) -> None:
    bundle = served.tmp / "bundle"
    (bundle / "copies").mkdir(parents=True)
    copy = b"The court sentenced Bob Jones.\n"
    sha256 = hashlib.sha256(copy).hexdigest()
    (bundle / "copies" / sha256).write_bytes(copy)
    source = {"type": "source", "id": "court-page", "title": "The court's page",
              "publisher": "Court", "url": "https://example.org/c",
              "published": "2024", "language": "en", "sha256": sha256}  # fmt: skip
    cite = [{"source": "court-page", "locator": "para:1", "quote": "sentenced Bob"}]
    records = {
        "sources": [source],
        "entities": [
            {"type": "entity", "id": i, "kind": "person", "name": i.title()}
            for i in ("bob-jones", "b-jones")
        ],
        "facts": [
            {"type": "fact"} | fact("jones-verdict", participants=[
                {"entity": "bob-jones", "role": "speaker"}], sources=cite),
            {"type": "merge", "entity": "b-jones", "into": "bob-jones",
             "reason": "the same man"},
            {"type": "retraction", "fact": "jones-verdict", "reason": "misread",
             "sources": cite},
        ],
    }  # fmt: skip
    for name, lines in records.items():
        (bundle / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in lines)
        )
    first = served.cli("Bob", "import", str(bundle))
    assert first.exit_code == 0, first.output
    assert first.output == (
        f"{bundle}: added 1 source, 2 entities, 1 fact, 1 merge, 1 retraction\n"
    )
    again = served.cli("Bob", "import", str(bundle))
    assert (
        again.output == f"{bundle}: nothing new (1 source, 2 entities, "
        "1 fact, 1 merge, 1 retraction already present)\n"
    )
    with urllib.request.urlopen(f"{served.url}/api/write/copies/{sha256}") as got:
        assert got.read() == copy


def test_the_demo_bundle_imports_over_http_as_on_a_local_store(
    served: Served, tmp_path: Path
) -> None:
    with resources.as_file(
        resources.files("khronika.data") / "kazakhstan-separatism"
    ) as bundle:
        remote = served.cli("Ann", "import", str(bundle))
        local_store = str(tmp_path / "local.db")
        env = {"KHRONIKA_CONFIG": str(served.config("Ann")), "KHRONIKA_USER": "Ann",
               "KHRONIKA_KEY": local_store + ".key"}  # fmt: skip
        for args in (("init",), ("import", str(bundle))):
            local = CliRunner().invoke(cli, ["--store", local_store, *args], env=env)
    assert (remote.exit_code, remote.output) == (0, local.output)
    assert local.output == f"{bundle}: added 2 sources, 64 entities, 50 facts\n"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "cert.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_the_cli_writes_over_https(
    serve: Callable[..., Served], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts it
    served = serve("--writable", "--tls-cert", str(cert), "--tls-key", str(key))
    assert served.url.startswith("https://")
    done = served.cli("Ann", "entity", "add", "person", "someone", "--name", "S")
    assert (done.exit_code, done.output) == (0, "added person someone\n")


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("http://example.org:8080", "plain http only to this machine"),
        ("https://me:secret@example.org", "no user name, query or fragment"),
        ("http://127.0.0.1:9", "cannot reach http://127.0.0.1:9"),
    ],
)
def test_a_store_url_is_refused_before_anything_is_sent(
    url: str, refusal: str, tmp_path: Path
) -> None:
    (tmp_path / "f.json").write_text(json.dumps(fact("f")))
    done = CliRunner().invoke(cli, ["--store", url, "append", str(tmp_path / "f.json")])
    assert done.exit_code == 1
    assert refusal in done.output
    assert "secret" not in done.output


def test_an_unsigned_event_is_refused(served: Served, make: Any) -> None:
    doc = msgspec.convert(fact("bob-fact"), FactDoc)
    event = agg.record_fact(doc, datetime.now(UTC), "Bob")
    refused(served, make, [stored(event)], 403, "unsigned; every write over HTTP")


def test_the_stores_own_key_is_not_rotated_over_http(served: Served, make: Any) -> None:
    rotated = SigningKeyRotated(
        originator_id=SIGNING_KEY_STREAM, originator_version=1,
        timestamp=datetime.now(UTC), recorded_by="Ann", slug=SIGNING_KEY,
        key=str(cp.load_verifier(served.config("Bob") / "maintainer.pub")),
        reason="stolen",
    )  # fmt: skip
    sealed = served.seal(rotated, "Ann")
    refused(served, make, [sealed], 422, "is not taken over HTTP")


def test_a_redaction_is_not_taken_over_http(served: Served, make: Any) -> None:
    redaction = Redacted(
        originator_id=redaction_stream("entity", PERSON), originator_version=1,
        timestamp=datetime.now(UTC), recorded_by="Ann", slug=PERSON,
        kind="entity", fields=["name"], reason="asked to be erased",
        erased=[Erased(position=3, pointer="/doc/name")],
    )  # fmt: skip
    sealed = served.seal(redaction, "Ann")
    refused(served, make, [sealed], 422, "a redaction is not taken over HTTP")
    before = make.dump(served.store)
    cli_said = served.cli("Ann", "redact", PERSON, "--field", "name", "--reason",
                          "asked to be erased")  # fmt: skip
    assert cli_said.exit_code == 1
    assert "run `khronika redact` there" in cli_said.output
    assert make.dump(served.store) == before
