//! Conversions between the Python package's objects and the core's types,
//! done natively so that the GIL-held part of a call stays small.
//!
//! - Messages are read field by field from the pydantic models (from the
//!   instance dict, falling back to `getattr`).
//!   Text is borrowed, not copied: a [`PyBackedStr`] points into the
//!   Python string's UTF-8 buffer. System and developer content is
//!   serialized by pydantic-core (`__pydantic_serializer__.to_json`, the
//!   bytes behind `model_dump_json()`), also borrowed. Copying the text and
//!   parsing the JSON happen in [`finish`], with the GIL released, and the
//!   borrowed objects are dropped only once the GIL is held again.
//! - Token lists are built in place from a table of Python ints shared by
//!   all calls: a list of n tokens costs n reference-count increments
//!   instead of n integer allocations. This uses CPython's list layout
//!   (`PyList_SET_ITEM`), so the module is built per CPython version
//!   rather than for the stable ABI.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::OnceLock;

use pyo3::exceptions::PyOverflowError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::{PyDict, PyList, PyString};

use super::NotPlainJson;
use crate::chat::{keys, Author, Content, Message, Role, TextContent};
use crate::{HarmonyError, Rank, TokenId};

/// The attributes of a pydantic model, read from its instance dict (where
/// pydantic keeps field values: a dict lookup costs a fraction of a
/// `getattr` through `BaseModel`'s hooks), falling back to `getattr` for
/// anything else.
struct Fields<'a, 'py> {
    obj: &'a Bound<'py, PyAny>,
    dict: Option<Bound<'py, PyDict>>,
}

impl<'a, 'py> Fields<'a, 'py> {
    fn of(obj: &'a Bound<'py, PyAny>) -> Self {
        let dict = obj.getattr(intern!(obj.py(), "__dict__")).ok().and_then(|d| d.cast_into::<PyDict>().ok());
        Fields { obj, dict }
    }

    fn get(&self, name: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(value) = self.dict.as_ref().map(|d| d.get_item(name)).transpose()?.flatten() {
            return Ok(value);
        }
        self.obj.getattr(name)
    }

    fn opt_str(&self, name: &Bound<'py, PyString>) -> PyResult<Option<PyBackedStr>> {
        let value = self.get(name)?;
        if value.is_none() {
            Ok(None)
        } else {
            Ok(Some(text_of(&value)?))
        }
    }
}

/// The UTF-8 of a Python string. A string holding a surrogate pair as two
/// code points (`"\ud83d\ude00"`) is read as the character they encode, as
/// the reference's JSON round trip reads it; a lone surrogate is not text
/// and is refused with a `ValueError` naming it.
fn text_of(value: &Bound<'_, PyAny>) -> PyResult<PyBackedStr> {
    match value.extract::<PyBackedStr>() {
        Ok(text) => Ok(text),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyUnicodeEncodeError>(value.py()) => {
            let py = value.py();
            let paired = value
                .call_method1(intern!(py, "encode"), ("utf-16", "surrogatepass"))
                .and_then(|b| b.call_method1(intern!(py, "decode"), ("utf-16",)));
            match paired {
                Ok(s) => s.extract::<PyBackedStr>(),
                Err(_) => {
                    // Code points as UTF-32: the first surrogate and its index.
                    let units: Vec<u8> =
                        value.call_method1(intern!(py, "encode"), ("utf-32-le", "surrogatepass"))?.extract()?;
                    let (i, c) = units
                        .chunks_exact(4)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .enumerate()
                        .find(|(_, u)| (0xD800..0xE000).contains(u))
                        .unwrap_or((0, 0xD800));
                    Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "text holds a lone surrogate U+{c:04X} at position {i}: it is not Unicode text and cannot be encoded"
                    )))
                }
            }
        }
        Err(e) => Err(e),
    }
}

fn owned(s: &Option<PyBackedStr>) -> Option<String> {
    s.as_deref().map(String::from)
}

/// A content item as read under the GIL: text, or the JSON of system or
/// developer content, both borrowed from Python objects.
pub(crate) enum RawContent {
    Text(PyBackedStr),
    Json(PyBackedBytes),
}

/// A message as read under the GIL; [`RawMessage::to_message`] finishes
/// the conversion and needs no GIL.
pub(crate) struct RawMessage {
    role: Role,
    name: Option<PyBackedStr>,
    recipient: Option<PyBackedStr>,
    channel: Option<PyBackedStr>,
    content_type: Option<PyBackedStr>,
    content: Vec<RawContent>,
}

