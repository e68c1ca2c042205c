//! Conversions between the Python package's objects and the core's types,
//! done natively so that the GIL-held part of a call stays small.
//!
//! - Messages are read attribute by attribute from the pydantic models
//!   (text content directly; system and developer content through their
//!   `model_dump_json()`, which pydantic-core produces natively).
//! - Token lists are built from a table of Python ints shared by all calls:
//!   a list of n tokens costs n reference-count increments instead of n
//!   integer allocations.

use std::sync::OnceLock;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyList, PyString};

use super::{json_err, to_py};
use crate::chat::{Author, Content, Message, Role, TextContent};
use crate::Rank;

fn opt_string(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> PyResult<Option<String>> {
    let value = obj.getattr(name)?;
    if value.is_none() {
        Ok(None)
    } else {
        Ok(Some(value.extract::<String>()?))
    }
}

fn content_from_py(item: &Bound<'_, PyAny>) -> PyResult<Content> {
    let py = item.py();
    if let Ok(text) = item.extract::<String>() {
        return Ok(Content::Text(TextContent { text }));
    }
    let kind = item.getattr(intern!(py, "type"))?;
    if &*kind.extract::<PyBackedStr>()? == "text" {
        let text = item.getattr(intern!(py, "text"))?.extract::<String>()?;
        return Ok(Content::Text(TextContent { text }));
    }
    let json = item.call_method0(intern!(py, "model_dump_json"))?;
    serde_json::from_str(&json.extract::<PyBackedStr>()?).map_err(json_err)
}

/// Reads one `openai_harmony.Message`.
pub(crate) fn message_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Message> {
    let py = obj.py();
    let author = obj.getattr(intern!(py, "author"))?;
    let role: Role = author.getattr(intern!(py, "role"))?.extract::<PyBackedStr>()?.parse().map_err(to_py)?;
    let name = opt_string(&author, intern!(py, "name"))?;
    let content = obj
        .getattr(intern!(py, "content"))?
        .try_iter()?
        .map(|item| content_from_py(&item?))
        .collect::<PyResult<Vec<Content>>>()?;
    Ok(Message {
        author: Author { role, name },
        recipient: opt_string(obj, intern!(py, "recipient"))?,
        content,
        channel: opt_string(obj, intern!(py, "channel"))?,
        content_type: opt_string(obj, intern!(py, "content_type"))?,
    })
}

/// Reads a sequence of messages.
pub(crate) fn messages_from_py(seq: &Bound<'_, PyAny>) -> PyResult<Vec<Message>> {
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
