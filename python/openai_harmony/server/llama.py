"""llama.cpp in-process (llama-cpp-python's low-level API): a GGUF model
prompted with our rendering as token ids, sampled under our GBNF grammar.

``LlamaEngine(path)`` loads the model; ``engine.generate(prompt, ...)``
yields completion tokens. llama.cpp facts this module is built on (each
checked in tests/python/test_llama_cpp.py):

- A grammar is parsed when its sampler is built with the vocabulary
  (``llama_sampler_init_grammar``); a grammar that does not parse gives no
  sampler (``GrammarError`` here).
- A grammar never consumes an end-of-generation token: llama.cpp allows
  every one of them (``<|return|>``, ``<|call|>``, ``<|endoftext|>``)
  wherever the grammar is complete. So an answer may end on ``<|call|>``
  and a call on ``<|return|>``: read a message's kind from its header, not
  from its stop token. ``<|endoftext|>`` is banned here (a logit bias of
  -inf), so every completion ends on ``<|return|>`` or ``<|call|>``.
- Accepting a token the grammar refuses aborts the process: the sampler
  only ever accepts what it just allowed.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

ENDOFTEXT = "<|endoftext|>"


class GrammarError(ValueError):
    """llama.cpp refused a grammar (it does not parse, or names a token the
    vocabulary does not have)."""


def _lib() -> Any:
    try:
        import llama_cpp
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError("running a GGUF model needs llama-cpp-python: pip install 'harmony-codec[llama]'") from error
    return llama_cpp


class LlamaEngine:
    """A GGUF model in llama.cpp, one context, used by one request at a time
    (``lock``)."""

    def __init__(self, path: str | Path, *, n_ctx: int = 8192, threads: int = 1, verbose: bool = False) -> None:
        L = _lib()
        self.L = L
        if not verbose:
            import llama_cpp._logger

            llama_cpp._logger.set_verbose(False)
        L.llama_backend_init()
        params = L.llama_model_default_params()
        params.n_gpu_layers = 0
        self.model = L.llama_model_load_from_file(str(path).encode(), params)
        if not self.model:
            raise ValueError(f"llama.cpp could not load the model {path}")
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = int(L.llama_vocab_n_tokens(self.vocab))
        context = L.llama_context_default_params()
        context.n_ctx = n_ctx
        context.n_batch = n_ctx
        context.n_ubatch = min(n_ctx, 512)
        context.n_threads = threads
        context.n_threads_batch = threads
        self.n_ctx = n_ctx
        self.ctx = L.llama_init_from_model(self.model, context)
        if not self.ctx:
            raise ValueError("llama.cpp could not create a context")
        self.lock = threading.Lock()
        self._candidates: Optional[Any] = None

    # --- the vocabulary -----------------------------------------------------

    def tokenize(self, text: str, *, special: bool = True) -> List[int]:
        """llama.cpp's own tokenization of ``text`` (special tokens written
        out are read as such when ``special``)."""
        data = text.encode("utf-8")
        size = len(data) + 16
        buf = (self.L.llama_token * size)()
        n = self.L.llama_tokenize(self.vocab, data, len(data), buf, size, False, special)
        if n < 0:
            raise ValueError(f"llama_tokenize needs {-n} tokens")
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        """A token's bytes (special tokens as their text)."""
        buf = ctypes.create_string_buffer(256)
        n = self.L.llama_token_to_piece(self.vocab, token, buf, 256, 0, True)
        return bytes(buf.raw[:n])

    def is_eog(self, token: int) -> bool:
        """Whether llama.cpp ends generation on ``token``."""
        return bool(self.L.llama_vocab_is_eog(self.vocab, token))

    def token_id(self, text: str) -> int:
        """The id of a special token written out."""
        ids = self.tokenize(text)
        if len(ids) != 1:
            raise ValueError(f"{text!r} is not one token")
        return ids[0]

    # --- grammars -----------------------------------------------------------

    def grammar(self, gbnf: str, root: str = "root") -> Any:
        """A grammar sampler: llama.cpp parses ``gbnf`` against the
        vocabulary here. Free it with ``free_sampler`` (or hand it to a chain)."""
        sampler = self.L.llama_sampler_init_grammar(self.vocab, gbnf.encode("utf-8"), root.encode())
        if not sampler:
            raise GrammarError("llama.cpp refused the grammar (see its log for the reason)")
        return sampler

    def free_sampler(self, sampler: Any) -> None:
        self.L.llama_sampler_free(sampler)

    def allows(self, sampler: Any, token: int) -> bool:
        """Whether the grammar allows ``token`` next (nothing is accepted)."""
        one = (self.L.llama_token_data * 1)(self.L.llama_token_data(token, 0.0, 0.0))
        array = self.L.llama_token_data_array(data=one, size=1, selected=-1, sorted=False)
        self.L.llama_sampler_apply(sampler, ctypes.byref(array))
        return bool(one[0].logit != float("-inf"))

    def allowed(self, sampler: Any) -> List[int]:
        """Every token the grammar allows next (over the whole vocabulary)."""
        import numpy as np

        if self._candidates is None:
            dtype = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])
            self._candidates = np.zeros(self.n_vocab, dtype=dtype)
            self._candidates["id"] = np.arange(self.n_vocab, dtype=np.int32)
        candidates = self._candidates
        candidates["logit"] = 0.0
        pointer = ctypes.cast(candidates.ctypes.data, ctypes.POINTER(self.L.llama_token_data))
        array = self.L.llama_token_data_array(data=pointer, size=self.n_vocab, selected=-1, sorted=False)
        self.L.llama_sampler_apply(sampler, ctypes.byref(array))
        return [int(i) for i in np.nonzero(candidates["logit"] != -np.inf)[0]]

    def accept(self, sampler: Any, token: int) -> None:
        """Advances the grammar by ``token``, which it must allow (llama.cpp
        aborts the process on one it does not)."""
        if not self.allows(sampler, token):
            raise ValueError(f"the grammar does not allow token {token}")
        self.L.llama_sampler_accept(sampler, token)

    # --- sampling -----------------------------------------------------------

    def generate(
        self,
        prompt: Sequence[int],
        *,
        grammar: Optional[str] = None,
        max_tokens: Optional[int] = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: Optional[int] = None,
        bias: Optional[Dict[int, float]] = None,
        stop: Optional[Sequence[int]] = None,
    ) -> Iterator[int]:
        """Completion tokens after ``prompt``, sampled as llama.cpp's own
        sampler does (``common_sampler``): the chain (logit biases, with
        ``<|endoftext|>`` banned; temperature; top-p; a seeded draw) picks a
        token; if the grammar refuses it, the grammar masks every candidate
        and the chain draws again. Ends after an end-of-generation token
        (yielded), a token of ``stop``, or ``max_tokens``. Holds ``lock``
        while it runs."""
        L = self.L
        self.check_prompt(prompt)
        budget = self.n_ctx - len(prompt)
        if max_tokens is not None:
            budget = min(budget, max_tokens)
        biases = dict(bias or {})
        biases.setdefault(self.token_id(ENDOFTEXT), float("-inf"))
        stops = set(stop or ())
        with self.lock:
            chain = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
            rules = self.grammar(grammar) if grammar is not None else None
            try:
                items = (L.llama_logit_bias * len(biases))(*(L.llama_logit_bias(t, b) for t, b in biases.items()))
                L.llama_sampler_chain_add(chain, L.llama_sampler_init_logit_bias(self.n_vocab, len(biases), items))
                if temperature <= 0:
                    L.llama_sampler_chain_add(chain, L.llama_sampler_init_greedy())
                else:
                    L.llama_sampler_chain_add(chain, L.llama_sampler_init_temp(temperature))
                    if top_p < 1.0:
                        L.llama_sampler_chain_add(chain, L.llama_sampler_init_top_p(top_p, 1))
                    L.llama_sampler_chain_add(chain, L.llama_sampler_init_dist(0xFFFFFFFF if seed is None else seed))
                L.llama_memory_clear(L.llama_get_memory(self.ctx), True)
                tokens = (L.llama_token * len(prompt))(*prompt)
                if L.llama_decode(self.ctx, L.llama_batch_get_one(tokens, len(prompt))) != 0:
                    raise RuntimeError("llama_decode failed on the prompt")
                for _ in range(budget):
                    token = self._draw(chain, rules)
                    yield token
                    if self.is_eog(token) or token in stops:
                        return
                    one = (L.llama_token * 1)(token)
                    if L.llama_decode(self.ctx, L.llama_batch_get_one(one, 1)) != 0:
                        raise RuntimeError("llama_decode failed")
            finally:
                L.llama_sampler_free(chain)
                if rules is not None:
                    L.llama_sampler_free(rules)

    def check_prompt(self, prompt: Sequence[int]) -> None:
        """A ``ValueError`` for a prompt the context cannot hold."""
        if len(prompt) >= self.n_ctx:
            raise ValueError(f"the prompt has {len(prompt)} tokens; the model's context holds {self.n_ctx}")

    def _draw(self, chain: Any, rules: Optional[Any]) -> int:
        """One token from the last position's logits: the chain's pick if the
        grammar allows it, else the chain's pick among what it allows."""
        import numpy as np

        L = self.L
        logits = np.ctypeslib.as_array(L.llama_get_logits_ith(self.ctx, -1), shape=(self.n_vocab,))
        candidates = self._fresh_candidates(logits)
        pointer = ctypes.cast(candidates.ctypes.data, ctypes.POINTER(L.llama_token_data))
        array = L.llama_token_data_array(data=pointer, size=self.n_vocab, selected=-1, sorted=False)
        L.llama_sampler_apply(chain, ctypes.byref(array))
        token = int(candidates["id"][array.selected])
        if rules is not None and not self.allows(rules, token):
            candidates = self._fresh_candidates(logits)
            pointer = ctypes.cast(candidates.ctypes.data, ctypes.POINTER(L.llama_token_data))
            array = L.llama_token_data_array(data=pointer, size=self.n_vocab, selected=-1, sorted=False)
            L.llama_sampler_apply(rules, ctypes.byref(array))
            L.llama_sampler_apply(chain, ctypes.byref(array))
            token = int(candidates["id"][array.selected])
            if not np.isfinite(candidates["logit"][array.selected]):
                raise RuntimeError("the grammar allows no token here")
        L.llama_sampler_accept(chain, token)
        if rules is not None:
            L.llama_sampler_accept(rules, token)
        return token

    def _fresh_candidates(self, logits: Any) -> Any:
        import numpy as np

        dtype = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])
        candidates = np.empty(self.n_vocab, dtype=dtype)
        candidates["id"] = np.arange(self.n_vocab, dtype=np.int32)
        candidates["logit"] = logits
        candidates["p"] = 0.0
        return candidates

    def close(self) -> None:
        """Frees the context and the model."""
        if self.ctx:
            self.L.llama_free(self.ctx)
            self.ctx = None
        if self.model:
            self.L.llama_model_free(self.model)
            self.model = None


