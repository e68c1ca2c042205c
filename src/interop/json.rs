//! Reading request JSON with errors that name the offending field.

use serde_json::{Map, Value};

use crate::error::{HarmonyError, Result};

/// An [`HarmonyError::InvalidRequest`] about the request as a whole.
pub(crate) fn invalid(message: impl Into<String>) -> HarmonyError {
    HarmonyError::invalid_request(None, message)
}

/// An [`HarmonyError::InvalidRequest`] about the field at `param`
/// (`messages[3].tool_call_id`); `message` starts with that path.
pub(crate) fn invalid_at(param: &str, message: impl Into<String>) -> HarmonyError {
    HarmonyError::invalid_request(Some(param), message)
}

/// A JSON object and where it sits in the request (`messages[2]`).
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a, 'p> {
    map: &'a Map<String, Value>,
    path: &'p str,
}

impl<'a, 'p> Obj<'a, 'p> {
    /// `value` as an object, or an error naming `path`.
    pub(crate) fn new(value: &'a Value, path: &'p str) -> Result<Self> {
        match value {
            Value::Object(map) => Ok(Obj { map, path }),
            other => Err(invalid_at(path, format!("{path} must be an object, got {}", kind(other)))),
        }
    }

    /// The path of a field of this object.
    pub(crate) fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// A field; `null` counts as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// An optional string field.
    pub(crate) fn str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => {
                Err(invalid_at(&self.at(key), format!("{} must be a string, got {}", self.at(key), kind(other))))
            }
        }
    }

    /// A required string field.
    pub(crate) fn req_str(&self, key: &str) -> Result<&'a str> {
        self.str(key)?.ok_or_else(|| invalid_at(&self.at(key), format!("{} is required", self.at(key))))
    }

    /// An optional array field.
    pub(crate) fn array(&self, key: &str) -> Result<Option<&'a Vec<Value>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => {
                Err(invalid_at(&self.at(key), format!("{} must be an array, got {}", self.at(key), kind(other))))
            }
        }
    }
}

/// The JSON type of a value, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks that tool-call arguments are a JSON document.
pub(crate) fn check_arguments(arguments: &str, path: &str) -> Result<()> {
    serde_json::from_str::<serde::de::IgnoredAny>(arguments)
        .map(|_| ())
        .map_err(|e| invalid_at(path, format!("{path} is not valid JSON ({e}): {arguments:?}")))
}
