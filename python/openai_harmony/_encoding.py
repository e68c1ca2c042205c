"""The encoding and the streaming parser, over the native core."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from enum import Enum
from typing import (
    AbstractSet,
    Any,
    Callable,
    Collection,
    Dict,
    Iterable,
    List,
    Literal,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
    cast,
)

from . import _mode, _native
from ._models import Conversation, Message, RenderConversationConfig, RenderOptions, Role, TextContent
from ._reference_road import (
    conversation_text,
    message_text,
    reference_errors,
)

__all__ = [
    "ContentDelta",
    "Diagnostic",
    "HarmonyEncoding",
    "HarmonyEncodingName",
    "HarmonyError",
    "MessageCompleted",
    "MessageStarted",
    "ParseEvent",
    "ParsedCompletion",
    "StreamState",
    "StreamableParser",
    "load_harmony_encoding",
]

HarmonyError = _native.HarmonyError


class HarmonyEncodingName(str, Enum):
    """The encodings this library provides."""

    HARMONY_GPT_OSS = "HarmonyGptOss"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class MessageSpan:
    """Where a message lies in a rendered conversation: its position in the
    conversation, role, channel, first token (``<|start|>``) and one past its
    last token."""

    index: int
    role: Role
    channel: Optional[str]
    start: int
    end: int


@dataclass(frozen=True)
class Diagnostic:
    """A repair made by lenient parsing, at a token position."""

    position: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"token {self.position}: {self.detail}"


@dataclass(frozen=True)
class ParsedCompletion:
    """Messages parsed from a completion, with the repairs made to read them."""

    messages: List[Message]
    diagnostics: List[Diagnostic]


@dataclass(frozen=True)
class MessageStarted:
    """A header was read; content follows."""

    index: int
    role: Role
    name: Optional[str]
    channel: Optional[str]
    recipient: Optional[str]
    content_type: Optional[str]


@dataclass(frozen=True)
class ContentDelta:
    """New content text of message ``index``."""

    index: int
    text: str


@dataclass(frozen=True)
class MessageCompleted:
    """Message ``index`` ended."""

    index: int
    message: Message


ParseEvent = Union[MessageStarted, ContentDelta, MessageCompleted]
"""What ``StreamableParser.drain_events`` returns: a message started, text
added to it, or the message completed."""


def _event(raw: Dict[str, Any]) -> ParseEvent:
    kind = raw["type"]
    if kind == "message_started":
        return MessageStarted(
            raw["index"], Role(raw["role"]), raw["name"], raw["channel"], raw["recipient"], raw["content_type"]
        )
    if kind == "content_delta":
        return ContentDelta(raw["index"], raw["text"])
    return MessageCompleted(raw["index"], Message.from_dict(raw["message"]))


def _diagnostics(payload: str) -> List[Diagnostic]:
    return [Diagnostic(d["position"], d["kind"], d["detail"]) for d in json.loads(payload)]


# What sends a render the reference's way: a schema that is not plain JSON,
# or content the core cannot read (then the reference's error is reported).
_REFERENCE_ROAD = (_native.NotPlainJson, _native.ContentJsonError)


def _role_value(role: Optional[Union[Role, str]]) -> Optional[str]:
    return None if role is None else Role(role).value


def _messages(conversation: Union[Conversation, Sequence[Message]]) -> Sequence[Message]:
    # A Conversation, or (beyond the reference) a plain list of messages.
    return conversation.messages if isinstance(conversation, Conversation) else conversation


def _auto_drop(config: Optional[RenderConversationConfig]) -> bool:
    return True if config is None else config.auto_drop_analysis


class HarmonyEncoding:
    """Renders conversations to tokens and parses tokens back to messages.

    Immutable and safe to share across threads; rendering, parsing and
    encoding release the GIL.
    """

    def __init__(self, name: Union[str, HarmonyEncodingName, _native.HarmonyEncoding]) -> None:
        if isinstance(name, _native.HarmonyEncoding):
            self._inner = name
        else:
            self._inner = _native.HarmonyEncoding(str(name))
        self._special_tokens: Optional[Set[str]] = None

    def __repr__(self) -> str:
        return f"<HarmonyEncoding {self.name}>"

    def __reduce__(self) -> Tuple[Any, Tuple[str]]:
        # Pickled by name: the other side loads the shared tokenizer once.
        return load_harmony_encoding, (self.name,)

    def __deepcopy__(self, memo: Dict[int, Any]) -> HarmonyEncoding:
        return self  # immutable

    @property
    def name(self) -> str:
        """The encoding's name, ``HarmonyGptOss``."""
        return self._inner.name

    @property
    def special_tokens_set(self) -> Set[str]:
        """The text of every special token (``<|start|>``, ``<|reserved_200013|>``, ...)."""
        # A set, made once per encoding object, as in the reference.
        if self._special_tokens is None:
            self._special_tokens = set(self._inner.special_tokens())
        return self._special_tokens

    # -- tokens -------------------------------------------------------------

    def encode(
        self,
        text: str,
        *,
        allowed_special: Union[Literal["all"], AbstractSet[str]] = frozenset(),
        disallowed_special: Union[Literal["all"], Collection[str]] = "all",
    ) -> List[int]:
        """Encodes text as tiktoken does: special-token text raises unless it
        is in ``allowed_special`` (then it becomes the special token) or
        excluded from ``disallowed_special`` (then it is ordinary text)."""
        allowed = None if allowed_special == "all" else list(allowed_special)
        disallowed = None if disallowed_special == "all" else list(disallowed_special)
        try:
            return self._inner.encode(text, allowed, disallowed)
        except UnicodeEncodeError:
            # Lone surrogates: encode what they would decode to, as tiktoken does.
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            return self._inner.encode(text, allowed, disallowed)

    def encode_ordinary(self, text: str) -> List[int]:
        """Encodes text with special-token text as ordinary text."""
        return self._inner.encode_ordinary(text)

    def decode(self, tokens: Sequence[int], errors: str = "replace") -> str:
        """The text of these tokens; invalid UTF-8 becomes U+FFFD."""
        return self._inner.decode_bytes(list(tokens)).decode("utf-8", errors=errors)

    def decode_utf8(self, tokens: Sequence[int]) -> str:
        """The text of these tokens; raises ``HarmonyError`` on invalid UTF-8 or an unknown id."""
        return self._inner.decode_utf8(list(tokens))

    def decode_bytes(self, tokens: Sequence[int]) -> bytes:
        """The bytes of these tokens."""
        return self._inner.decode_bytes(list(tokens))

    def is_special_token(self, token: int) -> bool:
        """Whether this id is a special token."""
        return self._inner.is_special_token(token)

    @property
    def n_vocab(self) -> int:
        """The number of token ids, ordinary and special (ids run from 0 to
        ``n_vocab - 1``; 201,089 for ``o200k_harmony``), as tiktoken's."""
        return self._inner.n_vocab

    def stop_tokens(self) -> List[int]:
        """Every token that ends a completion: ``<|return|>``, ``<|call|>``, ``<|end|>``."""
        return self._inner.stop_tokens()

    def stop_tokens_for_assistant_actions(self) -> List[int]:
        """The tokens that end an assistant turn: ``<|return|>`` (an answer) and ``<|call|>`` (a tool call)."""
        return self._inner.stop_tokens_for_assistant_actions()

    # -- constrained decoding ------------------------------------------------

    def completion_grammar(
        self,
        conversation: Union[Conversation, Sequence[Message]],
        next_turn_role: Role = Role.ASSISTANT,
        *,
        syntax: str = "lark",
        tool_choice: str = "auto",
    ) -> str:
        """A grammar of the completions that may follow
        ``render_conversation_for_completion(conversation, next_turn_role)``:
        the declared channels, calls to the declared tools with arguments valid
        against their schemas, the response format's schema for the final
        answer. ``syntax``: ``"lark"`` (llguidance's Lark dialect),
        ``"gbnf"`` (llama.cpp) or ``"xgrammar"`` (an xgrammar structural tag,
        as JSON). ``tool_choice``: ``"auto"``, ``"required"``, ``"none"`` or a
        tool's name. See docs/constrained.md for each engine's request fields.
        A schema that is not plain JSON (NaN, a non-string key, bytes, a set,
        nesting too deep) raises ``ValueError``."""
        try:
            return self._inner.completion_grammar(
                _messages(conversation), Role(next_turn_role).value, syntax, tool_choice
            )
        except _native.NotPlainJson as error:
            raise ValueError(
                f"cannot build a grammar: {error} (NaN, a non-string key, bytes, a set or nesting too deep);"
                " a grammar needs a JSON Schema"
            ) from None

    # -- rendering ----------------------------------------------------------

    def render(self, message: Message, render_options: Optional[RenderOptions] = None) -> List[int]:
        """One message's tokens, from ``<|start|>`` to its end token."""
        has_tools = False if render_options is None else render_options.conversation_has_function_tools
        try:
            return self._inner.render_message(message, has_tools)
        except _REFERENCE_ROAD:
            text = message_text(message)
            return reference_errors(text, lambda: self._inner.render(text, has_tools), "message")

    def render_conversation(
        self, conversation: Union[Conversation, Sequence[Message]], config: Optional[RenderConversationConfig] = None
    ) -> List[int]:
        """The conversation's tokens, message after message (the analysis of
        finished turns is dropped unless ``config`` keeps it)."""
        drop = _auto_drop(config)
        return self._render_messages(
            _messages(conversation),
            "conversation",
            None,
            drop,
            lambda text: self._inner.render_conversation(text, drop),
        )

    def render_conversation_for_completion(
        self,
        conversation: Union[Conversation, Sequence[Message]],
        next_turn_role: Role,
        config: Optional[RenderConversationConfig] = None,
    ) -> List[int]:
        """The prompt for the next turn: the conversation, then ``<|start|>`` and the next role."""
        role = Role(next_turn_role).value
        drop = _auto_drop(config)
        return self._render_messages(
            _messages(conversation),
            "completion",
            role,
            drop,
            lambda text: self._inner.render_conversation_for_completion(text, role, drop),
        )

    def render_conversation_for_training(
        self, conversation: Union[Conversation, Sequence[Message]], config: Optional[RenderConversationConfig] = None
    ) -> List[int]:
        """The conversation for training: as ``render_conversation``, with a final answer ending in ``<|return|>``."""
        drop = _auto_drop(config)
        return self._render_messages(
            _messages(conversation),
            "training",
            None,
            drop,
            lambda text: self._inner.render_conversation_for_training(text, drop),
        )

    def _render_messages(
        self,
        messages: Sequence[Message],
        kind: str,
        role: Optional[str],
        drop: bool,
        by_reference: Callable[[str], List[int]],
    ) -> List[int]:
        """A render of the models as they are; when the core cannot take
        them so (a schema that is not plain JSON, content it cannot read),
        the reference's road: the conversation's JSON text, with the
        reference's errors."""
        try:
            return self._inner.render_messages(messages, kind, role, drop)
        except _REFERENCE_ROAD:
            text = conversation_text(messages)
            return reference_errors(text, lambda: by_reference(text), "conversation")

    def render_conversation_for_training_with_mask(
        self,
        conversation: Union[Conversation, Sequence[Message]],
        config: Optional[RenderConversationConfig] = None,
        *,
        train_on: Literal["all_assistant", "last_assistant_turn"] = "all_assistant",
    ) -> Tuple[List[int], List[int]]:
        """The training render and its loss mask: ``mask[i]`` is 1 exactly on
        the tokens the model samples for the chosen assistant messages
        (everything after the role name, and the ``<|start|>assistant``
        between messages of one turn), else 0."""
        messages = _messages(conversation)
        tokens, mask = self._inner.render_training_with_mask(messages, _auto_drop(config), train_on)
        # The core hands the mask over as bytes; the API gives a list of ints.
        return tokens, list(mask)

    def message_spans(
        self, conversation: Union[Conversation, Sequence[Message]], config: Optional[RenderConversationConfig] = None
    ) -> List[MessageSpan]:
        """Where each rendered message lies in ``render_conversation`` (and
        the training render); dropped messages have no span."""
        messages = _messages(conversation)
        spans = self._inner.message_spans(messages, _auto_drop(config))
        return [MessageSpan(i, Role(role), channel, start, end) for i, role, channel, start, end in spans]

    def render_conversations_batch(
        self,
        conversations: Sequence[Union[Conversation, Sequence[Message], str, Dict[str, Any]]],
        next_turn_role: Optional[Role] = None,
        config: Optional[RenderConversationConfig] = None,
        *,
        mode: Optional[Literal["conversation", "completion", "training"]] = None,
    ) -> List[List[int]]:
        """Renders many conversations in parallel on all cores, without the
        GIL. Items are ``Conversation`` objects, lists of messages, harmony
        JSON strings or dicts. With ``next_turn_role`` each is rendered for
        completion; otherwise ``mode`` picks ``"conversation"`` (default) or
        ``"training"``. Raises ``HarmonyError`` naming the first bad item."""
        if mode is None:
            mode = "conversation" if next_turn_role is None else "completion"
        items = [json.dumps(c) if isinstance(c, dict) else c for c in conversations]
        role = _role_value(next_turn_role)
        return self._inner.render_conversations_batch(items, mode, role, _auto_drop(config))

    # -- parsing ------------------------------------------------------------

    def parse_messages_from_completion_tokens(
        self,
        tokens: Iterable[int],
        role: Optional[Role] = None,
        *,
        strict: bool = True,
        tools: Optional[Iterable[str]] = None,
    ) -> List[Message]:
        """Parses a whole completion. ``role`` is the role whose header the
        prompt opened (usually ``Role.ASSISTANT``). With ``strict=False``, or
        with the process-wide lenient mode (``set_parse_mode``), this never
        raises: malformed output is repaired (see ``parse_completion``).
        ``tools``: the recipients the prompt declared
        (``"functions.get_weather"``), which a repair maps a damaged
        recipient to."""
        return self.parse_completion(tokens, role, strict=strict, tools=tools).messages

    def parse_batch(
        self,
        completions: Sequence[Sequence[int]],
        role: Optional[Role] = None,
        *,
        strict: bool = True,
        tools: Optional[Iterable[str]] = None,
    ) -> List[List[Message]]:
        """Parses many completions in parallel on all cores, without the GIL.
        Raises ``HarmonyError`` naming the first completion that fails."""
        payloads = self._inner.parse_batch(
            [list(c) for c in completions],
            _role_value(role),
            _mode.effective_strict(strict),
            _tool_list(tools),
            _mode.server_recovery(),
        )
        results = []
        for messages_json, diagnostics_json in payloads:
            _log_repairs(_diagnostics(diagnostics_json))
            results.append([Message.from_dict(m) for m in json.loads(messages_json)])
        return results

    def parse_completion(
        self,
        tokens: Iterable[int],
        role: Optional[Role] = None,
        *,
        strict: bool = True,
        tools: Optional[Iterable[str]] = None,
    ) -> ParsedCompletion:
        """Like ``parse_messages_from_completion_tokens``, with the repairs
        lenient parsing made."""
        messages_json, diagnostics_json = self._inner.parse_completion(
            list(tokens), _role_value(role), _mode.effective_strict(strict), _tool_list(tools), _mode.server_recovery()
        )
        messages = [Message.from_dict(m) for m in json.loads(messages_json)]
        diagnostics = _diagnostics(diagnostics_json)
        _log_repairs(diagnostics)
        return ParsedCompletion(messages, diagnostics)


