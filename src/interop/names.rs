//! Function names as the API gives them and as the prompt shows them.
//!
//! The renderer writes each function as `type NAME = …` inside
//! `namespace functions`, and the model calls it as `to=functions.NAME`: a
//! name with a space, a dot, a dash or a leading digit would break both. So
//! every API name gets a harmony name that is an identifier
//! (`[A-Za-z_][A-Za-z0-9_]*`), unique among the request's functions, and
//! calls are mapped back to the API name exactly.

use std::collections::HashMap;

/// The two-way map between API function names and harmony names.
///
/// Built from a request (see [`chat_tool_names`](super::chat_tool_names)
/// and [`responses_tool_names`](super::responses_tool_names)): the same
/// request always gives the same map, so a server can rebuild it when the
/// reply comes back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolNames {
    to_harmony: HashMap<String, String>,
    to_api: HashMap<String, String>,
}

impl ToolNames {
    /// An empty map: every name maps to itself once defined.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a function of the request and returns its harmony name. A
    /// second function with the same API name gets a distinct harmony name
    /// (`name_2`); calls by that API name go to the first.
    pub fn define(&mut self, api_name: &str) -> String {
        let base = sanitize(api_name);
        let mut name = base.clone();
        let mut n = 2;
        while self.to_api.contains_key(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        self.to_api.insert(name.clone(), api_name.to_string());
        self.to_harmony.entry(api_name.to_string()).or_insert_with(|| name.clone());
        name
    }

    /// The harmony name of an API name, defining it if it is new (a call in
    /// the history to a function the request no longer lists).
    pub fn harmony_name(&mut self, api_name: &str) -> String {
        match self.to_harmony.get(api_name) {
            Some(name) => name.clone(),
            None => self.define(api_name),
        }
    }

    /// The API name of a harmony name; a name the request never defined
    /// (the model invented it) is returned as it is.
    pub fn api_name<'a>(&'a self, harmony_name: &'a str) -> &'a str {
        self.to_api.get(harmony_name).map(String::as_str).unwrap_or(harmony_name)
    }
}

/// An identifier made from a name: other characters become `_`, a leading
/// digit gets a `_` before it, an empty name becomes `function`.
fn sanitize(name: &str) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() {
        out.push_str("function");
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_pass_through() {
        let mut names = ToolNames::new();
        assert_eq!(names.define("get_weather"), "get_weather");
        assert_eq!(names.api_name("get_weather"), "get_weather");
    }

    #[test]
    fn invalid_names_are_sanitized_and_mapped_back() {
        let mut names = ToolNames::new();
        let cases = [
            ("get weather", "get_weather"),
            ("my.tool", "my_tool"),
            ("a-b", "a_b"),
            ("3d", "_3d"),
            ("", "function"),
            ("météo", "m_t_o"),
        ];
        for (api, harmony) in cases {
            assert_eq!(names.define(api), harmony);
            assert_eq!(names.api_name(harmony), api);
        }
    }

    #[test]
    fn collisions_and_duplicates_get_distinct_names() {
        let mut names = ToolNames::new();
        assert_eq!(names.define("a-b"), "a_b");
        assert_eq!(names.define("a_b"), "a_b_2");
        assert_eq!(names.define("a_b"), "a_b_3");
        assert_eq!(names.api_name("a_b"), "a-b");
        assert_eq!(names.api_name("a_b_2"), "a_b");
        assert_eq!(names.api_name("a_b_3"), "a_b");
        assert_eq!(names.harmony_name("a_b"), "a_b_2");
        assert_eq!(names.harmony_name("new tool"), "new_tool");
        assert_eq!(names.api_name("unknown"), "unknown");
    }
}
