"""The auditor's view of a fact: every event, who recorded it, and its sources."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any

from khronika.domain.aggregates import Fact, project
from khronika.domain.citations import check
from khronika.domain.documents import Citation
from khronika.domain.errors import NotFoundError, ValidationError
from khronika.domain.events import (
    Event,
    FactCorrected,
    FactRecorded,
    FactRetracted,
    SourceAdded,
    SourceCopyAttached,
)
from khronika.projections.models import Trace, typed
from khronika.store import merkle
from khronika.store.app import Chronicle
from khronika.store.catalogue import Catalogue


def trace_fact(
    app: Chronicle,
    slug: str,
    known_at: datetime | None = None,
    miss: Callable[[str], NotFoundError] | None = None,
) -> Trace:
    """The fact as it stands (or stood at `known_at`), then every event of it.

    An unknown `slug` raises `miss(slug)`, by default the catalogue's error,
    which reads every fact's id to suggest one; the server's reads an index.
    """
    history = [
        (position, event)
        for position, event in app.history("fact", slug)
        if known_at is None or event.timestamp <= known_at
    ]
    if not history:
        if miss is not None:
            raise miss(slug)
        raise app.catalogue().not_found("fact", slug, app)
    state = project(None, [event for _, event in history])
    assert isinstance(state, Fact)
    catalogue = app.catalogue()
    size = app.store.tree_size()
    root = merkle.root(size, app.store.node)
    copies = _Copies(app)
    events = [_event(app, catalogue, copies, p, e) for p, e in history]
    for event in events:
        index = app.store.leaf_index(event["position"])
        if index is None:
            continue  # verify names it: an event outside the tree
        event["proof"] = {
            "leaf_index": index,
            "tree_size": size,
            "root": base64.b64encode(root).decode(),
            "path": [base64.b64encode(h).decode()
                     for h in merkle.inclusion_proof(index, size, app.store.node)],
        }  # fmt: skip
    return typed(
        Trace,
        {
            "id": slug,
            "known_at": known_at,
            "fact": state.doc,
            "version": state.version,
            "retracted": state.retracted,
            "events": events,
        },
    )


class _Copies:
    """Which archived copy of a source was current at a record time.

    A source's copy can be replaced (`source attach`); a citation is checked
    against the copy that was current when the citation was written.
    """

    def __init__(self, app: Chronicle) -> None:
        self.app = app
        self.history: dict[str, list[tuple[datetime, str | None]]] = {}

    def at(self, slug: str, moment: datetime) -> str | None:
        if slug not in self.history:
            self.history[slug] = [
                (e.timestamp, e.doc.sha256 if isinstance(e, SourceAdded) else e.sha256)
                for _, e in self.app.history("source", slug)
                if isinstance(e, SourceAdded | SourceCopyAttached)
            ]
        current = None
        for when, sha256 in self.history[slug]:
            if when <= moment:
                current = sha256
        return current

    def latest(self, slug: str) -> str | None:
        return self.history[slug][-1][1] if self.history.get(slug) else None


def _event(
    app: Chronicle, catalogue: Catalogue, copies: _Copies, position: int, event: Event
) -> dict[str, Any]:
    citations: list[Citation] = []
    reason = ""
    if isinstance(event, FactRecorded):
        citations = event.doc.sources
    elif isinstance(event, FactCorrected | FactRetracted):
        citations, reason = event.sources, event.reason
    unchecked = getattr(event, "unchecked", "")
    return {
        "position": position,
        "event": type(event).__name__,
        "version": event.originator_version,
        "recorded_at": event.timestamp,
        "recorded_by": event.recorded_by,
        "key": event.seal.key if event.seal else None,
        "reason": reason,
        "changes": getattr(event, "changes", None),
        "unchecked": unchecked,
        "citations": [
            _citation(app, catalogue, c, unchecked, copies, event.timestamp)
            for c in citations
        ],
    }


def _citation(
    app: Chronicle,
    catalogue: Catalogue,
    citation: Citation,
    unchecked: str,
    copies: _Copies,
    written: datetime,
) -> dict[str, Any]:
    source = catalogue.sources.get(citation.source)
    if source is None:
        raise NotFoundError("source", citation.source)
    sha256 = copies.at(citation.source, written)
    text = app.text_of(sha256)
    if text is None:
        copy = "stored" if sha256 and app.store.get_copy(sha256) else None
        verified = "no stored copy" if copy is None else "copy is not text"
    else:
        try:
            check(citation, text, "citation")
            verified = (
                "verified: the quote is at the locator"
                if citation.quote
                else "verified: the locator is in the copy (no quote to check)"
            )
        except ValidationError as e:
            verified = f"does not match the stored copy: {e.problem}"
    return {
        "source": citation.source,
        "title": source.title,
        "publisher": source.publisher,
        "url": source.url,
        "published": source.published,
        "locator": citation.locator,
        "quote": citation.quote,
        "verified": verified,
        "unchecked_at_append": unchecked or None,
        "copy_sha256": sha256,  # the copy current when the citation was written
        "copy_is_current": sha256 == copies.latest(citation.source),
    }
