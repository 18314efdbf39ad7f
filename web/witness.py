"""A witness over HTTP: POST /add-checkpoint (C2SP tlog-witness)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from khronika.store.witness import Witness

MAX_BODY = 64 * 1024  # 63 proof lines and a checkpoint with its signatures


def create_app(witness: Witness) -> Starlette:
    async def add_checkpoint(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response("request too large\n", 413, media_type="text/plain")
        try:
            text = body.decode()
        except UnicodeDecodeError:
            return Response("not UTF-8\n", 400, media_type="text/plain")
        answer = await run_in_threadpool(witness.add_checkpoint, text)
        return Response(answer.body, answer.status, media_type=answer.content_type)

    return Starlette(
        routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"])]
    )
