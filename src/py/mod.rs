//! PyO3 bindings (the `python` feature): the native module
//! `openai_harmony._native`, wrapped by the Python package in
//! `python/openai_harmony/`.
//!
//! Thin by design: convert arguments, release the GIL around core work
//! (`gil.rs`), call the core, convert back. Messages going in are read from
//! the pydantic objects natively (`convert.rs`); messages coming out cross
//! as JSON in the core's serde form, which the Python package turns into
//! its pydantic models.

use pyo3::create_exception;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::chat::{Role, ToolNamespaceConfig};
use crate::HarmonyError;

mod convert;
mod dataset;
mod encoding;
mod gil;
mod interop;
mod parser;

mod exc {
    use super::*;
    // A RuntimeError subclass: code written for the reference package, which
    // raises RuntimeError for some render errors, keeps catching them.
    // Its module is the package, where it is importable, so that instances
    // pickle (multiprocessing and concurrent.futures re-raise them).
    create_exception!(openai_harmony, HarmonyError, PyRuntimeError, "An error from the harmony core.");
    // Raised by the readers of messages when a tool schema holds something
    // that `json.dumps` and pydantic write differently (a key that is not a
    // string, a NaN): the Python package then renders the reference's way.
    create_exception!(_native, NotPlainJson, pyo3::exceptions::PyException, "A schema is not plain JSON.");
    // System or developer content the core cannot read (an unknown reasoning
    // effort). A ValueError, as in the reference; the render functions then
    // re-read the message the reference's way to report the reference's
    // exact error, position included.
    create_exception!(_native, ContentJsonError, pyo3::exceptions::PyValueError, "Content that is not valid.");
}
pub(crate) use exc::HarmonyError as PyHarmonyError;
pub(crate) use exc::{ContentJsonError, NotPlainJson};

pub(crate) fn to_py(e: HarmonyError) -> PyErr {
    let kind = e.kind();
    let param = e.param().map(str::to_string);
    let detail = e.detail().map(str::to_string);
    let err = match &e {
        // The reference raises a ValueError for an unknown encoding name.
        HarmonyError::InvalidEncodingName(_) => pyo3::exceptions::PyValueError::new_err(e.to_string()),
        // As the reference, which reads the content from its JSON: a ValueError.
        HarmonyError::ContentJson(_) => ContentJsonError::new_err(e.to_string()),
        // A bad option of a call (not in the reference's API): a ValueError.
        HarmonyError::InvalidArgument(_) => pyo3::exceptions::PyValueError::new_err(e.to_string()),
        _ => PyHarmonyError::new_err(e.to_string()),
    };
    // The error as data: its stable kind, and the request field it is about
    // (OpenAI error bodies report it as `param`; None for other errors).
    Python::attach(|py| {
        let value = err.value(py);
        let _ = value.setattr("kind", kind);
        let _ = value.setattr("param", param);
        let _ = value.setattr("detail", detail);
        let _ = value.setattr("index", py.None());
    });
    err
}

/// The error of item `index` of a batch (`what` is `conversation` or
/// `completion`): a `HarmonyError` whose message names the item, as the
/// batch APIs always have, and whose `index`, `kind` and `param` say it as data.
pub(crate) fn batch_item_error(what: &str, index: usize, e: &HarmonyError) -> PyErr {
    let err = PyHarmonyError::new_err(format!("{what} {index}: {e}"));
    Python::attach(|py| {
        let value = err.value(py);
        let _ = value.setattr("kind", e.kind());
        let _ = value.setattr("param", e.param());
        let _ = value.setattr("detail", e.detail());
        let _ = value.setattr("index", index);
    });
    err
}

/// `?` on a core result in a binding: the one conversion of core errors.
impl From<HarmonyError> for PyErr {
    fn from(e: HarmonyError) -> PyErr {
        to_py(e)
    }
}

pub(crate) fn json_err(e: serde_json::Error) -> PyErr {
    to_py(HarmonyError::from(e))
}

pub(crate) fn role_of(role: Option<&str>) -> PyResult<Option<Role>> {
    role.map(|r| r.parse::<Role>()).transpose().map_err(to_py)
}

