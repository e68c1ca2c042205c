//! Bindings of `crate::interop`. Requests, items and results cross as JSON
//! strings (the Python layer, `openai_harmony.interop`, works with dicts);
//! messages come in as the package's objects.

use pyo3::prelude::*;
use pyo3::types::PyList;
use serde_json::Value;

use super::convert::{finish, messages_from_py, token_id, token_ids, token_list, Schemas, TokenIds};
use super::encoding::PyHarmonyEncoding;
use super::gil::Call;
use super::{json_err, to_py};
use crate::interop::{self, ChatCompletionStream, ConversionOptions, FinishReason, ResponsesStream, ToolNames};
use crate::{HarmonyError, Rank, TokenId};

fn parse(json: &str) -> PyResult<Value> {
    serde_json::from_str(json).map_err(json_err)
}

fn parse_items(json: Option<&str>) -> PyResult<Option<Vec<Value>>> {
    json.map(|j| serde_json::from_str::<Vec<Value>>(j).map_err(json_err)).transpose()
}

fn to_json(value: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(value).map_err(json_err)
}

fn options(date: Option<String>) -> ConversionOptions {
    ConversionOptions { conversation_start_date: date }
}

fn finish_reason(reason: Option<&str>) -> PyResult<Option<FinishReason>> {
    match reason {
        None => Ok(None),
        Some("stop") => Ok(Some(FinishReason::Stop)),
        Some("tool_calls") => Ok(Some(FinishReason::ToolCalls)),
        Some("length") => Ok(Some(FinishReason::Length)),
        Some(other) => Err(to_py(HarmonyError::InvalidArgument(format!(
            "unknown finish reason {other:?} (expected stop, tool_calls or length)"
        )))),
    }
}

enum Api {
    Chat,
    Responses,
}

fn api_of(api: &str) -> PyResult<Api> {
    match api {
        "chat" => Ok(Api::Chat),
        "responses" => Ok(Api::Responses),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "api must be \"chat\" or \"responses\", got {other:?}"
        ))),
    }
}

/// The names of a request: Chat Completions when `previous_items_json` is
/// `None` and `api == "chat"`, else Responses.
fn names(api: &str, request: Option<&Value>, previous: Option<&[Value]>) -> PyResult<ToolNames> {
    let Some(request) = request else { return Ok(ToolNames::new()) };
    match api_of(api)? {
        Api::Chat => interop::chat_tool_names(request),
        Api::Responses => interop::responses_tool_names(request, previous),
    }
    .map_err(to_py)
}

/// A Chat Completions request (JSON) as a conversation (JSON).
#[pyfunction]
#[pyo3(signature = (request_json, date = None))]
pub(crate) fn conversation_from_chat_completions(
    py: Python<'_>,
    request_json: &str,
    date: Option<String>,
) -> PyResult<String> {
    Call::enter().detach(py, || {
        let request = parse(request_json)?;
        let conversation = interop::conversation_from_chat_completions(&request, &options(date))?;
        to_json(&conversation)
    })
}

/// A Responses request (JSON), after earlier items (JSON list), as a conversation (JSON).
#[pyfunction]
#[pyo3(signature = (request_json, previous_items_json = None, date = None))]
pub(crate) fn conversation_from_responses(
    py: Python<'_>,
    request_json: &str,
    previous_items_json: Option<&str>,
    date: Option<String>,
) -> PyResult<String> {
    Call::enter().detach(py, || {
        let request = parse(request_json)?;
        let previous = parse_items(previous_items_json)?;
        let conversation = interop::conversation_from_responses(&request, previous.as_deref(), &options(date))?;
        to_json(&conversation)
    })
}

