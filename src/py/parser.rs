//! `_native.StreamableParser`. One call per token, so these methods keep
//! the GIL (releasing it would cost more than the work); the message list is
//! read incrementally (`messages_json(start)`), so polling it per token
//! costs O(new messages).
//!
//! It is the base class of `openai_harmony.StreamableParser`, so that the
//! per-token calls (`process`, `last_content_delta`, `current_channel`, ...)
//! are native methods and getters, with no Python frame between the caller
//! and the core. `__new__` takes any arguments (a subclass may have its own
//! signature) and `_init`, called by the Python `__init__`, builds the core
//! parser.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::convert::{token_id, token_ids, TokenIds};
use super::encoding::PyHarmonyEncoding;
use super::{json_err, role_of};
use crate::parse::StreamableParser;
use crate::{Rank, TokenId};

#[pyclass(name = "StreamableParser", module = "openai_harmony._native", subclass)]
pub(crate) struct PyStreamableParser {
    /// `None` until `_init`.
    parser: Option<StreamableParser>,
    /// The Python strings last returned for the channel and the recipient,
    /// handed out again while they are current (they change once a message,
    /// and are read on every token).
    channel: StrCache,
    recipient: StrCache,
    /// Called as `reporter(kind, position, detail)` for each repair, right
    /// after the token that made it (`openai_harmony._mode.report`: the log
    /// line). Only lenient parsers repair, so a strict one never calls it.
    reporter: Option<Py<PyAny>>,
    /// Diagnostics already handed to the reporter.
    reported: usize,
}

/// A Python string returned again while its text stays the same.
#[derive(Default)]
struct StrCache(Option<Py<PyString>>);

impl StrCache {
    fn get<'py>(&mut self, py: Python<'py>, text: Option<&str>) -> Option<Bound<'py, PyString>> {
        let text = text?;
        if let Some(cached) = &self.0 {
            let cached = cached.bind(py);
            if cached.to_str().is_ok_and(|c| c == text) {
                return Some(cached.clone());
            }
        }
        let fresh = PyString::new(py, text);
        self.0 = Some(fresh.clone().unbind());
        Some(fresh)
    }
}

fn uninitialized() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err(
        "StreamableParser.__init__ was not called (a subclass must call super().__init__(encoding, role))",
    )
}

impl PyStreamableParser {
    /// Hands the repairs not yet reported to the reporter, if there is one.
    fn report(&mut self, py: Python<'_>) -> PyResult<()> {
        let Some(parser) = self.parser.as_ref() else { return Ok(()) };
        let new = parser.diagnostics().get(self.reported..).unwrap_or_default();
        self.reported += new.len();
        if let Some(reporter) = &self.reporter {
            for d in new {
                reporter.call1(py, (d.kind.as_str(), d.position, d.detail.as_str()))?;
            }
        }
        Ok(())
    }

    fn get(&self) -> PyResult<&StreamableParser> {
        self.parser.as_ref().ok_or_else(uninitialized)
    }

    fn get_mut(&mut self) -> PyResult<&mut StreamableParser> {
        self.parser.as_mut().ok_or_else(uninitialized)
    }
}

