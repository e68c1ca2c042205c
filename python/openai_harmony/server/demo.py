"""The demo generator: a canned completion, no model needed."""

from __future__ import annotations

import re
import time
from typing import Iterator, List, Optional

from .._encoding import HarmonyEncoding, HarmonyEncodingName, load_harmony_encoding
from .._models import Message, Role
from .jobs import Generator


def _first_function(prompt: str) -> Optional[str]:
    """The first function the developer message declares, in one pass over
    the prompt (a user's text holding `namespace functions {` many times
    costs no more than any other text)."""
    start = prompt.find("<|start|>developer<|message|>")
    if start < 0:
        return None
    end = prompt.find("<|end|>", start)
    message = prompt[start : end if end >= 0 else len(prompt)]
    at = message.find("namespace functions {")
    if at < 0:
        return None
    for line in message[at + len("namespace functions {") :].split("\n"):
        line = line.strip()
        if line and not line.startswith("//"):
            m = re.match(r"type (\w+) =", line)
            return m.group(1) if m else None
    return None


def demo_generator(encoding: Optional[HarmonyEncoding] = None, delay: float = 0.0) -> Generator:
    """A generator that ignores what the prompt asks and replays a canned
    completion: when the prompt declares function tools and its last message
    is not a tool's result, some reasoning and a call to the first function
    (arguments ``{}``, ending in ``<|call|>``); otherwise some reasoning and a
    final answer (ending in ``<|return|>``)."""
    enc = encoding or load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)

    def completion(prompt_tokens: List[int]) -> List[int]:
        text = enc.decode(prompt_tokens)
        last = text.rsplit("<|start|>", 2)[-2] if text.count("<|start|>") >= 2 else ""
        tool = _first_function(text)
        if tool and not last.startswith("functions."):
            thinking = "The user's question needs a tool. Call it."
            tokens = enc.render(Message.from_role_and_content(Role.ASSISTANT, thinking).with_channel("analysis"))[2:]
            call = (
                Message.from_role_and_content(Role.ASSISTANT, "{}")
                .with_channel("commentary")
                .with_recipient(f"functions.{tool}")
                .with_content_type("<|constrain|>json")
            )
            return tokens + enc.render(call)
        if last.startswith("functions."):
            thinking, answer = "The tool answered. Report it.", "Here is what the tool said (a canned demo reply)."
        else:
            thinking, answer = (
                "The user wants a greeting. Keep it short.",
                ("Hello! This is a canned reply from the demo generator."),
            )
        tokens = enc.render(Message.from_role_and_content(Role.ASSISTANT, thinking).with_channel("analysis"))[2:]
        tokens += enc.render(Message.from_role_and_content(Role.ASSISTANT, answer).with_channel("final"))[:-1]
        return tokens + enc.encode("<|return|>", allowed_special="all")

    def generate(prompt_tokens: List[int], stop_tokens: List[int], max_tokens: Optional[int]) -> Iterator[int]:
        for token in completion(prompt_tokens):
            if delay:
                time.sleep(delay)
            yield token

    return generate
