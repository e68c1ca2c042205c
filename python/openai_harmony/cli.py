"""``harmony``: render, parse and inspect harmony conversations from a shell.

Every subcommand reads a file (or stdin, for ``-`` or no file) and writes
stdout. Bad input prints one ``harmony: error: …`` line on stderr and exits
with status 1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import IO, Any, Dict, List, Optional, Sequence, Tuple

from pydantic import ValidationError

from . import _native
from ._distribution import DISTRIBUTION
from ._encoding import HarmonyEncoding, HarmonyEncodingName, HarmonyError, StreamableParser, load_harmony_encoding
from ._models import (
    Author,
    Conversation,
    DeveloperContent,
    Message,
    RenderConversationConfig,
    Role,
    SystemContent,
    ToolDescription,
)
from ._serve_options import add_serve_arguments

# Top-level keys and message keys that only Chat Completions requests have.
_CHAT_KEYS = {"model", "tools", "tool_choice", "reasoning_effort", "response_format", "stream", "max_tokens"}
_CHAT_MESSAGE_KEYS = {"tool_calls", "tool_call_id", "reasoning_content", "reasoning"}


class CliError(Exception):
    """Bad input: reported as one line, exit status 1."""


def _read(path: Optional[str]) -> str:
    if path is None and sys.stdin.isatty():
        # Nothing piped in: waiting on the terminal would look like a hang.
        raise CliError("no input: give a FILE, or pipe JSON or tokens on stdin (use - to type them)")
    if path is None or path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise CliError(f"cannot read {path}: {e.strerror}") from None


# One past the largest token id (the last special token).


def _kind(value: Any) -> str:
    """A parsed JSON value's type, in the core's words (``interop::json_kind``:
    the same wording in every error, whichever side writes it)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CliError(f"invalid JSON: {e}") from None
    except RecursionError:
        raise CliError("invalid input: JSON nested too deeply") from None


def _write_json(out: IO[str], value: Any, indent: Optional[int] = None) -> None:
    """Every JSON the command prints: UTF-8 as is, one document per line
    unless indented."""
    out.write(json.dumps(value, ensure_ascii=False, indent=indent) + "\n")


def _check_shape(doc: Any) -> Dict[str, Any]:
    """The document as ``{"messages": [objects…]}``, or a one-line error
    naming what is wrong with it."""
    if isinstance(doc, list):
        doc = {"messages": doc}
    if not isinstance(doc, dict):
        raise CliError(
            'expected a conversation: an object with "messages" (harmony or Chat Completions)'
            f" or a list of messages, got {_kind(doc)}"
        )
    if "messages" not in doc:
        keys = ", ".join(sorted(map(str, doc))) or "none"
        raise CliError(f'no "messages" in the object (its keys: {keys}); expected {{"messages": [...]}}')
    messages = doc["messages"]
    if not isinstance(messages, list):
        raise CliError(f'"messages" must be a list, got {_kind(messages)}')
    if not messages:
        raise CliError('"messages" is empty: there is no conversation to render')
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise CliError(f"messages[{i}] must be an object, got {_kind(m)}")
    return doc


_HARMONY_MESSAGE_KEYS = {"channel", "recipient", "content_type", "author"}
_HARMONY_CONTENT_TYPES = {"system_content", "developer_content"}


def _signs(doc: Dict[str, Any]) -> Tuple[List[str], List[str]]:
    """What in ``doc`` only a harmony conversation has, and what only a Chat
    Completions request has (each as words for a message)."""
    harmony: List[str] = []
    chat = [f'"{k}"' for k in sorted(set(doc) & _CHAT_KEYS)]
    for i, m in enumerate(doc.get("messages") or []):
        if not isinstance(m, dict):
            continue
        harmony += [f"messages[{i}].{k}" for k in sorted(set(m) & _HARMONY_MESSAGE_KEYS)]
        chat += [f"messages[{i}].{k}" for k in sorted(set(m) & _CHAT_MESSAGE_KEYS)]
        content = m.get("content")
        if isinstance(content, list):
            for item in content:
                if isinstance(item, dict) and item.get("type") in _HARMONY_CONTENT_TYPES:
                    harmony.append(f"messages[{i}] content of type {item['type']}")
    return harmony, chat


