"""Checks completion grammars of syntax "xgrammar" with xgrammar itself.

Run in a venv that has xgrammar (.venv-xg, made by `make xgrammar`, without
torch; see `import_xgrammar`); test_grammar.py writes the case file and
starts this script. The case file holds the vocabulary (hex bytes per token
id), the stop tokens and batches of (structural tag, cases); each case is a
completion's tokens and the index of its first wrong token (-1: valid).

Prints a JSON summary: cases run, failures, and the stop-token convention
checks: the grammar spells <|return|> and <|call|>; a matcher whose stop
tokens include them (gpt-oss's, as engines configure it) terminates right at
them, with or without terminate_without_stop_token; one whose stop tokens do
not (here only <|endoftext|>) waits after them for a stop token."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from typing import Any, Dict, List, Tuple


def import_xgrammar() -> Any:
    """xgrammar, with or without torch. Its grammar compiler and matcher are
    C++ (through apache-tvm-ffi) and need neither torch nor transformers,
    but its Python layer imports torch (for token bitmasks, as it loads) and
    transformers (for the Hugging Face tokenizer integration). Where they
    are not installed (torch from PyPI is about 6 GB of CUDA libraries),
    placeholders with the names xgrammar reads take their place; the
    bitmask and Hugging Face paths are not used here, and calling them would
    fail. tvm_ffi is imported first, so that it sees no torch at all."""
    if importlib.util.find_spec("torch") is None:
        import tvm_ffi  # type: ignore[import-not-found, unused-ignore]  # noqa: F401

        torch = types.ModuleType("torch")
        tensor = type("Tensor", (), {})
        for name in ("Tensor", "LongTensor", "FloatTensor", "IntTensor"):
            setattr(torch, name, tensor)
        torch.int32 = "int32"  # type: ignore[attr-defined]
        torch.tensor = lambda *args, **kwargs: tensor()  # type: ignore[attr-defined]
        sys.modules["torch"] = torch
    if importlib.util.find_spec("transformers") is None:
        transformers = types.ModuleType("transformers")
        base = type("PreTrainedTokenizerBase", (), {})
        transformers.PreTrainedTokenizerBase = base  # type: ignore[attr-defined]
        transformers.PreTrainedTokenizerFast = type("PreTrainedTokenizerFast", (base,), {})  # type: ignore[attr-defined]
        transformers.LogitsProcessor = type("LogitsProcessor", (), {})  # type: ignore[attr-defined]
        sys.modules["transformers"] = transformers
    import xgrammar  # type: ignore[import-not-found, unused-ignore]

    return xgrammar


xgr = import_xgrammar()


def run(compiled: Any, tokens: List[int], terminate: bool) -> Tuple[str, int, Any]:
    matcher = xgr.GrammarMatcher(compiled, terminate_without_stop_token=terminate)
    for i, t in enumerate(tokens):
        if not matcher.accept_token(t):
            return "rejected", i, matcher
    return ("accepted" if matcher.is_terminated() else "incomplete"), len(tokens), matcher


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        data = json.load(f)
    vocab = [bytes.fromhex(h) for h in data["vocab"]]
    stops: List[int] = data["stops"]
    endoftext: int = data["endoftext"]
    info = xgr.TokenizerInfo(vocab, xgr.VocabType.RAW, vocab_size=len(vocab), stop_token_ids=stops)
    compiler = xgr.GrammarCompiler(info)
    other = xgr.TokenizerInfo(vocab, xgr.VocabType.RAW, vocab_size=len(vocab), stop_token_ids=[endoftext])
    other_compiler = xgr.GrammarCompiler(other)
    failures: List[Dict[str, Any]] = []
    kinds: Dict[str, int] = {}
    conventions = waits = 0
    for index, batch in enumerate(data["batches"]):
        compiled = compiler.compile_structural_tag(batch["grammar"])
        for case in batch["cases"]:
            kinds[case["kind"]] = kinds.get(case["kind"], 0) + 1
            tokens, wrong = case["tokens"], case["wrong"]
            verdict, at, matcher = run(compiled, tokens, terminate=True)
            want = ("accepted", len(tokens)) if wrong < 0 else ("rejected", wrong)
            if (verdict, at) != want:
                failures.append({"kind": case["kind"], "got": [verdict, at], "want": list(want), "tokens": tokens})
            elif wrong < 0:
                # Stop tokens that include the spelled one: terminated there
                # without terminate_without_stop_token too.
                verdict, at, matcher = run(compiled, tokens, terminate=False)
                if (verdict, at) != ("accepted", len(tokens)):
                    failures.append({"kind": "stop convention", "got": [verdict, at], "tokens": tokens})
                conventions += 1
        if index < 20:
            # Stop tokens without <|return|> and <|call|>: after the spelled
            # one the matcher waits for the engine's stop token.
            compiled_other = other_compiler.compile_structural_tag(batch["grammar"])
            for case in batch["cases"]:
                if case["wrong"] >= 0:
                    continue
                verdict, at, matcher = run(compiled_other, case["tokens"], terminate=False)
                ok = verdict == "incomplete" and matcher.accept_token(endoftext) and matcher.is_terminated()
                if not ok:
                    failures.append({"kind": "wait for stop", "got": [verdict, at], "tokens": case["tokens"]})
                waits += 1
    summary = {"cases": sum(kinds.values()), "kinds": kinds, "conventions": conventions, "waits": waits}
    print(json.dumps({**summary, "failures": failures[:20]}))


if __name__ == "__main__":
    main()
