//! Rendering messages and conversations into tokens.
//!
//! A message renders as
//! `<|start|>{header}<|message|>{content}<|end|>` where the header is the
//! role (or a tool's name), an optional `:name`, ` to={recipient}`,
//! `<|channel|>{channel}` and ` {content_type}`. Each header piece and each
//! content item is tokenized on its own: the token boundaries are part of
//! the format, and the render vectors pin them.

mod cache;
mod developer;
mod json_text;
mod kind;
mod system;
mod tools;
mod training;
mod typescript;

pub(crate) use cache::CachePolicy;
pub use cache::{RenderCache, DEFAULT_CAPACITY_BYTES};
pub use kind::RenderKind;
pub use training::{MessageSpan, TrainOn};

use crate::chat::{Content, Message, Role};
use crate::encoding::{FormattingToken, HarmonyEncoding};
use crate::error::{HarmonyError, Result};
use crate::tokenizer::Rank;

/// Options for rendering one message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Whether some developer message of the conversation defines function
    /// tools; the system message then says where calls to them go.
    pub conversation_has_function_tools: bool,
}

/// Options for rendering a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderConversationConfig {
    /// Drop the analysis (reasoning) messages that precede the first final
    /// answer when the conversation's last assistant message is a final
    /// answer, as gpt-oss expects for completed turns.
    pub auto_drop_analysis: bool,
}

impl Default for RenderConversationConfig {
    fn default() -> Self {
        RenderConversationConfig { auto_drop_analysis: true }
    }
}

/// Whether any developer message defines a non-empty `functions` namespace.
pub(crate) fn has_function_tools<'a>(messages: impl IntoIterator<Item = &'a Message>) -> bool {
    messages.into_iter().any(|m| {
        m.content.iter().any(|c| match c {
            Content::DeveloperContent(dev) => {
                dev.tools.as_ref().and_then(|t| t.get("functions")).is_some_and(|ns| !ns.tools.is_empty())
            }
            _ => false,
        })
    })
}

/// Indices of the messages that `config` leaves out of a rendering.
///
/// With `auto_drop_analysis`, when the last assistant message is on the
/// `final` channel, analysis messages before the first `final` message are
/// dropped: the reasoning of a completed turn is not shown to the model again.
pub(crate) fn dropped(messages: &[&Message], config: &RenderConversationConfig) -> Vec<bool> {
    let mut drop = vec![false; messages.len()];
    if !config.auto_drop_analysis {
        return drop;
    }
    let last_assistant_is_final = messages
        .iter()
        .rev()
        .find(|m| m.author.role == Role::Assistant)
        .is_some_and(|m| m.channel.as_deref() == Some("final"));
    if !last_assistant_is_final {
        return drop;
    }
    let first_final = messages.iter().position(|m| m.channel.as_deref() == Some("final"));
    if let Some(first_final) = first_final {
        for (i, m) in messages.iter().enumerate().take(first_final) {
            drop[i] = m.channel.as_deref() == Some("analysis");
        }
    }
    drop
}

impl HarmonyEncoding {
    fn text_into(&self, text: &str, out: &mut Vec<Rank>) {
        self.tokenizer().encode_ordinary_into(text, out);
    }

    /// A header word (role, channel): the common ones are encoded once per
    /// process, as encoding a short word costs as much as a message's
    /// bookkeeping.
    fn header_into(&self, text: &str, out: &mut Vec<Rank>) {
        const WORDS: [&str; 10] =
            ["system", "developer", "user", "assistant", "tool", "analysis", "commentary", "final", " ", "json"];
        static TOKENS: std::sync::OnceLock<Vec<Vec<Rank>>> = std::sync::OnceLock::new();
        match WORDS.iter().position(|w| *w == text) {
            Some(i) => {
                let tokens = TOKENS.get_or_init(|| WORDS.iter().map(|w| self.tokenizer().encode_ordinary(w)).collect());
                match tokens.get(i) {
                    Some(t) => out.extend_from_slice(t),
                    None => self.text_into(text, out),
                }
            }
            None => self.text_into(text, out),
        }
    }