/// The chat completion message (JSON) of parsed reply messages.
#[pyfunction]
#[pyo3(signature = (messages, request_json = None))]
pub(crate) fn chat_completion_message_from_harmony(
    py: Python<'_>,
    messages: &Bound<'_, PyAny>,
    request_json: Option<&str>,
) -> PyResult<String> {
    let raw = messages_from_py(messages, Schemas::AsJsonDumps)?;
    Call::enter().detach(py, || {
        let request = request_json.map(parse).transpose()?;
        let names = names("chat", request.as_ref(), None)?;
        let messages = finish(&raw)?;
        to_json(&interop::chat_completion_message_from_harmony(&messages, &names)?)
    })
}

/// The Responses output items (JSON list) of parsed reply messages.
#[pyfunction]
#[pyo3(signature = (messages, request_json = None, previous_items_json = None))]
pub(crate) fn response_output_from_harmony(
    py: Python<'_>,
    messages: &Bound<'_, PyAny>,
    request_json: Option<&str>,
    previous_items_json: Option<&str>,
) -> PyResult<String> {
    let raw = messages_from_py(messages, Schemas::AsJsonDumps)?;
    Call::enter().detach(py, || {
        let request = request_json.map(parse).transpose()?;
        let previous = parse_items(previous_items_json)?;
        let names = names("responses", request.as_ref(), previous.as_deref())?;
        let messages = finish(&raw)?;
        to_json(&interop::response_output_from_harmony(&messages, &names)?)
    })
}

/// A Responses `usage` object (JSON) for a reply of these messages.
#[pyfunction]
pub(crate) fn responses_usage(
    py: Python<'_>,
    encoding: &PyHarmonyEncoding,
    prompt_tokens: usize,
    completion_tokens: usize,
    messages: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let raw = messages_from_py(messages, Schemas::AsJsonDumps)?;
    Call::enter().detach(py, || {
        let messages = finish(&raw)?;
        to_json(&interop::responses_usage(&encoding.inner, prompt_tokens, completion_tokens, &messages))
    })
}

/// A Chat Completions `usage` object (JSON).
#[pyfunction]
pub(crate) fn chat_completion_usage(prompt_tokens: usize, completion_tokens: usize) -> PyResult<String> {
    to_json(&interop::chat_completion_usage(prompt_tokens, completion_tokens))
}

/// A `response` object (JSON); a fresh id, the request's model and now
/// when not given.
#[pyfunction]
#[pyo3(signature = (id, model, created_at, status, output_json, request_json = None))]
pub(crate) fn response_object(
    id: Option<&str>,
    model: Option<&str>,
    created_at: Option<u64>,
    status: &str,
    output_json: &str,
    request_json: Option<&str>,
) -> PyResult<String> {
    let output: Vec<Value> = serde_json::from_str(output_json).map_err(json_err)?;
    let request = request_json.map(parse).transpose()?;
    let id = id.map_or_else(|| interop::new_id("resp"), str::to_string);
    let model = interop::model_of(request.as_ref(), model);
    let created_at = created_at.unwrap_or_else(interop::unix_now);
    to_json(&interop::response_object(&id, &model, created_at, status, output, request.as_ref()))
}

/// A whole `chat.completion` object (JSON) of parsed reply messages.
#[pyfunction]
#[pyo3(signature = (messages, request_json = None, finish_reason = None, model = None, id = None, created = None, usage_json = None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn chat_completion_object(
    py: Python<'_>,
    messages: &Bound<'_, PyAny>,
    request_json: Option<&str>,
    finish_reason: Option<&str>,
    model: Option<String>,
    id: Option<String>,
    created: Option<u64>,
    usage_json: Option<&str>,
) -> PyResult<String> {
    let raw = messages_from_py(messages, Schemas::AsJsonDumps)?;
    let reason = self::finish_reason(finish_reason)?;
    Call::enter().detach(py, || {
        let request = request_json.map(parse).transpose()?;
        let usage = usage_json.map(parse).transpose()?;
        let names = names("chat", request.as_ref(), None)?;
        let messages = finish(&raw)?;
        let info = interop::CompletionInfo { id, model, created, finish_reason: reason, usage };
        to_json(&interop::chat_completion_object(&messages, &names, request.as_ref(), info)?)
    })
}

