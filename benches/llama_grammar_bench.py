"""llama.cpp's cost of our GBNF grammars per token, beside unconstrained
sampling, with the tests' tiny o200k_harmony model (one thread).

    python benches/llama_grammar_bench.py [--tokens 400]

- unconstrained: the sampler chain alone (biases, temperature, a draw);
- our sampling (``LlamaEngine.generate``, as llama.cpp's common_sampler):
  the chain's pick, checked by the grammar, which masks every candidate
  only when it refuses that pick;
- grammar first: the grammar in the chain, masking all 201,089 candidates
  at every token;
- one full mask: the grammar applied once to the whole vocabulary.

The model is tiny, so the figures are the grammar's and the sampler's own
cost, not a real model's forward pass.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))

from llama_model import cached_model
from openai_harmony import (
    Conversation,
    DeveloperContent,
    HarmonyEncodingName,
    Message,
    Role,
    SystemContent,
    ToolDescription,
    load_harmony_encoding,
)
from openai_harmony.server.llama import LlamaEngine


def conversation() -> Conversation:
    tool = ToolDescription.new(
        "get_weather",
        "Weather for a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    return Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new()),
            Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_function_tools([tool])),
            Message.from_role_and_content(Role.USER, "Weather in Oslo?"),
        ]
    )


def per_token(run: Callable[[int], List[int]], tokens: int) -> float:
    """Milliseconds per token over at least ``tokens`` tokens (seeded runs)."""
    made, started, seed = 0, time.perf_counter(), 0
    while made < tokens:
        made += len(run(seed))
        seed += 1
    return (time.perf_counter() - started) * 1000 / made


def grammar_first(engine: LlamaEngine, prompt: List[int], grammar: str, seed: int, limit: int) -> List[int]:
    L = engine.L
    chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
    ban = (L.llama_logit_bias * 1)(L.llama_logit_bias(engine.token_id("<|endoftext|>"), float("-inf")))
    L.llama_sampler_chain_add(chain, L.llama_sampler_init_logit_bias(engine.n_vocab, 1, ban))
    L.llama_sampler_chain_add(chain, engine.grammar(grammar))
    L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(1.0))
    L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(seed))
    out: List[int] = []
    try:
        L.llama_memory_clear(L.llama_get_memory(engine.ctx), True)
        batch = (L.llama_token * len(prompt))(*prompt)
        L.llama_decode(engine.ctx, L.llama_batch_get_one(batch, len(prompt)))
        for _ in range(limit):
            token = int(L.llama_sampler_sample(chain, engine.ctx, -1))
            out.append(token)
            if engine.is_eog(token):
                break
            one = (L.llama_token * 1)(token)
            L.llama_decode(engine.ctx, L.llama_batch_get_one(one, 1))
    finally:
        L.llama_sampler_free(chain)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=400)
    args = parser.parse_args()
    enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
    engine = LlamaEngine(cached_model(), n_ctx=4096, threads=1)
    convo = conversation()
    prompt = enc.render_conversation_for_completion(convo, Role.ASSISTANT)
    grammar = enc.completion_grammar(convo, syntax="gbnf")
    limit = 64
    free = per_token(lambda seed: list(engine.generate(prompt, seed=seed, max_tokens=limit)), args.tokens)
    ours = per_token(
        lambda seed: list(engine.generate(prompt, grammar=grammar, seed=seed, max_tokens=limit)), args.tokens
    )
    first = per_token(lambda seed: grammar_first(engine, prompt, grammar, seed, limit), args.tokens)
    sampler: Any = engine.grammar(grammar)
    masks = []
    for _ in range(20):
        started = time.perf_counter()
        engine.allowed(sampler)
        masks.append((time.perf_counter() - started) * 1000)
    engine.free_sampler(sampler)
    print(f"llama.cpp grammar cost, tiny o200k_harmony model, one thread, >= {args.tokens} tokens each")
    print(f"  unconstrained sampling        {free:7.2f} ms/token")
    print(f"  our sampling (check, then mask) {ours:5.2f} ms/token  (+{ours - free:.2f} ms for the grammar)")
    print(f"  grammar first (mask every token) {first:4.2f} ms/token  (+{first - free:.2f} ms)")
    print(f"  one mask over 201,089 tokens  {statistics.median(masks):7.2f} ms (median of 20)")
    engine.close()


if __name__ == "__main__":
    main()
