//! What a model file hands the element before ONNX Runtime runs anything: its
//! `imgclassify.*` metadata (labels included) and its input and output shapes.
//!
//! Input layout (fuzz/seeds.py writes the seeds in it):
//!
//! | byte(s) | meaning                                                              |
//! |---------|----------------------------------------------------------------------|
//! | 0       | low nibble: input rank (modulo 6); high nibble: output rank (modulo 5) |
//! | ...     | one dimension each, input first (see `dim`)                          |
//! | rest    | metadata text, lossily UTF-8: entries separated by NUL, each `key=value` |
#![no_main]

use gstimgclassify::testing::model::Layout;
use gstimgclassify::testing::model::{
    INPUT_SIZE_RANGE, MAX_INPUT_SIZE, ModelMetadata, ModelSpec, PREFIX, model_spec, parse_lines,
};
use libfuzzer_sys::fuzz_target;

/// One shape dimension: a selector byte, small values directly (-1 is ONNX's "dynamic"),
/// the edges by name, anything else from the next eight bytes.
fn dim(data: &mut &[u8]) -> Option<i64> {
    let (&b, rest) = data.split_first()?;
    *data = rest;
    Some(match b {
        0..=250 => i64::from(b) - 2,
        251 => {
            let (bytes, rest) = data.split_first_chunk::<8>()?;
            *data = rest;
            i64::from_le_bytes(*bytes)
        }
        252 => i64::MAX,
        253 => i64::MIN,
        254 => MAX_INPUT_SIZE as i64,
        _ => MAX_INPUT_SIZE as i64 + 1,
    })
}

fn check_labels(text: &str) {
    let labels = parse_lines(text);
    // A leading byte-order mark is not part of the first label.
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let body = body.strip_suffix('\n').unwrap_or(body);
    let lines = if body.is_empty() {
        0
    } else {
        body.matches('\n').count() + 1
    };
    assert_eq!(labels.len(), lines, "one label per line of {text:?}");
    assert!(labels.iter().all(|l| !l.contains('\n')));
    assert!(
        labels.first().is_none_or(|l| !l.starts_with('\u{feff}')) || body.starts_with('\u{feff}')
    );
}

fn check_metadata(meta: &ModelMetadata) {
    if let Some(size) = meta.input_size {
        assert!(INPUT_SIZE_RANGE.contains(&size));
    }
    if let Some(scale) = meta.scale {
        assert!(scale.is_finite() && scale > 0.0);
    }
    if let Some(mean) = meta.mean {
        assert!(mean.iter().all(|v| v.is_finite()));
    }
    if let Some(std) = meta.std {
        assert!(std.iter().all(|v| v.is_finite() && *v > 0.0));
    }
    if let Some(f) = meta.crop_fraction {
        assert!(f > 0.0 && f <= 1.0);
    }
}

/// An accepted model must be one the element can allocate tensors for and normalise
/// with finite numbers.
fn check_spec(spec: &ModelSpec, input: &[i64]) {
    let t = &spec.tensor;
    assert!(
        (1..=MAX_INPUT_SIZE).contains(&t.width) && (1..=MAX_INPUT_SIZE).contains(&t.height),
        "input {input:?} accepted as {}x{}",
        t.width,
        t.height
    );
    assert!(
        t.channels == 3 || t.channels == 1,
        "{} channels",
        t.channels
    );
    assert_eq!(t.len(), t.width * t.height * t.channels);
    assert!(spec.classes >= 1);
    assert!(t.scale.is_finite() && t.scale > 0.0);
    assert!(t.mean.iter().all(|v| v.is_finite()));
    assert!(t.std.iter().all(|v| v.is_finite() && *v > 0.0));
    assert!(spec.crop_fraction > 0.0 && spec.crop_fraction <= 1.0);
    let channels = match t.layout {
        Layout::Nchw => input[1],
        Layout::Nhwc => input[3],
    };
    assert_eq!(
        channels, t.channels as i64,
        "input {input:?} read as {:?} with {} channels",
        t.layout, t.channels
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&ranks, mut rest)) = data.split_first() else {
        return;
    };
    let mut input = Vec::new();
    for _ in 0..(ranks & 0x0f) % 6 {
        let Some(d) = dim(&mut rest) else { return };
        input.push(d);
    }
    let mut output = Vec::new();
    for _ in 0..(ranks >> 4) % 5 {
        let Some(d) = dim(&mut rest) else { return };
        output.push(d);
    }
    let text = String::from_utf8_lossy(rest);

    check_labels(&text);
    let entries: Vec<(&str, &str)> = text
        .split('\0')
        .map(|e| e.split_once('=').unwrap_or((e, "")))
        .collect();
    for (_, value) in &entries {
        check_labels(value);
    }

    let meta = match ModelMetadata::parse(entries.iter().copied()) {
        Ok(meta) => {
            check_metadata(&meta);
            meta
        }
        Err(e) => {
            assert!(e.key.starts_with(PREFIX), "error names {:?}", e.key);
            assert!(e.to_string().contains(&e.key));
            ModelMetadata::default()
        }
    };

    match model_spec(&input, &output, &meta, None) {
        Ok(spec) => check_spec(&spec, &input),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
