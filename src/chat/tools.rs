//! Tool namespaces and tool descriptions, with the built-in browser and
//! python namespaces.

use serde::{Deserialize, Serialize};
use serde_json::json;

/// One tool (function) the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDescription {
    /// The function name (`get_weather`).
    pub name: String,
    /// What it does, rendered as `//` comment lines above its type.
    #[serde(default)]
    pub description: String,
    /// Its parameters as a JSON Schema, rendered as a TypeScript-like type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<serde_json::Value>,
}

impl ToolDescription {
    /// A tool from a name, a description and optional parameters.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Option<serde_json::Value>) -> Self {
        ToolDescription { name: name.into(), description: description.into(), parameters }
    }
}

/// A named group of tools, rendered as `namespace NAME { ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolNamespaceConfig {
    /// The namespace (`functions`, `browser`, `python`).
    pub name: String,
    /// Text shown under the namespace heading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The tools; a namespace without tools renders only its description.
    #[serde(default)]
    pub tools: Vec<ToolDescription>,
}

const BROWSER_DESCRIPTION: &str = "Tool for browsing.
The `cursor` appears in brackets before each browsing display: `[{cursor}]`.
Cite information from the tool using the following format:
`【{cursor}†L{line_start}(-L{line_end})?】`, for example: `【6†L9-L11】` or `【8†L3】`.
Do not quote more than 10 words directly from the tool output.
sources=web (default: web)";

const BROWSER_OPEN_DESCRIPTION: &str = "Opens the link `id` from the page indicated by `cursor` starting at line number `loc`, showing `num_lines` lines.
Valid link ids are displayed with the formatting: `【{id}†.*】`.
If `cursor` is not provided, the most recent page is implied.
If `id` is a string, it is treated as a fully qualified URL associated with `source`.
If `loc` is not provided, the viewport will be positioned at the beginning of the document or centered on the most relevant passage, if available.
Use this function without `id` to scroll to a new location of an opened page.";

const PYTHON_DESCRIPTION: &str = "Use this tool to execute Python code in your chain of thought. The code will not be shown to the user. This tool should be used for internal reasoning, but not for code that is intended to be visible to the user (e.g. when creating plots, tables, or files).

When you send a message containing Python code to python, it will be executed in a stateful Jupyter notebook environment. python will respond with the output of the execution or time out after 120.0 seconds. The drive at '/mnt/data' can be used to save and persist user files. Internet access for this session is UNKNOWN. Depends on the cluster.";

impl ToolNamespaceConfig {
    /// A namespace from a name, an optional description and tools.
    pub fn new(name: impl Into<String>, description: Option<String>, tools: Vec<ToolDescription>) -> Self {
        ToolNamespaceConfig { name: name.into(), description, tools }
    }

    /// The built-in browser tool (`search`, `open`, `find`).
    pub fn browser() -> Self {
        let search = json!({
            "type": "object",
            "properties": {
                "query": {"type": "string"},
                "topn": {"type": "number", "default": 10},
                "source": {"type": "string"}
            },
            "required": ["query"]
        });
        let open = json!({
            "type": "object",
            "properties": {
                "id": {"type": ["number", "string"], "default": -1},
                "cursor": {"type": "number", "default": -1},
                "loc": {"type": "number", "default": -1},
                "num_lines": {"type": "number", "default": -1},
                "view_source": {"type": "boolean", "default": false},
                "source": {"type": "string"}
            }
        });
        let find = json!({
            "type": "object",
            "properties": {
                "pattern": {"type": "string"},
                "cursor": {"type": "number", "default": -1}
            },
            "required": ["pattern"]
        });
        ToolNamespaceConfig::new(
            "browser",
            Some(BROWSER_DESCRIPTION.to_string()),
            vec![
                ToolDescription::new(
                    "search",
                    "Searches for information related to `query` and displays `topn` results.",
                    Some(search),
                ),
                ToolDescription::new("open", BROWSER_OPEN_DESCRIPTION, Some(open)),
                ToolDescription::new(
                    "find",
                    "Finds exact matches of `pattern` in the current page, or the page given by `cursor`.",
                    Some(find),
                ),
            ],
        )
    }

    /// The built-in python tool (a stateful Jupyter notebook; no functions).
    pub fn python() -> Self {
        ToolNamespaceConfig::new("python", Some(PYTHON_DESCRIPTION.to_string()), Vec::new())
    }
}
