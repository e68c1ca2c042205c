//! `_native.tokenize_rows`: JSON rows to flat token columns (see
//! `crate::dataset`), with the GIL released; the columns come back as bytes
//! that pyarrow and numpy read without copying token by token.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};

use super::encoding::PyHarmonyEncoding;
use super::gil::Call;
use super::to_py;
use crate::dataset::{RowFormat, RowOptions};
use crate::interop::ConversionOptions;
use crate::HarmonyError;

/// `(index, role, channel, start, end)`.
type SpanTuple = (usize, &'static str, Option<String>, usize, usize);

/// Flat columns: (tokens as int32, one past each row's end as int32 offsets
/// starting with 0, mask as int8, the input index of each row, each bad
/// row's index and reason, each row's spans when asked).
type Columns<'py> = (
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Vec<usize>,
    Vec<(usize, String)>,
    Option<Vec<Vec<SpanTuple>>>,
);

fn row_bytes(item: &Bound<'_, PyAny>, index: usize) -> PyResult<Vec<u8>> {
    if let Ok(s) = item.cast::<PyString>() {
        return Ok(s.to_str()?.as_bytes().to_vec());
    }
    if let Ok(b) = item.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    Err(to_py(HarmonyError::InvalidArgument(format!(
        "row {index}: expected JSON text (str or bytes), got {}",
        item.get_type().name()?
    ))))
}

fn columns<'py>(py: Python<'py>, columns: crate::dataset::TokenColumns, spans: bool) -> PyResult<Columns<'py>> {
    let tokens = int32(columns.tokens.iter().map(|&t| t as usize), "token id")?;
    let offsets = int32(columns.offsets.iter().copied(), "offset")?;
    let errors = columns.errors.iter().map(|(i, e)| (*i, e.to_string())).collect();
    let spans = spans.then(|| {
        columns
            .spans
            .iter()
            .map(|row| row.iter().map(|s| (s.index, s.role.as_str(), s.channel.clone(), s.start, s.end)).collect())
            .collect()
    });
    Ok((
        PyBytes::new(py, &tokens),
        PyBytes::new(py, &offsets),
        PyBytes::new(py, &columns.mask),
        columns.rows,
        errors,
        spans,
    ))
}

fn options(input_format: &str, train_on: &str, date: Option<String>, spans: bool) -> PyResult<RowOptions> {
    let format: RowFormat = input_format.parse()?;
    let train_on: crate::TrainOn = train_on.parse()?;
    let conversion = ConversionOptions { conversation_start_date: date };
    conversion.check()?; // once, for the call, not per row
    Ok(RowOptions { format, train_on, conversion, spans })
}

fn int32(values: impl Iterator<Item = usize>, what: &str) -> PyResult<Vec<u8>> {
    let mut out = Vec::new();
    for v in values {
        let v = i32::try_from(v).map_err(|_| {
            to_py(HarmonyError::InvalidArgument(format!("{what} {v} does not fit int32: split the batch")))
        })?;
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Tokenizes rows of JSON text for training (single-threaded; run one call
/// per worker thread).
#[pyfunction]
#[pyo3(signature = (encoding, rows, input_format = "harmony", train_on = "all_assistant", date = None, spans = false))]
pub(crate) fn tokenize_rows<'py>(
    py: Python<'py>,
    encoding: &PyHarmonyEncoding,
    rows: &Bound<'py, PyList>,
    input_format: &str,
    train_on: &str,
    date: Option<String>,
    spans: bool,
) -> PyResult<Columns<'py>> {
    let call = Call::enter();
    let options = options(input_format, train_on, date, spans)?;
    let data: Vec<Vec<u8>> = rows.iter().enumerate().map(|(i, item)| row_bytes(&item, i)).collect::<PyResult<_>>()?;
    let result = call.detach(py, || encoding.inner.tokenize_rows(&data, &options));
    columns(py, result, spans)
}

/// As `tokenize_rows`, for the lines of a block of JSONL (split at `\n` in
/// the core, so no Python object is made per line); indices are line
/// indices in the block.
#[pyfunction]
#[pyo3(signature = (encoding, data, input_format = "harmony", train_on = "all_assistant", date = None))]
pub(crate) fn tokenize_lines<'py>(
    py: Python<'py>,
    encoding: &PyHarmonyEncoding,
    data: &Bound<'py, PyBytes>,
    input_format: &str,
    train_on: &str,
    date: Option<String>,
) -> PyResult<Columns<'py>> {
    let call = Call::enter();
    let options = options(input_format, train_on, date, false)?;
    // The bytes object is immutable and held by the caller while the GIL
    // is released.
    let bytes = data.as_bytes();
    let result = call.detach(py, || encoding.inner.tokenize_lines(bytes, &options));
    columns(py, result, false)
}
