//! Which rendering a caller asks for, as a value: what batch rendering,
//! the Python bindings and the dataset pipeline pass around.

use crate::chat::{Message, Role};
use crate::encoding::HarmonyEncoding;
use crate::error::Result;
use crate::render::RenderConversationConfig;
use crate::tokenizer::Rank;

/// One of the three conversation renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenderKind {
    /// [`HarmonyEncoding::render_conversation`].
    Conversation,
    /// [`HarmonyEncoding::render_conversation_for_completion`] with this next role.
    Completion(Role),
    /// [`HarmonyEncoding::render_conversation_for_training`].
    Training,
}

impl HarmonyEncoding {
    /// Renders a conversation as `kind` asks.
    pub fn render_as<'a, I>(
        &self,
        conversation: I,
        kind: RenderKind,
        config: Option<&RenderConversationConfig>,
    ) -> Result<Vec<Rank>>
    where
        I: IntoIterator<Item = &'a Message>,
    {
        match kind {
            RenderKind::Conversation => self.render_conversation(conversation, config),
            RenderKind::Completion(role) => self.render_conversation_for_completion(conversation, role, config),
            RenderKind::Training => self.render_conversation_for_training(conversation, config),
        }
    }
}
