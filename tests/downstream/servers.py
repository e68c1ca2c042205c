"""What each pinned server release needs: its top package, which of its
modules are replaced (and by what), its light dependencies, its driver.

The versions are pinned in the Makefile (DOWNSTREAM_* variables); a pin
without an entry here is an error, since a new release's harmony paths
must be read before they are driven. Every replacement is explained in
README.md."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Server:
    top: str
    driver: str
    # Light dependencies, installed with pip into .downstream/deps/<name>:
    # the versions the release pins, or, where it gives a floor only, one
    # it was released against.
    deps: tuple[str, ...]
    # Placeholder modules (glob patterns): heavy or GPU-bound imports that
    # the driven code only names.
    auto: tuple[str, ...] = ()
    # Packages whose __init__.py is not run.
    skip_init: tuple[str, ...] = ()
    # Hand-written stubs: folders under stubs/, searched in order.
    stub_dirs: tuple[str, ...] = ("common",)
    # Which of the wheel's Python files to extract (path prefixes).
    extract: tuple[str, ...] = ()


def _both(*names: str) -> tuple[str, ...]:
    out: list[str] = []
    for n in names:
        out += [n, n + ".*"]
    return tuple(out)


# Third-party modules that the servers' entrypoints import but the harmony
# paths never use: tensor, tokenizer, image, IPC, process-title, pickling,
# HTTP-client and metrics libraries. torch itself is a hand-written stub
# (stubs/common/torch.py); its submodules are placeholders.
_THIRD_PARTY = (
    "torch.*",
    *_both(
        "transformers",
        "PIL",
        "cloudpickle",
        "psutil",
        "setproctitle",
        "zmq",
        "huggingface_hub",
        "safetensors",
        "aiohttp",
        "requests",
        "urllib3",
        "prometheus_client",
        "IPython",
        "triton",
        "torch_npu",
        "jsonschema",
    ),
)

# xgrammar builds grammars for constrained decoding (structural tags) from
# the request, never used when parsing output. lmdeploy imports it lazily
# and has a fallback without it, so there it is simply absent.
_XGRAMMAR = _both("xgrammar")

# vLLM's engine and everything that needs torch or a GPU: the harmony paths
# take the engine's outputs (RequestOutput, real) as plain objects.
_VLLM_ENGINE = (
    *_both(
        "vllm.config",
        "vllm.model_executor",
        "vllm.distributed",
        "vllm.multimodal",
        "vllm.engine",
        "vllm.v1",
        "vllm.inputs",
        "vllm.transformers_utils",
        "vllm.lora",
        "vllm.platforms",
        "vllm.compilation",
    ),
    "vllm.sampling_params",
    "vllm.pooling_params",
    "vllm.sequence",
)

_LIGHT = ("partial_json_parser", "regex", "msgspec", "jinja2", "pybase64", "numpy", "pyyaml", "packaging")

SERVERS: dict[str, Server] = {
    "vllm-0.11.0": Server(
        top="vllm",
        driver="vllm_0_11",
        deps=("openai==1.109.1", "pydantic==2.11.9", "fastapi==0.118.0", "cbor2", "cachetools", *_LIGHT),
        auto=_THIRD_PARTY + _VLLM_ENGINE,
        # vllm/__init__.py imports the engine eagerly in this release.
        skip_init=("vllm",),
        extract=("vllm/",),
    ),
    "vllm-0.34.0": Server(
        top="vllm",
        driver="vllm_0_34",
        deps=(
            "openai==2.25.0",
            "pydantic==2.12.5",
            "fastapi==0.135.0",
            "starlette>=1.0.1",
            "orjson>=3.11.6",
            "cbor2",
            "ijson",
            "cachetools",
            *_LIGHT,
        ),
        auto=_THIRD_PARTY
        + _XGRAMMAR
        + _VLLM_ENGINE
        # torch dtype tables and torch patches, run at import.
        + ("vllm.utils.torch_utils", "vllm.env_override"),
        # vllm/__init__.py resolves its attributes lazily in this release.
        skip_init=(),
        extract=("vllm/",),
    ),
    "sglang-0.5.23": Server(
        top="sglang",
        driver="sglang",
        deps=("openai==2.8.0", "pydantic", "fastapi", "orjson", "uvloop", *_LIGHT),
        auto=_THIRD_PARTY
        + _XGRAMMAR
        + _both(
            # The scheduler, kernels, model configs and device platforms:
            # torch and GPUs.
            "sglang.srt.platforms",
            "sglang.srt.managers.schedule_batch",
            "sglang.srt.distributed",
            "sglang.kernels",
            "sglang.srt.configs",
            "sglang.srt.dllm",
            "sglang.srt.layers",
            "sglang.srt.model_executor",
            "sglang.srt.mem_cache",
            # Hugging Face config and tokenizer loading.
            "sglang.srt.utils.hf_transformers",
            "sglang.srt.utils.hf_transformers_utils",
        ),
        # sglang/__init__.py imports the whole runtime (lang, engine).
        skip_init=("sglang",),
        extract=("sglang/",),
    ),
    "lmdeploy-0.18.0": Server(
        top="lmdeploy",
        driver="lmdeploy",
        deps=("openai==2.45.0", "pydantic", "fastapi", "shortuuid", *_LIGHT),
        auto=_THIRD_PARTY,
        # lmdeploy/__init__.py and lmdeploy/serve/__init__.py import the
        # pipeline and the engines.
        skip_init=("lmdeploy", "lmdeploy.serve"),
        stub_dirs=("common", "lmdeploy"),
        extract=("lmdeploy/",),
    ),
}
