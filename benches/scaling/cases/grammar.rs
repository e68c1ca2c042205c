//! Completion grammars: a tool's parameter schema written as Lark, GBNF and
//! an xgrammar structural tag.

use std::hint::black_box;

use openai_harmony::chat::{Conversation, DeveloperContent, Message, Role, ToolDescription};
use openai_harmony::grammar::{GrammarSyntax, ToolChoice};
use openai_harmony::HarmonyEncoding;
use serde_json::{json, Value};

use super::{Case, Op};

/// The grammar of a reply to a conversation declaring one tool with these parameters.
fn grammar(enc: &HarmonyEncoding, parameters: Value, syntax: GrammarSyntax) -> Op {
    let enc = enc.clone();
    let tool = ToolDescription::new("f", "a tool", Some(parameters));
    let developer = DeveloperContent::default().with_function_tools(vec![tool]);
    let convo = Conversation::from_messages([
        Message::from_role_and_content(Role::Developer, developer),
        Message::from_role_and_content(Role::User, "go"),
    ]);
    Box::new(move || {
        black_box(enc.completion_grammar(&convo, Role::Assistant, syntax, &ToolChoice::Auto).expect("a grammar"));
    })
}

/// `n` string properties, every one required.
fn all_required(n: usize) -> Value {
    let names: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    let props: serde_json::Map<String, Value> = names.iter().map(|k| (k.clone(), json!({"type": "string"}))).collect();
    json!({"type": "object", "properties": props, "required": names})
}

/// `allOf` of `n` parts, each declaring one property and requiring it.
fn all_of_required_lists(n: usize) -> Value {
    let parts: Vec<Value> = (0..n)
        .map(|i| json!({"properties": {format!("p{i}"): {"type": "integer"}}, "required": [format!("p{i}")]}))
        .collect();
    json!({"type": "object", "allOf": parts})
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "grammar/gbnf_all_required_properties",
            bench_n: 8_000,
            test_n: 200,
            known: None,
            make: |enc, n| grammar(enc, all_required(n), GrammarSyntax::Gbnf),
        },
        Case {
            name: "grammar/gbnf_all_of_required_lists",
            bench_n: 8_000,
            test_n: 200,
            known: None,
            make: |enc, n| grammar(enc, all_of_required_lists(n), GrammarSyntax::Gbnf),
        },
        Case {
            name: "grammar/lark_all_required_properties",
            bench_n: 8_000,
            test_n: 200,
            known: None,
            make: |enc, n| grammar(enc, all_required(n), GrammarSyntax::Lark),
        },
        Case {
            name: "grammar/xgrammar_all_of_required_lists",
            bench_n: 8_000,
            test_n: 200,
            known: None,
            make: |enc, n| grammar(enc, all_of_required_lists(n), GrammarSyntax::Xgrammar),
        },
    ]
}