/// Prompt tokens, stop tokens and the conversation (JSON) for a request;
/// `api` is `"chat"` or `"responses"`.
#[pyfunction]
#[pyo3(signature = (encoding, api, request_json, previous_items_json = None, date = None))]
pub(crate) fn prompt_for<'py>(
    py: Python<'py>,
    encoding: &PyHarmonyEncoding,
    api: &str,
    request_json: &str,
    previous_items_json: Option<&str>,
    date: Option<String>,
) -> PyResult<PromptTuple<'py>> {
    let api = api_of(api)?;
    let prompt = Call::enter().detach(py, || {
        let request = parse(request_json)?;
        let previous = parse_items(previous_items_json)?;
        let options = options(date);
        let prompt = match api {
            Api::Chat => encoding.inner.prompt_for_chat_completions(&request, &options),
            Api::Responses => encoding.inner.prompt_for_responses(&request, previous.as_deref(), &options),
        }?;
        let conversation = to_json(&prompt.conversation)?;
        let input_items = to_json(&prompt.input_items)?;
        Ok::<_, PyErr>((prompt, conversation, input_items))
    })?;
    let (prompt, conversation, input_items) = prompt;
    let tokens = token_list(py, &prompt.tokens)?;
    Ok((tokens, prompt.stop_tokens, conversation, prompt.tools, prompt.max_tokens, prompt.n, input_items))
}

/// What `prompt_for` returns: tokens, stop tokens, the conversation as JSON,
/// the declared recipients, the token budget, the choices, the input items as JSON.
type PromptTuple<'py> = (Bound<'py, PyList>, Vec<Rank>, String, Vec<String>, Option<u32>, u32, String);

/// The completion grammar for a request's prompt; `api` is `"chat"` or
/// `"responses"`, `syntax` as for `completion_grammar`.
#[pyfunction]
#[pyo3(signature = (encoding, api, request_json, previous_items_json = None, date = None, syntax = "lark"))]
pub(crate) fn completion_grammar_for(
    py: Python<'_>,
    encoding: &PyHarmonyEncoding,
    api: &str,
    request_json: &str,
    previous_items_json: Option<&str>,
    date: Option<String>,
    syntax: &str,
) -> PyResult<String> {
    let api = api_of(api)?;
    let syntax: crate::grammar::GrammarSyntax = syntax.parse()?;
    Call::enter().detach(py, || {
        let request = parse(request_json)?;
        let previous = parse_items(previous_items_json)?;
        let options = options(date);
        match api {
            Api::Chat => encoding.inner.completion_grammar_for_chat_completions(&request, &options, syntax),
            Api::Responses => {
                encoding.inner.completion_grammar_for_responses(&request, previous.as_deref(), &options, syntax)
            }
        }
        .map_err(to_py)
    })
}

/// `_native.ChatCompletionStream`; methods return JSON lists of chunks.
#[pyclass(name = "ChatCompletionStream", module = "openai_harmony._native")]
pub(crate) struct PyChatCompletionStream {
    inner: ChatCompletionStream,
}

#[pymethods]
impl PyChatCompletionStream {
    #[new]
    #[pyo3(signature = (encoding, request_json = None, model = None, id = None, created = None, prompt_tokens = None))]
    fn new(
        encoding: &PyHarmonyEncoding,
        request_json: Option<&str>,
        model: Option<&str>,
        id: Option<String>,
        created: Option<u64>,
        prompt_tokens: Option<usize>,
    ) -> PyResult<Self> {
        let request = request_json.map(parse).transpose()?;
        let model = interop::model_of(request.as_ref(), model);
        let mut inner =
            ChatCompletionStream::new(encoding.inner.clone(), names("chat", request.as_ref(), None)?, &model);
        if let (Some(request), Some(n)) = (&request, prompt_tokens) {
            inner = inner.with_usage_for(request, n);
        }
        if let Some(id) = id {
            inner = inner.with_id(id);
        }
        if let Some(created) = created {
            inner = inner.with_created(created);
        }
        Ok(PyChatCompletionStream { inner })
    }

