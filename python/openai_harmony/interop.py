"""OpenAI API interop: Chat Completions and Responses to and from harmony.

Requests, items, messages, chunks and events are plain dicts in the OpenAI
wire format (objects of the ``openai`` package are accepted as input too).
The rules live in the Rust core (``openai_harmony::interop``); this module
converts and calls it. Input that cannot be represented raises
``HarmonyError`` with the offending field named.

A server is a loop around a token generator::

    prompt = prompt_for_chat_completions(encoding, request)
    stream = ChatCompletionStream(encoding, request)
    for token in generate(prompt.tokens, stop=prompt.stop_tokens):
        for chunk in stream.process(token):
            send(chunk)
    for chunk in stream.finish():
        send(chunk)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union

from . import _native
from ._encoding import Diagnostic, HarmonyEncoding, _diagnostics, _log_repairs, _messages
from ._models import Conversation, Message

__all__ = [
    "ChatCompletionStream",
    "FinishReason",
    "Prompt",
    "ResponsesStream",
    "chat_completion_from_harmony",
    "chat_completion_message_from_harmony",
    "chat_completion_usage",
    "completion_grammar_for_chat_completions",
    "completion_grammar_for_responses",
    "conversation_from_chat_completions",
    "conversation_from_responses",
    "prompt_for_chat_completions",
    "prompt_for_responses",
    "response_from_harmony",
    "response_output_from_harmony",
    "responses_usage",
]

FinishReason = Literal["stop", "tool_calls", "length"]
"""Why a Chat Completions choice ended: an answer, tool calls, or the token budget."""
Json = Dict[str, Any]
Messages = Union[Conversation, Sequence[Message]]


def _plain(value: Any) -> Any:
    """A dict (or list) from a dict or an ``openai`` pydantic object."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_unset=True)
    return value


def _dump(value: Any) -> str:
    try:
        return json.dumps(_plain(value), ensure_ascii=False)
    except RecursionError:
        # A request is a client's: a server answers 400 to a HarmonyError.
        message = "Invalid JSON: recursion limit exceeded (the request is nested too deeply)"
        raise _native.HarmonyError(message) from None


def _dump_opt(value: Any) -> Optional[str]:
    return None if value is None else _dump(value)


def _dump_items(items: Optional[Iterable[Any]]) -> Optional[str]:
    return None if items is None else _dump([_plain(i) for i in items])


# --- Chat Completions ---------------------------------------------------------


def conversation_from_chat_completions(request: Mapping[str, Any], *, date: Optional[str] = None) -> Conversation:
    """The conversation a Chat Completions request describes.

    ``date`` (``YYYY-MM-DD``) is the system message's current date; today
    (UTC) by default. See ``docs/interop.md`` for every rule."""
    return Conversation.from_json(_native.conversation_from_chat_completions(_dump(request), date))


def chat_completion_message_from_harmony(messages: Messages, request: Optional[Mapping[str, Any]] = None) -> Json:
    """``{role, content, reasoning_content, tool_calls}`` from parsed reply
    messages. ``request`` maps sanitized function names back."""
    request_json = _dump_opt(request)
    out = _native.chat_completion_message_from_harmony(_messages(messages), request_json)
    result: Json = json.loads(out)
    return result


def chat_completion_from_harmony(
    messages: Messages,
    request: Optional[Mapping[str, Any]] = None,
    *,
    finish_reason: Optional[FinishReason] = None,
    model: Optional[str] = None,
    id: Optional[str] = None,
    created: Optional[int] = None,
    usage: Optional[Mapping[str, int]] = None,
) -> Json:
    """A whole ``chat.completion`` object for a non-streaming reply.
    ``finish_reason`` defaults to ``tool_calls`` when the reply calls tools,
    else ``stop``."""
    args = (_dump_opt(request), finish_reason, model, id, created, _dump_opt(usage))
    out = _native.chat_completion_object(_messages(messages), *args)
    result: Json = json.loads(out)
    return result


