"""Running a synchronous generator off the event loop.

A request's work (building the prompt, pulling tokens from the generator,
turning them into chunks or a reply) runs in a thread of the app's pool.
It hands what it produces to the event loop through a :class:`Job`: a
bounded queue, so a client that reads slowly holds the generator back
instead of letting replies pile up in memory, and a stop flag, set when the
client hangs up, that ends the generator at its next token.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Tuple

from ..interop import FinishReason

Generator = Callable[[List[int], List[int], Optional[int]], Any]
"""``(prompt_tokens, stop_tokens, max_tokens) -> Iterable[int]`` of completion
tokens. One with ``takes_request = True`` is also given ``request=``, a
:class:`GenerationRequest` (its sampling settings, for a grammar)."""


class Failed:
    """What a job raised, handed to the event loop."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


END = object()
"""The last item of every job."""


class Job:
    """One request's work in a pool thread, seen from the event loop.

    The thread calls :meth:`put` (which waits while ``capacity`` items are
    unread, and returns ``False`` once the job is stopped); the loop awaits
    :meth:`get`. :meth:`stop` (the client hung up, or the reply is done)
    makes the thread's next ``put`` return ``False``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int = 64) -> None:
        self._loop = loop
        self._items: Deque[Tuple[Any, bool]] = deque()
        self._room = threading.Semaphore(capacity)
        self._ready = asyncio.Event()
        self._stopped = threading.Event()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """Ends the job: the thread stops at its next token."""
        self._stopped.set()

    # --- the thread's side --------------------------------------------------

    def put(self, item: Any) -> bool:
        """Hands ``item`` to the loop; ``False`` (and nothing handed) when
        the job was stopped."""
        while not self._room.acquire(timeout=0.1):
            if self._stopped.is_set():
                return False
        if self._stopped.is_set():
            return False
        self._hand(item, True)
        return True

    def finish(self, item: Any = END) -> None:
        """Hands the job's last item, without waiting for room."""
        self._hand(item, False)

    def _hand(self, item: Any, counted: bool) -> None:
        self._items.append((item, counted))
        try:
            self._loop.call_soon_threadsafe(self._ready.set)
        except RuntimeError:  # the loop is closed: the server is gone
            self._stopped.set()

    def run(self, work: Callable[[Job], Any]) -> None:
        """Runs ``work(job)`` in the calling thread; what it returns (or
        raises) is the next item, then :data:`END`."""
        try:
            result = work(self)
        except BaseException as error:  # handed to the loop, which answers for it
            self.finish(Failed(error))
        else:
            if result is not None:
                self.finish(result)
        finally:
            self.finish(END)

    # --- the loop's side ----------------------------------------------------

    async def get(self) -> Any:
        """The next item (waits for it)."""
        await self._wait()
        return self._pop()

    async def get_all(self) -> List[Any]:
        """Every item handed so far, at least one (waits for it): a stream
        sends what piled up while it was sending in one write."""
        await self._wait()
        return [self._pop() for _ in range(len(self._items))]

    async def _wait(self) -> None:
        while not self._items:
            self._ready.clear()
            if self._items:
                break
            await self._ready.wait()

    def _pop(self) -> Any:
        item, counted = self._items.popleft()
        if counted:
            self._room.release()
        return item


@dataclass(frozen=True)
class GenerationRequest:
    """What a generator that declares ``takes_request = True`` receives as
    ``request=``: which API (``"chat"`` or ``"responses"``), the request
    body, and the earlier items of a Responses conversation."""

    api: str
    body: Dict[str, Any]
    previous: Optional[List[Any]] = None


class Run:
    """One pass over the generator: tokens until a stop token, the budget,
    or the job being stopped (then the generator is closed)."""

    def __init__(
        self,
        generator: Generator,
        prompt: List[int],
        stop: List[int],
        max_tokens: Optional[int],
        job: Optional[Job] = None,
        request: Optional[GenerationRequest] = None,
    ) -> None:
        self._generator = generator
        self._request = request
        self._prompt = prompt
        self._stop_tokens = stop
        self._stop = set(stop)
        self._max = max_tokens
        self._job = job
        self.tokens: List[int] = []
        self.stopped = False
        self._iterator: Optional[Iterator[int]] = None

    def start(self) -> None:
        """Calls the generator (before a stream starts, so that what it
        refuses is the request's error, not a cut stream)."""
        if self._iterator is None:
            args = (list(self._prompt), list(self._stop_tokens), self._max)
            if getattr(self._generator, "takes_request", False):
                generator: Any = self._generator
                self._iterator = iter(generator(*args, request=self._request))
            else:
                self._iterator = iter(self._generator(*args))

    def __iter__(self) -> Iterator[int]:
        self.start()
        iterator = self._iterator
        assert iterator is not None
        try:
            while self._max is None or len(self.tokens) < self._max:
                if self._job is not None and self._job.stopped:
                    break
                try:
                    token = next(iterator)
                except StopIteration:
                    break
                self.tokens.append(token)
                yield token
                if token in self._stop:
                    self.stopped = True
                    break
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                close()

    @property
    def finish_reason(self) -> Optional[FinishReason]:
        """``length`` when the completion did not end with a stop token; else
        ``None`` (the library infers ``stop`` or ``tool_calls``)."""
        return None if self.stopped else "length"

    @property
    def status(self) -> str:
        """The Responses status: ``completed``, or ``incomplete`` when the
        budget ran out."""
        return "completed" if self.stopped else "incomplete"
