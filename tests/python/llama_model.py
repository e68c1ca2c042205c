"""A tiny random-weight GGUF model whose tokenizer is ``o200k_harmony``, for
running llama.cpp itself in the tests.

Architecture ``llama`` (one layer, 64-wide), all 201,089 tokens of
``o200k_harmony``: the ordinary ones as GPT-2 byte-level strings with their
BPE merges recovered from the ranks, the 1,091 special ones as control
tokens, and llama.cpp's pre-tokenizer for o200k (``gpt-4o``). The weights
are random (seeded): the model samples noise, which is what grammar tests
want. Built once into ``.cache/`` (about 60 MB) and reused.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Tuple

from openai_harmony import HarmonyEncoding, HarmonyEncodingName, load_harmony_encoding

ROOT = Path(__file__).resolve().parents[2]
VERSION = 2  # bump when the model changes: the cached file's name holds it
N_EMBD, N_HEAD, N_FF = 64, 4, 128


def cached_model() -> Path:
    """The model's path, built on first use."""
    where = Path(os.environ.get("HARMONY_LLAMA_CACHE", ROOT / ".cache" / "llama"))
    path = where / f"tiny-o200k-harmony-v{VERSION}.gguf"
    if not path.exists():
        where.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        build(partial, load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS))
        partial.replace(path)
    return path


def byte_encoder() -> Dict[int, str]:
    """GPT-2's printable stand-in character for each byte."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars)}


def _merge_of(token: bytes, rank: int, ranks: Dict[bytes, int]) -> Tuple[bytes, bytes]:
    """The pair of pieces BPE joins last to make ``token``: merge the lowest
    ranked adjacent pair, using only merges ranked below ``rank``, until two
    pieces remain."""
    parts = [token[i : i + 1] for i in range(len(token))]
    while len(parts) > 2:
        best, at = None, -1
        for i in range(len(parts) - 1):
            r = ranks.get(parts[i] + parts[i + 1])
            if r is not None and r < rank and (best is None or r < best):
                best, at = r, i
        if best is None:
            break
        parts[at : at + 2] = [parts[at] + parts[at + 1]]
    if len(parts) != 2:
        raise ValueError(f"rank {rank}: {token!r} is not made of two lower-ranked pieces")
    return parts[0], parts[1]


def vocabulary(enc: HarmonyEncoding) -> Tuple[List[str], List[int], List[str]]:
    """Token strings, token types (1 normal, 3 control) and merges, in id order."""
    import gguf

    to_char = byte_encoder()
    tokens: List[str] = []
    types: List[int] = []
    ranks: Dict[bytes, int] = {}
    token_id = 0
    while True:
        try:
            raw = enc.decode_bytes([token_id])
        except Exception:  # past the last id
            break
        if enc.is_special_token(token_id):
            tokens.append(raw.decode("utf-8"))
            types.append(int(gguf.TokenType.CONTROL))
        else:
            tokens.append("".join(to_char[b] for b in raw))
            types.append(int(gguf.TokenType.NORMAL))
            ranks[raw] = token_id
        token_id += 1
    merges = []
    for raw, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(raw) > 1:
            left, right = _merge_of(raw, rank, ranks)
            merges.append("".join(to_char[b] for b in left) + " " + "".join(to_char[b] for b in right))
    return tokens, types, merges


def build(path: Path, enc: HarmonyEncoding, seed: int = 0) -> None:
    """Writes the model to ``path``."""
    import gguf
    import numpy as np

    tokens, types, merges = vocabulary(enc)
    n_vocab = len(tokens)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_context_length(8192)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(1)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-4o")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokens.index("<|startoftext|>"))
    writer.add_eos_token_id(tokens.index("<|return|>"))
    writer.add_add_bos_token(False)
    rng = np.random.default_rng(seed)

    def weight(*shape: int, scale: float = 0.5) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    # numpy shapes are (rows, columns): ggml's dimensions reversed.
    writer.add_tensor("token_embd.weight", weight(n_vocab, N_EMBD, scale=1.0))
    # Logits of about unit spread, so that the tests' biases steer sampling.
    writer.add_tensor("output_norm.weight", np.full(N_EMBD, 1 / 8, dtype=np.float32))
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        writer.add_tensor(f"blk.0.{name}.weight", weight(N_EMBD, N_EMBD, scale=0.2))
    writer.add_tensor("blk.0.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    writer.add_tensor("blk.0.ffn_gate.weight", weight(N_FF, N_EMBD, scale=0.2))
    writer.add_tensor("blk.0.ffn_up.weight", weight(N_FF, N_EMBD, scale=0.2))
    writer.add_tensor("blk.0.ffn_down.weight", weight(N_EMBD, N_FF, scale=0.2))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
