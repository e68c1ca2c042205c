//! PyO3 bindings (the `python` feature): the native module
//! `openai_harmony._native`. Thin by design: convert arguments, release the
//! GIL, call the core, convert back. Conversations and messages cross the
//! boundary as JSON strings in the core's serde form.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

use crate::chat::{Conversation, Message, Role};
use crate::{HarmonyError, Rank, RenderConversationConfig, RenderOptions};

mod exc {
    use super::*;
    create_exception!(_native, HarmonyError, PyException, "An error from the harmony core.");
}
use exc::HarmonyError as PyHarmonyError;

fn to_py(e: HarmonyError) -> PyErr {
    PyHarmonyError::new_err(e.to_string())
}

/// The encoding, shared and immutable; every method releases the GIL.
#[pyclass(name = "HarmonyEncoding", module = "openai_harmony._native", frozen)]
struct PyHarmonyEncoding {
    inner: crate::HarmonyEncoding,
}

fn config(auto_drop_analysis: Option<bool>) -> Option<RenderConversationConfig> {
    auto_drop_analysis.map(|auto_drop_analysis| RenderConversationConfig { auto_drop_analysis })
}

/// Parses a conversation and renders it with `f`, without the GIL.
fn render_json<F>(py: Python<'_>, conversation_json: &str, f: F) -> PyResult<Vec<Rank>>
where
    F: FnOnce(&Conversation) -> Result<Vec<Rank>, HarmonyError> + Send,
{
    py.detach(|| f(&Conversation::from_json(conversation_json)?)).map_err(to_py)
}

#[pymethods]
impl PyHarmonyEncoding {
    #[new]
    fn new(py: Python<'_>, name: &str) -> PyResult<Self> {
        let name: crate::HarmonyEncodingName = name.parse().map_err(to_py)?;
        let inner = py.detach(|| crate::load_harmony_encoding(name)).map_err(to_py)?;
        Ok(PyHarmonyEncoding { inner })
    }

    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn encode_ordinary(&self, py: Python<'_>, text: &str) -> Vec<Rank> {
        py.detach(|| self.inner.encode_ordinary(text))
    }

    fn decode_bytes(&self, py: Python<'_>, tokens: Vec<Rank>) -> PyResult<Vec<u8>> {
        py.detach(|| self.inner.decode_bytes(&tokens)).map_err(to_py)
    }

    fn decode_utf8(&self, py: Python<'_>, tokens: Vec<Rank>) -> PyResult<String> {
        py.detach(|| self.inner.decode_utf8(&tokens)).map_err(to_py)
    }

    fn is_special_token(&self, token: Rank) -> bool {
        self.inner.is_special_token(token)
    }

    fn stop_tokens(&self) -> Vec<Rank> {
        self.inner.stop_tokens()
    }

    fn stop_tokens_for_assistant_actions(&self) -> Vec<Rank> {
        self.inner.stop_tokens_for_assistant_actions()
    }

    #[pyo3(signature = (message_json, conversation_has_function_tools = false))]
    fn render(&self, py: Python<'_>, message_json: &str, conversation_has_function_tools: bool) -> PyResult<Vec<Rank>> {
        py.detach(|| {
            let message: Message = serde_json::from_str(message_json)?;
            self.inner.render(&message, Some(&RenderOptions { conversation_has_function_tools }))
        })
        .map_err(to_py)
    }

    #[pyo3(signature = (conversation_json, auto_drop_analysis = None))]
    fn render_conversation(
        &self,
        py: Python<'_>,
        conversation_json: &str,
        auto_drop_analysis: Option<bool>,
    ) -> PyResult<Vec<Rank>> {
        render_json(py, conversation_json, |convo| {
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
        let role: Role = next_turn_role.parse().map_err(to_py)?;
        render_json(py, conversation_json, |convo| {
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
        render_json(py, conversation_json, |convo| {
            self.inner.render_conversation_for_training(convo, config(auto_drop_analysis).as_ref())
        })
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyHarmonyEncoding>()?;
    m.add("HarmonyError", m.py().get_type::<PyHarmonyError>())?;
    Ok(())
}