def detect_source(doc: Dict[str, Any]) -> str:
    """``harmony`` or ``chat``: how ``--from auto`` reads ``doc`` (one rule
    for every subcommand). Keys only one format has decide; input with
    both kinds of keys is ambiguous (an error naming them); input with
    neither is harmony if it reads as harmony, else Chat Completions if it
    reads as that, else an error naming what is wrong under each reading.
    Auto-detection never changes what an input means: it picks the reading
    the input asks for and reports that reading's errors."""
    harmony, chat = _signs(doc)
    if harmony and chat:
        raise CliError(
            f"ambiguous input: {', '.join(harmony[:3])} only a harmony conversation has, and"
            f" {', '.join(chat[:3])} only a Chat Completions request has; say which with --from harmony or --from chat"
        )
    if harmony:
        return "harmony"
    if chat:
        return "chat"
    try:
        _read_harmony(doc)
        return "harmony"
    except CliError as error:
        as_harmony = str(error)
    from .interop import conversation_from_chat_completions

    try:
        conversation_from_chat_completions(doc, date="2000-01-01")
        return "chat"
    except (HarmonyError, _native.HarmonyError, ValueError, TypeError) as error:
        as_chat = str(error).strip().splitlines()[0]
    raise CliError(
        f"neither reading works: as a harmony conversation, {as_harmony}; as a Chat Completions request, {as_chat}"
    )


def _read_harmony(doc: Dict[str, Any]) -> Conversation:
    """``doc`` as a harmony conversation, or a ``CliError`` naming the
    message and the field that is wrong."""
    messages = []
    for i, raw in enumerate(doc["messages"]):
        try:
            messages.append(Message.from_dict(raw))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CliError(f"messages[{i}].{where}: {first['msg']}") from None
        except (ValueError, TypeError, KeyError) as error:
            raise CliError(f"messages[{i}]: {str(error).strip().splitlines()[0]}") from None
    return Conversation.from_messages(messages)


def load_conversation(text: str, source: str = "auto", date: Optional[str] = None) -> Conversation:
    """A harmony conversation JSON or a Chat Completions request (``source``:
    ``auto``, ``harmony`` or ``chat``)."""
    doc = _check_shape(_load_json(text))
    if source == "auto":
        source = detect_source(doc)
    if source == "chat":
        from .interop import conversation_from_chat_completions

        return conversation_from_chat_completions(doc, date=date)
    try:
        return _read_harmony(doc)
    except CliError as e:
        raise CliError(f"not a harmony conversation: {e}") from None


def _render(enc: HarmonyEncoding, convo: Conversation, mode: str, role: str) -> List[int]:
    if mode == "training":
        return enc.render_conversation_for_training(convo)
    if mode == "conversation":
        return enc.render_conversation(convo)
    return enc.render_conversation_for_completion(convo, Role(role))


def _parse_tokens(enc: HarmonyEncoding, text: str) -> List[int]:
    """Token ids (a JSON list or whitespace-separated) or text with special tokens."""
    stripped = text.strip()
    if stripped.startswith("["):
        ids = _load_json(stripped)
        if not isinstance(ids, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in ids):
            raise CliError("a JSON token list must hold integers only")
        return _check_ids(ids, enc.n_vocab)
    if stripped and re.fullmatch(r"[-\d\s,]+", stripped):
        try:
            return _check_ids([int(t) for t in re.split(r"[\s,]+", stripped) if t], enc.n_vocab)
        except ValueError:
            raise CliError("token ids must be whitespace- or comma-separated integers") from None
    # A file's final newline is not part of the completion.
    return enc.encode(text.rstrip("\r\n"), allowed_special="all")


def _check_ids(ids: List[int], n_vocab: int) -> List[int]:
    for i, t in enumerate(ids):
        if not 0 <= t < n_vocab:
            raise CliError(f"token id {t} (position {i}) is not in the vocabulary: ids run from 0 to {n_vocab - 1}")
    return list(ids)


# --- colour -------------------------------------------------------------------

