//! YAML documents read with the place of every value, so that a problem found in one (by the
//! decoder or by later validation, named by a path such as `groups[0].rules[2].expr`) is
//! reported at its line and column. Rule files and Alertmanager configurations are read so.

use marked_yaml::{LoaderOptions, Node};
use serde::de::DeserializeOwned;

use crate::file::Problem;

/// Decodes `text` into `T` (duplicate keys refused), keeping the document to locate problems
/// in with [`place_in`]. A decoding error names its field and place.
pub fn load<T: DeserializeOwned>(text: &str) -> Result<(T, Node), Vec<Problem>> {
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let node = marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| {
        let (line, column) = load_error_place(&e);
        // The message starts with the place again ("1:5: …"); keep only its words.
        let text = e.to_string();
        let words = text
            .split_once(": ")
            .map_or(text.clone(), |(_, m)| m.to_string());
        vec![Problem {
            field: String::new(),
            message: words,
            line,
            column,
        }]
    })?;
    let value: T = marked_yaml::from_node(&node).map_err(|e| {
        let field = e.path().unwrap_or("").trim_start_matches('.').to_string();
        let (line, column) = place_in(&node, &field)
            .or_else(|| e.start_mark().map(|m| (m.line(), m.column())))
            .unwrap_or((1, 1));
        // The error's words without the path, which the problem carries as its field.
        let words: &marked_yaml::Error = &e;
        vec![Problem {
            field,
            message: words.to_string(),
            line,
            column,
        }]
    })?;
    Ok((value, node))
}

/// The line and column of the value at `path` (`groups[0].rules[1].exprr`), its key's for a
/// mapping entry: the YAML decoder's own place for an unknown field is its mapping's.
pub fn place_in(node: &marked_yaml::Node, path: &str) -> Option<(usize, usize)> {
    let mut node = node;
    let mut mark = node.span().start().copied();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (key, indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        let (k, v) = node.as_mapping()?.iter().find(|(k, _)| k.as_str() == key)?;
        mark = k.span().start().copied();
        node = v;
        for index in indexes.split(['[', ']']).filter(|i| !i.is_empty()) {
            node = node.as_sequence()?.get(index.parse::<usize>().ok()?)?;
            mark = node.span().start().copied();
        }
    }
    mark.map(|m| (m.line(), m.column()))
}

fn load_error_place(error: &marked_yaml::LoadError) -> (usize, usize) {
    use marked_yaml::LoadError::*;
    let mark = match error {
        TopLevelMustBeMapping(m)
        | TopLevelMustBeSequence(m)
        | UnexpectedAnchor(m)
        | MappingKeyMustBeScalar(m)
        | UnexpectedTag(m)
        | ScanError(m, _) => Some(*m),
        DuplicateKey(inner) => inner.key.span().start().copied(),
    };
    mark.map_or((1, 1), |m| (m.line(), m.column()))
}


/// Gives each problem the place of its field (or of the nearest enclosing value that has one)
/// and sorts them by place.
pub fn locate(node: &Node, problems: Vec<Problem>) -> Vec<Problem> {
    let mut located: Vec<Problem> = problems
        .into_iter()
        .map(|mut p| {
            let mut path = p.field.as_str();
            (p.line, p.column) = loop {
                if let Some(place) = place_in(node, path) {
                    break place;
                }
                match path.rfind(['.', '[']) {
                    Some(i) => path = &path[..i],
                    None => break (1, 1),
                }
            };
            p
        })
        .collect();
    located.sort_by_key(|p| (p.line, p.column));
    located
}
