//! `_native.HarmonyEncoding`: the encoding, immutable and shared; every
//! method that does real work releases the GIL.

use std::collections::HashSet;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use super::convert::{
    finish, message_from_py, messages_from_py, token_id, token_ids, token_list, RawMessage, Schemas, TokenIds,
};
use super::gil::Call;
use super::{json_err, role_of, to_py, PyHarmonyError};
use crate::batch::{parallel_map, RenderKind};
use crate::chat::{Conversation, Message, Role};
use crate::{HarmonyError, Rank, RenderConversationConfig, RenderOptions, SpecialTokenSet, StreamableParser, TokenId};

/// A message span as Python gets it: `(index, role, channel, start, end)`.
type SpanTuple = (usize, &'static str, Option<String>, usize, usize);

#[pyclass(name = "HarmonyEncoding", module = "openai_harmony._native", frozen)]
pub(crate) struct PyHarmonyEncoding {
    pub(crate) inner: crate::HarmonyEncoding,
}

fn config(auto_drop_analysis: Option<bool>) -> Option<RenderConversationConfig> {
    auto_drop_analysis.map(|auto_drop_analysis| RenderConversationConfig { auto_drop_analysis })
}

/// Parses a conversation and renders it with `f`, without the GIL.
fn render_json<F>(py: Python<'_>, conversation_json: &str, kind: RenderKind, f: F) -> PyResult<Vec<Rank>>
where
    F: FnOnce(&Conversation) -> Result<Vec<Rank>, HarmonyError> + Send,
{
    let call = Call::enter();
    call.detach(py, || f(&Conversation::from_json(conversation_json)?)).map_err(|e| render_error(e, kind))
}

/// An error of a conversation render as the reference raises it: its
/// `render_conversation` and `render_conversation_for_training` raise a
/// plain `RuntimeError` for a render error, its
/// `render_conversation_for_completion` a `HarmonyError`.
fn render_error(e: HarmonyError, kind: RenderKind) -> PyErr {
    match (&e, kind) {
        (HarmonyError::ContentJson(_) | HarmonyError::Json(_), _) | (_, RenderKind::Completion(_)) => to_py(e),
        _ => pyo3::exceptions::PyRuntimeError::new_err(e.to_string()),
    }
}

/// An error of `render(message)` as the reference raises it: content it
/// cannot read is `ValueError: invalid message JSON: …`, a JSON text error
/// stays a `HarmonyError` (the reference road rewords it), and a render error
/// is a plain `RuntimeError` (the reference's `render` does not raise its
/// `HarmonyError` for them, unlike its conversation renders).
fn message_render_error(e: HarmonyError) -> PyErr {
    match e {
        HarmonyError::ContentJson(text) => super::ContentJsonError::new_err(format!("invalid message JSON: {text}")),
        HarmonyError::Json(_) => to_py(e),
        e => pyo3::exceptions::PyRuntimeError::new_err(e.to_string()),
    }
}

/// The rendering a Python `mode` string (and next role) asks for.
fn render_kind(mode: &str, next_turn_role: Option<&str>) -> PyResult<RenderKind> {
    match (mode, role_of(next_turn_role)?) {
        ("completion", Some(role)) => Ok(RenderKind::Completion(role)),
        ("completion", None) => {
            Err(to_py(HarmonyError::InvalidArgument("mode \"completion\" needs next_turn_role".into())))
        }
        ("training", _) => Ok(RenderKind::Training),
        ("conversation", _) => Ok(RenderKind::Conversation),
        (other, _) => Err(PyValueError::new_err(format!(
            "mode must be \"conversation\", \"completion\" or \"training\", got {other:?}"
        ))),
    }
}

fn token_set(names: &Option<Vec<String>>) -> Option<HashSet<String>> {
    names.as_ref().map(|n| n.iter().cloned().collect())
}

fn special_set(set: &Option<HashSet<String>>) -> SpecialTokenSet<'_> {
    match set {
        None => SpecialTokenSet::All,
        Some(s) => SpecialTokenSet::Only(s),
    }
}

/// One conversation of a batch, read from Python.
enum BatchInput {
    Messages(Vec<RawMessage>),
    Json(String),
}

fn batch_input(item: &Bound<'_, PyAny>) -> PyResult<BatchInput> {
    if item.is_instance_of::<pyo3::types::PyString>() {
        return Ok(BatchInput::Json(item.extract::<String>()?));
    }
    let messages = match item.getattr(pyo3::intern!(item.py(), "messages")) {
        Ok(messages) => messages,
        Err(_) => item.clone(),
    };
    Ok(BatchInput::Messages(messages_from_py(&messages, Schemas::AsJsonDumps)?))
}

impl PyHarmonyEncoding {
    /// The bytes of token ids; an unknown or out-of-range id is the error.
    fn decode(&self, tokens: &TokenIds) -> Result<Vec<u8>, HarmonyError> {
        tokens.with(|r| self.inner.decode_bytes(r), |i| self.inner.tokenizer().decode_ids(i))
    }
}

#[pymethods]
impl PyHarmonyEncoding {
    #[new]
    fn new(py: Python<'_>, name: &str) -> PyResult<Self> {
        let name: crate::HarmonyEncodingName = name.parse()?;
        let inner = py.detach(|| crate::load_harmony_encoding(name))?;
        Ok(PyHarmonyEncoding { inner })
    }

    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The texts of every special token.
    fn special_tokens(&self) -> Vec<String> {
        self.inner.tokenizer().special_tokens().map(|(name, _)| name.to_string()).collect()
    }

    fn encode_ordinary<'py>(&self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyList>> {
        let call = Call::enter();
        let tokens = call.detach(py, || self.inner.encode_ordinary(text));
        token_list(py, &tokens)
    }

    /// tiktoken's `encode`: `allowed` / `disallowed` special token texts,
    /// `None` meaning all (for `disallowed`: all not allowed).
    #[pyo3(signature = (text, allowed = None, disallowed = None))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        text: &str,
        allowed: Option<Vec<String>>,
        disallowed: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let call = Call::enter();
        let (allowed, disallowed) = (token_set(&allowed), token_set(&disallowed));
        let tokens = call.detach(py, || {
            self.inner.tokenizer().encode_checked(text, special_set(&allowed), special_set(&disallowed))
        })?;
        token_list(py, &tokens)
    }

    fn decode_bytes<'py>(&self, py: Python<'py>, tokens: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let tokens = token_ids(tokens)?;
        let call = Call::enter();
        let bytes = call.detach(py, || self.decode(&tokens)).map_err(|e| match e {
            // The reference words this one without the decode_utf8 prefix.
            HarmonyError::InvalidToken(t) => PyHarmonyError::new_err(format!("Invalid token for decoding: {t}")),
            HarmonyError::TokenOutOfRange(t) => PyHarmonyError::new_err(format!("Invalid token for decoding: {t}")),
            e => to_py(e),
        })?;
        Ok(PyBytes::new(py, &bytes))
    }

    fn decode_utf8(&self, py: Python<'_>, tokens: &Bound<'_, PyAny>) -> PyResult<String> {
        let tokens = token_ids(tokens)?;
        let call = Call::enter();
        call.detach(py, || {
            let bytes = self.decode(&tokens)?;
            String::from_utf8(bytes).map_err(|e| HarmonyError::InvalidUtf8(e.utf8_error()))
        })
        .map_err(to_py)
    }

    /// An id outside `0..2^32` is no special token.
    fn is_special_token(&self, token: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(match token_id(token)? {
            TokenId::Rank(t) => self.inner.is_special_token(t),
            TokenId::OutOfRange(_) => false,
        })
    }

    #[getter]
    fn n_vocab(&self) -> usize {
        self.inner.n_vocab()
    }

    fn stop_tokens(&self) -> Vec<Rank> {
        self.inner.stop_tokens()
    }

    fn stop_tokens_for_assistant_actions(&self) -> Vec<Rank> {
        self.inner.stop_tokens_for_assistant_actions()
    }

    /// The grammar of the completions that may follow the rendered prompt
    /// of `openai_harmony.Message` objects (see `crate::grammar`).
    #[pyo3(signature = (messages, next_turn_role, syntax = "lark", tool_choice = "auto"))]
    fn completion_grammar(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        next_turn_role: &str,
        syntax: &str,
        tool_choice: &str,
    ) -> PyResult<String> {
        let call = Call::enter();
        let messages = messages_from_py(messages, Schemas::Refuse)?;
        let role: Role = next_turn_role.parse()?;
        let syntax: crate::grammar::GrammarSyntax = syntax.parse()?;
        let choice: crate::grammar::ToolChoice = tool_choice.parse()?;
        call.detach(py, || {
            let convo = Conversation::from_messages(finish(&messages)?);
            self.inner.completion_grammar(&convo, role, syntax, &choice)
        })
        .map_err(to_py)
    }

    /// Renders `openai_harmony.Message` objects (read natively). `mode` is
    /// `"conversation"`, `"completion"` (then `next_turn_role` is needed)
    /// or `"training"`.
    #[pyo3(signature = (messages, mode, next_turn_role = None, auto_drop_analysis = true))]
    fn render_messages<'py>(
        &self,
        py: Python<'py>,
        messages: &Bound<'py, PyAny>,
        mode: &str,
        next_turn_role: Option<&str>,
        auto_drop_analysis: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let call = Call::enter();
        let messages = messages_from_py(messages, Schemas::Refuse)?;
        let kind = render_kind(mode, next_turn_role)?;
        let config = RenderConversationConfig { auto_drop_analysis };
        let tokens = call
            .detach(py, || self.inner.render_as(&finish(&messages)?, kind, Some(&config)))
            .map_err(|e| render_error(e, kind))?;
        token_list(py, &tokens)
    }

    /// The training render of `openai_harmony.Message` objects and its
    /// loss mask (`train_on`: `"all_assistant"` or `"last_assistant_turn"`).
    #[pyo3(signature = (messages, auto_drop_analysis = true, train_on = "all_assistant"))]
    fn render_training_with_mask<'py>(
        &self,
        py: Python<'py>,
        messages: &Bound<'py, PyAny>,
        auto_drop_analysis: bool,
        train_on: &str,
    ) -> PyResult<(Bound<'py, PyList>, Vec<u8>)> {
        let call = Call::enter();
        let messages = messages_from_py(messages, Schemas::AsJsonDumps)?;
        let train_on: crate::TrainOn = train_on.parse().map_err(|_| {
            PyValueError::new_err(format!(
                "train_on must be \"all_assistant\" or \"last_assistant_turn\", got {train_on:?}"
            ))
        })?;
        let config = RenderConversationConfig { auto_drop_analysis };
        let (tokens, mask) = call.detach(py, || {
            self.inner.render_conversation_for_training_with_mask(&finish(&messages)?, Some(&config), train_on)
        })?;
        Ok((token_list(py, &tokens)?, mask))
    }

    /// `(index, role, channel, start, end)` of each rendered message.
    #[pyo3(signature = (messages, auto_drop_analysis = true))]
    fn message_spans(
        &self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        auto_drop_analysis: bool,
    ) -> PyResult<Vec<SpanTuple>> {
        let call = Call::enter();
        let messages = messages_from_py(messages, Schemas::AsJsonDumps)?;
        let config = RenderConversationConfig { auto_drop_analysis };
        let spans = call.detach(py, || self.inner.message_spans(&finish(&messages)?, Some(&config)))?;
        Ok(spans.into_iter().map(|s| (s.index, s.role.as_str(), s.channel, s.start, s.end)).collect())
    }

    /// Renders one `openai_harmony.Message` object.
    #[pyo3(signature = (message, conversation_has_function_tools = false))]
    fn render_message<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'py, PyAny>,
        conversation_has_function_tools: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let call = Call::enter();
        let message = message_from_py(message, Schemas::Refuse)?;
        let options = RenderOptions { conversation_has_function_tools };
        let tokens = call
            .detach(py, || self.inner.render(&message.to_message()?, Some(&options)))
            .map_err(message_render_error)?;
        token_list(py, &tokens)
    }

    #[pyo3(signature = (message_json, conversation_has_function_tools = false))]
    fn render(&self, py: Python<'_>, message_json: &str, conversation_has_function_tools: bool) -> PyResult<Vec<Rank>> {
        let call = Call::enter();
        call.detach(py, || {
            let message: Message = serde_json::from_str(message_json)?;
            self.inner.render(&message, Some(&RenderOptions { conversation_has_function_tools }))
        })
        .map_err(message_render_error)
    }

    #[pyo3(signature = (conversation_json, auto_drop_analysis = None))]
    fn render_conversation(
        &self,
        py: Python<'_>,
        conversation_json: &str,
        auto_drop_analysis: Option<bool>,
    ) -> PyResult<Vec<Rank>> {
        render_json(py, conversation_json, RenderKind::Conversation, |convo| {
            self.inner.render_conversation(convo, config(auto_drop_analysis).as_ref())
        })
    }

    #[pyo3(signature = (conversation_json, next_turn_role, auto_drop_analysis = None))]
    fn render_conversation_for_completion(
        &self,
        py: Python<'_>,
        conversation_json: &str,
        next_turn_role: &str,
        auto_drop_analysis: Option<bool>,
    ) -> PyResult<Vec<Rank>> {
        let role: Role = next_turn_role.parse()?;
        render_json(py, conversation_json, RenderKind::Completion(role), |convo| {
            self.inner.render_conversation_for_completion(convo, role, config(auto_drop_analysis).as_ref())
        })
    }

    #[pyo3(signature = (conversation_json, auto_drop_analysis = None))]
    fn render_conversation_for_training(
        &self,
        py: Python<'_>,
        conversation_json: &str,
        auto_drop_analysis: Option<bool>,
    ) -> PyResult<Vec<Rank>> {
        render_json(py, conversation_json, RenderKind::Training, |convo| {
            self.inner.render_conversation_for_training(convo, config(auto_drop_analysis).as_ref())
        })
    }

    /// Renders many conversations on all cores without the GIL. Each item is
    /// a `Conversation`, a list of `Message`s, or a harmony JSON string
    /// (parsed in parallel too). Raises on the first bad item, naming it.
    #[pyo3(signature = (conversations, mode, next_turn_role = None, auto_drop_analysis = true))]
    fn render_conversations_batch<'py>(
        &self,
        py: Python<'py>,
        conversations: &Bound<'py, PyAny>,
        mode: &str,
        next_turn_role: Option<&str>,
        auto_drop_analysis: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let call = Call::enter();
        let kind = render_kind(mode, next_turn_role)?;
        let inputs = conversations.try_iter()?.map(|item| batch_input(&item?)).collect::<PyResult<Vec<_>>>()?;
        let config = RenderConversationConfig { auto_drop_analysis };
        // The inputs borrow Python objects: they are dropped after the GIL is back.
        let results = call.detach(py, || {
            parallel_map(&inputs, |input| {
                let convo = match input {
                    BatchInput::Messages(raw) => Conversation::from_messages(finish(raw)?),
                    BatchInput::Json(json) => Conversation::from_json(json)?,
                };
                self.inner.render_as(&convo, kind, Some(&config))
            })
        });
        let lists = results
            .iter()
            .enumerate()
            .map(|(i, r)| match r {
                Ok(tokens) => token_list(py, tokens),
                Err(e) => Err(super::batch_item_error("conversation", i, e)),
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, lists)
    }

    /// Parses many completions on all cores without the GIL; returns, per
    /// completion, its messages and its repairs as JSON lists. Raises on the
    /// first bad one.
    #[pyo3(signature = (completions, role = None, strict = true, tools = None, server_repairs = false))]
    fn parse_batch(
        &self,
        py: Python<'_>,
        completions: &Bound<'_, PyAny>,
        role: Option<&str>,
        strict: bool,
        tools: Option<Vec<String>>,
        server_repairs: bool,
    ) -> PyResult<Vec<(String, String)>> {
        let completions = completions.try_iter()?.map(|c| token_ids(&c?)).collect::<PyResult<Vec<_>>>()?;
        let call = Call::enter();
        let role = role_of(role)?;
        let tools = tools.unwrap_or_default();
        let results = call.detach(py, || {
            parallel_map(&completions, |tokens| {
                let parser = || {
                    StreamableParser::new(self.inner.clone(), role)
                        .strict(strict)
                        .server_repairs(server_repairs)
                        .with_tools(tools.iter().cloned())
                };
                let parsed = tokens.with(|r| parser().parse_all(r.iter().copied()), |i| parser().parse_ids(i))?;
                let messages = serde_json::to_string(&parsed.messages)?;
                Ok::<_, HarmonyError>((messages, serde_json::to_string(&parsed.diagnostics)?))
            })
        });
        results
            .into_iter()
            .enumerate()
            .map(|(i, r)| r.map_err(|e| super::batch_item_error("completion", i, &e)))
            .collect()
    }

    /// Parses a whole completion; returns `(messages_json, diagnostics_json)`.
    #[pyo3(signature = (tokens, role = None, strict = true, tools = None, server_repairs = false))]
    fn parse_completion(
        &self,
        py: Python<'_>,
        tokens: &Bound<'_, PyAny>,
        role: Option<&str>,
        strict: bool,
        tools: Option<Vec<String>>,
        server_repairs: bool,
    ) -> PyResult<(String, String)> {
        let tokens = token_ids(tokens)?;
        let call = Call::enter();
        let role = role_of(role)?;
        let parser = StreamableParser::new(self.inner.clone(), role)
            .strict(strict)
            .server_repairs(server_repairs)
            .with_tools(tools.unwrap_or_default());
        let parsed = call.detach(py, || match tokens {
            TokenIds::Ranks(ranks) => parser.parse_all(ranks),
            TokenIds::Ids(ids) => parser.parse_ids(&ids),
        })?;
        let messages = serde_json::to_string(&parsed.messages).map_err(json_err)?;
        let diagnostics = serde_json::to_string(&parsed.diagnostics).map_err(json_err)?;
        Ok((messages, diagnostics))
    }
}