class ChatCompletionStream:
    """Completion tokens in, ``chat.completion.chunk`` dicts out.

    ``process(token)`` and ``process_tokens(tokens)`` return the chunks the
    new tokens complete (``reasoning_content`` and ``content`` deltas;
    ``tool_calls`` deltas with ``index``, then ``id`` and name once, then
    argument fragments). ``finish()`` returns the last chunk with the
    ``finish_reason``: ``stop``, ``tool_calls``, or ``length`` when the last
    token was not a stop token. Malformed output is repaired, not raised.
    With ``prompt_tokens`` (the prompt's length) and a request asking
    ``stream_options.include_usage``, ``finish()`` also returns the usage
    chunk (``choices: []``; the completion tokens are those fed).
    """

    def __init__(
        self,
        encoding: HarmonyEncoding,
        request: Optional[Mapping[str, Any]] = None,
        *,
        model: Optional[str] = None,
        id: Optional[str] = None,
        created: Optional[int] = None,
        prompt_tokens: Optional[int] = None,
    ) -> None:
        self._inner = _native.ChatCompletionStream(
            encoding._inner, _dump_opt(request), model, id, created, prompt_tokens
        )

    @property
    def id(self) -> str:
        """The ``chatcmpl-…`` id of every chunk."""
        return self._inner.id

    def process(self, token: int) -> List[Json]:
        """Feeds one completion token; returns the chunks it completes."""
        chunks: List[Json] = json.loads(self._inner.process(token))
        return chunks

    def process_tokens(self, tokens: Sequence[int]) -> List[Json]:
        """Feeds many tokens; returns the chunks they complete."""
        chunks: List[Json] = json.loads(self._inner.process_tokens(list(tokens)))
        return chunks

    def finish(self, reason: Optional[FinishReason] = None) -> List[Json]:
        """Ends the stream; returns the last chunks: the finish reason, then
        the usage chunk when the request asks for it
        (``stream_options.include_usage``) and the stream was given
        ``prompt_tokens``."""
        chunks: List[Json] = json.loads(self._inner.finish(reason))
        self._logged = _log_new_repairs(self.diagnostics, getattr(self, "_logged", 0))
        return chunks

    @property
    def diagnostics(self) -> List[Diagnostic]:
        """The repairs the parser made to the model's output (logged by ``finish``)."""
        return _diagnostics(self._inner.diagnostics_json())

    @property
    def finish_reason(self) -> FinishReason:
        """The reason ``finish()`` would give now."""
        reason: FinishReason = self._inner.inferred_finish_reason()  # type: ignore[assignment]
        return reason

    @property
    def messages(self) -> List[Message]:
        """The harmony messages parsed so far."""
        return [Message.from_dict(m) for m in json.loads(self._inner.messages_json())]

    def stream(self, tokens: Iterable[int]) -> Iterator[Json]:
        """Every chunk of a token iterator, ending with the finish chunk."""
        for token in tokens:
            yield from self.process(token)
        yield from self.finish()


# --- Responses ----------------------------------------------------------------


def conversation_from_responses(
    request: Mapping[str, Any],
    previous_items: Optional[Sequence[Any]] = None,
    *,
    date: Optional[str] = None,
) -> Conversation:
    """The conversation a Responses request describes, after the items of
    earlier turns (``previous_items``: earlier inputs and outputs)."""
    payload = _native.conversation_from_responses(_dump(request), _dump_items(previous_items), date)
    return Conversation.from_json(payload)


def response_output_from_harmony(
    messages: Messages,
    request: Optional[Mapping[str, Any]] = None,
    previous_items: Optional[Sequence[Any]] = None,
) -> List[Json]:
    """Output items (``reasoning``, ``message``, ``function_call``,
    ``web_search_call``, ``code_interpreter_call``) from parsed reply messages."""
    request_json, previous_json = _dump_opt(request), _dump_items(previous_items)
    out = _native.response_output_from_harmony(_messages(messages), request_json, previous_json)
    items: List[Json] = json.loads(out)
    return items