/// The built-in browser tool namespace, as JSON.
#[pyfunction]
fn browser_tool_json() -> PyResult<String> {
    serde_json::to_string(&ToolNamespaceConfig::browser()).map_err(json_err)
}

/// The built-in python tool namespace, as JSON.
#[pyfunction]
fn python_tool_json() -> PyResult<String> {
    serde_json::to_string(&ToolNamespaceConfig::python()).map_err(json_err)
}

/// The default system content, as JSON.
#[pyfunction]
fn default_system_content_json() -> PyResult<String> {
    serde_json::to_string(&crate::chat::SystemContent::new()).map_err(json_err)
}

/// Sets the budget of the process-wide render cache in bytes (0 turns it off).
#[pyfunction]
fn set_render_cache_capacity(capacity_bytes: usize) {
    crate::RenderCache::global().set_capacity(capacity_bytes);
}

/// The render cache's budget and current size, in bytes.
#[pyfunction]
fn render_cache_info() -> (usize, usize) {
    let cache = crate::RenderCache::global();
    (cache.capacity(), cache.size_bytes())
}

/// In a forked child (`os.register_at_fork`): the process-wide render cache
/// starts afresh, away from locks the parent's other threads may have held,
/// and the GIL hand-off counts no call of theirs.
#[pyfunction]
fn after_fork_in_child() {
    crate::RenderCache::global().after_fork();
    gil::after_fork_in_child();
}

/// Repairs made by lenient parsers in this process since it started:
/// `(kind, count)` for every kind, zeros included.
#[pyfunction]
fn repair_counts() -> Vec<(&'static str, u64)> {
    crate::parse::repair_counts().into_iter().map(|(kind, n)| (kind.as_str(), n)).collect()
}

#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<encoding::PyHarmonyEncoding>()?;
    m.add_class::<parser::PyStreamableParser>()?;
    m.add("HarmonyError", m.py().get_type::<PyHarmonyError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(browser_tool_json, m)?)?;
    m.add("NotPlainJson", m.py().get_type::<NotPlainJson>())?;
    // The message JSON's keys and content tags, for the Python models.
    m.add("MESSAGE_KEYS", pyo3::types::PyTuple::new(m.py(), crate::chat::keys::ALL)?)?;
    m.add("CONTENT_TAGS", pyo3::types::PyTuple::new(m.py(), crate::chat::keys::CONTENT_TAGS)?)?;
    m.add("ContentJsonError", m.py().get_type::<ContentJsonError>())?;
    m.add_function(wrap_pyfunction!(python_tool_json, m)?)?;
    m.add_function(wrap_pyfunction!(default_system_content_json, m)?)?;
    m.add_function(wrap_pyfunction!(set_render_cache_capacity, m)?)?;
    m.add_function(wrap_pyfunction!(render_cache_info, m)?)?;
    m.add_function(wrap_pyfunction!(repair_counts, m)?)?;
    m.add_function(wrap_pyfunction!(after_fork_in_child, m)?)?;
    m.add_function(wrap_pyfunction!(gil::set_gil_spin_us, m)?)?;
    m.add_function(wrap_pyfunction!(gil::gil_spin_us, m)?)?;
    m.add_class::<interop::PyChatCompletionStream>()?;
    m.add_class::<interop::PyResponsesStream>()?;
    m.add_function(wrap_pyfunction!(interop::conversation_from_chat_completions, m)?)?;
    m.add_function(wrap_pyfunction!(interop::conversation_from_responses, m)?)?;
    m.add_function(wrap_pyfunction!(interop::chat_completion_message_from_harmony, m)?)?;
    m.add_function(wrap_pyfunction!(interop::response_output_from_harmony, m)?)?;
    m.add_function(wrap_pyfunction!(interop::response_object, m)?)?;
    m.add_function(wrap_pyfunction!(interop::responses_usage, m)?)?;
    m.add_function(wrap_pyfunction!(interop::chat_completion_usage, m)?)?;
    m.add_function(wrap_pyfunction!(interop::chat_completion_object, m)?)?;
    m.add_function(wrap_pyfunction!(interop::prompt_for, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::tokenize_rows, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::tokenize_lines, m)?)?;
    m.add_function(wrap_pyfunction!(interop::completion_grammar_for, m)?)?;
    Ok(())
}
