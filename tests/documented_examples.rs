//! The JSON lines shown in the README and docs/consumers.md have exactly the fields, of
//! the types, that `classifyjson` writes today, so they cannot go out of date unnoticed.

use crate::common;

use serde_json::Value;

/// A value's shape: object keys (sorted) with their shapes, an array's first element,
/// and the JSON type of everything else.
fn shape(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", shape(v)))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => match items.first() {
            Some(first) => format!("[{}]", shape(first)),
            None => "[]".to_string(),
        },
        Value::Null => "null".to_string(),
        Value::Bool(_) => "bool".to_string(),
        Value::Number(_) => "number".to_string(),
        Value::String(_) => "string".to_string(),
    }
}

/// Every line of every ```json block in `doc` that is a classifyjson line.
fn documented_lines(doc: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(doc))
        .expect("doc readable");
    let mut found = Vec::new();
    let mut in_json = false;
    for line in text.lines() {
        match line.trim() {
            "```json" => in_json = true,
            "```" => in_json = false,
            l if in_json && l.starts_with("{\"pts\"") => found.push(
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{doc}: invalid JSON {l}: {e}")),
            ),
            _ => {}
        }
    }
    found
}

#[test]
fn documented_json_lines_have_the_fields_classifyjson_writes() {
    let path = common::programs::tmp("documented.jsonl");
    // A video frame, as in the documented lines: it has a duration and no DTS.
    common::run(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,width=160,height=120,framerate=25/1 \
         ! imgclassify ! classifyjson location={} ! appsink name=sink",
        path.display()
    ));
    let real = common::read_lines(&path).remove(0);
    let entry = shape(&real["classifications"][0]);
    let mut checked = 0;
    for doc in ["README.md", "docs/consumers.md"] {
        for line in documented_lines(doc) {
            let entries = line["classifications"].as_array().expect("classifications");
            for e in entries {
                assert_eq!(
                    shape(e),
                    entry,
                    "{doc}: a classification differs from a real one"
                );
            }
            // One classifier: the whole line has the real line's shape.
            if entries.len() == 1 {
                assert_eq!(
                    shape(&line),
                    shape(&real),
                    "{doc}: the line differs from a real one"
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "found only {checked} documented lines");
}