_SPECIAL = re.compile(r"<\|[a-z_]+\|>")


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and text else text

    def special(self, text: str) -> str:
        return self._wrap("1;35", text)

    def header(self, text: str) -> str:
        return self._wrap("1;36", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def highlight(self, decoded: str) -> str:
        if not self.color:
            return decoded
        return _SPECIAL.sub(lambda m: self.special(m.group(0)), decoded)


def inspect_text(enc: HarmonyEncoding, convo: Conversation, color: bool, mode: str = "conversation") -> str:
    """One block per rendered message (index, role, channel, token span, the
    decoded tokens with special tokens highlighted), then token counts per
    message, role and channel."""
    style = _Style(color)
    config = RenderConversationConfig(auto_drop_analysis=False) if mode == "conversation" else None
    tokens = enc.render_conversation(convo, config)
    spans = enc.message_spans(convo, config)
    lines: List[str] = []
    for span in spans:
        message = convo.messages[span.index]
        who = message.author.name or message.author.role.value
        parts = [f"[{span.index}] {who}"]
        if message.channel:
            parts.append(message.channel)
        if message.recipient:
            parts.append(f"to={message.recipient}")
        title = " · ".join(parts)
        lines.append(
            style.header(f"── {title} ") + style.dim(f"tokens {span.start}-{span.end} ({span.end - span.start})")
        )
        lines.append(style.highlight(enc.decode(tokens[span.start : span.end])))
        lines.append("")
    by_role: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    for span in spans:
        by_role[span.role.value] += span.end - span.start
        by_channel[span.channel or "(none)"] += span.end - span.start
    rows: List[Tuple[str, str, int]] = [
        ("message", f"[{s.index}] {s.role.value}{' · ' + s.channel if s.channel else ''}", s.end - s.start)
        for s in spans
    ]
    rows += [("role", k, v) for k, v in sorted(by_role.items())]
    rows += [("channel", k, v) for k, v in sorted(by_channel.items())]
    rows.append(("total", "", len(tokens)))
    width = max(len(r[1]) for r in rows)
    lines.append(style.header(f"{'by':<8} {'':<{width}} {'tokens':>7}"))
    for kind, name, count in rows:
        lines.append(f"{kind:<8} {name:<{width}} {count:>7}")
    return "\n".join(lines)


# --- subcommands ----------------------------------------------------------------


def _role_arg(value: str, tokens: List[int], enc: HarmonyEncoding) -> Optional[Role]:
    """``auto``: no role when the completion starts with ``<|start|>`` (it
    names its own), else ``assistant`` (it continues the prompt's
    ``<|start|>assistant``). ``none`` or a role name: as given."""
    if value == "auto":
        start = enc.encode("<|start|>", allowed_special="all")[0]
        return None if tokens[:1] == [start] else Role.ASSISTANT
    if value == "none":
        return None
    try:
        return Role(value)
    except ValueError:
        raise CliError(f"unknown role {value!r}") from None


def cmd_render(enc: HarmonyEncoding, args: argparse.Namespace, out: IO[str]) -> None:
    convo = load_conversation(_read(args.file), args.source, args.date)
    tokens = _render(enc, convo, args.mode, args.role)
    if args.format == "tokens":
        out.write(" ".join(map(str, tokens)) + "\n")
    elif args.format == "json":
        spans = [
            {"index": s.index, "role": s.role.value, "channel": s.channel, "start": s.start, "end": s.end}
            for s in enc.message_spans(convo)
        ]
        _write_json(out, {"tokens": tokens, "text": enc.decode(tokens), "messages": spans})
    else:
        out.write(enc.decode(tokens) + "\n")


def cmd_parse(enc: HarmonyEncoding, args: argparse.Namespace, out: IO[str]) -> None:
    tokens = _parse_tokens(enc, _read(args.file))
    if not tokens:
        raise CliError("the input is empty: there is no completion to parse")
    role = _role_arg(args.role, tokens, enc)
    if not args.lenient:
        _locate_strict_error(enc, tokens, role, args.tool)
    if args.events:
        parser = StreamableParser(enc, role, strict=not args.lenient, tools=args.tool)
        for token in tokens:
            parser.process(token)
            for event in parser.drain_events():
                _write_json(out, _event_dict(event))
        parser.process_eos()
        for event in parser.drain_events():
            _write_json(out, _event_dict(event))
        _report(parser.diagnostics, enc, tokens)
        return
    parsed = enc.parse_completion(tokens, role, strict=not args.lenient, tools=args.tool)
    _report(parsed.diagnostics, enc, tokens)
    messages = [m.to_dict() for m in parsed.messages]
    if args.format == "json":
        diagnostics = [{"position": d.position, "kind": d.kind, "detail": d.detail} for d in parsed.diagnostics]
        _write_json(out, {"messages": messages, "diagnostics": diagnostics}, indent=2)
    else:
        _write_json(out, messages, indent=2)


def _locate_strict_error(enc: HarmonyEncoding, tokens: List[int], role: Optional[Role], tools: Any) -> None:
    """Parses strictly token by token; on an error, a ``CliError`` saying
    what was given, where it failed (the token, its index, the text around
    it) and what the parser expected."""
    parser = StreamableParser(enc, role, strict=True, tools=tools)
    for i, token in enumerate(tokens):
        try:
            parser.process(token)
        except (HarmonyError, _native.HarmonyError) as error:
            before = enc.decode(tokens[max(0, i - 8) : i])
            after = enc.decode(tokens[i + 1 : i + 4])
            raise CliError(
                f"strict parse failed at token {i} of {len(tokens)}, {token} {enc.decode([token])!r}"
                f" (after {_tail(before)!r}, before {after[:30]!r}): {_name_tokens(enc, str(error))}"
                " (--lenient repairs it)"
            ) from None
    try:
        parser.process_eos()
    except (HarmonyError, _native.HarmonyError) as error:
        given = enc.decode(tokens)
        raise CliError(
            f"the completion ended before its last message was complete: {len(tokens)} tokens, ending"
            f" {_tail(given)!r}: {_name_tokens(enc, str(error))} (a header ends with <|message|>;"
            " --lenient repairs it)"
        ) from None


def _tail(text: str, width: int = 40) -> str:
    return text if len(text) <= width else "…" + text[-width:]


def _name_tokens(enc: HarmonyEncoding, message: str) -> str:
    """The core's message with each special token id followed by its text."""

    def named(m: re.Match[str]) -> str:
        token = int(m.group(1))
        if enc.is_special_token(token):
            return f"{m.group(0)} ({enc.decode([token])})"
        return m.group(0)

    return re.sub(r"\btoken (\d+)", named, message)


def _report(diagnostics: Sequence[Any], enc: HarmonyEncoding, tokens: Sequence[int]) -> None:
    """Each repair lenient parsing made, on stderr. Text outside any message
    (a missing ``<|start|>`` and the header it then lacks) is one repair,
    shown with the text (its tokens up to the next special token)."""
    i = 0
    while i < len(diagnostics):
        d = diagnostics[i]
        following = diagnostics[i + 1] if i + 1 < len(diagnostics) else None
        if d.kind == "missing_start" and following is not None and following.kind == "unterminated_header":
            end = next((i for i in range(d.position, len(tokens)) if enc.is_special_token(tokens[i])), len(tokens))
            stray = enc.decode(list(tokens[d.position : end]))
            shown = f" {stray!r}" if stray else ""
            print(
                f"harmony: repaired at tokens {d.position}-{following.position}: stray text{shown} outside any"
                " message: read as an assistant message",
                file=sys.stderr,
            )
            i += 2
            continue
        print(f"harmony: repaired at token {d.position}: {d.kind}: {d.detail}", file=sys.stderr)
        i += 1


def _event_dict(event: Any) -> Dict[str, Any]:
    kind = type(event).__name__
    body = {k: v for k, v in vars(event).items()}
    if isinstance(body.get("message"), Message):
        body["message"] = body["message"].to_dict()
    if isinstance(body.get("role"), Role):
        body["role"] = body["role"].value
    return {"event": kind, **body}


def _use_color(args: argparse.Namespace, out: IO[str]) -> bool:
    """--color always/never wins; auto (the default) colours a terminal
    unless NO_COLOR is set (https://no-color.org); --no-color is never."""
    choice = "never" if args.no_color else args.color
    if choice != "auto":
        return choice == "always"
    return not os.environ.get("NO_COLOR") and out.isatty()


def cmd_inspect(enc: HarmonyEncoding, args: argparse.Namespace, out: IO[str]) -> None:
    convo = load_conversation(_read(args.file), args.source, args.date)
    out.write(inspect_text(enc, convo, _use_color(args, out)) + "\n")


DEMO_COMPLETION = (
    "<|channel|>analysis<|message|>The tool says 18°C and clear in Paris. Answer briefly.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>It is 18 °C and clear in Paris right now.<|return|>"
)


def demo_conversation() -> Conversation:
    """System, developer with two function tools, user, an assistant tool
    call and the tool's result."""
    tools = [
        ToolDescription.new(
            "get_weather",
            "Gets the current weather for a city.",
            parameters={
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name, e.g. Paris"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
                },
                "required": ["city"],
            },
        ),
        ToolDescription.new(
            "get_time",
            "Gets the local time of a city.",
            parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        ),
    ]
    return Conversation.from_messages(
        [
            Message.from_role_and_content(Role.SYSTEM, SystemContent.new().with_conversation_start_date("2026-11-21")),
            Message.from_role_and_content(
                Role.DEVELOPER,
                DeveloperContent.new().with_instructions("Answer in one sentence.").with_function_tools(tools),
            ),
            Message.from_role_and_content(Role.USER, "What's the weather in Paris?"),
            Message.from_role_and_content(Role.ASSISTANT, '{"city": "Paris"}')
            .with_channel("commentary")
            .with_recipient("functions.get_weather")
            .with_content_type("<|constrain|>json"),
            Message.from_author_and_content(
                Author.new(Role.TOOL, "functions.get_weather"), '{"temperature": 18, "sky": "clear"}'
            )
            .with_channel("commentary")
            .with_recipient("assistant"),
        ]
    )


