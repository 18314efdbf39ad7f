"""The log in the C2SP tlog-tiles form: /checkpoint and /tile/…, read-only.

Also /copies/<sha256>: an archived copy by its hash, for mirrors.
"""

from __future__ import annotations

import gzip
import re

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from khronika.domain.errors import KhronikaError, NotFoundError
from khronika.store import attest, copies, tiles
from khronika.web.http import problem, problem_of
from khronika.web.reader import Reader

OCTETS = "application/octet-stream"
IMMUTABLE = "public, max-age=31536000, immutable"  # tlog-tiles: long-lived
MUTABLE = "no-cache"  # a partial tile grows; the checkpoint moves on
_SHA256 = re.compile(r"[0-9a-f]{64}")


def routes(reader: Reader) -> list[BaseRoute]:
    def checkpoint(request: Request) -> Response:
        """tlog-tiles §Checkpoints: text/plain, cached for a few seconds only."""
        note = attest.latest(reader.app)
        if note is None:
            return problem(
                404,
                "no checkpoint yet: the store's key holder runs `khronika "
                "checkpoint` (with `--witness URL` to have it cosigned)",
            )  # fmt: skip
        return Response(
            note,
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "max-age=5"},
        )

    def tile(request: Request) -> Response:
        try:
            found = tiles.parse(request.path_params["path"])
            if found.level == "entries":
                body = tiles.entry_bundle(reader.app, found)
            elif found.level == tiles.EVENTS:
                body = tiles.events_bundle(reader.app, found)
            else:
                body = tiles.hashes(reader.app, found)
        except tiles.TooLongError as e:
            return problem(404, str(e))
        except KhronikaError as e:
            return problem_of(e)
        headers = {"Cache-Control": IMMUTABLE if found.full else MUTABLE}
        if isinstance(found.level, str) and "gzip" in request.headers.get(
            "accept-encoding", ""
        ):  # tlog-tiles §Log entries: bundles SHOULD be compressed
            body = gzip.compress(body, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=OCTETS, headers=headers)

    def copy(request: Request) -> Response:
        """The archived copy, read a chunk at a time: hashed first, then sent."""
        sha256 = request.path_params["sha256"]
        store = reader.app.store
        found = copies.hash_stored(store, sha256) if _SHA256.fullmatch(sha256) else None
        size = store.copy_size(sha256) if found == sha256 else None
        body = copies.chunks(store, sha256) if size is not None else None
        if size is None or body is None:
            return problem_of(NotFoundError("archived copy", sha256))
        headers = {"Cache-Control": IMMUTABLE, "Content-Length": str(size)}
        return StreamingResponse(body, media_type=OCTETS, headers=headers)

    return [
        Route("/checkpoint", reader.run(checkpoint), methods=["GET"]),
        Route("/tile/{path:path}", reader.run(tile), methods=["GET"]),
        Route("/copies/{sha256}", reader.run(copy), methods=["GET"]),
    ]