impl RawMessage {
    /// The core message; needs no GIL (the borrowed data is immutable).
    pub(crate) fn to_message(&self) -> Result<Message, HarmonyError> {
        let content = self
            .content
            .iter()
            .map(|c| match c {
                RawContent::Text(text) => Ok(Content::Text(TextContent { text: String::from(&**text) })),
                RawContent::Json(json) => {
                    serde_json::from_slice(json).map_err(|e| HarmonyError::ContentJson(e.to_string()))
                }
            })
            .collect::<Result<Vec<Content>, HarmonyError>>()?;
        Ok(Message {
            author: Author { role: self.role, name: owned(&self.name) },
            recipient: owned(&self.recipient),
            content,
            channel: owned(&self.channel),
            content_type: owned(&self.content_type),
        })
    }
}

/// Finishes the conversion of messages read under the GIL. Call it with
/// the GIL released, and drop `raw` after taking the GIL back.
pub(crate) fn finish(raw: &[RawMessage]) -> Result<Vec<Message>, HarmonyError> {
    raw.iter().map(RawMessage::to_message).collect()
}

/// What a reader does with a tool schema that is not plain JSON
/// ([`is_plain_json`]): the one walk over schemas, the one decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Schemas {
    /// Refuse it with `NotPlainJson`. For the renders the reference has:
    /// the package then renders the conversation's JSON text the
    /// reference's way, to the reference's result and errors
    /// (`_reference_road.py`).
    Refuse,
    /// Read the content as `json.dumps(item.to_dict(), allow_nan=False)`
    /// writes it (a key that is not a string becomes its JSON spelling; a
    /// NaN or a tuple key is `json.dumps`'s `ValueError` or `TypeError`).
    /// For everything the reference does not have: masks, spans, batches,
    /// interop.
    AsJsonDumps,
}

fn content_from_py(item: &Bound<'_, PyAny>, schemas: Schemas) -> PyResult<RawContent> {
    let py = item.py();
    // Content items are Content models. Anything else (a plain str put
    // into `content`) fails as it does in the reference, which calls
    // `to_dict()` on every item.
    let fields = Fields::of(item);
    let kind = match fields.dict.as_ref().map(|_| fields.get(intern!(py, "type"))) {
        Some(Ok(kind)) => kind.extract::<PyBackedStr>()?,
        _ => {
            let name = item.get_type().name()?;
            return Err(pyo3::exceptions::PyAttributeError::new_err(format!(
                "'{name}' object has no attribute 'to_dict'"
            )));
        }
    };
    if &*kind == "text" {
        return Ok(RawContent::Text(text_of(&fields.get(intern!(py, "text"))?)?));
    }
    let json = match (schemas_are_plain(&fields, &kind == "developer_content")?, schemas) {
        (Plain::Yes, _) => match item.get_type().getattr(intern!(py, "__pydantic_serializer__")) {
            // `model_dump_json()` without its final bytes-to-str decode.
            Ok(serializer) => serializer.call_method1(intern!(py, "to_json"), (item,))?,
            Err(_) => item.call_method0(intern!(py, "model_dump_json"))?,
        },
        (_, Schemas::Refuse) => return Err(NotPlainJson::new_err("a tool schema is not plain JSON")),
        (Plain::TooDeep, Schemas::AsJsonDumps) => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "a tool schema is nested more than {PLAIN_DEPTH} levels deep"
            )))
        }
        (Plain::No, Schemas::AsJsonDumps) => {
            let kwargs = PyDict::new(py);
            kwargs.set_item(intern!(py, "allow_nan"), false)?;
            let dumps = py.import(intern!(py, "json"))?.getattr(intern!(py, "dumps"))?;
            dumps.call((item.call_method0(intern!(py, "to_dict"))?,), Some(&kwargs))?
        }
    };
    if json.is_instance_of::<PyString>() {
        let text = json.extract::<PyBackedStr>()?;
        return Ok(RawContent::Json(pyo3::types::PyBytes::new(py, text.as_bytes()).extract::<PyBackedBytes>()?));
    }
    Ok(RawContent::Json(json.extract::<PyBackedBytes>()?))
}

