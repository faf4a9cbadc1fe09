//! Does an exercise solve its tasks, or reach the implementations it is
//! graded against?
//!
//! A lab's checks compare the learner's functions with the reference, so an
//! exercise that calls the reference (through `crate::tasks`, the radlab
//! crate whose function the task mirrors, or a file pulled in with
//! `include!`) would pass every check without solving anything. [`scan`]
//! reads the exercise source as compiled and finds, for each task function,
//! a path to a forbidden name: directly in its body, or through a helper
//! function, constant, `use` alias or `impl` of the file. The grader scores
//! such tasks 0 and lists them in the results.
//!
//! Written by hand rather than with `syn`: the question is textual (which
//! names does an item mention, transitively) and must survive files that do
//! not compile yet, which a full parser would refuse.
//!
//! ```
//! use radlab_grade::integrity::scan;
//! let pristine = "pub fn add(a: u8) -> u8 { todo!(\"add-one\") }";
//! let honest = "pub fn add(a: u8) -> u8 { a + 1 } // not REFERENCE";
//! let forwarding = "use crate::tasks::REFERENCE as R;\npub fn add(a: u8) -> u8 { (R.add)(a) }";
//! assert!(scan(honest, pristine, &[], &[]).is_empty());
//! let found = scan(forwarding, pristine, &[], &[]);
//! assert_eq!(found[0].task, "add-one");
//! assert_eq!(found[0].through, "REFERENCE");
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Names no exercise may use, whatever the lab: the reference table and
/// module, the checks, and ways of pulling other files or programs in.
pub const ALWAYS_FORBIDDEN: &[&str] = &[
    "REFERENCE",
    "reference::",
    "checks::",
    "include!",
    "include_str!",
    "include_bytes!",
    "#[path",
    "extern crate",
    "std::process",
    "process::Command",
    "dlopen",
    "libloading",
];

/// A task whose function reaches a forbidden name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Task id (from the pristine stub's `todo!("task")`).
    pub task: String,
    /// The exercise function of the task.
    pub function: String,
    /// The forbidden name reached.
    pub through: String,
    /// The chain of items from the function to the name, e.g. `window_linear -> helper`.
    pub via: String,
}

/// Comments removed, string and character literals emptied (quotes kept),
/// whitespace around `::` removed; `todo!("x")` keeps its text so tasks can
/// be found in the pristine stubs.
fn strip(src: &str, keep_strings: bool) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !prev_ident(&out) {
            // Raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            let start = j;
            while j < b.len() {
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    break;
                }
                j += 1;
            }
            out.push('"');
            if keep_strings {
                out.extend(&b[start..j.min(b.len())]);
            }
            out.push('"');
            i = j + 1 + hashes;
        } else if c == '"' {
            let mut j = i + 1;
            let start = j;
            while j < b.len() && b[j] != '"' {
                if b[j] == '\\' {
                    j += 1;
                }
                j += 1;
            }
            out.push('"');
            if keep_strings {
                out.extend(&b[start..j.min(b.len())]);
            }
            out.push('"');
            i = j + 1;
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            let close = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&k| b[k] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(k) => {
                    out.push_str("' '");
                    i = k + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    // `a :: b` and `a::\n b` are the path `a::b`.
    let mut s = out;
    while s.contains(" ::") || s.contains(":: ") || s.contains("\n::") || s.contains("::\n") {
        s = s
            .replace(" ::", "::")
            .replace(":: ", "::")
            .replace("\n::", "::")
            .replace("::\n", "::");
    }
    s
}

fn prev_ident(out: &str) -> bool {
    out.chars()
        .last()
        .is_some_and(|c| c.is_alphanumeric() || c == '_')
}

fn identifiers(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()))
        .collect()
}

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true", "type", "union",
    "unsafe", "use", "where", "while",
];

/// One top-level item of a file: its text and the names it defines.
struct Item {
    text: String,
    names: Vec<String>,
    is_use: bool,
}

