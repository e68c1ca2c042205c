//! What both request formats build: the system and developer messages from
//! settings, and the body of the conversation, with the reasoning-dropping
//! rule applied at the end.

use std::collections::HashMap;

use serde_json::Value;

use super::json::{check_arguments, invalid_at, kind, Obj};
use super::names::ToolNames;
use super::ConversionOptions;
use crate::chat::{
    Author, Conversation, DeveloperContent, Message, ReasoningEffort, ResponseFormat, Role, SystemContent,
    ToolDescription,
};
use crate::error::Result;
use crate::grammar::ToolChoice;

/// The content type of a function call's arguments.
pub(crate) const JSON_CONSTRAINT: &str = "<|constrain|>json";

#[derive(Default)]
pub(crate) struct Builder {
    instructions: Vec<String>,
    functions: Vec<ToolDescription>,
    pub(crate) browser: bool,
    pub(crate) python: bool,
    response_format: Option<ResponseFormat>,
    effort: Option<ReasoningEffort>,
    body: Vec<Message>,
    pub(crate) names: ToolNames,
    /// Call id → harmony function name, for matching tool results.
    calls: HashMap<String, String>,
    /// What the request's `tool_choice` asks of the completion grammar,
    /// which can enforce what the prompt cannot (`required`, one function).
    pub(crate) grammar_choice: ToolChoice,
}

impl Builder {
    pub(crate) fn instructions(&mut self, text: String) {
        if !text.is_empty() {
            self.instructions.push(text);
        }
    }

    /// Declares a function tool of the request.
    pub(crate) fn function(
        &mut self,
        name: &str,
        description: Option<&str>,
        parameters: Option<&Value>,
        path: &str,
    ) -> Result<()> {
        if let Some(p) = parameters {
            if !p.is_object() {
                return Err(invalid_at(
                    &format!("{path}.parameters"),
                    format!("{path}.parameters must be an object, got {}", kind(p)),
                ));
            }
        }
        let harmony = self.names.define(name);
        self.functions.push(ToolDescription::new(harmony, description.unwrap_or_default(), parameters.cloned()));
        Ok(())
    }

    /// `none`, `auto`, `required`, or one named function (then only that
    /// function is shown to the model).
    pub(crate) fn tool_choice(&mut self, choice: Option<&Value>, named: Option<&str>, path: &str) -> Result<()> {
        match (choice, named) {
            (None, _) => Ok(()),
            (Some(Value::String(s)), _) if s == "auto" => Ok(()),
            (Some(Value::String(s)), _) if s == "required" => {
                self.grammar_choice = ToolChoice::Required;
                Ok(())
            }
            (Some(Value::String(s)), _) if s == "none" => {
                self.functions.clear();
                self.grammar_choice = ToolChoice::None;
                Ok(())
            }
            (Some(_), Some(name)) => {
                let harmony = self.names.harmony_name(name);
                self.functions.retain(|f| f.name == harmony);
                if self.functions.is_empty() {
                    return Err(invalid_at(
                        path,
                        format!("{path} names function {name:?}, which is not among the tools"),
                    ));
                }
                self.grammar_choice = ToolChoice::Named(format!("functions.{harmony}"));
                Ok(())
            }
            (Some(other), None) => Err(invalid_at(path, format!("{path}: unsupported tool_choice {other}"))),
        }
    }

    pub(crate) fn reasoning_effort(&mut self, value: Option<&str>, path: &str) -> Result<()> {
        self.effort = match value.map(str::to_ascii_lowercase).as_deref() {
            None => None,
            Some("minimal" | "none" | "low") => Some(ReasoningEffort::Low),
            Some("medium") => Some(ReasoningEffort::Medium),
            Some("high" | "xhigh") => Some(ReasoningEffort::High),
            Some(other) => return Err(invalid_at(path, format!("{path}: unknown reasoning effort {other:?}"))),
        };
        Ok(())
    }

    /// A structured-output format: `{"type": "json_schema", …}` (the schema
    /// fields read from `schema_obj`), `json_object` or `text`.
    pub(crate) fn response_format(&mut self, format: Obj<'_, '_>, schema_obj: Option<Obj<'_, '_>>) -> Result<()> {
        match format.req_str("type")? {
            "text" => {}
            "json_object" => {
                self.response_format = Some(ResponseFormat::new("json_object", serde_json::json!({"type": "object"})));
            }
            "json_schema" => {
                let spec = schema_obj.ok_or_else(|| {
                    invalid_at(&format.at("json_schema"), format!("{} is required", format.at("json_schema")))
                })?;
                let schema = spec.get("schema").cloned().unwrap_or_else(|| serde_json::json!({}));
                let mut rf = ResponseFormat::new(spec.req_str("name")?, schema);
                rf.description = spec.str("description")?.map(str::to_string);
                self.response_format = Some(rf);
            }
            other => {
                return Err(invalid_at(
                    &format.at("type"),
                    format!("{}: unsupported response format type {other:?}", format.at("type")),
                ))
            }
        }
        Ok(())
    }

