//! Training renders: where each message lies in the tokens, and which
//! tokens the model itself samples (the loss mask).
//!
//! The model samples everything of an assistant message after its role
//! name: the channel, the recipient, the content type, `<|message|>`, the
//! content and the end token (`<|end|>`, `<|call|>`, or `<|return|>` on a
//! final answer that ends the conversation). The `<|start|>assistant` that
//! opens a turn belongs to the prompt; the one between two assistant
//! messages of the same turn is sampled by the model too.

use std::str::FromStr;

use serde::Serialize;

use super::{CachePolicy, RenderConversationConfig};
use crate::chat::{Message, Role};
use crate::encoding::HarmonyEncoding;
use crate::error::{HarmonyError, Result};
use crate::tokenizer::Rank;

/// Where one message lies in a rendered conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageSpan {
    /// The message's position in the conversation (dropped messages have
    /// no span, so indices can skip).
    pub index: usize,
    /// The author's role.
    pub role: Role,
    /// The channel, if any.
    pub channel: Option<String>,
    /// The first token (`<|start|>`).
    pub start: usize,
    /// One past the last token (the end token).
    pub end: usize,
}

/// Which assistant messages a training example learns from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrainOn {
    /// Every assistant message.
    #[default]
    AllAssistant,
    /// The last run of consecutive assistant messages (the last turn).
    LastAssistantTurn,
}

impl FromStr for TrainOn {
    type Err = HarmonyError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "all_assistant" => Ok(TrainOn::AllAssistant),
            "last_assistant_turn" => Ok(TrainOn::LastAssistantTurn),
            other => Err(HarmonyError::InvalidArgument(format!(
                "train_on must be \"all_assistant\" or \"last_assistant_turn\", got {other:?}"
            ))),
        }
    }
}

impl HarmonyEncoding {
    /// Where each rendered message lies in
    /// [`render_conversation`](HarmonyEncoding::render_conversation)'s
    /// tokens (the same spans hold for the training render).
    pub fn message_spans<'a, I>(
        &self,
        conversation: I,
        config: Option<&RenderConversationConfig>,
    ) -> Result<Vec<MessageSpan>>
    where
        I: IntoIterator<Item = &'a Message>,
    {
        let messages: Vec<&Message> = conversation.into_iter().collect();
        let mut spans = Vec::new();
        self.render_training(&messages, config, Some(&mut spans), CachePolicy::All)?;
        Ok(spans)
    }

    /// The training render of a conversation with its loss mask:
    /// `mask[i]` is 1 exactly on the tokens the model samples for the chosen
    /// assistant messages (see the module documentation), else 0.
    pub fn render_conversation_for_training_with_mask<'a, I>(
        &self,
        conversation: I,
        config: Option<&RenderConversationConfig>,
        train_on: TrainOn,
    ) -> Result<(Vec<Rank>, Vec<u8>)>
    where
        I: IntoIterator<Item = &'a Message>,
    {
        let messages: Vec<&Message> = conversation.into_iter().collect();
        self.training_with_mask(&messages, config, train_on, CachePolicy::All).map(|(tokens, mask, _)| (tokens, mask))
    }

    /// The training render, its loss mask and its spans, rendered under `policy`.
    pub(crate) fn training_with_mask(
        &self,
        messages: &[&Message],
        config: Option<&RenderConversationConfig>,
        train_on: TrainOn,
        policy: CachePolicy,
    ) -> Result<(Vec<Rank>, Vec<u8>, Vec<MessageSpan>)> {
        let mut spans = Vec::new();
        let tokens = self.render_training(messages, config, Some(&mut spans), policy)?;
        let mut mask = vec![0u8; tokens.len()];
        let first_chosen = match train_on {
            TrainOn::AllAssistant => 0,
            TrainOn::LastAssistantTurn => {
                let last = spans.iter().rposition(|s| s.role == Role::Assistant);
                match last {
                    None => spans.len(),
                    Some(last) => spans[..last].iter().rposition(|s| s.role != Role::Assistant).map_or(0, |i| i + 1),
                }
            }
        };
        for (k, span) in spans.iter().enumerate().skip(first_chosen) {
            if span.role != Role::Assistant {
                continue;
            }
            let continues_turn = k > 0 && spans[k - 1].role == Role::Assistant;
            let from =
                if continues_turn { span.start } else { span.start + self.role_header_len(messages[span.index]) };
            mask[from.min(span.end)..span.end].fill(1);
        }
        Ok((tokens, mask, spans))
    }

    /// `<|start|>` plus the tokens of the role name (and author name).
    fn role_header_len(&self, message: &Message) -> usize {
        let mut scratch = Vec::new();
        self.tokenizer().encode_ordinary_into(message.author.role.as_str(), &mut scratch);
        if let Some(name) = &message.author.name {
            self.tokenizer().encode_ordinary_into(&format!(":{name}"), &mut scratch);
        }
        1 + scratch.len()
    }
}