def cmd_demo(enc: HarmonyEncoding, args: argparse.Namespace, out: IO[str]) -> None:
    style = _Style(_use_color(args, out))
    convo = demo_conversation()
    prompt = enc.render_conversation_for_completion(convo, Role.ASSISTANT)
    out.write(style.header("# The conversation, rendered (harmony inspect)") + "\n\n")
    out.write(inspect_text(enc, convo, style.color) + "\n\n")
    out.write(style.header(f"# Prompt for the next assistant turn: {len(prompt)} tokens, ending") + "\n")
    out.write(style.highlight(enc.decode(prompt[-12:])) + "\n\n")
    completion = enc.encode(DEMO_COMPLETION, allowed_special="all")
    messages = enc.parse_messages_from_completion_tokens(completion, Role.ASSISTANT)
    out.write(style.header(f"# A sampled completion ({len(completion)} tokens), parsed (harmony parse)") + "\n")
    out.write(json.dumps([m.to_dict() for m in messages], ensure_ascii=False, indent=2) + "\n")


def _first_row_source(path: str) -> str:
    """``--from auto`` for a JSONL file: the reading its first conversation
    asks for (the rule of ``render``); stdin is read as harmony unless told."""
    if path == "-":
        return "harmony"
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        doc = _check_shape(json.loads(line))
                    except (ValueError, CliError):
                        return "harmony"  # the tokenizer reports the bad line itself
                    try:
                        return detect_source(doc)
                    except CliError as error:
                        raise CliError(f"line {number}: {error}") from None
    except (OSError, UnicodeDecodeError):
        pass  # the tokenizer reports an unreadable file itself
    return "harmony"