/// Reads one `openai_harmony.Message`: its fields are named as the JSON
/// form's keys ([`keys`]), its author's too.
pub(crate) fn message_from_py(obj: &Bound<'_, PyAny>, schemas: Schemas) -> PyResult<RawMessage> {
    let py = obj.py();
    let message = Fields::of(obj);
    let author_obj = message.get(intern!(py, "author"))?;
    let author = Fields::of(&author_obj);
    let role: Role = author.get(intern!(py, keys::ROLE))?.extract::<PyBackedStr>()?.parse()?;
    let content = message
        .get(intern!(py, keys::CONTENT))?
        .try_iter()?
        .map(|item| content_from_py(&item?, schemas))
        .collect::<PyResult<Vec<RawContent>>>()?;
    Ok(RawMessage {
        role,
        name: author.opt_str(intern!(py, keys::NAME))?,
        recipient: message.opt_str(intern!(py, keys::RECIPIENT))?,
        channel: message.opt_str(intern!(py, keys::CHANNEL))?,
        content_type: message.opt_str(intern!(py, keys::CONTENT_TYPE))?,
        content,
    })
}

/// Reads a sequence of messages.
pub(crate) fn messages_from_py(seq: &Bound<'_, PyAny>, schemas: Schemas) -> PyResult<Vec<RawMessage>> {
    seq.try_iter()?.map(|m| message_from_py(&m?, schemas)).collect()
}

/// The Python int of every vocabulary id, created on first use and then
/// kept for the life of the process (the table owns one reference each).
fn int_table() -> &'static [AtomicPtr<ffi::PyObject>] {
    static TABLE: OnceLock<Box<[AtomicPtr<ffi::PyObject>]>> = OnceLock::new();
    TABLE.get_or_init(|| (0..=crate::tokenizer::LAST_SPECIAL).map(|_| AtomicPtr::new(ptr::null_mut())).collect())
}

/// A new reference to the Python int `t`, or null with a Python error set.
///
/// # Safety
/// The GIL must be held.
unsafe fn int_of(table: &[AtomicPtr<ffi::PyObject>], t: Rank) -> *mut ffi::PyObject {
    let Some(slot) = table.get(t as usize) else {
        return ffi::PyLong_FromUnsignedLong(t.into());
    };
    let mut int = slot.load(Ordering::Acquire);
    if int.is_null() {
        let fresh = ffi::PyLong_FromUnsignedLong(t.into());
        if fresh.is_null() {
            return fresh;
        }
        int = match slot.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => fresh,
            Err(existing) => {
                ffi::Py_DECREF(fresh);
                existing
            }
        };
    }
    ffi::Py_INCREF(int);
    int
}

/// A Python list of the tokens. Built in place from the shared ints: a
/// list of n tokens costs n reference-count increments, no allocation.
pub(crate) fn token_list<'py>(py: Python<'py>, tokens: &[Rank]) -> PyResult<Bound<'py, PyList>> {
    let table = int_table();
    let len = ffi::Py_ssize_t::try_from(tokens.len())?;
    // SAFETY: `py` proves the GIL is held. `PyList_New` returns a new list
    // of `len` null slots (or null with an error set, turned into `Err`);
    // each slot is set exactly once, with a new reference, and a list with
    // slots left null (if creating an int fails) is still safe to free.
    unsafe {
        let list = Bound::from_owned_ptr_or_err(py, ffi::PyList_New(len))?;
        for (i, &t) in tokens.iter().enumerate() {
            let int = int_of(table, t);
            if int.is_null() {
                return Err(PyErr::fetch(py));
            }
            ffi::PyList_SET_ITEM(list.as_ptr(), i as ffi::Py_ssize_t, int);
        }
        Ok(list.cast_into_unchecked::<PyList>())
    }
}

/// How deep a schema may nest before it is sent the reference's way.
const PLAIN_DEPTH: usize = 128;

/// Whether a schema is plain JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plain {
    Yes,
    /// Something `json.dumps` and pydantic write differently.
    No,
    /// Nested deeper than [`PLAIN_DEPTH`].
    TooDeep,
}

