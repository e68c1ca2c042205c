"""openai_harmony: the harmony response format of gpt-oss, over a Rust core.

A drop-in for the reference ``openai_harmony`` package: the same names,
classes and methods, offline (the vocabulary is embedded), with the GIL
released around rendering, parsing and encoding.
"""

from ._encoding import (
    ContentDelta,
    Diagnostic,
    HarmonyEncoding,
    HarmonyEncodingName,
    HarmonyError,
    MessageCompleted,
    MessageSpan,
    MessageStarted,
    ParsedCompletion,
    ParseEvent,
    StreamableParser,
    StreamState,
    load_harmony_encoding,
)
from ._models import (
    Author,
    ChannelConfig,
    Content,
    Conversation,
    DeveloperContent,
    Message,
    ReasoningEffort,
    RenderConversationConfig,
    RenderOptions,
    ResponseFormat,
    Role,
    SystemContent,
    TextContent,
    ToolDescription,
    ToolNamespaceConfig,
)
from ._native import __version__

__all__ = [
    "__version__",
    "Author",
    "ChannelConfig",
    "Content",
    "ContentDelta",
    "Conversation",
    "DeveloperContent",
    "Diagnostic",
    "HarmonyEncoding",
    "HarmonyEncodingName",
    "HarmonyError",
    "Message",
    "MessageCompleted",
    "MessageSpan",
    "MessageStarted",
    "ParseEvent",
    "ParsedCompletion",
    "ReasoningEffort",
    "RenderConversationConfig",
    "RenderOptions",
    "ResponseFormat",
    "Role",
    "StreamState",
    "StreamableParser",
    "SystemContent",
    "TextContent",
    "ToolDescription",
    "ToolNamespaceConfig",
    "load_harmony_encoding",
]