def cmd_tokenize(enc: HarmonyEncoding, args: argparse.Namespace, out: IO[str]) -> None:
    from ._tokenize import TokenizeError, tokenize_file

    source = args.source
    detected = ""
    if source == "auto":
        source = _first_row_source(args.input)
        kind = "Chat Completions requests" if source == "chat" else "harmony conversations"
        detected = f" (read as {kind}, detected from the first line; --from says otherwise)"
    try:
        summary = tokenize_file(
            args.input,
            args.output,
            train_on=args.train_on,
            input_format=source,
            workers=args.workers,
            skip_invalid=args.skip_invalid,
            date=args.date,
            progress=args.progress,
        )
    except TokenizeError as e:
        raise CliError(str(e)) from None
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    skipped = f", {_count(summary.skipped, 'invalid line')} skipped" if summary.skipped else ""
    print(
        f"harmony: {_count(summary.rows, 'conversation')}, {_count(summary.tokens, 'token')} into"
        f" {args.output}{skipped}"
        f" in {summary.seconds:.2f} s ({rate:,.0f} conversations/s, {summary.tokens / max(summary.seconds, 1e-9):,.0f}"
        f" tokens/s){detected}",
        file=sys.stderr,
    )


def cmd_serve(enc: HarmonyEncoding, args: argparse.Namespace, out: IO[str]) -> None:
    from .server import serve_from_arguments

    serve_from_arguments(args)


