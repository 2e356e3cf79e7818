//! Every bad model, labels file or name stops NULL→READY with an error that names it.

use crate::common;

#[test]
fn missing_model_file() {
    common::assert_error(
        "model-file=/nonexistent/model.onnx",
        &["/nonexistent/model.onnx", "does not exist"],
    );
}

#[test]
fn directory_instead_of_model_file() {
    let dir = common::data("models").display().to_string();
    common::assert_error(&format!("model-file={dir}"), &[&dir, "is a directory"]);
}

#[test]
fn empty_model_file() {
    let path = std::env::temp_dir().join(format!("imgclassify-empty-{}.onnx", std::process::id()));
    std::fs::write(&path, b"").expect("write");
    let shown = path.display().to_string();
    common::assert_error(&format!("model-file={shown}"), &[&shown, "is empty"]);
    std::fs::remove_file(&path).ok();
}

#[test]
fn random_bytes_and_truncated_models_are_not_onnx() {
    for name in ["random_bytes.onnx", "truncated.onnx"] {
        let path = common::fixture(name);
        common::assert_error(
            &format!("model-file={path}"),
            &[&path, "is not an ONNX model"],
        );
    }
}

/// PyTorch's exporter writes the weights to a second file by default; without it the
/// error names that file and the fix, not just "cannot load".
#[test]
fn a_model_whose_weights_file_is_missing_names_it_and_the_one_file_export() {
    let path = common::fixture("external_data.onnx");
    common::assert_error(
        &format!("model-file={path}"),
        &[
            &path,
            "external_data.onnx.data', which is missing",
            "external_data=False",
            "docs/custom-models.md#pytorch",
        ],
    );
}

#[test]
fn non_image_input() {
    let path = common::fixture("rank2_input.onnx");
    common::assert_error(
        &format!("model-file={path}"),
        &[&path, "[1, 10]", "[N,3,H,W]"],
    );
}

#[test]
fn two_inputs() {
    let path = common::fixture("two_inputs.onnx");
    common::assert_error(&format!("model-file={path}"), &[&path, "2 inputs"]);
}

#[test]
fn labels_file_with_wrong_count() {
    let model = common::fixture("four_classes.onnx");
    let labels = common::fixture("three_labels.txt");
    common::assert_error(
        &format!("model-file={model} labels-file={labels}"),
        &[&labels, "3 labels", "4 classes"],
    );
    // The built-in models have 1000 classes.
    common::assert_error(
        &format!("labels-file={labels}"),
        &["3 labels", "1000 classes"],
    );
}

#[test]
fn labels_file_with_more_lines_than_classes() {
    let model = common::fixture("four_classes.onnx");
    let labels = common::fixture("five_labels.txt");
    common::assert_error(
        &format!("model-file={model} labels-file={labels}"),
        &[&labels, "5 labels", "4 classes", "one line per class"],
    );
}

#[test]
fn metadata_labels_that_do_not_match_the_output() {
    let path = common::fixture("metadata_five_labels.onnx");
    common::assert_error(
        &format!("model-file={path}"),
        &[&path, "metadata", "5 labels", "4 classes", "labels file"],
    );
}

#[test]
fn output_whose_declared_size_is_wrong() {
    // The file declares [1, 4] but computes [1, 3]; ONNX Runtime then leaves the class
    // dimension open, and a class count that is not fixed is refused.
    let path = common::fixture("wrong_output_size.onnx");
    common::assert_error(
        &format!("model-file={path}"),
        &[&path, "[1, -1]", "fixed number of classes"],
    );
}

#[test]
fn labels_file_not_utf8() {
    let model = common::fixture("four_classes.onnx");
    let labels = common::fixture("invalid_utf8.txt");
    common::assert_error(
        &format!("model-file={model} labels-file={labels}"),
        &[&labels, "UTF-8", "line 3"],
    );
}

#[test]
fn missing_labels_file() {
    common::assert_error(
        "labels-file=/nonexistent/labels.txt",
        &["/nonexistent/labels.txt", "does not exist"],
    );
}

#[test]
fn unknown_built_in_name() {
    common::assert_error("model=resnet50", &["'resnet50'", "mobilenet, efficientnet"]);
}

