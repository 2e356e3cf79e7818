//! `classifyjson new-results-only=true`: one line per inference result, in every mode
//! and target, where the default writes one line per buffer. Results are told apart by
//! their `seq`.

use crate::common;

use serde_json::Value;

fn lines(launch: &str, name: &str) -> Vec<Value> {
    let path = common::programs::tmp(name);
    common::run(&format!(
        "{launch} location={} ! appsink name=sink",
        path.display()
    ));
    common::read_lines(&path)
}

fn seqs(lines: &[Value]) -> Vec<u64> {
    lines
        .iter()
        .map(|l| l["seq"].as_u64().expect("seq"))
        .collect()
}

#[test]
fn an_interval_of_three_writes_one_line_per_result() {
    let source = "videotestsrc num-buffers=12 ! video/x-raw,width=160,height=120 \
                  ! imgclassify inference-interval=3 ! classifyjson";
    let every = lines(source, "every-buffer.jsonl");
    assert_eq!(every.len(), 12, "by default a line per buffer");
    assert_eq!(seqs(&every), vec![1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    let new = lines(
        &format!("{source} new-results-only=true"),
        "new-results.jsonl",
    );
    assert_eq!(seqs(&new), vec![1, 2, 3, 4]);
    assert!(new.iter().all(|l| l["fresh"] == true));
}

/// In `async` mode no result is on its own buffer (`fresh` is false on every line), but
/// each still appears once.
#[test]
fn async_results_each_appear_once() {
    let new = lines(
        "videotestsrc is-live=true num-buffers=40 ! video/x-raw,width=160,height=120,framerate=30/1 \
         ! imgclassify mode=async threads=1 ! classifyjson new-results-only=true",
        "async.jsonl",
    );
    let seqs = seqs(&new);
    assert!(seqs.len() >= 2, "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
}

#[test]
fn region_results_are_counted_the_same_way() {
    let new = lines(
        "videotestsrc num-buffers=6 ! video/x-raw,width=160,height=120 \
         ! imgclassify target=regions inference-interval=2 ! classifyjson new-results-only=true",
        "regions.jsonl",
    );
    assert_eq!(seqs(&new), vec![1, 2, 3]);
    assert!(new.iter().all(|l| l["target"] == "regions"));
}

/// Two classifiers at different intervals: a line carries only the results that are new.
#[test]
fn with_two_classifiers_a_line_carries_only_the_new_results() {
    let new = lines(
        "videotestsrc num-buffers=4 ! video/x-raw,width=160,height=120 \
         ! imgclassify name=every ! imgclassify name=second inference-interval=2 \
         ! classifyjson new-results-only=true",
        "two.jsonl",
    );
    let per_line: Vec<Vec<String>> = new
        .iter()
        .map(|l| {
            l["classifications"]
                .as_array()
                .expect("classifications")
                .iter()
                .map(|c| format!("{}:{}", c["classifier"].as_str().unwrap_or("?"), c["seq"]))
                .collect()
        })
        .collect();
    assert_eq!(
        per_line,
        vec![
            vec!["every:1", "second:1"],
            vec!["every:2"],
            vec!["every:3", "second:2"],
            vec!["every:4"],
        ]
    );
}
