//! The recipients a prompt declared, for lenient parsing to map damaged
//! recipients to: `to=functions.Web Search` or `to=web_search` means the
//! declared `functions.web_search`.
//!
//! Built once per parser (linear in the names); a lookup costs one hash of
//! the recipient, however many tools the prompt declared.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

/// Declared recipients, indexed for [`find`](Self::find).
#[derive(Debug, Clone, Default)]
pub(crate) struct DeclaredTools {
    names: Vec<String>,
    exact: HashSet<String>,
    /// Name folded (case, spaces, `_`, `-`) → index, `None` if several fold alike.
    by_key: HashMap<String, Option<usize>>,
    /// The same for the name without its namespace (`web_search`).
    by_short_key: HashMap<String, Option<usize>>,
}

impl DeclaredTools {
    pub(crate) fn new(names: Vec<String>) -> Self {
        let mut by_key = HashMap::new();
        let mut by_short_key = HashMap::new();
        let insert = |map: &mut HashMap<String, Option<usize>>, key: String, i: usize| {
            map.entry(key).and_modify(|v| *v = None).or_insert(Some(i));
        };
        for (i, name) in names.iter().enumerate() {
            insert(&mut by_key, fold(name), i);
            if let Some((_, short)) = name.rsplit_once('.') {
                insert(&mut by_short_key, fold(short), i);
            }
        }
        let exact = names.iter().cloned().collect();
        DeclaredTools { names, exact, by_key, by_short_key }
    }

    /// No declared tools, shared: a parser made without tools allocates none.
    pub(crate) fn none() -> Arc<DeclaredTools> {
        static NONE: OnceLock<Arc<DeclaredTools>> = OnceLock::new();
        NONE.get_or_init(|| Arc::new(DeclaredTools::default())).clone()
    }

    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The declared tool a recipient means: itself if declared, else the one
    /// declared name equal to it ignoring case, spaces, `_` and `-` (a
    /// recipient without a namespace may match a name without its
    /// namespace). `None` if none or several match.
    pub(crate) fn find(&self, recipient: &str) -> Option<&str> {
        if self.names.is_empty() {
            return None;
        }
        if let Some(exact) = self.exact.get(recipient) {
            return Some(exact);
        }
        let key = fold(recipient);
        let index = match self.by_key.get(&key) {
            Some(found) => *found,
            None if !recipient.contains('.') => self.by_short_key.get(&key).copied().flatten(),
            None => None,
        }?;
        self.names.get(index).map(String::as_str)
    }
}

fn fold(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, ' ' | '_' | '-')).flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_a_recipient_means() {
        let tools = DeclaredTools::new(vec!["functions.web_search".into(), "functions.get_weather".into()]);
        assert_eq!(tools.find("functions.web_search"), Some("functions.web_search"));
        assert_eq!(tools.find("functions.Web Search"), Some("functions.web_search"));
        assert_eq!(tools.find("functions.WebSearch"), Some("functions.web_search"));
        assert_eq!(tools.find("web_search"), Some("functions.web_search"));
        assert_eq!(tools.find("browser.web_search"), None);
        assert_eq!(tools.find("functions.search"), None);
        let ambiguous = DeclaredTools::new(vec!["functions.a_b".into(), "functions.ab".into()]);
        assert_eq!(ambiguous.find("functions.AB"), None);
        assert_eq!(ambiguous.find("functions.ab"), Some("functions.ab"));
        assert_eq!(DeclaredTools::default().find("x"), None);
    }
}