    /// Renders one message, appending its tokens to `out`. On error, `out`
    /// is left as it was.
    pub fn render_into(&self, message: &Message, out: &mut Vec<Rank>, options: Option<&RenderOptions>) -> Result<()> {
        let mark = out.len();
        let result = self.render_cached(message, out, options.copied().unwrap_or_default(), CachePolicy::All);
        if result.is_err() {
            out.truncate(mark);
        }
        result
    }

    /// The process-wide cache of rendered messages (bounded; see
    /// [`RenderCache`]). `render_cache().set_capacity(0)` turns it off.
    pub fn render_cache(&self) -> &'static RenderCache {
        RenderCache::global()
    }

    /// Renders a message through the cache: a hit copies the tokens an
    /// identical message rendered to before. On error `out` may hold part
    /// of the message; callers truncate.
    fn render_cached(
        &self,
        message: &Message,
        out: &mut Vec<Rank>,
        options: RenderOptions,
        policy: CachePolicy,
    ) -> Result<()> {
        let cache = RenderCache::global();
        let key = if policy.skips(message) { None } else { cache.key(message, options) };
        if let Some(tokens) = key.as_ref().and_then(|k| cache.get(k)) {
            out.extend_from_slice(&tokens);
            return Ok(());
        }
        let start = out.len();
        self.render_message(message, out, options)?;
        if let Some(key) = &key {
            cache.put(key, out.get(start..).unwrap_or_default());
        }
        Ok(())
    }

    fn render_message(&self, message: &Message, out: &mut Vec<Rank>, options: RenderOptions) -> Result<()> {
        out.push(self.formatting_token(FormattingToken::Start));

        if message.author.role == Role::Tool {
            let name = message.author.name.as_deref().ok_or(HarmonyError::ToolWithoutName)?;
            self.text_into(name, out);
        } else {
            self.header_into(message.author.role.as_str(), out);
            if let Some(name) = &message.author.name {
                self.text_into(&format!(":{name}"), out);
            }
        }

        if let Some(recipient) = message.recipient.as_deref().filter(|r| *r != "all") {
            self.text_into(&format!(" to={recipient}"), out);
        }

        if let Some(channel) = &message.channel {
            out.push(self.formatting_token(FormattingToken::Channel));
            self.header_into(channel, out);
        }

        if let Some(content_type) = &message.content_type {
            match content_type.strip_prefix(FormattingToken::Constrain.text()) {
                Some(rest) => {
                    self.header_into(" ", out);
                    out.push(self.formatting_token(FormattingToken::Constrain));
                    self.header_into(rest, out);
                }
                None => self.text_into(&format!(" {content_type}"), out),
            }
        }

        out.push(self.formatting_token(FormattingToken::Message));
        for content in &message.content {
            match content {
                Content::Text(t) => self.text_into(&t.text, out),
                Content::SystemContent(sys) => {
                    if message.author.role != Role::System {
                        return Err(HarmonyError::SystemContentOutsideSystem(format!("{:?}", message.author.role)));
                    }
                    self.text_into(&system::system_text(sys, options.conversation_has_function_tools), out);
                }
                Content::DeveloperContent(dev) => {
                    if message.author.role != Role::Developer {
                        return Err(HarmonyError::DeveloperContentOutsideDeveloper(format!(
                            "{:?}",
                            message.author.role
                        )));
                    }
                    self.text_into(&developer::developer_text(dev), out);
                }
            }
        }

        let end = if message.author.role == Role::Assistant && message.recipient.is_some() {
            FormattingToken::Call
        } else {
            FormattingToken::End
        };
        out.push(self.formatting_token(end));
        Ok(())
    }

    /// Renders one message.
    pub fn render(&self, message: &Message, options: Option<&RenderOptions>) -> Result<Vec<Rank>> {
        let mut out = Vec::new();
        self.render_into(message, &mut out, options)?;
        Ok(out)
    }

    /// Renders the messages of a conversation one after another, appending
    /// to `out`. `None` as config means the default (`auto_drop_analysis`).
    /// On error, `out` is left as it was.
    pub fn render_conversation_into<'a, I>(
        &self,
        conversation: I,
        out: &mut Vec<Rank>,
        config: Option<&RenderConversationConfig>,
    ) -> Result<()>
    where
        I: IntoIterator<Item = &'a Message>,
    {
        let messages: Vec<&Message> = conversation.into_iter().collect();
        self.render_messages_into(&messages, out, config, None, CachePolicy::All)
    }

    /// Renders messages one after another; with `spans`, records where each
    /// rendered message (not the dropped ones) starts and ends in `out`.
    fn render_messages_into(
        &self,
        messages: &[&Message],
        out: &mut Vec<Rank>,
        config: Option<&RenderConversationConfig>,
        mut spans: Option<&mut Vec<MessageSpan>>,
        policy: CachePolicy,
    ) -> Result<()> {
        let config = config.copied().unwrap_or_default();
        let options = RenderOptions { conversation_has_function_tools: has_function_tools(messages.iter().copied()) };
        let drop = dropped(messages, &config);
        let mark = out.len();
        for (index, (message, dropped)) in messages.iter().zip(drop).enumerate() {
            if dropped {
                continue;
            }
            let start = out.len();
            if let Err(e) = self.render_cached(message, out, options, policy) {
                out.truncate(mark);
                return Err(e);
            }
            if let Some(spans) = spans.as_deref_mut() {
                spans.push(MessageSpan {
                    index,
                    role: message.author.role,
                    channel: message.channel.clone(),
                    start,
                    end: out.len(),
                });
            }
        }
        Ok(())
    }

    /// Renders a conversation.
    pub fn render_conversation<'a, I>(
        &self,
        conversation: I,
        config: Option<&RenderConversationConfig>,
    ) -> Result<Vec<Rank>>
    where
        I: IntoIterator<Item = &'a Message>,
    {
        let mut out = Vec::new();
        self.render_conversation_into(conversation, &mut out, config)?;
        Ok(out)
    }

    /// Renders a conversation followed by `<|start|>{next_turn_role}`: the
    /// prompt from which the model samples the next message.
    pub fn render_conversation_for_completion<'a, I>(
        &self,
        conversation: I,
        next_turn_role: Role,
        config: Option<&RenderConversationConfig>,
    ) -> Result<Vec<Rank>>
    where
        I: IntoIterator<Item = &'a Message>,
    {
        let mut out = Vec::new();
        self.render_conversation_into(conversation, &mut out, config)?;
        out.push(self.formatting_token(FormattingToken::Start));
        self.header_into(next_turn_role.as_str(), &mut out);
        Ok(out)
    }

    /// Renders a conversation as a training example: as
    /// [`HarmonyEncoding::render_conversation`], except that a final answer
    /// ending the conversation ends with `<|return|>` (what the model
    /// samples) instead of `<|end|>`.
    pub fn render_conversation_for_training<'a, I>(
        &self,
        conversation: I,
        config: Option<&RenderConversationConfig>,
    ) -> Result<Vec<Rank>>
    where
        I: IntoIterator<Item = &'a Message>,
    {
        let messages: Vec<&Message> = conversation.into_iter().collect();
        self.render_training(&messages, config, None, CachePolicy::All)
    }

    /// The training render of collected messages, recording spans.
    pub(crate) fn render_training(
        &self,
        messages: &[&Message],
        config: Option<&RenderConversationConfig>,
        spans: Option<&mut Vec<MessageSpan>>,
        policy: CachePolicy,
    ) -> Result<Vec<Rank>> {
        let mut out = Vec::new();
        self.render_messages_into(messages, &mut out, config, spans, policy)?;
        let ends_with_final =
            messages.last().is_some_and(|m| m.author.role == Role::Assistant && m.channel.as_deref() == Some("final"));
        if ends_with_final {
            if let Some(last) = out.last_mut() {
                *last = self.formatting_token(FormattingToken::Return);
            }
        }
        Ok(out)
    }
}