#[pymethods]
impl PyStreamableParser {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, pyo3::types::PyTuple>, _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>) -> Self {
        PyStreamableParser {
            parser: None,
            channel: StrCache::default(),
            recipient: StrCache::default(),
            reporter: None,
            reported: 0,
        }
    }

    /// Builds the core parser (again, if called twice: a fresh parser).
    #[pyo3(signature = (encoding, role = None, strict = true, tools = None, reporter = None, server_repairs = false))]
    fn _init(
        &mut self,
        encoding: &PyHarmonyEncoding,
        role: Option<&str>,
        strict: bool,
        tools: Option<Vec<String>>,
        reporter: Option<Py<PyAny>>,
        server_repairs: bool,
    ) -> PyResult<()> {
        let role = role_of(role)?;
        let parser = StreamableParser::new(encoding.inner.clone(), role).strict(strict).server_repairs(server_repairs);
        self.parser = Some(parser.with_tools(tools.unwrap_or_default()));
        self.reporter = reporter;
        self.reported = 0;
        Ok(())
    }

    /// Feeds one token; returns the parser.
    fn process<'py>(slf: Bound<'py, Self>, token: &Bound<'py, PyAny>) -> PyResult<Bound<'py, Self>> {
        let token = token_id(token)?;
        let mut this = slf.borrow_mut();
        let parser = this.get_mut()?;
        match token {
            TokenId::Rank(t) => parser.process(t)?,
            other => parser.process_id(&other)?,
        };
        let repairs = parser.diagnostics().len();
        if repairs > this.reported {
            this.report(slf.py())?;
        }
        drop(this);
        Ok(slf)
    }

    /// Feeds many tokens; stops at the first error (earlier tokens stay processed).
    fn process_many(&mut self, py: Python<'_>, tokens: &Bound<'_, PyAny>) -> PyResult<()> {
        let tokens = token_ids(tokens)?;
        let parser = self.get_mut()?;
        let result = match &tokens {
            TokenIds::Ranks(ranks) => ranks.iter().try_for_each(|&t| parser.process(t).map(drop)),
            TokenIds::Ids(ids) => ids.iter().try_for_each(|id| parser.process_id(id).map(drop)),
        };
        self.report(py)?;
        result.map_err(PyErr::from)
    }

    /// Ends the stream; returns the parser.
    fn process_eos<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        let mut this = slf.borrow_mut();
        this.get_mut()?.process_eos()?;
        this.report(slf.py())?;
        drop(this);
        Ok(slf)
    }

    fn _reset(&mut self) -> PyResult<()> {
        self.get_mut()?.reset();
        self.reported = 0;
        Ok(())
    }

    /// The declared recipients a lenient repair maps damaged ones to.
    #[getter]
    fn tools(&self) -> PyResult<Vec<String>> {
        Ok(self.get()?.tools().to_vec())
    }

    /// The parser as JSON data (for pickle): its options and the tokens fed.
    fn _snapshot(&self) -> PyResult<String> {
        serde_json::to_string(&self.get()?.snapshot()).map_err(json_err)
    }

    /// Rebuilds the parser from `_snapshot()`'s data, replaying its tokens.
    #[pyo3(signature = (encoding, snapshot, reporter = None))]
    fn _restore(&mut self, encoding: &PyHarmonyEncoding, snapshot: &str, reporter: Option<Py<PyAny>>) -> PyResult<()> {
        let snapshot: crate::parse::ParserSnapshot = serde_json::from_str(snapshot).map_err(json_err)?;
        let parser = StreamableParser::restore(encoding.inner.clone(), &snapshot)?;
        // The original reported these repairs when it made them.
        self.reported = parser.diagnostics().len();
        self.parser = Some(parser);
        self.reporter = reporter;
        self.channel = StrCache::default();
        self.recipient = StrCache::default();
        Ok(())
    }

    #[getter]
    fn current_content(&self) -> PyResult<&str> {
        Ok(self.get()?.current_content())
    }

    #[getter]
    fn _current_role(&self) -> PyResult<Option<&'static str>> {
        Ok(self.get()?.current_role().map(|r| r.as_str()))
    }

    #[getter]
    fn current_channel<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        let parser = self.parser.as_ref().ok_or_else(uninitialized)?;
        Ok(self.channel.get(py, parser.current_channel()))
    }

    #[getter]
    fn current_recipient<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyString>>> {
        let parser = self.parser.as_ref().ok_or_else(uninitialized)?;
        Ok(self.recipient.get(py, parser.current_recipient()))
    }

    #[getter]
    fn current_content_type(&self) -> PyResult<Option<&str>> {
        Ok(self.get()?.current_content_type())
    }

    #[getter]
    fn last_content_delta(&self) -> PyResult<Option<&str>> {
        Ok(self.get()?.last_content_delta())
    }

    #[getter]
    fn _state(&self) -> PyResult<&'static str> {
        Ok(self.get()?.state().as_str())
    }

    fn state_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.get()?.state_data()).map_err(json_err)
    }

    #[getter]
    fn tokens(&self) -> PyResult<Vec<Rank>> {
        Ok(self.get()?.tokens().to_vec())
    }

    #[getter]
    fn message_count(&self) -> PyResult<usize> {
        Ok(self.get()?.messages().len())
    }

    /// The messages from index `start` on, as a JSON list.
    #[pyo3(signature = (start = 0))]
    fn messages_json(&self, start: usize) -> PyResult<String> {
        let messages = self.get()?.messages();
        serde_json::to_string(messages.get(start..).unwrap_or_default()).map_err(json_err)
    }

    /// Takes the queued events, as a JSON list.
    fn drain_events_json(&mut self) -> PyResult<String> {
        serde_json::to_string(&self.get_mut()?.drain_events()).map_err(json_err)
    }

    /// The lenient repairs from index `start` on, as a JSON list.
    #[pyo3(signature = (start = 0))]
    fn diagnostics_json(&self, start: usize) -> PyResult<String> {
        serde_json::to_string(self.get()?.diagnostics().get(start..).unwrap_or_default()).map_err(json_err)
    }

    #[getter]
    fn diagnostic_count(&self) -> PyResult<usize> {
        Ok(self.get()?.diagnostics().len())
    }

    #[getter]
    fn strict(&self) -> PyResult<bool> {
        Ok(self.get()?.is_strict())
    }
}
