//! The body of a developer message.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::tools::{ToolDescription, ToolNamespaceConfig};

/// A structured-output format the developer asks the model to answer in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFormat {
    /// The format's name, rendered as a `## name` heading.
    pub name: String,
    /// What the format is for, rendered as `//` comment lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON Schema, rendered as compact JSON.
    pub schema: serde_json::Value,
}

impl ResponseFormat {
    /// A response format from a name and a JSON Schema.
    pub fn new(name: impl Into<String>, schema: serde_json::Value) -> Self {
        ResponseFormat { name: name.into(), description: None, schema }
    }

    /// This format with a description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// The body of a developer message: instructions, function tools and
/// response formats.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeveloperContent {
    /// The `# Instructions` section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Tool namespaces (usually `functions`), rendered by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<BTreeMap<String, ToolNamespaceConfig>>,
    /// The `# Response Formats` section, in order. Empty renders nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_empty")]
    pub response_formats: Vec<ResponseFormat>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ResponseFormat>, D::Error> {
    Ok(Option::<Vec<ResponseFormat>>::deserialize(d)?.unwrap_or_default())
}

impl DeveloperContent {
    /// Empty developer content.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the instructions.
    pub fn with_instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Adds (or replaces) a tool namespace.
    pub fn with_tools(mut self, ns: ToolNamespaceConfig) -> Self {
        self.tools.get_or_insert_with(BTreeMap::new).insert(ns.name.clone(), ns);
        self
    }

    /// Sets the `functions` namespace to these tools.
    pub fn with_function_tools(self, tools: Vec<ToolDescription>) -> Self {
        self.with_tools(ToolNamespaceConfig::new("functions", None, tools))
    }

    /// Adds a response format.
    pub fn with_response_format(mut self, format: ResponseFormat) -> Self {
        self.response_formats.push(format);
        self
    }
}
