//! Maps field paths (`spec.containers[0].imagee`) back to line and column in the YAML text, so
//! that errors found after parsing (unknown fields, invalid values) can point at the source.
//! Uses yaml-rust2's event parser, which reports a position for every key.

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Positions of every mapping key and sequence item, per document.
#[derive(Debug, Default)]
pub struct Positions {
    map: BTreeMap<(usize, String), (usize, usize)>,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, index: usize },
}

struct Collector {
    doc: usize,
    stack: Vec<Frame>,
    out: BTreeMap<(usize, String), (usize, usize)>,
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl Collector {
    /// The path of the value about to be parsed, recording its position; `None` when the
    /// event is a mapping key.
    fn value_path(&mut self, mark: Marker) -> Option<String> {
        let doc = self.doc;
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, index }) => {
                let p = format!("{path}[{index}]");
                *index += 1;
                self.out.entry((doc, p.clone())).or_insert((mark.line(), mark.col() + 1));
                Some(p)
            }
            Some(Frame::Map { path, key }) => key.take().map(|k| join(path, &k)),
        }
    }
}

impl MarkedEventReceiver for Collector {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::DocumentStart => {
                self.doc += 1;
                self.stack.clear();
            }
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map { path, key }) = self.stack.last_mut() {
                    if key.is_none() {
                        let p = join(path, &value);
                        self.out.entry((self.doc, p)).or_insert((mark.line(), mark.col() + 1));
                        *key = Some(value);
                        return;
                    }
                }
                self.value_path(mark);
            }
            Event::Alias(_) => {
                self.value_path(mark);
            }
            Event::MappingStart(..) => {
                let path = self.value_path(mark).unwrap_or_default();
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.value_path(mark).unwrap_or_default();
                self.stack.push(Frame::Seq { path, index: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

impl Positions {
    /// Indexes a YAML stream. Unparseable text yields an empty index (the YAML parser proper
    /// reports the syntax error).
    pub fn of(text: &str) -> Positions {
        let mut c = Collector { doc: 0, stack: Vec::new(), out: BTreeMap::new() };
        let mut parser = Parser::new_from_str(text);
        let _ = parser.load(&mut c, true);
        Positions { map: c.out }
    }

    /// 1-based line and column of a path in document `doc` (1-based), or of its closest
    /// ancestor that has a position.
    pub fn find(&self, doc: usize, path: &str) -> Option<(usize, usize)> {
        let mut p = path.to_string();
        loop {
            if let Some(pos) = self.map.get(&(doc, p.clone())) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p.truncate(cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_in_block_and_flow_yaml() {
        let text = "a:\n  b:\n  - name: x\n    imagee: y\n";
        let pos = Positions::of(text);
        assert_eq!(pos.find(1, "a.b[0].imagee"), Some((4, 5)));
        assert_eq!(pos.find(1, "a.b[0].name"), Some((3, 5)));
        let flow = "---\n{\n  kind: \"Pod\",\n  spec: {containers: [{name: \"c\", imagee: \"x\"}]},\n}\n";
        let pos = Positions::of(flow);
        assert_eq!(pos.find(1, "spec.containers[0].imagee"), Some((4, 35)));
        // A path below a known key falls back to the key.
        assert_eq!(pos.find(1, "spec.containers[0].imagee.deeper"), Some((4, 35)));
    }

    #[test]
    fn documents_are_counted() {
        let pos = Positions::of("a: 1\n---\nb: 2\n");
        assert_eq!(pos.find(2, "b"), Some((3, 1)));
    }
}
