//! Function names as the API gives them and as the prompt shows them.
//!
//! The renderer writes each function as `type NAME = …` inside
//! `namespace functions`, and the model calls it as `to=functions.NAME`: a
//! name with a space, a dot, a dash or a leading digit would break both. So
//! every API name gets a harmony name that is an identifier
//! (`[A-Za-z_][A-Za-z0-9_]*`), unique among the request's functions, and
//! calls are mapped back to the API name exactly.

use std::collections::HashMap;

/// The two-way map between API function names and harmony names.
///
/// Built from a request (see [`chat_tool_names`](super::chat_tool_names)
/// and [`responses_tool_names`](super::responses_tool_names)): the same
/// request always gives the same map, so a server can rebuild it when the
/// reply comes back.
#[derive(Debug, Clone, Default)]
pub struct ToolNames {
    to_harmony: HashMap<String, String>,
    to_api: HashMap<String, String>,
    /// For each sanitized name that was taken when defined again, the
    /// smallest suffix that may still be free: every `{base}_{k}` below it
    /// is taken. Names are never released, so the search for the next free
    /// suffix starts here instead of at 2, which keeps `n` definitions of
    /// one name linear instead of quadratic. A cache only: equality ignores it.
    next_suffix: HashMap<String, usize>,
}

impl PartialEq for ToolNames {
    fn eq(&self, other: &Self) -> bool {
        self.to_harmony == other.to_harmony && self.to_api == other.to_api
    }
}

impl Eq for ToolNames {}

impl ToolNames {
    /// An empty map: every name maps to itself once defined.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a function of the request and returns its harmony name. A
    /// second function with the same API name gets a distinct harmony name
    /// (`name_2`); calls by that API name go to the first.
    pub fn define(&mut self, api_name: &str) -> String {
        let base = sanitize(api_name);
        let name = if self.to_api.contains_key(&base) {
            // The first free `{base}_{n}`, n >= 2. Each `{base}_{n}` is
            // probed and found taken at most once over the map's life (the
            // suffix only moves forward), so the probes add up to at most
            // the number of names defined.
            let n = self.next_suffix.entry(base.clone()).or_insert(2);
            loop {
                let candidate = format!("{base}_{n}");
                *n += 1;
                if !self.to_api.contains_key(&candidate) {
                    break candidate;
                }
            }
        } else {
            base
        };
        self.to_api.insert(name.clone(), api_name.to_string());
        self.to_harmony.entry(api_name.to_string()).or_insert_with(|| name.clone());
        name
    }

    /// The harmony name of an API name, defining it if it is new (a call in
    /// the history to a function the request no longer lists).
    pub fn harmony_name(&mut self, api_name: &str) -> String {
        match self.to_harmony.get(api_name) {
            Some(name) => name.clone(),
            None => self.define(api_name),
        }
    }

    /// The recipients of the defined functions (`functions.NAME`), sorted:
    /// the declared tools a reply's parser maps damaged recipients to.
    pub fn recipients(&self) -> Vec<String> {
        let mut out: Vec<String> = self.to_api.keys().map(|name| format!("functions.{name}")).collect();
        out.sort();
        out
    }

    /// The API name of a harmony name; a name the request never defined
    /// (the model invented it) is returned as it is.
    pub fn api_name<'a>(&'a self, harmony_name: &'a str) -> &'a str {
        self.to_api.get(harmony_name).map(String::as_str).unwrap_or(harmony_name)
    }
}

