//! The data model: roles, authors, messages, content and conversations.
//!
//! The serde form is the JSON the Python package exchanges with the core:
//! a message is `{"role", "name"?, "content", "channel"?, "recipient"?,
//! "content_type"?}`; `content` is a string or a list of items tagged
//! `"type": "text" | "system_content" | "developer_content"`. Null and absent
//! optional fields are both accepted.

mod developer;
mod system;
mod tools;

use std::fmt;

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use developer::{DeveloperContent, ResponseFormat};
pub use system::{ChannelConfig, ReasoningEffort, SystemContent};
pub use tools::{ToolDescription, ToolNamespaceConfig};

use crate::error::HarmonyError;

/// Who a message is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The end user.
    User,
    /// The model.
    Assistant,
    /// The system message: identity, dates, reasoning effort, built-in tools.
    System,
    /// The developer message: instructions and function tools.
    Developer,
    /// A tool's output; the author name is the tool, e.g. `functions.x`.
    Tool,
}

impl Role {
    /// All roles, in declaration order.
    pub const ALL: [Role; 5] = [Role::User, Role::Assistant, Role::System, Role::Developer, Role::Tool];

    /// The role as it appears in a rendered header (`"assistant"`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
            Role::Developer => "developer",
            Role::Tool => "tool",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = HarmonyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| HarmonyError::UnknownRole(s.to_string()))
    }
}

/// The author of a message: a role and, optionally, a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Author {
    /// The author's role.
    pub role: Role,
    /// For tool messages, the tool (`functions.get_weather`); otherwise an
    /// optional name rendered as `role:name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Author {
    /// An author with a role and a name.
    pub fn new(role: Role, name: impl Into<String>) -> Self {
        Author { role, name: Some(name.into()) }
    }
}

impl From<Role> for Author {
    fn from(role: Role) -> Self {
        Author { role, name: None }
    }
}

/// Plain text content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TextContent {
    /// The text.
    pub text: String,
}

/// One item of a message's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// Text.
    Text(TextContent),
    /// The body of a system message.
    SystemContent(SystemContent),
    /// The body of a developer message.
    DeveloperContent(DeveloperContent),
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Content::Text(TextContent { text })
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Content::Text(TextContent { text: text.to_string() })
    }
}

impl From<TextContent> for Content {
    fn from(c: TextContent) -> Self {
        Content::Text(c)
    }
}

impl From<SystemContent> for Content {
    fn from(c: SystemContent) -> Self {
        Content::SystemContent(c)
    }
}

impl From<DeveloperContent> for Content {
    fn from(c: DeveloperContent) -> Self {
        Content::DeveloperContent(c)
    }
}

/// The keys of a message's JSON form, the one list of them: [`Message`]'s
/// serde form, the Python bindings (which read the pydantic fields of the
/// same names) and the Python models (`_native.MESSAGE_KEYS`) all use it.
pub mod keys {
    /// The author's role.
    pub const ROLE: &str = "role";
    /// The author's name.
    pub const NAME: &str = "name";
    /// The content items.
    pub const CONTENT: &str = "content";
    /// The channel (`analysis`, `commentary`, `final`).
    pub const CHANNEL: &str = "channel";
    /// The recipient (`functions.get_weather`).
    pub const RECIPIENT: &str = "recipient";
    /// The content type (`<|constrain|>json`).
    pub const CONTENT_TYPE: &str = "content_type";
    /// Every key, in the order a message is written; the last three are
    /// written only when set.
    pub const ALL: [&str; 6] = [ROLE, NAME, CONTENT, CHANNEL, RECIPIENT, CONTENT_TYPE];
    /// The tag of each content item (its `"type"`).
    pub const CONTENT_TAGS: [&str; 3] = ["text", "system_content", "developer_content"];
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Who wrote it.
    pub author: Author,
    /// Who it is addressed to (`functions.get_weather`, `assistant`, ...).
    pub recipient: Option<String>,
    /// The content items, rendered one after another.
    pub content: Vec<Content>,
    /// The channel (`analysis`, `commentary`, `final`).
    pub channel: Option<String>,
    /// The content type, e.g. `<|constrain|>json`.
    pub content_type: Option<String>,
}

impl Message {
    /// A message from an author with one content item.
    pub fn from_author_and_content(author: Author, content: impl Into<Content>) -> Self {
        Message { author, recipient: None, content: vec![content.into()], channel: None, content_type: None }
    }

    /// A message from a role with one content item.
    pub fn from_role_and_content(role: Role, content: impl Into<Content>) -> Self {
        Self::from_author_and_content(Author::from(role), content)
    }

    /// A message from a role with several content items.
    pub fn from_role_and_contents<I, C>(role: Role, contents: I) -> Self
    where
        I: IntoIterator<Item = C>,
        C: Into<Content>,
    {
        Message {
            author: Author::from(role),
            recipient: None,
            content: contents.into_iter().map(Into::into).collect(),
            channel: None,
            content_type: None,
        }
    }

    /// This message with one more content item.
    pub fn adding_content(mut self, content: impl Into<Content>) -> Self {
        self.content.push(content.into());
        self
    }

    /// This message on a channel.
    pub fn with_channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = Some(channel.into());
        self
    }

    /// This message addressed to a recipient.
    pub fn with_recipient(mut self, recipient: impl Into<String>) -> Self {
        self.recipient = Some(recipient.into());
        self
    }

    /// This message with a content type.
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }
}