class LlamaGenerator:
    """A server generator (``create_app(LlamaGenerator(...))``) that runs a
    GGUF model in llama.cpp: the prompt is our rendering as token ids, and
    decoding is constrained by our GBNF grammar for the request (its tools
    with their argument schemas, ``tool_choice``, the response format)
    unless ``constrain=False``. Maps ``temperature``, ``top_p``, ``seed``
    and ``logit_bias`` (token id to a bias, as OpenAI's) from the request;
    the token budget comes from the server. Text ``stop`` sequences are not
    applied (the server's stop tokens are)."""

    takes_request = True

    def __init__(self, engine: LlamaEngine, encoding: Any, *, constrain: bool = True) -> None:
        self.engine = engine
        self.encoding = encoding
        self.constrain = constrain

    def grammar(self, request: Any) -> Optional[str]:
        """The GBNF grammar of what may answer ``request`` (None when not constraining)."""
        if not self.constrain or request is None:
            return None
        from ..interop import completion_grammar_for_chat_completions, completion_grammar_for_responses

        if request.api == "chat":
            return completion_grammar_for_chat_completions(self.encoding, request.body, syntax="gbnf")
        return completion_grammar_for_responses(self.encoding, request.body, request.previous, syntax="gbnf")

    def __call__(
        self, prompt: List[int], stop: List[int], max_tokens: Optional[int], request: Any = None
    ) -> Iterator[int]:
        from .app import RequestError

        body = request.body if request is not None else {}
        try:
            options = sampling_options(body, self.engine.n_vocab)
            grammar = self.grammar(request)
            if grammar is not None:
                self.engine.free_sampler(self.engine.grammar(grammar))  # refused here, before any reply
            self.engine.check_prompt(prompt)
        except ValueError as error:
            raise RequestError(400, str(error)) from None
        return self.engine.generate(prompt, grammar=grammar, max_tokens=max_tokens, stop=stop, **options)


