"""The playground page in a real browser: headless Chromium (Debian's
``chromium``, which ``.ci/run`` installs) driven by Playwright, against a
server the test starts. Skipped, with the reason, where no Chromium is
installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any, Iterator, List

import pytest

from openai_harmony import Conversation, HarmonyEncoding, Role
from openai_harmony import server as harmony_server

CHROMIUM = os.environ.get("HARMONY_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT = os.environ.get("HARMONY_PLAYGROUND_SCREENSHOT")  # where to save the page (docs/images/playground.png)


@pytest.fixture
def base_url(enc: HarmonyEncoding) -> Iterator[str]:
    server = harmony_server.make_server(harmony_server.demo_generator(enc), "127.0.0.1", 0, encoding=enc)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


@pytest.fixture
def page(base_url: str) -> Iterator[Any]:
    if CHROMIUM is None:
        # A browser, not an engine the library serves: skipped, saying why,
        # where none can be installed (.ci/run installs Debian's).
        pytest.skip("no Chromium installed (apt-get install chromium; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        try:
            tab = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: List[str] = []
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.goto(base_url + "/")
            tab.wait_for_selector("body[data-ready=true]", timeout=30_000)
            yield tab
            assert errors == [], errors
        finally:
            browser.close()


def count_of(page: Any) -> int:
    text = page.inner_text("#token-count")
    m = re.match(r"(\d+) tokens, (\d+) special", text)
    assert m, text
    return int(m.group(1))


def test_the_page_renders_edits_and_steps_through_a_parse(page: Any, enc: HarmonyEncoding) -> None:
    # The example conversation, rendered: the count and the tokens are the library's.
    shown = json.loads(page.input_value("#conversation"))
    expected = enc.render_conversation_for_completion(Conversation.from_dict(shown), Role.ASSISTANT)
    assert count_of(page) == len(expected)
    assert page.locator("#tokens .tok").count() == len(expected)
    start = page.locator("#tokens .tok.special").first
    assert start.inner_text() == "<|start|>"
    assert "Begins a message" in (start.get_attribute("title") or "")
    assert "functions.get_weather" in page.inner_text("#grammar")

    # Edit the conversation: the page re-renders it.
    shown["messages"][-1]["content"][0]["text"] = "Hello from the browser test, with ünïcödé"
    page.fill("#conversation", json.dumps(shown, indent=2))
    page.click("#render")
    expected = enc.render_conversation_for_completion(Conversation.from_dict(shown), Role.ASSISTANT)
    page.wait_for_function(f"document.getElementById('token-count').textContent.startsWith('{len(expected)} tokens')")
    assert "Hello from the browser test, with ünïcödé" in page.inner_text("#tokens")
    page.check("#show-ids")
    assert str(expected[0]) in page.inner_text("#tokens")

    # Invalid JSON: an error shown, nothing thrown.
    page.fill("#conversation", "{oops")
    page.click("#render")
    page.wait_for_selector("#error:not([hidden])")
    assert "not valid JSON" in page.inner_text("#error")

    # The sample completion, stepped through token by token.
    page.click("#sample")
    page.wait_for_function("document.getElementById('step-label').textContent.startsWith('token')")
    total = int(re.search(r"of (\d+)", page.inner_text("#step-label")).group(1))  # type: ignore[union-attr]
    assert total == len(enc.encode(page.input_value("#completion"), allowed_special="all"))
    assert "get_weather" in page.inner_text("#messages")
    page.click("#first")
    assert page.inner_text("#step-label") == f"token 1 of {total}"
    assert "<|channel|>" in page.inner_text("#step-info")
    assert page.inner_text("#messages") == "(none yet)"
    page.click("#next")
    page.click("#next")
    assert page.inner_text("#step-label") == f"token 3 of {total}"
    info = page.inner_text("#step-info")
    assert "analysis" in info and "CONTENT" in info.upper()
    assert page.locator("#completion-tokens .tok.current").count() == 1

    # A Chat Completions request: its example, rendered, with the grammar of its tools.
    page.select_option("#source", "chat")
    page.wait_for_function("document.getElementById('grammar').textContent.includes('functions.get_weather')")
    assert count_of(page) > 0
    page.select_option("#syntax", "gbnf")
    page.wait_for_function("document.getElementById('grammar').textContent.includes('::=')")
    if SCREENSHOT:
        page.select_option("#source", "conversation")
        page.select_option("#syntax", "lark")
        page.wait_for_function("document.getElementById('grammar').textContent.includes('functions.get_weather')")
        page.click("#sample")
        page.wait_for_function("document.getElementById('step-label').textContent.startsWith('token')")
        page.wait_for_timeout(500)  # the parse's reply
        page.eval_on_selector("#step", "(s) => { s.value = 24; s.dispatchEvent(new Event('input')); }")
        Path(SCREENSHOT).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT, full_page=True)
