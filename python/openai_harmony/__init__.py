"""openai_harmony: the harmony response format of gpt-oss, over a Rust core.

The compiled core lives in ``openai_harmony._native``. This package is the
place of the drop-in Python API (models, encoding, streaming parser); until
that lands, the native ``HarmonyEncoding`` takes and returns conversations as
JSON strings in the core's serde form.
"""

from ._native import HarmonyEncoding, HarmonyError

__all__ = ["HarmonyEncoding", "HarmonyError"]
