"""The OpenAPI document, from the endpoints' own declarations."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from khronika import __version__
from khronika.domain.documents import SLUG_MAX
from khronika.projections import models
from khronika.projections.stats import DIMENSIONS
from khronika.store.remote import (
    PREFIX,
    Batch,
    CopyStored,
    Head,
    Ids,
    Meta,
    Recorded,
    Stored,
)
from khronika.web.api import ENDPOINTS, Endpoint
from khronika.web.http import IGNORED
from khronika.web.params import MAX_NOTE, MAX_TEXT, Param

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "parameter": {"type": "string", "description": "The parameter at fault."},
        "suggestions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Ids you may have meant.",
        },
    },
}


SLUG = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$", "maxLength": SLUG_MAX}
# Path parameters that take more than a slug keep the plain default.
PATH: dict[str, dict[str, dict[str, Any]]] = {
    "fact": {"id": SLUG},
    "trace": {"id": SLUG},
    "proof": {"id": SLUG},
    "source": {"id": SLUG},
    "stats": {"by": {"type": "string", "enum": list(DIMENSIONS)}},
    "law": {"id": {"type": "string", "maxLength": 2 * SLUG_MAX,
                   "pattern": "^[a-z0-9][a-z0-9-]*(:[A-Za-z0-9][A-Za-z0-9.-]*)?$"}},
}  # fmt: skip
ANY_ID = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}

HEADERS = {
    "ETag": {
        "description": "The answer's version, for If-None-Match.",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "`no-cache`, or for an answer about a settled record "
        "time, `public, max-age=31536000, immutable`.",
        "schema": {"type": "string"},
    },
    "Khronika-Lag": {
        "description": "Log positions the views are behind (0 when current).",
        "schema": {"type": "integer"},
    },
    "Khronika-Position": {
        "description": "The log position the views held for this answer.",
        "schema": {"type": "integer"},
    },
    IGNORED: {
        "description": "The query parameters this endpoint does not take and "
        "so ignored (a link shortener's `utm_source`, a typo), percent-encoded "
        "and joined by `, `; absent when every parameter was used.",
        "schema": {"type": "string"},
        "example": "utm_source, fbclid",
    },
}
LINK = {
    "Link": {
        "description": 'The next page (RFC 8288): `<URL>; rel="next"`; absent '
        "on the last page.",
        "schema": {"type": "string"},
    }
}


def document(writable: bool = False) -> dict[str, Any]:
    """The OpenAPI document; with `writable`, the write endpoints too."""
    paths: dict[str, Any] = {e.path: {"get": _operation(e)} for e in ENDPOINTS}
    schemas = models.schema() | {"Problem": PROBLEM_SCHEMA}
    if writable:
        paths |= write_paths()
        _, found = msgspec.json.schema_components(
            WRITE_MODELS, ref_template="#/components/schemas/{name}"
        )
        schemas |= found
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "khronika",
            "version": __version__,
            "description": "An event-sourced chronicle of legal and political "
            "facts, read at any point on two time axes: `as_of` (world time, "
            "EDTF) and `known_at` (record time). Only a server started with "
            "`--writable` takes writes (under /api/write/). Answers "
            "for a `known_at` before the log's last event never change and are "
            "cached for good; every answer has an ETag and a `Khronika-Lag` "
            "header (log positions the views are behind). A query parameter "
            "an endpoint does not take is ignored, never refused, and named in "
            "the `Khronika-Ignored` header.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }


WRITE_MODELS = (Stored, Batch, Recorded, Meta, Head, Ids, CopyStored)
WRITES = (  # path, method, summary, request (a model, "octets" or None), answer
    ("/meta", "get", "The store's identity (store_id) and format.", None, Meta),
    ("/head", "get", "The log's last position.", None, Head),
    ("/streams/{id}", "get", "A stream's stored events (query: gt, lte, desc, "
     "limit; positions=true adds log positions).", None, list[Stored]),
    ("/log", "get", "Stored events in log order (query: start, limit, stop, and "
     "topic, repeatable: the catalogue's, the registry's or FactRecorded).",
     None, list[Stored]),
    ("/first-events", "post", "The version-1 event of each stream that exists.",
     Ids, list[Stored]),
    ("/copies/{sha256}", "get", "An archived copy, by its SHA-256.", None, "octets"),
    ("/copies/{sha256}", "put", "Store an archived copy; refused unless its "
     "bytes hash to its name.", "octets", CopyStored),
    ("/events", "post", "Sealed events, each signed by a registered maintainer, "
     "checked as the CLI checks them and written in one transaction or not at "
     "all; a batch stored already answers \"already recorded\".", Batch, Recorded),
)  # fmt: skip


def write_paths() -> dict[str, Any]:
    """The /api/write/ endpoints of `khronika serve --writable`."""
    paths: dict[str, Any] = {}
    for path, method, summary, request, answer in WRITES:
        params = [
            {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
            for n in re.findall(r"{(\w+)}", path)
        ]
        operation: dict[str, Any] = {
            "operationId": f"write-{method}-{path.strip('/').split('/')[0]}",
            "summary": summary,
            "parameters": params,
            "responses": {"200": {"description": "OK", "content": _content(answer)},
                          "400": _PROBLEM, "403": _PROBLEM, "404": _PROBLEM,
                          "409": _PROBLEM, "422": _PROBLEM},
        }  # fmt: skip
        if request is not None:
            operation["requestBody"] = {"required": True, "content": _content(request)}
        paths.setdefault(PREFIX + path, {})[method] = operation
    return paths


_PROBLEM = {
    "description": "Refused, and nothing written: why, as a problem",
    "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    },
}


def _content(model: Any) -> dict[str, Any]:
    if model == "octets":
        return {
            "application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}
            }
        }
    return {"application/json": {"schema": _schema(model)}}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    problem = {
        "description": "A problem",
        "content": {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}
            }
        },
    }
    path_params = [
        {"name": name, "in": "path", "required": True,
         "schema": PATH.get(endpoint.name, {}).get(name, ANY_ID)}
        for name in re.findall(r"{(\w+)}", endpoint.path)
    ]  # fmt: skip
    return {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "parameters": path_params + [_param(p) for p in endpoint.params],
        "responses": {
            "200": {
                "description": "OK",
                "headers": HEADERS | (LINK if endpoint.paged else {}),
                "content": {"application/json": {"schema": _schema(endpoint.model)}},
            },
            "304": {"description": "Not modified (If-None-Match)", "headers": HEADERS},
            "400": problem,
            "404": problem,
            "503": problem,
        },
    }


def _schema(model: Any) -> dict[str, Any]:
    if getattr(model, "__origin__", None) is list:  # a list of proofs
        (item,) = model.__args__
        return {"type": "array", "items": _schema(item)}
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _param(p: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": p.kind}
    if p.kind == "string":
        schema["maxLength"] = MAX_NOTE if p.lines else MAX_TEXT
    if p.choices:
        schema["enum"] = list(p.choices)
    extras = {"minimum": p.low, "maximum": p.high, "pattern": p.pattern,
              "format": p.format}  # fmt: skip
    schema |= {k: v for k, v in extras.items() if v is not None}
    if p.many:
        schema = {"type": "array", "items": schema}
    found: dict[str, Any] = {
        "name": p.name,
        "in": "query",
        "required": p.required,
        "description": p.description,
        "schema": schema,
    }
    if p.many:
        found |= {"style": "form", "explode": True}
    if p.example is not None:
        found["example"] = p.example
    return found
