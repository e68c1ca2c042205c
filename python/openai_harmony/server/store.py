"""The server's store of Responses API replies: what ``previous_response_id``,
``GET /v1/responses/{id}`` and ``DELETE /v1/responses/{id}`` read.

Bounded by entries and by bytes (each entry counted as the length of its
JSON text), the least recently used evicted first, so a server's memory
does not grow with the requests it answers. Thread-safe."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any, Dict, List, NamedTuple, Optional

Json = Dict[str, Any]

STORE_ENTRIES = 1000
"""Responses kept by default."""
STORE_BYTES = 64 << 20
"""Bytes of stored JSON kept by default (64 MiB)."""


class _Entry(NamedTuple):
    response: Json
    items: List[Json]
    size: int


class ResponseStore:
    """At most ``max_entries`` responses and ``max_bytes`` of their JSON; 0
    entries keeps nothing."""

    def __init__(self, max_entries: int = STORE_ENTRIES, max_bytes: int = STORE_BYTES) -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError("the store's limits must not be negative")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, response: Json, items: List[Json]) -> bool:
        """Keeps ``response`` (under its ``id``) and the conversation items a
        later ``previous_response_id`` continues from. False when it is larger
        than the whole store (then nothing is kept)."""
        size = len(json.dumps(response, ensure_ascii=False)) + len(json.dumps(items, ensure_ascii=False))
        if self.max_entries == 0 or size > self.max_bytes:
            return False
        key = str(response["id"])
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = _Entry(response, items, size)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size
        return True

    def _get(self, response_id: str) -> Optional[_Entry]:
        with self._lock:
            entry = self._entries.get(response_id)
            if entry is not None:
                self._entries.move_to_end(response_id)
            return entry

    def items(self, response_id: str) -> Optional[List[Json]]:
        """The items to continue from, if the response is kept."""
        entry = self._get(response_id)
        return None if entry is None else list(entry.items)

    def response(self, response_id: str) -> Optional[Json]:
        """The response object as it was returned, if kept."""
        entry = self._get(response_id)
        return None if entry is None else dict(entry.response)

    def delete(self, response_id: str) -> bool:
        """Forgets a response; False if it was not kept."""
        with self._lock:
            entry = self._entries.pop(response_id, None)
            if entry is None:
                return False
            self._bytes -= entry.size
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """The JSON bytes kept now."""
        with self._lock:
            return self._bytes