/// The JSON shape of a message; `Message` converts from it. Its field
/// names are [`keys::ALL`] (a test holds them together).
#[derive(Deserialize)]
struct MessageRepr {
    role: Role,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "content_string_or_list")]
    content: Vec<Content>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    recipient: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
}

/// A message's `content`: a string (one text item), a list of content
/// items, or null. Read in place, so an error inside an item is serde's
/// own, with its position (as the reference reports it).
fn content_string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Content>, D::Error> {
    struct ContentVisitor;

    impl<'de> serde::de::Visitor<'de> for ContentVisitor {
        type Value = Vec<Content>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(
                "a string or a list of content items tagged \"type\": \"text\" | \"system_content\" | \"developer_content\"",
            )
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            Ok(vec![Content::from(text.to_string())])
        }

        fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
            Ok(vec![Content::from(text)])
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            while let Some(item) = seq.next_element::<Content>()? {
                items.push(item);
            }
            Ok(items)
        }
    }

    d.deserialize_any(ContentVisitor)
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = MessageRepr::deserialize(d)?;
        Ok(Message {
            author: Author { role: r.role, name: r.name },
            recipient: r.recipient,
            content: r.content,
            channel: r.channel,
            content_type: r.content_type,
        })
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry(keys::ROLE, &self.author.role)?;
        if let Some(name) = &self.author.name {
            map.serialize_entry(keys::NAME, name)?;
        }
        map.serialize_entry(keys::CONTENT, &self.content)?;
        if let Some(channel) = &self.channel {
            map.serialize_entry(keys::CHANNEL, channel)?;
        }
        if let Some(recipient) = &self.recipient {
            map.serialize_entry(keys::RECIPIENT, recipient)?;
        }
        if let Some(content_type) = &self.content_type {
            map.serialize_entry(keys::CONTENT_TYPE, content_type)?;
        }
        map.end()
    }
}

/// An ordered list of messages.
///
/// Its JSON form is `{"messages": [...]}`; a bare list of messages is
/// accepted too.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Conversation {
    /// The messages, oldest first.
    pub messages: Vec<Message>,
}

impl<'de> Deserialize<'de> for Conversation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Conversation;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a conversation: {\"messages\": [...]} or a list of messages")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Conversation, A::Error> {
                let mut messages = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(m) = seq.next_element()? {
                    messages.push(m);
                }
                Ok(Conversation { messages })
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Conversation, A::Error> {
                let mut messages = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "messages" {
                        messages = Some(map.next_value::<Vec<Message>>()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                messages.map(|messages| Conversation { messages }).ok_or_else(|| A::Error::missing_field("messages"))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Conversation {
    /// A conversation from messages.
    pub fn from_messages<I: IntoIterator<Item = Message>>(messages: I) -> Self {
        Conversation { messages: messages.into_iter().collect() }
    }

    /// The recipients the conversation offers the model: each tool of the
    /// system message's namespaces (`browser.search`, or `python` for a
    /// namespace without tools) and of the developer message's
    /// (`functions.get_weather`), in order, each once. A parser given them
    /// ([`StreamableParser::with_tools`](crate::StreamableParser::with_tools))
    /// maps damaged recipients to them.
    pub fn declared_recipients(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let namespaces = self.messages.iter().flat_map(|m| m.content.iter()).flat_map(|c| match c {
            Content::SystemContent(s) => s.tools.iter().flat_map(|t| t.values()).collect::<Vec<_>>(),
            Content::DeveloperContent(d) => d.tools.iter().flat_map(|t| t.values()).collect(),
            _ => Vec::new(),
        });
        for ns in namespaces {
            let names: Vec<String> = if ns.tools.is_empty() {
                vec![ns.name.clone()]
            } else {
                ns.tools.iter().map(|t| format!("{}.{}", ns.name, t.name)).collect()
            };
            for name in names {
                if seen.insert(name.clone()) {
                    out.push(name);
                }
            }
        }
        out
    }

    /// Parses the JSON form (`{"messages": [...]}`).
    pub fn from_json(json: &str) -> Result<Self, HarmonyError> {
        Ok(serde_json::from_str(json)?)
    }

    /// The JSON form.
    pub fn to_json(&self) -> Result<String, HarmonyError> {
        Ok(serde_json::to_string(self)?)
    }
}

impl<'a> IntoIterator for &'a Conversation {
    type Item = &'a Message;
    type IntoIter = std::slice::Iter<'a, Message>;

    fn into_iter(self) -> Self::IntoIter {
        self.messages.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`keys`] and the serde forms agree: a message with every field set
    /// is written with exactly `keys::ALL`, in order, and each key is read
    /// back into its own field; each content tag is `Content`'s.
    #[test]
    fn keys_are_the_serde_forms() {
        let message = Message::from_author_and_content(Author::new(Role::Tool, "n"), "t")
            .with_channel("c")
            .with_recipient("r")
            .with_content_type("ct");
        let value = serde_json::to_value(&message).expect("a message serializes");
        let written: Vec<&str> = value.as_object().expect("an object").keys().map(String::as_str).collect();
        assert_eq!(written, keys::ALL, "written with keys::ALL, in its order");
        let text = serde_json::to_string(&message).expect("a message serializes");
        let back: Message = serde_json::from_str(&text).expect("read back");
        assert_eq!(back, message);
        let contents: Vec<Content> = vec![
            TextContent { text: "x".into() }.into(),
            SystemContent::default().into(),
            DeveloperContent::default().into(),
        ];
        for (content, tag) in contents.iter().zip(keys::CONTENT_TAGS) {
            assert_eq!(serde_json::to_value(content).expect("content serializes")["type"], tag);
        }
    }
}