    pub(crate) fn user(&mut self, text: String) {
        self.body.push(Message::from_role_and_content(Role::User, text));
    }

    pub(crate) fn assistant(&mut self, channel: &str, text: String) {
        self.body.push(Message::from_role_and_content(Role::Assistant, text).with_channel(channel));
    }

    /// An assistant call to `functions.NAME` with JSON arguments.
    pub(crate) fn call(&mut self, call_id: &str, api_name: &str, arguments: &str, path: &str) -> Result<()> {
        check_arguments(arguments, path)?;
        let harmony = self.names.harmony_name(api_name);
        if self.calls.insert(call_id.to_string(), harmony.clone()).is_some() {
            return Err(invalid_at(path, format!("{path}: tool call id {call_id:?} is used twice")));
        }
        self.body.push(
            Message::from_role_and_content(Role::Assistant, arguments)
                .with_channel("commentary")
                .with_recipient(format!("functions.{harmony}"))
                .with_content_type(JSON_CONSTRAINT),
        );
        Ok(())
    }

    /// An assistant call to a built-in tool (`browser.search`, `python`).
    pub(crate) fn builtin_call(&mut self, recipient: &str, arguments: String) {
        self.body.push(
            Message::from_role_and_content(Role::Assistant, arguments)
                .with_channel("analysis")
                .with_recipient(recipient),
        );
    }

    /// The result of the call with this id, from `functions.NAME` to the assistant.
    pub(crate) fn tool_result(&mut self, call_id: &str, output: String, path: &str) -> Result<()> {
        let name = self.calls.get(call_id).ok_or_else(|| {
            invalid_at(path, format!("{path}: tool call id {call_id:?} matches no earlier tool call"))
        })?;
        self.body.push(
            Message::from_author_and_content(Author::new(Role::Tool, format!("functions.{name}")), output)
                .with_channel("commentary")
                .with_recipient("assistant"),
        );
        Ok(())
    }

    /// The conversation: system message, developer message (when there is
    /// anything to put in it), then the body without the reasoning of
    /// turns that a final answer has since closed.
    pub(crate) fn finish(self, options: &ConversionOptions) -> Result<Conversation> {
        let mut system = SystemContent::new().with_conversation_start_date(options.date()?);
        if let Some(effort) = self.effort {
            system = system.with_reasoning_effort(effort);
        }
        if self.browser {
            system = system.with_browser_tool();
        }
        if self.python {
            system = system.with_python_tool();
        }
        let mut messages = vec![Message::from_role_and_content(Role::System, system)];
        let mut developer = DeveloperContent::new();
        let mut needed = false;
        if !self.instructions.is_empty() {
            developer = developer.with_instructions(self.instructions.join("\n\n"));
            needed = true;
        }
        if !self.functions.is_empty() {
            developer = developer.with_function_tools(self.functions);
            needed = true;
        }
        if let Some(rf) = self.response_format {
            developer = developer.with_response_format(rf);
            needed = true;
        }
        if needed {
            messages.push(Message::from_role_and_content(Role::Developer, developer));
        }
        let last_final =
            self.body.iter().rposition(|m| m.author.role == Role::Assistant && m.channel.as_deref() == Some("final"));
        messages.extend(self.body.into_iter().enumerate().filter_map(|(i, m)| {
            let closed_reasoning = m.author.role == Role::Assistant
                && m.channel.as_deref() == Some("analysis")
                && m.recipient.is_none()
                && last_final.is_some_and(|f| i < f);
            (!closed_reasoning).then_some(m)
        }));
        Ok(Conversation::from_messages(messages))
    }
}

/// The text of a message's `content`: a string, or text parts (`text`,
/// `input_text`, `output_text`, `refusal`) joined by newlines. Other parts
/// (images, audio, files) are an error: gpt-oss reads text only.
pub(crate) fn flatten(content: Option<&Value>, path: &str) -> Result<String> {
    match content {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::with_capacity(parts.len());
            for (i, part) in parts.iter().enumerate() {
                let part_path = format!("{path}[{i}]");
                let obj = Obj::new(part, &part_path)?;
                let text = match obj.req_str("type")? {
                    "text" | "input_text" | "output_text" => obj.req_str("text")?,
                    "refusal" => obj.req_str("refusal")?,
                    other => {
                        return Err(invalid_at(
                            &part_path,
                            format!(
                                "{part_path}: content part type {other:?} is not supported (gpt-oss reads text only)"
                            ),
                        ))
                    }
                };
                texts.push(text);
            }
            Ok(texts.join("\n"))
        }
        Some(other) => {
            Err(invalid_at(path, format!("{path} must be a string or an array of parts, got {}", kind(other))))
        }
    }
}