/// Split a stripped file into its top-level items: text up to a `;` or a
/// closing `}` at depth 0.
fn items(stripped: &str) -> Vec<Item> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in stripped.char_indices() {
        match c {
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => {
                depth -= 1;
                if depth == 0 && c == '}' {
                    push_item(&mut out, &stripped[start..=i]);
                    start = i + 1;
                }
            }
            ';' if depth == 0 => {
                push_item(&mut out, &stripped[start..=i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    push_item(&mut out, &stripped[start..]);
    out
}

fn push_item(out: &mut Vec<Item>, text: &str) {
    let text = text.trim();
    if text.is_empty() {
        return;
    }
    let words = identifiers(text);
    // Attributes (`#[...]`) and visibility come first; find the keyword.
    let mut head = text.split('{').next().unwrap_or(text).trim_start();
    while head.starts_with("#[") || head.starts_with("#![") {
        head = head.find(']').map_or("", |e| head[e + 1..].trim_start());
    }
    let header: Vec<&str> = identifiers(head);
    let is_use = header
        .iter()
        .find(|w| !matches!(**w, "pub" | "crate" | "super" | "in"))
        .is_some_and(|w| *w == "use");
    let names = if is_use {
        words
            .iter()
            .filter(|w| !KEYWORDS.contains(w))
            .map(|w| w.to_string())
            .collect()
    } else if let Some(p) = header.iter().position(|w| *w == "impl") {
        header[p + 1..]
            .iter()
            .filter(|w| !KEYWORDS.contains(w))
            .map(|w| w.to_string())
            .collect()
    } else {
        let kinds = [
            "fn",
            "const",
            "static",
            "struct",
            "enum",
            "type",
            "trait",
            "mod",
            "union",
            "macro_rules",
        ];
        header
            .iter()
            .position(|w| kinds.contains(w))
            .and_then(|p| header.get(p + 1))
            .map(|n| vec![n.to_string()])
            .unwrap_or_default()
    };
    out.push(Item {
        text: text.to_string(),
        names,
        is_use,
    });
}

/// The first forbidden name an item's own text uses.
fn direct(text: &str, forbidden: &[String]) -> Option<String> {
    let idents: BTreeSet<&str> = identifiers(text).into_iter().collect();
    forbidden
        .iter()
        .find(|f| {
            if f.chars().all(|c| c.is_alphanumeric() || c == '_') {
                idents.contains(f.as_str())
            } else {
                text.contains(f.as_str())
            }
        })
        .cloned()
}

/// fn name -> task id, from the pristine stubs' `todo!("task")`.
pub fn task_functions(pristine: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for item in items(&strip(pristine, true)) {
        let Some(name) = item.names.first() else {
            continue;
        };
        if let Some(p) = item.text.find("todo!(\"") {
            let rest = &item.text[p + 7..];
            if let Some(end) = rest.find('"') {
                out.insert(name.clone(), rest[..end].to_string());
            }
        }
    }
    out
}

/// The tasks of `exercise` whose functions reach a name of
/// [`ALWAYS_FORBIDDEN`] or `forbidden` (paths such as `radlab_imaging` or
/// `radlab_metrics::calibration`), after replacing each path of `allowed`
/// (types an exercise may use, e.g. `radlab_metrics::segmentation::EmptyPolicy`)
/// by its last segment. Task functions are found from the `todo!` stubs of
/// `pristine`.
pub fn scan(
    exercise: &str,
    pristine: &str,
    forbidden: &[String],
    allowed: &[String],
) -> Vec<Finding> {
    let tasks = task_functions(pristine);
    let mut text = strip(exercise, false);
    for a in allowed {
        let last = a.rsplit("::").next().unwrap_or(a);
        text = text.replace(a.as_str(), last);
    }
    let all: Vec<String> = ALWAYS_FORBIDDEN
        .iter()
        .map(|s| s.to_string())
        .chain(forbidden.iter().cloned())
        .collect();
    let items = items(&text);
    // name -> (forbidden name, chain)
    let mut tainted: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut reason: Vec<Option<(String, String)>> = items
        .iter()
        .map(|it| {
            direct(&it.text, &all).map(|f| (f, it.names.first().cloned().unwrap_or_default()))
        })
        .collect();
    loop {
        let mut changed = false;
        for (k, it) in items.iter().enumerate() {
            if let Some((f, chain)) = &reason[k] {
                for n in &it.names {
                    if !tainted.contains_key(n) {
                        let chain = if it.is_use || chain.is_empty() {
                            format!("use {n}")
                        } else {
                            chain.clone()
                        };
                        tainted.insert(n.clone(), (f.clone(), chain));
                        changed = true;
                    }
                }
                continue;
            }
            let own: BTreeSet<&str> = it.names.iter().map(String::as_str).collect();
            if let Some((f, chain)) = identifiers(&it.text)
                .into_iter()
                .filter(|w| !own.contains(w))
                .find_map(|w| tainted.get(w))
            {
                let me = it.names.first().cloned().unwrap_or_default();
                reason[k] = Some((f.clone(), format!("{me} -> {chain}")));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // A top-level `include!` or `extern crate` defines names this scan
    // cannot see: every task of the file is then suspect.
    let file_wide = items
        .iter()
        .zip(&reason)
        .find(|(it, r)| it.names.is_empty() && r.is_some())
        .and_then(|(_, r)| r.clone());
    let mut out = Vec::new();
    for (k, it) in items.iter().enumerate() {
        if let (Some(name), Some((f, _)), false) = (it.names.first(), &file_wide, it.is_use) {
            if let Some(task) = tasks.get(name) {
                out.push(Finding {
                    task: task.clone(),
                    function: name.clone(),
                    through: f.clone(),
                    via: format!("{name} -> a top-level {f} of the file"),
                });
                continue;
            }
        }
        if it.is_use {
            continue;
        }
        let (Some(name), Some((f, chain))) = (it.names.first(), &reason[k]) else {
            continue;
        };
        if let Some(task) = tasks.get(name) {
            out.push(Finding {
                task: task.clone(),
                function: name.clone(),
                through: f.clone(),
                via: chain.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRISTINE: &str = r#"
use crate::tasks::Finding;
/// Task `window-linear`.
pub fn window_linear(hu: f32, c: f64, w: f64) -> u8 {
    let _ = (hu, c, w);
    todo!("window-linear")
}
/// Task `choose-preset`.
pub fn choose_preset(f: Finding) -> &'static str {
    let _ = f;
    todo!("choose-preset")
}
"#;

    fn forbid() -> Vec<String> {
        vec!["radlab_imaging".into()]
    }

    fn found(src: &str) -> Vec<(String, String)> {
        scan(src, PRISTINE, &forbid(), &[])
            .into_iter()
            .map(|f| (f.task, f.through))
            .collect()
    }

    #[test]
    fn tasks_come_from_the_stubs() {
        let t = task_functions(PRISTINE);
        assert_eq!(t["window_linear"], "window-linear");
        assert_eq!(t["choose_preset"], "choose-preset");
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn the_stubs_and_an_honest_solution_are_clean() {
        assert!(found(PRISTINE).is_empty());
        let honest = r#"
use crate::tasks::Finding;
// The REFERENCE lives in crate::tasks; radlab_imaging::Window is what this mirrors.
/* reference::window_linear is not called */
const LUT: [&str; 1] = ["REFERENCE"];
fn ramp(x: f64) -> f64 { x * 255.0 }
pub fn window_linear(hu: f32, c: f64, w: f64) -> u8 {
    let y = ramp((f64::from(hu) - c + 0.5) / (w - 1.0) + 0.5);
    let s = 'r'; let _ = s;
    y.clamp(0.0, 255.0).round() as u8
}
pub fn choose_preset<'a>(f: Finding) -> &'a str { let _ = f; LUT[0] }
"#;
        assert!(found(honest).is_empty(), "{:?}", found(honest));
    }

    #[test]
    fn forwarding_in_every_form_is_found() {
        // Through the reference table, by full path.
        let a = "pub fn window_linear(h: f32, c: f64, w: f64) -> u8 { (crate::tasks::REFERENCE.window_linear)(h, c, w) }";
        assert_eq!(found(a), [("window-linear".into(), "REFERENCE".into())]);
        // Through the mirrored crate, split over lines.
        let b = "pub fn window_linear(h: f32, c: f64, w: f64) -> u8 {\n radlab_imaging\n ::window::Window::new(c, w, Default::default()).unwrap().to_u8(h.into()) }";
        assert_eq!(
            found(b),
            [("window-linear".into(), "radlab_imaging".into())]
        );
        // Through a use alias and a helper two steps away.
        let c = "use radlab_imaging::window as rw;\nfn inner(h: f32) -> u8 { rw::x(h) }\nfn helper(h: f32) -> u8 { inner(h) }\npub fn window_linear(h: f32, c: f64, w: f64) -> u8 { let _ = (c, w); helper(h) }\npub fn choose_preset(f: Finding) -> &'static str { \"lung\" }";
        let f = scan(c, PRISTINE, &forbid(), &[]);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].task, "window-linear");
        assert!(f[0].via.contains("helper"), "{:?}", f[0].via);
        // Through a static table of function pointers and an include.
        let d = "static T: crate::tasks::Tasks = crate::tasks::REFERENCE;\npub fn choose_preset(x: Finding) -> &'static str { (T.choose_preset)(x) }";
        assert_eq!(found(d), [("choose-preset".into(), "REFERENCE".into())]);
        let e = "include!(\"../tasks.rs\");\npub fn choose_preset(x: Finding) -> &'static str { (REF.choose_preset)(x) }";
        assert_eq!(found(e), [("choose-preset".into(), "include!".into())]);
        let e2 = "mod r { include!(\"../tasks.rs\"); }\npub fn choose_preset(x: Finding) -> &'static str { r::f(x) }";
        assert_eq!(found(e2), [("choose-preset".into(), "include!".into())]);
        // Through the program itself.
        let g = "pub fn choose_preset(x: Finding) -> &'static str { let _ = std::process::Command::new(\"lab\"); \"lung\" }";
        assert_eq!(found(g), [("choose-preset".into(), "std::process".into())]);
    }

    #[test]
    fn allowed_types_are_not_forbidden_paths() {
        let src = "#[allow(unused)]\nuse radlab_imaging::Plane;\npub fn choose_preset(f: Finding) -> &'static str { let _: Option<Plane> = None; \"lung\" }";
        assert_eq!(found(src).len(), 1);
        assert!(
            scan(
                src,
                PRISTINE,
                &forbid(),
                &["radlab_imaging::Plane".to_string()]
            )
            .is_empty()
        );
    }
}
