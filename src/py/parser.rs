//! `_native.StreamableParser`. One call per token, so these methods keep
//! the GIL (releasing it would cost more than the work); the message list is
//! read incrementally (`messages_json(start)`), so polling it per token
//! costs O(new messages).

use pyo3::prelude::*;

use super::encoding::PyHarmonyEncoding;
use super::{json_err, role_of, to_py};
use crate::parse::StreamableParser;
use crate::Rank;

#[pyclass(name = "StreamableParser", module = "openai_harmony._native")]
pub(crate) struct PyStreamableParser {
    inner: StreamableParser,
}

#[pymethods]
impl PyStreamableParser {
    #[new]
    #[pyo3(signature = (encoding, role = None, strict = true))]
    fn new(encoding: &PyHarmonyEncoding, role: Option<&str>, strict: bool) -> PyResult<Self> {
        let role = role_of(role)?;
        Ok(PyStreamableParser { inner: StreamableParser::new(encoding.inner.clone(), role).strict(strict) })
    }

    fn process(&mut self, token: Rank) -> PyResult<()> {
        self.inner.process(token).map(|_| ()).map_err(to_py)
    }

    /// Feeds many tokens; stops at the first error (earlier tokens stay processed).
    fn process_many(&mut self, tokens: Vec<Rank>) -> PyResult<()> {
        for token in tokens {
            self.inner.process(token).map_err(to_py)?;
        }
        Ok(())
    }

    fn process_eos(&mut self) -> PyResult<()> {
        self.inner.process_eos().map(|_| ()).map_err(to_py)
    }

    fn reset(&mut self) {
        self.inner.reset();
    }

    #[getter]
    fn current_content(&self) -> &str {
        self.inner.current_content()
    }

    #[getter]
    fn current_role(&self) -> Option<&'static str> {
        self.inner.current_role().map(|r| r.as_str())
    }

    #[getter]
    fn current_channel(&self) -> Option<&str> {
        self.inner.current_channel()
    }

    #[getter]
    fn current_recipient(&self) -> Option<&str> {
        self.inner.current_recipient()
    }

    #[getter]
    fn current_content_type(&self) -> Option<&str> {
        self.inner.current_content_type()
    }

    #[getter]
    fn last_content_delta(&self) -> Option<&str> {
        self.inner.last_content_delta()
    }

    #[getter]
    fn state(&self) -> &'static str {
        self.inner.state().as_str()
    }

    fn state_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner.state_data()).map_err(json_err)
    }

    #[getter]
    fn tokens(&self) -> Vec<Rank> {
        self.inner.tokens().to_vec()
    }

    #[getter]
    fn message_count(&self) -> usize {
        self.inner.messages().len()
    }

    /// The messages from index `start` on, as a JSON list.
    #[pyo3(signature = (start = 0))]
    fn messages_json(&self, start: usize) -> PyResult<String> {
        let messages = self.inner.messages();
        serde_json::to_string(messages.get(start..).unwrap_or_default()).map_err(json_err)
    }

    /// Takes the queued events, as a JSON list.
    fn drain_events_json(&mut self) -> PyResult<String> {
        serde_json::to_string(&self.inner.drain_events()).map_err(json_err)
    }

    /// The lenient repairs from index `start` on, as a JSON list.
    #[pyo3(signature = (start = 0))]
    fn diagnostics_json(&self, start: usize) -> PyResult<String> {
        serde_json::to_string(self.inner.diagnostics().get(start..).unwrap_or_default()).map_err(json_err)
    }

    #[getter]
    fn diagnostic_count(&self) -> usize {
        self.inner.diagnostics().len()
    }

    #[getter]
    fn strict(&self) -> bool {
        self.inner.is_strict()
    }
}
