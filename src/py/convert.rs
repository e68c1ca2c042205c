//! Conversions between the Python package's objects and the core's types,
//! done natively so that the GIL-held part of a call stays small.
//!
//! - Messages are read attribute by attribute from the pydantic models
//!   (text content directly; system and developer content through their
//!   `model_dump_json()`, which pydantic-core produces natively, parsed
//!   later with the GIL released).
//! - Token lists are built from a table of Python ints shared by all calls:
//!   a list of n tokens costs n reference-count increments instead of n
//!   integer allocations.

use std::sync::OnceLock;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyList, PyString};

use super::to_py;
use crate::chat::{Author, Content, Message, Role, TextContent};
use crate::{HarmonyError, Rank};

fn opt_string(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> PyResult<Option<String>> {
    let value = obj.getattr(name)?;
    if value.is_none() {
        Ok(None)
    } else {
        Ok(Some(value.extract::<String>()?))
    }
}

/// A content item as read under the GIL: text, or the JSON of system or
/// developer content, parsed later without the GIL.
pub(crate) enum RawContent {
    Text(String),
    Json(String),
}

/// A message as read under the GIL; [`RawMessage::into_message`] finishes
/// the conversion and needs no GIL.
pub(crate) struct RawMessage {
    author: Author,
    recipient: Option<String>,
    channel: Option<String>,
    content_type: Option<String>,
    content: Vec<RawContent>,
}

impl RawMessage {
    pub(crate) fn into_message(self) -> Result<Message, HarmonyError> {
        let content = self
            .content
            .into_iter()
            .map(|c| match c {
                RawContent::Text(text) => Ok(Content::Text(TextContent { text })),
                RawContent::Json(json) => serde_json::from_str(&json).map_err(HarmonyError::from),
            })
            .collect::<Result<Vec<Content>, HarmonyError>>()?;
        Ok(Message {
            author: self.author,
            recipient: self.recipient,
            content,
            channel: self.channel,
            content_type: self.content_type,
        })
    }
}

/// Finishes the conversion of messages read under the GIL.
pub(crate) fn finish(raw: Vec<RawMessage>) -> Result<Vec<Message>, HarmonyError> {
    raw.into_iter().map(RawMessage::into_message).collect()
}

fn content_from_py(item: &Bound<'_, PyAny>) -> PyResult<RawContent> {
    let py = item.py();
    // Check the type first: a failed extract would build an exception.
    if item.is_instance_of::<PyString>() {
        return Ok(RawContent::Text(item.extract::<String>()?));
    }
    let kind = item.getattr(intern!(py, "type"))?;
    if &*kind.extract::<PyBackedStr>()? == "text" {
        return Ok(RawContent::Text(item.getattr(intern!(py, "text"))?.extract::<String>()?));
    }
    Ok(RawContent::Json(item.call_method0(intern!(py, "model_dump_json"))?.extract::<String>()?))
}

/// Reads one `openai_harmony.Message`.
pub(crate) fn message_from_py(obj: &Bound<'_, PyAny>) -> PyResult<RawMessage> {
    let py = obj.py();
    let author = obj.getattr(intern!(py, "author"))?;
    let role: Role = author.getattr(intern!(py, "role"))?.extract::<PyBackedStr>()?.parse().map_err(to_py)?;
    let name = opt_string(&author, intern!(py, "name"))?;
    let content = obj
        .getattr(intern!(py, "content"))?
        .try_iter()?
        .map(|item| content_from_py(&item?))
        .collect::<PyResult<Vec<RawContent>>>()?;
    Ok(RawMessage {
        author: Author { role, name },
        recipient: opt_string(obj, intern!(py, "recipient"))?,
        channel: opt_string(obj, intern!(py, "channel"))?,
        content_type: opt_string(obj, intern!(py, "content_type"))?,
        content,
    })
}

/// Reads a sequence of messages.
pub(crate) fn messages_from_py(seq: &Bound<'_, PyAny>) -> PyResult<Vec<RawMessage>> {
    seq.try_iter()?.map(|m| message_from_py(&m?)).collect()
}

/// The Python int of every vocabulary id, created on first use.
fn int_table() -> &'static [OnceLock<Py<PyAny>>] {
    static TABLE: OnceLock<Box<[OnceLock<Py<PyAny>>]>> = OnceLock::new();
    TABLE.get_or_init(|| (0..=crate::tokenizer::LAST_SPECIAL).map(|_| OnceLock::new()).collect())
}

/// A Python list of the tokens.
pub(crate) fn token_list<'py>(py: Python<'py>, tokens: &[Rank]) -> PyResult<Bound<'py, PyList>> {
    let table = int_table();
    let items = tokens.iter().map(|&t| match table.get(t as usize) {
        Some(cell) => match cell.get() {
            Some(int) => int.bind(py).clone(),
            None => {
                let int = t.into_pyobject(py).map(|i| i.into_any()).unwrap_or_else(|e| match e {});
                cell.get_or_init(|| int.clone().unbind()).bind(py).clone()
            }
        },
        None => t.into_pyobject(py).map(|i| i.into_any()).unwrap_or_else(|e| match e {}),
    });
    PyList::new(py, items)
}