/// An identifier made from a name: other characters become `_`, a leading
/// digit gets a `_` before it, an empty name becomes `function`.
fn sanitize(name: &str) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() {
        out.push_str("function");
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_pass_through() {
        let mut names = ToolNames::new();
        assert_eq!(names.define("get_weather"), "get_weather");
        assert_eq!(names.api_name("get_weather"), "get_weather");
    }

    #[test]
    fn invalid_names_are_sanitized_and_mapped_back() {
        let mut names = ToolNames::new();
        let cases = [
            ("get weather", "get_weather"),
            ("my.tool", "my_tool"),
            ("a-b", "a_b"),
            ("3d", "_3d"),
            ("", "function"),
            ("météo", "m_t_o"),
        ];
        for (api, harmony) in cases {
            assert_eq!(names.define(api), harmony);
            assert_eq!(names.api_name(harmony), api);
        }
    }

    #[test]
    fn collisions_and_duplicates_get_distinct_names() {
        let mut names = ToolNames::new();
        assert_eq!(names.define("a-b"), "a_b");
        assert_eq!(names.define("a_b"), "a_b_2");
        assert_eq!(names.define("a_b"), "a_b_3");
        assert_eq!(names.api_name("a_b"), "a-b");
        assert_eq!(names.api_name("a_b_2"), "a_b");
        assert_eq!(names.api_name("a_b_3"), "a_b");
        assert_eq!(names.harmony_name("a_b"), "a_b_2");
        assert_eq!(names.harmony_name("new tool"), "new_tool");
        assert_eq!(names.api_name("unknown"), "unknown");
    }

    /// The definition as it was before the suffix cache: probe `_2`, `_3`,
    /// … from the start every time (quadratic in the duplicates).
    #[derive(Default)]
    struct Probing {
        to_harmony: HashMap<String, String>,
        to_api: HashMap<String, String>,
    }

    impl Probing {
        fn define(&mut self, api_name: &str) -> String {
            let base = sanitize(api_name);
            let mut name = base.clone();
            let mut n = 2;
            while self.to_api.contains_key(&name) {
                name = format!("{base}_{n}");
                n += 1;
            }
            self.to_api.insert(name.clone(), api_name.to_string());
            self.to_harmony.entry(api_name.to_string()).or_insert_with(|| name.clone());
            name
        }

        fn harmony_name(&mut self, api_name: &str) -> String {
            match self.to_harmony.get(api_name) {
                Some(name) => name.clone(),
                None => self.define(api_name),
            }
        }
    }

    #[test]
    fn many_duplicates_get_the_names_probing_gives() {
        // Names that collide with each other's suffixed forms, in a seeded
        // pseudo-random order, defined and looked up.
        let pool = [
            "get-weather",
            "get_weather",
            "get_weather_2",
            "get_weather_3",
            "get weather",
            "get_weather_2_2",
            "a",
            "a_2",
            "a-2",
            "",
            "function",
            "function_2",
            "3d",
            "_3d",
            "_3d_2",
            "a_10",
            "get_weather_12",
        ];
        for seed in 0..20u64 {
            let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let mut next = move || {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (state >> 33) as usize
            };
            let (mut ours, mut old) = (ToolNames::new(), Probing::default());
            for _ in 0..400 {
                let name = pool[next() % pool.len()];
                if next() % 4 == 0 {
                    assert_eq!(ours.harmony_name(name), old.harmony_name(name), "seed {seed}, {name:?}");
                } else {
                    assert_eq!(ours.define(name), old.define(name), "seed {seed}, {name:?}");
                }
            }
            assert_eq!(ours.to_api, old.to_api);
            assert_eq!(ours.to_harmony, old.to_harmony);
        }
    }

    #[test]
    fn a_run_of_one_name_is_numbered_in_order() {
        let mut names = ToolNames::new();
        assert_eq!(names.define("get_weather_3"), "get_weather_3");
        let got: Vec<String> = (0..1000).map(|_| names.define("get-weather")).collect();
        assert_eq!(got[0], "get_weather");
        assert_eq!(got[1], "get_weather_2");
        assert_eq!(got[2], "get_weather_4");
        assert_eq!(got[999], "get_weather_1001");
        assert_eq!(names.api_name("get_weather_3"), "get_weather_3");
        assert_eq!(names.api_name("get_weather_1001"), "get-weather");
    }
}
