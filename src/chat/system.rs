//! The body of a system message.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::tools::ToolNamespaceConfig;

/// The identity `SystemContent::new()` gives the model.
pub const DEFAULT_MODEL_IDENTITY: &str = "You are ChatGPT, a large language model trained by OpenAI.";
/// The knowledge cutoff `SystemContent::new()` states.
pub const DEFAULT_KNOWLEDGE_CUTOFF: &str = "2024-06";
/// The channels `SystemContent::new()` requires.
pub const DEFAULT_CHANNELS: [&str; 3] = ["analysis", "commentary", "final"];

/// How much the model should reason before answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ReasoningEffort {
    /// `Reasoning: low`.
    Low,
    /// `Reasoning: medium`.
    Medium,
    /// `Reasoning: high`.
    High,
}

impl ReasoningEffort {
    /// The lowercase word used in the rendered system message.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }
}

/// Which channels the model may write to, and whether it must name one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ChannelConfig {
    /// The valid channels, in the order they are listed.
    #[serde(default)]
    pub valid_channels: Vec<String>,
    /// Whether every assistant message must name a channel.
    #[serde(default)]
    pub channel_required: bool,
}

impl ChannelConfig {
    /// These channels, all required.
    pub fn require_channels<I, S>(channels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ChannelConfig { valid_channels: channels.into_iter().map(Into::into).collect(), channel_required: true }
    }
}

fn default_identity() -> Option<String> {
    Some(DEFAULT_MODEL_IDENTITY.to_string())
}

fn default_effort() -> Option<ReasoningEffort> {
    Some(ReasoningEffort::Medium)
}

fn default_cutoff() -> Option<String> {
    Some(DEFAULT_KNOWLEDGE_CUTOFF.to_string())
}

fn default_channels() -> Option<ChannelConfig> {
    Some(ChannelConfig::require_channels(DEFAULT_CHANNELS))
}

/// The body of a system message.
///
/// In JSON, an absent field takes the default of [`SystemContent::new`] and an
/// explicit `null` turns the line off; fields that default to something are
/// therefore always written, as `null` when unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemContent {
    /// The first line, e.g. "You are ChatGPT, ...".
    #[serde(default = "default_identity")]
    pub model_identity: Option<String>,
    /// The `Reasoning:` line.
    #[serde(default = "default_effort")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Built-in tool namespaces (browser, python, ...), rendered by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<BTreeMap<String, ToolNamespaceConfig>>,
    /// The `Current date:` line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_start_date: Option<String>,
    /// The `Knowledge cutoff:` line.
    #[serde(default = "default_cutoff")]
    pub knowledge_cutoff: Option<String>,
    /// The `# Valid channels:` line.
    #[serde(default = "default_channels")]
    pub channel_config: Option<ChannelConfig>,
}

impl Default for SystemContent {
    fn default() -> Self {
        SystemContent {
            model_identity: default_identity(),
            reasoning_effort: default_effort(),
            tools: None,
            conversation_start_date: None,
            knowledge_cutoff: default_cutoff(),
            channel_config: default_channels(),
        }
    }
}

impl SystemContent {
    /// The defaults: ChatGPT identity, medium effort, cutoff 2024-06 and the
    /// channels analysis, commentary and final required.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the model identity line.
    pub fn with_model_identity(mut self, identity: impl Into<String>) -> Self {
        self.model_identity = Some(identity.into());
        self
    }

    /// Sets the reasoning effort.
    pub fn with_reasoning_effort(mut self, effort: ReasoningEffort) -> Self {
        self.reasoning_effort = Some(effort);
        self
    }

    /// Adds (or replaces) a tool namespace.
    pub fn with_tools(mut self, ns: ToolNamespaceConfig) -> Self {
        self.tools.get_or_insert_with(BTreeMap::new).insert(ns.name.clone(), ns);
        self
    }

    /// Sets the conversation start date.
    pub fn with_conversation_start_date(mut self, date: impl Into<String>) -> Self {
        self.conversation_start_date = Some(date.into());
        self
    }

    /// Sets the knowledge cutoff.
    pub fn with_knowledge_cutoff(mut self, cutoff: impl Into<String>) -> Self {
        self.knowledge_cutoff = Some(cutoff.into());
        self
    }

    /// Sets the channel configuration.
    pub fn with_channel_config(mut self, config: ChannelConfig) -> Self {
        self.channel_config = Some(config);
        self
    }

    /// Requires these channels.
    pub fn with_required_channels<I, S>(self, channels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.with_channel_config(ChannelConfig::require_channels(channels))
    }

    /// Adds the built-in browser tool.
    pub fn with_browser_tool(self) -> Self {
        self.with_tools(ToolNamespaceConfig::browser())
    }

    /// Adds the built-in python tool.
    pub fn with_python_tool(self) -> Self {
        self.with_tools(ToolNamespaceConfig::python())
    }
}