def chat_completion_usage(prompt_tokens: int, completion_tokens: int) -> Json:
    """A Chat Completions ``usage`` object: ``prompt_tokens``,
    ``completion_tokens`` and ``total_tokens`` (the same object the stream's
    ``include_usage`` chunk carries)."""
    usage: Json = json.loads(_native.chat_completion_usage(prompt_tokens, completion_tokens))
    return usage


def responses_usage(encoding: HarmonyEncoding, prompt_tokens: int, completion_tokens: int, messages: Messages) -> Json:
    """A Responses ``usage`` object for a reply: ``input_tokens``,
    ``output_tokens`` and, of those, ``reasoning_tokens`` (the analysis
    messages' text re-encoded, at most the output's length)."""
    usage: Json = json.loads(
        _native.responses_usage(encoding._inner, prompt_tokens, completion_tokens, _messages(messages))
    )
    return usage


def response_from_harmony(
    messages: Messages,
    request: Optional[Mapping[str, Any]] = None,
    previous_items: Optional[Sequence[Any]] = None,
    *,
    status: Literal["completed", "incomplete"] = "completed",
    model: Optional[str] = None,
    id: Optional[str] = None,
    created_at: Optional[int] = None,
) -> Json:
    """A whole ``response`` object for a non-streaming reply."""
    output = response_output_from_harmony(messages, request, previous_items)
    payload = _native.response_object(id, model, created_at, status, json.dumps(output), _dump_opt(request))
    response: Json = json.loads(payload)
    return response


class ResponsesStream:
    """Completion tokens in, Responses streaming event dicts out, numbered by
    ``sequence_number``: ``response.created``, ``response.in_progress``, per
    item ``response.output_item.added``, ``response.content_part.added``,
    ``response.reasoning_text.delta`` / ``response.output_text.delta`` /
    ``response.function_call_arguments.delta`` and their ``.done``,
    ``response.content_part.done``, ``response.output_item.done``, and at the
    end ``response.completed`` (``response.incomplete`` when the token budget
    ran out)."""

    def __init__(
        self,
        encoding: HarmonyEncoding,
        request: Optional[Mapping[str, Any]] = None,
        previous_items: Optional[Sequence[Any]] = None,
        *,
        model: Optional[str] = None,
        id: Optional[str] = None,
        prompt_tokens: Optional[int] = None,
    ) -> None:
        # With prompt_tokens, the final response carries its usage (see responses_usage).
        self._inner = _native.ResponsesStream(
            encoding._inner, _dump_opt(request), _dump_items(previous_items), model, id, prompt_tokens
        )

    @property
    def id(self) -> str:
        """The ``resp_…`` id of the response."""
        return self._inner.id

    def start(self) -> List[Json]:
        """``response.created`` and ``response.in_progress`` (sent before the
        first other events anyway)."""
        events: List[Json] = json.loads(self._inner.start())
        return events

    def process(self, token: int) -> List[Json]:
        """Feeds one completion token; returns the events it completes."""
        events: List[Json] = json.loads(self._inner.process(token))
        return events

    def process_tokens(self, tokens: Sequence[int]) -> List[Json]:
        """Feeds many tokens; returns the events they complete."""
        events: List[Json] = json.loads(self._inner.process_tokens(list(tokens)))
        return events

    def finish(self, reason: Optional[FinishReason] = None) -> List[Json]:
        """Ends the stream; returns the last events, ending with ``response.completed`` (or ``incomplete``)."""
        events: List[Json] = json.loads(self._inner.finish(reason))
        self._logged = _log_new_repairs(self.diagnostics, getattr(self, "_logged", 0))
        return events

    @property
    def diagnostics(self) -> List[Diagnostic]:
        """The repairs the parser made to the model's output (logged by ``finish``)."""
        return _diagnostics(self._inner.diagnostics_json())

    def response(self, status: str = "completed") -> Json:
        """The response object with the items finished so far."""
        response: Json = json.loads(self._inner.response_json(status))
        return response

    @property
    def messages(self) -> List[Message]:
        """The harmony messages parsed so far."""
        return [Message.from_dict(m) for m in json.loads(self._inner.messages_json())]

    def stream(self, tokens: Iterable[int]) -> Iterator[Json]:
        """Every event of a token iterator, from ``response.created`` to the end."""
        yield from self.start()
        for token in tokens:
            yield from self.process(token)
        yield from self.finish()