/// Whether the JSON Schemas in system or developer content (tool
/// parameters, response-format schemas) are plain JSON ([`is_plain_json`]).
fn schemas_are_plain(fields: &Fields<'_, '_>, developer: bool) -> PyResult<Plain> {
    let py = fields.obj.py();
    let plain = |schema: Bound<'_, PyAny>| match schema.is_none() {
        true => Plain::Yes,
        false => is_plain_json(&schema, PLAIN_DEPTH),
    };
    let namespaces = fields.get(intern!(py, "tools"))?;
    if let Ok(namespaces) = namespaces.cast::<PyDict>() {
        for ns in namespaces.values() {
            for tool in Fields::of(&ns).get(intern!(py, "tools"))?.try_iter()? {
                let verdict = plain(Fields::of(&tool?).get(intern!(py, "parameters"))?);
                if verdict != Plain::Yes {
                    return Ok(verdict);
                }
            }
        }
    }
    if developer {
        for format in fields.get(intern!(py, "response_formats"))?.try_iter()? {
            let verdict = plain(Fields::of(&format?).get(intern!(py, "schema_"))?);
            if verdict != Plain::Yes {
                return Ok(verdict);
            }
        }
    }
    Ok(Plain::Yes)
}

/// Whether `obj` is JSON as `json.dumps` and pydantic both write it alike:
/// dicts with `str` keys, lists, strings, ints, bools, `None` and finite
/// floats, nested no deeper than `depth`. Anything else (a key that is not
/// a string, a tuple, a set, a NaN) is written differently, or refused, by
/// the two ([`Schemas`] says what then happens).
fn is_plain_json(obj: &Bound<'_, PyAny>, depth: usize) -> Plain {
    use pyo3::types::{PyBool, PyFloat, PyInt};
    if let Ok(dict) = obj.cast_exact::<PyDict>() {
        if depth == 0 {
            return Plain::TooDeep;
        }
        for (k, v) in dict.iter() {
            if !k.is_exact_instance_of::<PyString>() {
                return Plain::No;
            }
            let verdict = is_plain_json(&v, depth - 1);
            if verdict != Plain::Yes {
                return verdict;
            }
        }
        return Plain::Yes;
    }
    if let Ok(list) = obj.cast_exact::<PyList>() {
        if depth == 0 {
            return Plain::TooDeep;
        }
        for v in list.iter() {
            let verdict = is_plain_json(&v, depth - 1);
            if verdict != Plain::Yes {
                return verdict;
            }
        }
        return Plain::Yes;
    }
    if let Ok(f) = obj.cast_exact::<PyFloat>() {
        return if f.value().is_finite() { Plain::Yes } else { Plain::No };
    }
    let scalar = obj.is_none()
        || obj.is_exact_instance_of::<PyString>()
        || obj.is_exact_instance_of::<PyBool>()
        || obj.is_exact_instance_of::<PyInt>();
    if scalar {
        Plain::Yes
    } else {
        Plain::No
    }
}

/// Token ids from a Python sequence: every one a [`Rank`] (the usual case,
/// extracted as fast as `Vec<Rank>`), or, when some int is outside
/// `0..2^32`, each id as the caller wrote it.
pub(crate) enum TokenIds {
    Ranks(Vec<Rank>),
    Ids(Vec<TokenId>),
}

impl TokenIds {
    /// Runs `ranks` on the usual case and `ids` on the other.
    pub(crate) fn with<T>(&self, ranks: impl FnOnce(&[Rank]) -> T, ids: impl FnOnce(&[TokenId]) -> T) -> T {
        match self {
            TokenIds::Ranks(r) => ranks(r),
            TokenIds::Ids(i) => ids(i),
        }
    }
}

/// Reads a sequence of token ids; only what is not an int is an error.
pub(crate) fn token_ids(ob: &Bound<'_, PyAny>) -> PyResult<TokenIds> {
    match ob.extract::<Vec<Rank>>() {
        Ok(ranks) => Ok(TokenIds::Ranks(ranks)),
        Err(e) if e.is_instance_of::<PyOverflowError>(ob.py()) => {
            ob.try_iter()?.map(|id| token_id(&id?)).collect::<PyResult<Vec<_>>>().map(TokenIds::Ids)
        }
        Err(e) => Err(e),
    }
}

/// Reads one token id; only what is not an int is an error.
pub(crate) fn token_id(ob: &Bound<'_, PyAny>) -> PyResult<TokenId> {
    match ob.extract::<Rank>() {
        Ok(rank) => Ok(TokenId::Rank(rank)),
        Err(e) if e.is_instance_of::<PyOverflowError>(ob.py()) => Ok(TokenId::OutOfRange(ob.str()?.to_string())),
        Err(e) => Err(e),
    }
}