def cmd_stand_in(enc: HarmonyEncoding, args: argparse.Namespace, out: IO[str]) -> None:
    import subprocess

    from . import _distribution as dist

    here = Path(__file__).resolve().parent.parent
    installed = dist.reference_versions(here)
    if args.install and installed:
        raise CliError(
            f"OpenAI's {dist.REFERENCE} {', '.join(installed)} is installed over the same module"
            f" in {here}; first: pip uninstall -y {dist.REFERENCE} && pip install --force-reinstall --no-deps"
            f" {dist.DISTRIBUTION}"
        )
    wheel = dist.stand_in_wheel(Path(args.out), _native.__version__, args.reference_version)
    print(f"wrote {wheel}", file=out)
    if args.install:
        command = [sys.executable, "-m", "pip", "install", "--no-deps", "--force-reinstall", str(wheel)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip() or done.stdout.strip() or f"exit {done.returncode}").splitlines()[-1]
            raise CliError(f"pip could not install the stand-in: {last}")
        version = wheel.name.split("-")[1]
        print(f"installed {dist.REFERENCE} {version} (no files; requires {dist.DISTRIBUTION})", file=out)
        print(
            f"to keep it through `pip install --force-reinstall` of a server: PIP_FIND_LINKS={wheel.parent}", file=out
        )


