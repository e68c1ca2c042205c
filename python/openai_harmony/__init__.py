"""openai_harmony: the harmony response format of gpt-oss, over a Rust core.

Published as ``harmony-codec`` (import name ``openai_harmony``). A drop-in
for OpenAI's reference ``openai_harmony`` package: the same names,
classes and methods, offline (the vocabulary is embedded), with the GIL
released around rendering, parsing and encoding.

``OPENAI_HARMONY_PARSE=lenient`` in the environment (or ``set_parse_mode``)
makes every parser lenient, so that a server written for the reference
repairs malformed model output instead of failing; see docs/operators.md.
"""

from ._distribution import warn_if_shared as _warn_if_shared
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
from ._mode import configure_repair_log, parse_mode, repair_counts, set_parse_mode
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

# OpenAI's openai-harmony installed over the same module: say so, once.
_warn_if_shared(__file__, __version__)

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
    "configure_repair_log",
    "load_harmony_encoding",
    "parse_mode",
    "repair_counts",
    "set_parse_mode",
]
