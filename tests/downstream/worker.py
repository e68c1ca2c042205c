"""One (server, configuration) run: loads the server's harmony modules from
its extracted wheel and feeds every corpus case to each driven path.

Started by run.py in its own process, as ``python -S`` with PYTHONPATH set
to the package under test (a folder holding only ``openai_harmony``) and
the server's light dependencies. Writes ``{row: {case: {input: result}}}``
as JSON to --out: the inputs are ``completion`` (the case's tokens) and,
with --intended, ``intended`` (the clean rendering of its intended
messages). A result is the path's normalised output, or
``{"raised": {"type", "message"}}`` when an exception escapes the server's
code.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import re
import sys
import traceback
import warnings
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import loader  # noqa: E402
import servers  # noqa: E402


class Harness:
    """What a driver gets: the package under test, its encoding, a
    tokenizer, and helpers shared by the drivers."""

    def __init__(self) -> None:
        import openai_harmony as oh

        self.oh = oh
        self.enc = oh.load_harmony_encoding(oh.HarmonyEncodingName.HARMONY_GPT_OSS)
        self.tokenizer = HarmonyTokenizer(self.enc)

    def run(self, coro: Any) -> Any:
        return asyncio.run(coro)

    def token_text(self, token: int) -> str:
        """The text a detokenizer streams for one sampled token (special
        tokens skipped, as with skip_special_tokens=True)."""
        if self.enc.is_special_token(token):
            return ""
        return self.enc.decode([token])


class HarmonyTokenizer:
    """Stands in for gpt-oss's Hugging Face tokenizer (transformers is not
    installed): the same o200k_harmony vocabulary, through the harmony
    encoding of the package under test. Special-token texts in a string are
    encoded as special tokens, as the HF tokenizer does for added tokens."""

    def __init__(self, enc: Any) -> None:
        self.enc = enc
        self.eos_token_id = enc.encode("<|return|>", allowed_special="all")[0]

    def encode(self, text: str, add_special_tokens: bool = False, **kwargs: Any) -> list[int]:
        return list(self.enc.encode(text, allowed_special="all"))

    def decode(self, ids: Any, skip_special_tokens: bool = False, **kwargs: Any) -> str:
        ids = list(ids)
        if skip_special_tokens:
            ids = [t for t in ids if not self.enc.is_special_token(t)]
        return self.enc.decode(ids)

    def convert_ids_to_tokens(self, ids: Any) -> Any:
        if isinstance(ids, int):
            return self.enc.decode([ids])
        return [self.enc.decode([t]) for t in ids]

    def get_vocab(self) -> dict[str, int]:
        return {}

    def __len__(self) -> int:
        return 201088


def render_intended(h: Harness, case: dict[str, Any]) -> list[int]:
    """The clean rendering of the case's intended messages, through the
    package's own ``encoding.render``: the last message ends in <|call|>
    (it has a recipient) or <|return|>, or in nothing when the case's
    completion never closes its last message (it was cut there). Every driven server builds its
    parser with role=assistant (its prompt ends with <|start|>assistant), so
    the leading <|start|>assistant is dropped whatever the case's role
    (a role-null case's completion repeats it; the clean one would not)."""
    oh, enc = h.oh, h.enc
    special = {t: enc.encode(t, allowed_special="all")[0] for t in ("<|start|>", "<|end|>", "<|call|>", "<|return|>")}
    tokens: list[int] = []
    intended = case["intended"]
    for i, m in enumerate(intended):
        msg = oh.Message.from_role_and_content(oh.Role(m["role"]), m["content"])
        if m.get("channel"):
            msg = msg.with_channel(m["channel"])
        if m.get("recipient"):
            msg = msg.with_recipient(m["recipient"])
        if m.get("content_type"):
            msg = msg.with_content_type(m["content_type"])
        rendered = list(enc.render(msg))
        if i == len(intended) - 1:
            # render() ends a message with <|end|> (<|call|> when it has a
            # recipient, in some versions); the last one stops the sampling.
            assert rendered[-1] in (special["<|end|>"], special["<|call|>"]), rendered
            rendered[-1] = special["<|call|>"] if m.get("recipient") else special["<|return|>"]
            if not ends_with_stop(case, enc, special):
                # The completion was cut before its stop token (the token
                # budget, a client that strips it): so is the clean one.
                rendered.pop()
        tokens += rendered
    if tokens[:1] == [special["<|start|>"]] and enc.decode(tokens[1:2]) == "assistant":
        tokens = tokens[2:]
    return tokens


def ends_with_stop(case: dict[str, Any], enc: Any, special: dict[str, int]) -> bool:
    """Whether the case's completion closes its last message: a stop token
    after its last ``<|message|>`` (what follows the stop token, if anything,
    is the model going on where it should have stopped)."""
    tokens = enc.encode(case["completion"], allowed_special="all")
    message = enc.encode("<|message|>", allowed_special="all")[0]
    last = max((i for i, t in enumerate(tokens) if t == message), default=-1)
    stops = (special["<|end|>"], special["<|call|>"], special["<|return|>"])
    return any(t in stops for t in tokens[last + 1 :])


_RANDOM_ID = re.compile(r"[0-9a-f]{16,}")


def unrandom(text: str) -> str:
    """Error messages may carry a request's random id (``rid=resp_3f2a…``)."""
    return _RANDOM_ID.sub("<id>", text)


def describe(exc: BaseException) -> dict[str, Any]:
    return {"raised": {"type": type(exc).__name__, "message": unrandom(str(exc))}}


def clean(result: Any) -> Any:
    if isinstance(result, dict) and isinstance(result.get("error"), list):
        result["error"] = [unrandom(str(e)) for e in result["error"]]
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True, help="name-version, a key of servers.SERVERS")
    ap.add_argument("--src", required=True, help="the folder the wheel's Python files are in")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--intended", action="store_true", help="also feed each case's clean intended rendering")
    ap.add_argument("--out", required=True)
    ap.add_argument("--explain", action="store_true", help="print the placeholders touched")
    args = ap.parse_args()

    warnings.simplefilter("ignore")
    cfg = servers.SERVERS[args.server]
    loader.install(
        args.src,
        cfg.top,
        set(cfg.skip_init),
        list(cfg.auto),
        [os.path.join(HERE, "stubs", d) for d in cfg.stub_dirs],
    )
    h = Harness()
    driver = importlib.import_module("drivers." + cfg.driver)
    rows: dict[str, Callable[[dict[str, Any], list[int]], Any]] = driver.rows(h)
    # The servers log (and print tracebacks for) what they catch; their
    # outputs are what is compared.
    logging.disable(logging.CRITICAL)

    with open(args.corpus) as f:
        cases = json.load(f)["cases"]
    results: dict[str, dict[str, dict[str, Any]]] = {row: {} for row in rows}
    for case in cases:
        inputs: dict[str, list[int] | None] = {
            "completion": list(h.enc.encode(case["completion"], allowed_special="all"))
        }
        if args.intended:
            try:
                inputs["intended"] = render_intended(h, case)
            except Exception as exc:  # a corpus problem, reported by run.py
                inputs["intended"] = None
                for row in rows:
                    results[row].setdefault(case["name"], {})["intended"] = {
                        "harness_error": f"cannot render intended: {exc!r}"
                    }
        for row, fn in rows.items():
            out = results[row].setdefault(case["name"], {})
            for kind, tokens in inputs.items():
                if tokens is None:
                    continue
                try:
                    out[kind] = clean(fn(case, list(tokens)))
                except Exception as exc:
                    out[kind] = describe(exc)
                    if os.environ.get("DOWNSTREAM_TRACE"):
                        traceback.print_exc()
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    if args.explain:
        for mod, names in sorted(loader.TOUCHED.items()):
            print(f"{mod}: {', '.join(sorted(names)) or '(imported only)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