def _tool_list(tools: Optional[Iterable[str]]) -> Optional[List[str]]:
    if tools is None:
        return None
    if isinstance(tools, str):
        raise TypeError("tools must be a list of recipient names, not one string")
    return list(tools)


def _log_repairs(diagnostics: Sequence[Diagnostic]) -> None:
    for d in diagnostics:
        _mode.report(d.kind, d.position, d.detail)


_new = object.__new__
_set = object.__setattr__


def _clone(model: Any, fields: Dict[str, Any], new: Any = _new, set_: Any = _set) -> Any:
    """A new instance of ``model``'s class with these field values: what
    pydantic's ``__copy__`` does, without its generality. The field values
    are validated already (they come from a validated model)."""
    out = new(type(model))
    set_(out, "__dict__", fields)
    set_(out, "__pydantic_fields_set__", set(model.__pydantic_fields_set__))
    set_(out, "__pydantic_extra__", None)
    set_(out, "__pydantic_private__", None)
    return out


def _copy_message(m: Message) -> Message:
    """A new message equal to ``m`` sharing nothing mutable with it (the
    strings it shares are immutable). Parsed messages hold text only, so the
    copy is built field by field, with no validation and no deep copy."""
    content: List[Any] = [
        _clone(c, dict(c.__dict__)) if type(c) is TextContent else c.model_copy(deep=True) for c in m.content
    ]
    fields = dict(m.__dict__)
    fields["author"] = _clone(m.author, dict(m.author.__dict__))
    fields["content"] = content
    return cast(Message, _clone(m, fields))


