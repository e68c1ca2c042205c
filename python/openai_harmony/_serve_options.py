"""The options of ``harmony serve`` / ``harmony playground`` and ``python -m
openai_harmony.server``, defined once, here, so that neither the command
line nor the server imports the other to share them."""

from __future__ import annotations

import argparse


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the serve options to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0: any free port)")
    parser.add_argument(
        "--model",
        default="gpt-oss",
        help="a GGUF file to run in llama.cpp (the [llama] extra), or the name the demo generator serves as"
        " (default: gpt-oss, with the canned demo generator)",
    )
    parser.add_argument(
        "--served-model-name", help="the model name /v1/models reports (default: --model, or the GGUF file's stem)"
    )
    parser.add_argument(
        "--no-grammar",
        dest="grammar",
        action="store_false",
        help="with a GGUF model: sample without our grammar (by default decoding is constrained to valid harmony,"
        " the declared tools' schemas, tool_choice and the response format)",
    )
    parser.add_argument("--threads", type=int, default=1, help="with a GGUF model: llama.cpp threads (default: 1)")
    parser.add_argument(
        "--ctx", type=int, default=8192, help="with a GGUF model: the context length in tokens (default: 8192)"
    )
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between demo tokens (default: 0.02)")
    parser.add_argument(
        "--store-entries",
        type=int,
        default=1000,
        help="Responses kept for previous_response_id and GET /v1/responses/{id} (default: 1000; 0: none)",
    )
    parser.add_argument(
        "--store-mb", type=int, default=64, help="megabytes of kept Responses JSON (default: 64); the oldest go first"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (default: 1); each has its own Responses store",
    )
