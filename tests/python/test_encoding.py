"""HarmonyEncoding: tokens, rendering (shared fixtures), errors, threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List

import pytest

from conftest import load_cases, names, text_fixture
from openai_harmony import (
    Author,
    Conversation,
    DeveloperContent,
    HarmonyEncoding,
    HarmonyEncodingName,
    HarmonyError,
    Message,
    RenderConversationConfig,
    RenderOptions,
    Role,
    SystemContent,
    TextContent,
    ToolDescription,
    load_harmony_encoding,
)

RENDER_CASES: List[Dict[str, Any]] = load_cases("render/cases.json")


def test_load_by_enum_or_string() -> None:
    assert load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS).name == "HarmonyGptOss"
    assert load_harmony_encoding("HarmonyGptOss").name == "HarmonyGptOss"
    # As the reference: a ValueError naming the name.
    with pytest.raises(ValueError, match="Invalid HarmonyEncodingName: NoSuchEncoding"):
        load_harmony_encoding("NoSuchEncoding")


def test_harmony_error_is_an_exception() -> None:
    assert issubclass(HarmonyError, Exception)
    # Reference code that catches RuntimeError for render errors keeps working.
    assert issubclass(HarmonyError, RuntimeError)


def test_special_tokens(enc: HarmonyEncoding) -> None:
    assert {"<|start|>", "<|end|>", "<|message|>", "<|channel|>", "<|constrain|>"} <= enc.special_tokens_set
    # As the reference: a set of 1,091 names, 199998..=201088.
    assert type(enc.special_tokens_set) is set and len(enc.special_tokens_set) == 1091
    assert "<|reserved_201088|>" in enc.special_tokens_set and enc.is_special_token(201088)
    assert enc.decode([201088]) == "<|reserved_201088|>"
    assert enc.encode("<|reserved_201088|>", allowed_special="all") == [201088]
    assert enc.is_special_token(200006) and not enc.is_special_token(17)
    # The reference's order changes from process to process (a hash set); ours is fixed.
    assert enc.stop_tokens() == [200002, 200012, 200007]
    assert enc.stop_tokens_for_assistant_actions() == [200002, 200012]


def test_encode_follows_tiktoken(enc: HarmonyEncoding) -> None:
    text = "hi <|start|> there"
    with pytest.raises(HarmonyError, match="disallowed special token"):
        enc.encode(text)
    with_special = enc.encode(text, allowed_special="all")
    assert 200006 in with_special
    assert enc.encode(text, allowed_special={"<|start|>"}) == with_special
    as_text = enc.encode(text, disallowed_special=())
    assert 200006 not in as_text and enc.decode(as_text) == text
    assert enc.encode_ordinary(text) == as_text
    assert enc.encode("plain") == enc.encode_ordinary("plain")
    # Lone surrogates are replaced, as tiktoken does.
    assert enc.decode(enc.encode("a\ud800b")) == "a\ufffdb"


def test_decode_variants(enc: HarmonyEncoding) -> None:
    tokens = enc.encode("héllo 🚀")
    assert enc.decode(tokens) == enc.decode_utf8(tokens) == "héllo 🚀"
    assert enc.decode_bytes(tokens) == "héllo 🚀".encode()
    half = [112927]  # the first three bytes of 🚀
    assert enc.decode(half) == "\ufffd"
    assert enc.decode(half, errors="ignore") == ""
    with pytest.raises(HarmonyError, match="Invalid utf-8"):
        enc.decode_utf8(half)
    with pytest.raises(HarmonyError, match="Invalid token for decoding: 99999999"):
        enc.decode_utf8([99999999])


@pytest.mark.parametrize("case", RENDER_CASES, ids=names(RENDER_CASES))
def test_render_fixtures(enc: HarmonyEncoding, case: Dict[str, Any]) -> None:
    convo = Conversation.from_json(json.dumps(case["conversation"]))
    config = (
        None
        if case["auto_drop_analysis"] is None
        else RenderConversationConfig(auto_drop_analysis=case["auto_drop_analysis"])
    )

    def go() -> List[int]:
        if case["op"] == "completion":
            return enc.render_conversation_for_completion(convo, Role(case["next_turn_role"]), config)
        if case["op"] == "training":
            return enc.render_conversation_for_training(convo, config)
        assert case["op"] == "conversation", case["op"]
        return enc.render_conversation(convo, config)

    if "error" in case:
        # A RuntimeError (HarmonyError is one), as in the reference.
        with pytest.raises(RuntimeError) as err:
            go()
        assert str(err.value).startswith(case["error"])
    else:
        assert enc.decode_utf8(go()) == text_fixture(f"render/{case['name']}.txt")


def test_render_single_message(enc: HarmonyEncoding) -> None:
    msg = Message.from_role_and_content(Role.USER, "Hi")
    assert enc.decode_utf8(enc.render(msg)) == "<|start|>user<|message|>Hi<|end|>"
    dev = Message.from_role_and_content(
        Role.DEVELOPER, DeveloperContent.new().with_function_tools([ToolDescription.new("f", "does f")])
    )
    with_tools = enc.render(dev, RenderOptions(conversation_has_function_tools=True))
    assert enc.decode_utf8(with_tools).startswith("<|start|>developer<|message|># Tools")


def test_missing_config_drops_analysis(enc: HarmonyEncoding) -> None:
    convo = Conversation.from_messages(
        [
            Message.from_role_and_content(Role.USER, "q"),
            Message.from_role_and_content(Role.ASSISTANT, "thinking").with_channel("analysis"),
            Message.from_role_and_content(Role.ASSISTANT, "answer").with_channel("final"),
            Message.from_role_and_content(Role.USER, "q2"),
        ]
    )
    dropped = enc.decode_utf8(enc.render_conversation_for_completion(convo, Role.ASSISTANT))
    assert "thinking" not in dropped
    kept = enc.render_conversation_for_completion(
        convo, Role.ASSISTANT, RenderConversationConfig(auto_drop_analysis=False)
    )
    assert "thinking" in enc.decode_utf8(kept)


def test_render_errors_are_raised_as_the_reference_raises_them(enc: HarmonyEncoding) -> None:
    # The reference raises a plain RuntimeError from render, render_conversation
    # and render_conversation_for_training, and its HarmonyError from
    # render_conversation_for_completion; the message is the same.
    bad = Conversation.from_messages([Message.from_author_and_content(Author.new(Role.TOOL), "x")])
    calls: List[Callable[[], List[int]]] = [
        lambda: enc.render_conversation_for_training(bad),
        lambda: enc.render_conversation(bad),
        lambda: enc.render(bad.messages[0]),
    ]
    for call in calls:
        with pytest.raises(RuntimeError, match=r"^Tools should have a name!$") as err:
            call()
        assert type(err.value) is RuntimeError
    with pytest.raises(HarmonyError, match=r"^Tools should have a name!$"):
        enc.render_conversation_for_completion(bad, Role.ASSISTANT)
    wrong = Conversation.from_messages([Message.from_role_and_content(Role.USER, SystemContent.new())])
    with pytest.raises(RuntimeError, match="SystemContent may only appear in system messages, found in User"):
        enc.render_conversation(wrong)


def big_conversation() -> Conversation:
    text = "The quick brown fox jumps over the lazy dog. " * 400
    return Conversation.from_messages([Message.from_role_and_content(Role.USER, text)] * 20)


def test_one_encoding_shared_across_threads(enc: HarmonyEncoding) -> None:
    convo = big_conversation()
    expected = enc.render_conversation(convo)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: enc.render_conversation(convo), range(8)))
    assert all(r == expected for r in results)


def advances_during(call: Callable[[], object]) -> List[int]:
    """How often another Python thread ran while the main thread was inside
    ``call``. The switch interval is set to 10 s, so the main thread only
    gives up the GIL if ``call`` releases it; the other thread yields after
    every step, so it never keeps the GIL from the main thread."""
    counter = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal counter
        while not stop.is_set():
            counter += 1
            time.sleep(0)

    old = sys.getswitchinterval()
    sys.setswitchinterval(10.0)
    worker = threading.Thread(target=count)
    worker.start()
    advances = []
    try:
        while counter == 0:
            time.sleep(0.001)
        for _ in range(3):
            before = counter
            call()
            advances.append(counter - before)
    finally:
        stop.set()
        worker.join()
        sys.setswitchinterval(old)
    return advances


def test_the_gil_is_released_while_rendering_parsing_encoding(enc: HarmonyEncoding) -> None:
    # Each call does tens of milliseconds of work, so that the other thread
    # gets scheduled during it even on a loaded machine.
    convo = Conversation.from_messages(big_conversation().messages * 10)
    payload = convo.to_json()
    tokens = enc.render_conversation(convo)
    text = enc.decode_utf8(tokens)
    # Control: a C call that holds the GIL lets the other thread run zero times.
    big_json = json.dumps(list(range(300_000)))
    assert advances_during(lambda: json.loads(big_json)) == [0, 0, 0]
    for call in (
        lambda: enc._inner.render_conversation(payload, True),
        lambda: enc._inner.parse_completion(tokens, None, False),
        lambda: enc._inner.encode_ordinary(text),
    ):
        assert max(advances_during(call)) > 0


def test_loading_needs_no_network_and_no_environment() -> None:
    # A fresh interpreter with the tiktoken variables pointing nowhere and
    # every proxy pointing at a closed port still loads and encodes.
    code = (
        "from openai_harmony import load_harmony_encoding, HarmonyEncodingName\n"
        "enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)\n"
        "assert enc.decode(enc.encode('offline')) == 'offline'\n"
    )
    env = dict(os.environ)
    env.update(
        TIKTOKEN_ENCODINGS_BASE="/nonexistent",
        TIKTOKEN_RS_CACHE_DIR="/nonexistent",
        DATA_GYM_CACHE_DIR="/nonexistent",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        ALL_PROXY="http://127.0.0.1:9",
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)


def test_a_plain_list_of_messages_renders_like_a_conversation(enc: HarmonyEncoding) -> None:
    messages = [Message.from_role_and_content(Role.USER, "Hi"), Message.from_role_and_content(Role.ASSISTANT, "Yo")]
    convo = Conversation.from_messages(messages)
    assert enc.render_conversation(messages) == enc.render_conversation(convo)
    assert enc.render_conversation_for_completion(messages, Role.ASSISTANT) == enc.render_conversation_for_completion(
        convo, Role.ASSISTANT
    )


def test_concurrent_renders_match_with_and_without_the_gil_spin(enc: HarmonyEncoding) -> None:
    # Non-ASCII text (borrowed as UTF-8), developer content (pydantic JSON),
    # and more threads than CPUs (where the spin stands down).
    from openai_harmony import _native

    tool = ToolDescription.new("lookup", "Looks up ünïcödé 🐍", parameters={"type": "object", "properties": {}})
    convos = [
        Conversation.from_messages(
            [
                Message.from_role_and_content(Role.DEVELOPER, DeveloperContent.new().with_function_tools([tool])),
                Message.from_role_and_content(Role.USER, f"Frage {i}: Größe von 東京? " * (i + 1)),
                Message.from_role_and_content(Role.ASSISTANT, f"Antwort {i} ✓").with_channel("final"),
            ]
        )
        for i in range(6)
    ]
    expected = [enc.render_conversation_for_completion(c, Role.ASSISTANT) for c in convos]
    old = _native.gil_spin_us()
    try:
        for spin in (old, 0, 5_000):
            _native.set_gil_spin_us(spin)
            assert _native.gil_spin_us() == spin
            for workers in (2, 8):
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    got = list(
                        pool.map(
                            lambda i: enc.render_conversation_for_completion(convos[i % 6], Role.ASSISTANT), range(120)
                        )
                    )
                assert all(g == expected[i % 6] for i, g in enumerate(got))
    finally:
        _native.set_gil_spin_us(old)
    # Changing a message between renders changes the result (nothing stale).
    item = convos[0].messages[1].content[0]
    assert isinstance(item, TextContent)
    item.text = "Geändert"
    changed = enc.render_conversation_for_completion(convos[0], Role.ASSISTANT)
    assert changed != expected[0] and "Geändert" in enc.decode_utf8(changed)