def sampling_options(body: Dict[str, Any], n_vocab: int) -> Dict[str, Any]:
    """``temperature``, ``top_p``, ``seed`` and ``logit_bias`` of an OpenAI
    request as ``LlamaEngine.generate`` takes them; a value of the wrong
    kind is a ``ValueError`` naming the field."""
    options: Dict[str, Any] = {}
    for name, low, high in (("temperature", 0.0, 2.0), ("top_p", 0.0, 1.0)):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ValueError(f"{name} must be a number from {low:g} to {high:g}")
        options[name] = float(value)
    seed = body.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError("seed must be an integer")
        options["seed"] = seed & 0xFFFFFFFF
    bias = body.get("logit_bias")
    if bias is not None:
        if not isinstance(bias, dict):
            raise ValueError("logit_bias must map token ids to numbers")
        out: Dict[int, float] = {}
        for key, value in bias.items():
            try:
                token = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"logit_bias: {key!r} is not a token id") from None
            if not 0 <= token < n_vocab:
                raise ValueError(f"logit_bias: {key} is not a token id of the model (0 to {n_vocab - 1})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not -100 <= value <= 100:
                raise ValueError(f"logit_bias[{key}] must be a number from -100 to 100")
            out[token] = float(value)
        options["bias"] = out
    return options
