"""The OpenAPI document, from the endpoints' own declarations."""

from __future__ import annotations

import re
from typing import Any

from khronika import __version__
from khronika.projections import models
from khronika.web.api import ENDPOINTS, Endpoint
from khronika.web.http import IGNORED
from khronika.web.params import Param

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


HEADERS = {
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


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "khronika",
            "version": __version__,
            "description": "An event-sourced chronicle of legal and political "
            "facts, read at any point on two time axes: `as_of` (world time, "
            "EDTF) and `known_at` (record time). Nothing here writes. Answers "
            "for a `known_at` before the log's last event never change and are "
            "cached for good; every answer has an ETag and a `Khronika-Lag` "
            "header (log positions the views are behind). A query parameter "
            "an endpoint does not take is ignored, never refused, and named in "
            "the `Khronika-Ignored` header.",
        },
        "paths": {e.path: {"get": _operation(e)} for e in ENDPOINTS},
        "components": {"schemas": models.schema() | {"Problem": PROBLEM_SCHEMA}},
    }


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
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", endpoint.path)
    ]
    return {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "parameters": path_params + [_param(p) for p in endpoint.params],
        "responses": {
            "200": {
                "description": "OK",
                "headers": HEADERS,
                "content": {"application/json": {"schema": _schema(endpoint.model)}},
            },
            "304": {"description": "Not modified (If-None-Match)", "headers": HEADERS},
            "400": problem,
            "404": problem,
        },
    }


def _schema(model: Any) -> dict[str, Any]:
    if getattr(model, "__origin__", None) is list:  # a list of proofs
        (item,) = model.__args__
        return {"type": "array", "items": _schema(item)}
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _param(p: Param) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": p.kind}
    if p.choices:
        schema["enum"] = list(p.choices)
    if p.many:
        schema = {"type": "array", "items": schema}
    found: dict[str, Any] = {
        "name": p.name,
        "in": "query",
        "required": False,
        "description": p.description,
        "schema": schema,
    }
    if p.many:
        found |= {"style": "form", "explode": True}
    if p.example is not None:
        found["example"] = p.example
    return found