    #[getter]
    fn id(&self) -> &str {
        self.inner.id()
    }

    fn process(&mut self, token: &Bound<'_, PyAny>) -> PyResult<String> {
        match token_id(token)? {
            TokenId::Rank(t) => to_json(&self.inner.process(t)?),
            other => to_json(&self.inner.process_ids(&[other])?),
        }
    }

    fn process_tokens(&mut self, tokens: &Bound<'_, PyAny>) -> PyResult<String> {
        match token_ids(tokens)? {
            TokenIds::Ranks(ranks) => to_json(&self.inner.process_tokens(&ranks)?),
            TokenIds::Ids(ids) => to_json(&self.inner.process_ids(&ids)?),
        }
    }

    #[pyo3(signature = (reason = None))]
    fn finish(&mut self, reason: Option<&str>) -> PyResult<String> {
        let reason = finish_reason(reason)?;
        to_json(&self.inner.finish(reason)?)
    }

    fn inferred_finish_reason(&self) -> &'static str {
        self.inner.inferred_reason().as_str()
    }

    fn messages_json(&self) -> PyResult<String> {
        to_json(&self.inner.messages())
    }

    fn diagnostics_json(&self) -> PyResult<String> {
        to_json(&self.inner.diagnostics())
    }
}

/// `_native.ResponsesStream`; methods return JSON lists of events.
#[pyclass(name = "ResponsesStream", module = "openai_harmony._native")]
pub(crate) struct PyResponsesStream {
    inner: ResponsesStream,
}

#[pymethods]
impl PyResponsesStream {
    #[new]
    #[pyo3(signature = (encoding, request_json = None, previous_items_json = None, model = None, id = None, prompt_tokens = None))]
    fn new(
        encoding: &PyHarmonyEncoding,
        request_json: Option<&str>,
        previous_items_json: Option<&str>,
        model: Option<&str>,
        id: Option<String>,
        prompt_tokens: Option<usize>,
    ) -> PyResult<Self> {
        let request = request_json.map(parse).transpose()?;
        let previous = parse_items(previous_items_json)?;
        let names = names("responses", request.as_ref(), previous.as_deref())?;
        let model = interop::model_of(request.as_ref(), model);
        let mut inner = ResponsesStream::new(encoding.inner.clone(), names, &model, request);
        if let Some(id) = id {
            inner = inner.with_id(id);
        }
        if let Some(n) = prompt_tokens {
            inner = inner.with_prompt_tokens(n);
        }
        Ok(PyResponsesStream { inner })
    }

    #[getter]
    fn id(&self) -> &str {
        self.inner.id()
    }

    fn start(&mut self) -> PyResult<String> {
        to_json(&self.inner.start())
    }

    fn process(&mut self, token: &Bound<'_, PyAny>) -> PyResult<String> {
        match token_id(token)? {
            TokenId::Rank(t) => to_json(&self.inner.process(t)?),
            other => to_json(&self.inner.process_ids(&[other])?),
        }
    }

    fn process_tokens(&mut self, tokens: &Bound<'_, PyAny>) -> PyResult<String> {
        match token_ids(tokens)? {
            TokenIds::Ranks(ranks) => to_json(&self.inner.process_tokens(&ranks)?),
            TokenIds::Ids(ids) => to_json(&self.inner.process_ids(&ids)?),
        }
    }

    #[pyo3(signature = (reason = None))]
    fn finish(&mut self, reason: Option<&str>) -> PyResult<String> {
        let reason = finish_reason(reason)?;
        to_json(&self.inner.finish(reason)?)
    }

    fn response_json(&self, status: &str) -> PyResult<String> {
        to_json(&self.inner.response(status))
    }

    fn messages_json(&self) -> PyResult<String> {
        to_json(&self.inner.messages())
    }

    fn diagnostics_json(&self) -> PyResult<String> {
        to_json(&self.inner.diagnostics())
    }
}