def _date(value: str) -> str:
    """--date: a calendar date, YYYY-MM-DD."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}")


def _color_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour special tokens and headers (default: auto, on a terminal unless NO_COLOR is set)",
    )
    p.add_argument("--no-color", action="store_true", help="same as --color never")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="harmony", description="Render, parse and inspect the harmony format of gpt-oss.")
    ap.add_argument("--version", action="version", version=f"harmony ({DISTRIBUTION} {_native.__version__})")
    sub = ap.add_subparsers(dest="command", required=True)

    def conversation_input(p: argparse.ArgumentParser) -> None:
        p.add_argument("file", nargs="?", help="JSON file (default: stdin)")
        p.add_argument(
            "--from",
            dest="source",
            choices=["auto", "harmony", "chat"],
            default="auto",
            help="input kind: a harmony conversation or a Chat Completions request (default: auto, detected from"
            " the keys: model, tools, tool_calls, reasoning_content and the like mean Chat Completions)",
        )
        p.add_argument(
            "--date",
            type=_date,
            help="the system message's current date (YYYY-MM-DD) for Chat Completions input (default: today)",
        )

    p = sub.add_parser("render", help="render a conversation to tokens or text")
    conversation_input(p)
    p.add_argument(
        "--for",
        dest="mode",
        choices=["completion", "training", "conversation"],
        default="completion",
        help="completion: the prompt for the next turn (default); training: the training render;"
        " conversation: the messages as they are",
    )
    p.add_argument(
        "--format",
        choices=["text", "tokens", "json"],
        default="text",
        help="text (default); tokens: the ids, space-separated; json: tokens, text and message spans",
    )
    p.add_argument(
        "--role",
        default="assistant",
        help="with --for completion, the next turn's role: the prompt ends with <|start|>ROLE (default: assistant)",
    )

    p = sub.add_parser("parse", help="parse completion tokens into messages")
    p.add_argument("file", nargs="?", help="token ids (JSON list or whitespace-separated) or text (default: stdin)")
    p.add_argument(
        "--role",
        default="auto",
        help="the role the completion starts in: auto (default: none when it starts with <|start|>, else"
        " assistant, which continues the prompt's <|start|>assistant), none, or a role name",
    )
    p.add_argument(
        "--lenient",
        action="store_true",
        help="repair malformed output instead of failing; each repair is reported on stderr"
        " (OPENAI_HARMONY_PARSE=lenient in the environment does the same)",
    )
    p.add_argument(
        "--tool",
        action="append",
        metavar="RECIPIENT",
        help="a recipient the prompt declared (functions.get_weather), which a lenient repair maps a damaged"
        " recipient to; repeat for several",
    )
    p.add_argument("--events", action="store_true", help="print the stream events instead, one JSON object a line")
    p.add_argument(
        "--format",
        choices=["messages", "json"],
        default="messages",
        help="messages: the list of messages (default); json: {messages, diagnostics} with lenient parsing's repairs",
    )

    p = sub.add_parser("inspect", help="show a rendered conversation message by message, with token counts")
    conversation_input(p)
    _color_options(p)

    p = sub.add_parser("tokenize", help="tokenize a JSONL file of conversations into Parquet training columns")
    p.add_argument("input", help="JSONL file, one conversation per line ('-': stdin)")
    p.add_argument("-o", "--output", required=True, help="Parquet file to write (input_ids, loss_mask, num_tokens)")
    p.add_argument(
        "--train-on",
        choices=["all_assistant", "last_assistant_turn"],
        default="all_assistant",
        help="which assistant messages the loss mask covers (default: all_assistant)",
    )
    p.add_argument(
        "--from",
        dest="source",
        choices=["auto", "harmony", "chat"],
        default="auto",
        help="each line: a harmony conversation, or a Chat Completions request or messages list (default: auto,"
        " the reading the first line asks for, by the rule of render)",
    )
    p.add_argument("--workers", type=int, help="worker threads (default: all cores)")
    p.add_argument("--skip-invalid", action="store_true", help="skip bad lines (reported on stderr) instead of failing")
    p.add_argument(
        "--date", type=_date, help="the system message's current date (YYYY-MM-DD) for --from chat (default: today)"
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress line on stderr (default: when stderr is a terminal)",
    )

    p = sub.add_parser("serve", help="run the OpenAI-compatible server (openai_harmony.server) with the demo generator")
    add_serve_arguments(p)

    p = sub.add_parser(
        "playground", help="serve the playground page (and the API, demo generator) and open it in a browser"
    )
    add_serve_arguments(p)
    p.add_argument("--no-open", dest="open", action="store_false", help="do not open a browser")

    p = sub.add_parser("demo", help="render, inspect and parse an embedded example")
    _color_options(p)

    p = sub.add_parser(
        "stand-in",
        help="write (and --install) an empty openai-harmony wheel that requires harmony-codec, so a server's"
        " openai-harmony requirement keeps this package (docs/install.md)",
    )
    p.add_argument(
        "--out", default=".", help="directory for the wheel (default: the current one; keep it for PIP_FIND_LINKS)"
    )
    p.add_argument(
        "--version",
        dest="reference_version",
        default="0.0.8",
        help="the openai-harmony release to stand in for (default: 0.0.8; a server pinning ==0.0.4 needs 0.0.4)",
    )
    p.add_argument("--install", action="store_true", help="install it with this Python's pip")
    return ap


COMMANDS = {
    "render": cmd_render,
    "parse": cmd_parse,
    "inspect": cmd_inspect,
    "demo": cmd_demo,
    "tokenize": cmd_tokenize,
    "serve": cmd_serve,
    "playground": cmd_serve,
    "stand-in": cmd_stand_in,
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command not in ("serve", "playground"):
        # Commands report repairs on stderr themselves (`_report`); without a
        # handler the library's repair log lines would repeat them there.
        logging.getLogger("openai_harmony").addHandler(logging.NullHandler())
    try:
        enc = load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)
        COMMANDS[args.command](enc, args, sys.stdout)
    except (CliError, HarmonyError, _native.HarmonyError, ValueError) as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"harmony: error: {_sentence(message)}", file=sys.stderr)
        return 1
    except OSError as e:  # a file or a socket: the system's words, not Python's class name
        what = (e.strerror or str(e)).rstrip(".")
        where = f": {e.filename}" if e.filename else ""
        print(f"harmony: error: {_sentence(what)}{where}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("harmony: interrupted", file=sys.stderr)
        return 130
    except RecursionError:
        print("harmony: error: input nested too deeply", file=sys.stderr)
        return 1
    except Exception as e:  # never a traceback: one line naming what failed
        detail = str(e).strip().splitlines()[0] if str(e).strip() else ""
        print(f"harmony: error: {type(e).__name__}{': ' + detail if detail else ''}", file=sys.stderr)
        return 1
    return 0


def _count(n: int, noun: str) -> str:
    """``1 conversation``, ``2,000 conversations``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _sentence(message: str) -> str:
    """One style for every error line: a lower-case start (``Invalid JSON``
    from the core reads ``invalid JSON``), acronyms kept."""
    if len(message) > 1 and message[0].isupper() and message[1].islower():
        return message[0].lower() + message[1:]
    return message


if __name__ == "__main__":
    sys.exit(main())