#[test]
fn runtime_library_not_found_names_the_place_and_the_fix() {
    const PROBE: &str = "IMGCLASSIFY_TEST_PROBE";
    if std::env::var_os(PROBE).is_some() {
        // Child process: the library is loaded once per process, so only here can it fail.
        println!("PROBE-ERROR {}", common::error_of(""));
        return;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "errors::runtime_library_not_found_names_the_place_and_the_fix",
            "--nocapture",
        ])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .env(PROBE, "1")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("PROBE-ERROR"), "{text}");
    for needle in [
        "could not load the ONNX Runtime library",
        "/nonexistent/libonnxruntime.so: no such file",
        "ORT_DYLIB_PATH",
        "scripts/setup.sh",
    ] {
        assert!(text.contains(needle), "missing '{needle}' in: {text}");
    }
}

/// A FIFO nobody writes to, removed when dropped.
struct Fifo(std::path::PathBuf);

impl Fifo {
    fn new(name: &str) -> Fifo {
        let path = std::env::temp_dir().join(format!("imgclassify-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo runs");
        assert!(status.success(), "mkfifo {}", path.display());
        Fifo(path)
    }

    fn shown(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for Fifo {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Devices and FIFOs are refused at once: `/dev/zero` as labels used to eat memory
/// without end, a FIFO with no writer blocked NULL→READY forever, and as model files
/// both were reported as empty.
#[test]
fn devices_and_fifos_are_refused_without_reading_them() {
    let fifo = Fifo::new("fifo");
    let fifo_name = fifo.shown();
    let model = common::fixture("four_classes.onnx");
    for (props, needles) in [
        (
            "labels-file=/dev/zero".to_string(),
            vec!["'/dev/zero'", "character device, not a regular file"],
        ),
        (
            format!("model-file={model} labels-file=/dev/urandom"),
            vec!["'/dev/urandom'", "character device"],
        ),
        (
            format!("labels-file={}", fifo.shown()),
            vec![fifo_name.as_str(), "FIFO"],
        ),
        (
            "model-file=/dev/zero".to_string(),
            vec!["'/dev/zero'", "character device"],
        ),
        (
            format!("model-file={}", fifo.shown()),
            vec![fifo_name.as_str(), "FIFO"],
        ),
    ]
    .map(|(p, n)| (p, n.into_iter().map(String::from).collect::<Vec<_>>()))
    {
        let what = props.clone();
        let text = common::bounded(&what, 30, move || common::error_of(&props));
        for needle in &needles {
            assert!(
                text.contains(needle.as_str()),
                "'{what}': '{text}' lacks '{needle}'"
            );
        }
    }
}

#[test]
fn labels_with_a_nul_byte_or_trailing_blank_lines_say_so() {
    let model = common::fixture("four_classes.onnx");
    let dir = std::env::temp_dir().join(format!("imgclassify-labels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let nul = dir.join("nul.txt");
    std::fs::write(&nul, b"cat\nd\0og\nbird\nfish\n").expect("write");
    common::assert_error(
        &format!("model-file={model} labels-file={}", nul.display()),
        &["NUL byte in label 2"],
    );
    let blank = dir.join("blank.txt");
    std::fs::write(&blank, b"cat\ndog\nbird\nfish\n\n\n").expect("write");
    common::assert_error(
        &format!("model-file={model} labels-file={}", blank.display()),
        &[
            "6 labels",
            "4 classes",
            "last 2 line(s) are blank: remove them",
        ],
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_class_count_over_a_million_is_refused_naming_the_model_and_the_count() {
    // 220 bytes whose output is [1, 2000001] (a Tile): the default labels alone would
    // take 70 MB, and 10^8 classes aborted the process.
    let path = common::fixture("too_many_classes.onnx");
    common::assert_error(
        &format!("model-file={path}"),
        &[&path, "2000001 classes", "at most 1000000"],
    );
}

#[test]
fn an_embedding_wider_than_a_million_values_is_refused_when_used() {
    let path = common::fixture("wide_embedding.onnx");
    common::assert_error(
        &format!("model-file={path} attach-embedding=true"),
        &[&path, "3000000 values", "at most 1000000"],
    );
}

#[test]
fn a_nul_in_the_metadata_labels_is_refused_not_cut_short() {
    // ONNX Runtime passes the labels on cut at the NUL, which leaves four that fit.
    let path = common::fixture("metadata_nul_label.onnx");
    common::assert_error(
        &format!("model-file={path}"),
        &[&path, "metadata", "NUL byte in label 4"],
    );
}