def _log_new_repairs(diagnostics: List[Diagnostic], logged: int) -> int:
    """Logs the repairs from index ``logged`` on; returns how many are logged."""
    _log_repairs(diagnostics[logged:])
    return len(diagnostics)


# --- Prompts --------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """What a server samples from: the prompt tokens, the tokens to stop at
    (``<|return|>`` and ``<|call|>``), the conversation behind them, and the
    recipients it declares (``tools``: pass them to the reply's parser, e.g.
    ``parse_messages_from_completion_tokens(tokens, role, tools=prompt.tools)``,
    so that it maps damaged recipients to them).

    Also the request's sampling fields, checked once here: ``max_tokens``
    (``max_completion_tokens``/``max_tokens``, or ``max_output_tokens``; a
    positive integer or None), ``n`` (the choices asked for, 1 by default)
    and, for Responses, ``input_items`` (the ``input`` as items, what a
    server keeps for the next ``previous_response_id``)."""

    tokens: List[int]
    stop_tokens: List[int]
    conversation: Conversation
    tools: List[str] = field(default_factory=list)
    max_tokens: Optional[int] = None
    n: int = 1
    input_items: List[Json] = field(default_factory=list)


def prompt_for_chat_completions(
    encoding: HarmonyEncoding, request: Mapping[str, Any], *, date: Optional[str] = None
) -> Prompt:
    """The prompt and stop tokens for a Chat Completions request."""
    return _prompt(_native.prompt_for(encoding._inner, "chat", _dump(request), None, date))


def prompt_for_responses(
    encoding: HarmonyEncoding,
    request: Mapping[str, Any],
    previous_items: Optional[Sequence[Any]] = None,
    *,
    date: Optional[str] = None,
) -> Prompt:
    """The prompt and stop tokens for a Responses request after earlier items."""
    return _prompt(_native.prompt_for(encoding._inner, "responses", _dump(request), _dump_items(previous_items), date))


def _prompt(raw: Tuple[List[int], List[int], str, List[str], Optional[int], int, str]) -> Prompt:
    tokens, stop, convo, tools, max_tokens, n, input_items = raw
    return Prompt(tokens, stop, Conversation.from_json(convo), tools, max_tokens, n, json.loads(input_items))


def completion_grammar_for_chat_completions(
    encoding: HarmonyEncoding, request: Mapping[str, Any], *, syntax: str = "lark", date: Optional[str] = None
) -> str:
    """The grammar of the completions a Chat Completions request allows:
    its ``tools`` (arguments valid against their schemas), ``tool_choice``
    (``"required"`` and a named function enforced) and ``response_format``,
    for the prompt ``prompt_for_chat_completions`` renders."""
    return _native.completion_grammar_for(encoding._inner, "chat", _dump(request), None, date, syntax)


def completion_grammar_for_responses(
    encoding: HarmonyEncoding,
    request: Mapping[str, Any],
    previous_items: Optional[Sequence[Any]] = None,
    *,
    syntax: str = "lark",
    date: Optional[str] = None,
) -> str:
    """As :func:`completion_grammar_for_chat_completions`, for a Responses
    request (``tools``, ``tool_choice``, ``text.format``)."""
    return _native.completion_grammar_for(
        encoding._inner, "responses", _dump(request), _dump_items(previous_items), date, syntax
    )