def load_harmony_encoding(name: Union[str, HarmonyEncodingName]) -> HarmonyEncoding:
    """Loads an encoding. Offline: the vocabulary is embedded in the library."""
    return HarmonyEncoding(name)


class StreamState(Enum):
    """Where a streaming parser is."""

    EXPECT_START = "ExpectStart"
    HEADER = "Header"
    CONTENT = "Content"


class StreamableParser(_native.StreamableParser):
    """Parses completion tokens one at a time.

    ``strict=False``, or the process-wide lenient mode (``set_parse_mode``,
    ``OPENAI_HARMONY_PARSE=lenient``), repairs malformed output instead of
    raising; each repair is in ``diagnostics``, counted (``repair_counts``)
    and logged. ``tools`` names the recipients the prompt declared
    (``"functions.get_weather"``), which a repair maps a damaged recipient to.

    Subclass it freely: call ``super().__init__(encoding, role, strict=strict)``
    and override ``process``. Each read of ``messages`` returns a new list of
    new ``Message`` objects, as in the reference, so what a caller does with
    them never changes the parser. It stays cheap to poll on every token:
    each message is converted from the core once, and a read only copies the
    converted messages.

    The per-token calls (``process``, ``last_content_delta``,
    ``current_channel``, ``current_recipient``, ``current_content``,
    ``current_content_type``, ``tokens``) are the native base class's own
    methods and getters: no Python frame runs between the caller and the core.
    """

    def __init__(
        self,
        encoding: HarmonyEncoding,
        role: Optional[Role] = None,
        *,
        strict: bool = True,
        tools: Optional[Iterable[str]] = None,
    ) -> None:
        self.encoding = encoding
        self._init(
            encoding._inner,
            _role_value(role),
            _mode.effective_strict(strict),
            _tool_list(tools),
            _mode.report,
            _mode.server_recovery(),
        )
        self._messages: List[Message] = []
        self._diagnostics: List[Diagnostic] = []

    def __getstate__(self) -> Dict[str, Any]:
        # The core's state follows from its options and the tokens fed (and
        # where the stream was ended and drained); the caches are rebuilt.
        attrs = {k: v for k, v in self.__dict__.items() if k not in ("_messages", "_diagnostics")}
        return {"parser": self._snapshot(), "attrs": attrs}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state["attrs"])
        self._restore(self.encoding._inner, state["parser"], _mode.report)
        self._messages = []
        self._diagnostics = []

    def __copy__(self) -> StreamableParser:
        # A copy is an independent parser in the same state, as deepcopy.
        return copy.deepcopy(self)

    def reset(self) -> StreamableParser:
        """Starts over for the next completion (same role and mode)."""
        self._reset()
        self._messages = []
        self._diagnostics = []
        return self

    @property
    def current_role(self) -> Optional[Role]:
        """The role of the message being parsed, if known."""
        raw = self._current_role
        return None if raw is None else Role(raw)

    @property
    def messages(self) -> List[Message]:
        """The completed messages, as new objects on every read."""
        count = self.message_count
        if count > len(self._messages):
            fresh = json.loads(self.messages_json(len(self._messages)))
            self._messages.extend(Message.from_dict(m) for m in fresh)
        return [_copy_message(m) for m in self._messages]

    @property
    def state_data(self) -> Dict[str, Any]:
        """The parser's state as data: the state's name, the tokens of the header or content so far."""
        data: Dict[str, Any] = json.loads(self.state_json())
        return data

    @property
    def state(self) -> StreamState:
        """Where the parser is: expecting ``<|start|>``, in a header, or in content."""
        return StreamState(self._state)

    @property
    def diagnostics(self) -> List[Diagnostic]:
        """Repairs made in lenient mode, in token order."""
        count = self.diagnostic_count
        if count > len(self._diagnostics):
            self._diagnostics.extend(_diagnostics(self.diagnostics_json(len(self._diagnostics))))
        return self._diagnostics

    def drain_events(self) -> List[ParseEvent]:
        """Takes the events queued since the last call."""
        return [_event(raw) for raw in json.loads(self.drain_events_json())]
