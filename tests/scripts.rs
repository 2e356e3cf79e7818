//! The shell scripts in pipelines/ behave as tools: they exit with the pipeline's
//! status, and they write nothing into the checkout unless told to.

use crate::common;

use std::path::Path;

use common::programs::{ROOT, command, ok, tmp};

fn script(name: &str) -> std::process::Command {
    let mut cmd = command("bash");
    cmd.arg(Path::new(ROOT).join("pipelines").join(name));
    cmd
}

#[test]
fn photo_sh_prints_the_labels() {
    let out = script("photo.sh")
        .arg(common::data("coffee.png"))
        .output()
        .expect("bash runs");
    let stdout = ok("pipelines/photo.sh coffee.png", out);
    assert!(stdout.contains("mobilenet: espresso 0."), "{stdout}");
}

/// A path instead of a built-in name runs that file (`model-file`), as the PyTorch recipe
/// of docs/custom-models.md does with its export.
#[test]
fn photo_sh_takes_a_model_file() {
    let file = gstimgclassify::testing::model::zoo::resolve("efficientnet").expect("efficientnet");
    let out = script("photo.sh")
        .arg(common::data("coffee.png"))
        .arg(&file)
        .output()
        .expect("bash runs");
    let stdout = ok("pipelines/photo.sh coffee.png efficientnet.onnx", out);
    assert!(stdout.contains(": espresso 0."), "{stdout}");
    assert!(!stdout.contains("mobilenet"), "{stdout}");
}

#[test]
fn photo_sh_fails_for_a_missing_file() {
    let out = script("photo.sh")
        .arg("/no/such.png")
        .output()
        .expect("bash runs");
    assert!(
        !out.status.success(),
        "photo.sh /no/such.png exited 0; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn videotestsrc_sh_prints_one_line_per_frame() {
    let out = script("videotestsrc.sh")
        .env("FRAMES", "3")
        .output()
        .expect("bash runs");
    let stdout = ok("pipelines/videotestsrc.sh", out);
    assert_eq!(
        stdout.lines().filter(|l| l.contains("mobilenet: ")).count(),
        3,
        "{stdout}"
    );
}

/// By default the PNG goes to $TMPDIR, never into the checkout (neither the folder it is
/// run from nor docs/).
#[test]
fn overlay_photo_sh_writes_into_tmpdir_not_the_checkout() {
    let screenshot = Path::new(ROOT).join("docs/coffee-overlay.png");
    let before = std::fs::metadata(&screenshot)
        .and_then(|m| m.modified())
        .ok();
    let dir = tmp("overlay-photo");
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let _ = std::fs::remove_file(dir.join("coffee-overlay.png"));
    let _ = std::fs::remove_file(Path::new(ROOT).join("coffee-overlay.png"));
    let out = script("overlay-photo.sh")
        .current_dir(ROOT)
        .env("TMPDIR", &dir)
        .output()
        .expect("bash runs");
    let stdout = ok("pipelines/overlay-photo.sh", out);
    let expected = dir.join("coffee-overlay.png");
    assert_eq!(stdout.trim(), format!("wrote {}", expected.display()));
    let written = std::fs::read(&expected).expect("PNG in $TMPDIR");
    assert!(written.starts_with(b"\x89PNG"), "a PNG file");
    assert!(
        !Path::new(ROOT).join("coffee-overlay.png").exists(),
        "nothing written into the checkout"
    );
    let after = std::fs::metadata(&screenshot)
        .and_then(|m| m.modified())
        .ok();
    assert_eq!(before, after, "docs/coffee-overlay.png left alone");
}

#[test]
fn show_labels_reads_quoted_and_escaped_labels() {
    // What gst-launch-1.0 -m prints for a message whose labels need quoting.
    let line = "Got message #7 from element \"imgclassify0\" (element): imgclassify, \
        classifier=(string)imgclassify0, target=(string)frame, model=(string)mobilenet, \
        labels=(string)< \"soup\\ bowl\", espresso, \"caf\\303\\251\\,\\ au\\ lait\" >, \
        class-ids=(uint)< 809, 967, 1 >, scores=(double)< 0.5, 0.25, 0.125 >, \
        inference-time=(guint64)1;\n";
    let stdout = formatted("show_labels", line);
    assert_eq!(
        stdout,
        "         mobilenet: soup bowl 0.50, espresso 0.25, café, au lait 0.12\n"
    );
}

/// One line of regions-facedetect.sh, `face ID (X,Y WxH): LABEL SCORE, LABEL SCORE, …`,
/// as (id, [x, y, width, height], [(label, score)]); None when the line is not of that
/// form. A score is written `d.dd`; a label may itself hold ", " (ImageNet's do).
/// A face's id, its rectangle (x, y, w, h) and its labels with their scores.
type FaceLine = (i64, [u32; 4], Vec<(String, f64)>);

fn face_line(line: &str) -> Option<FaceLine> {
    let rest = line.strip_prefix("face ")?;
    let (id, rest) = rest.split_once(" (")?;
    let (rect, labels) = rest.split_once("): ")?;
    let (xy, wh) = rect.split_once(' ')?;
    let (x, y) = xy.split_once(',')?;
    let (w, h) = wh.split_once('x')?;
    let rect = [
        x.parse().ok()?,
        y.parse().ok()?,
        w.parse().ok()?,
        h.parse().ok()?,
    ];
    let is_score = |s: &str| {
        let b = s.as_bytes();
        b.len() == 4
            && b[0].is_ascii_digit()
            && b[1] == b'.'
            && b[2..].iter().all(u8::is_ascii_digit)
    };
    let mut pairs = Vec::new();
    let mut pending = String::new();
    for piece in labels.split(", ") {
        if !pending.is_empty() {
            pending.push_str(", ");
        }
        pending.push_str(piece);
        if let Some((label, score)) = pending.rsplit_once(' ')
            && !label.is_empty()
            && is_score(score)
        {
            pairs.push((label.to_string(), score.parse().ok()?));
            pending.clear();
        }
    }
    (pending.is_empty() && !pairs.is_empty()).then_some((id.parse().ok()?, rect, pairs))
}

/// Detector → classifier: OpenCV's facedetect (Debian: gstreamer1.0-opencv, opencv-data;
/// scripts/setup.sh --dev installs them) marks the astronaut's face as a
/// GstVideoRegionOfInterestMeta, imgclassify target=regions labels it, and the script
/// prints it as one line: `face 0 (175,64 97x97): suit 0.10, lab coat 0.08, …`.
#[test]
fn regions_facedetect_sh_prints_one_line_per_face() {
    let out = script("regions-facedetect.sh")
        .arg(common::data("astronaut.png"))
        .output()
        .expect("bash runs");
    let stdout = ok("pipelines/regions-facedetect.sh astronaut.png", out);
    assert!(stdout.ends_with('\n'), "{stdout:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines.is_empty(), "no face found: {stdout:?}");
    for line in lines {
        let (_, [x, y, w, h], pairs) = face_line(line)
            .unwrap_or_else(|| panic!("not `face ID (X,Y WxH): LABEL SCORE, …`: {line:?}"));
        assert!(
            w > 0 && h > 0 && x + w <= 512 && y + h <= 512,
            "{line:?}: the rectangle lies in the 512x512 photo"
        );
        for (label, score) in pairs {
            assert!((0.0..=1.0).contains(&score), "{line:?}: {label} {score}");
        }
    }
}

#[test]
fn face_line_reads_the_scripts_lines() {
    assert_eq!(
        face_line("face 0 (175,64 97x97): suit 0.10, caf\u{e9}, au lait 0.08"),
        Some((
            0,
            [175, 64, 97, 97],
            vec![("suit".into(), 0.10), ("caf\u{e9}, au lait".into(), 0.08)]
        ))
    );
    for wrong in [
        "regions=(structure)< \"imgclassify-region, roi-id=(int)0",
        "face 0 (175,64 97x97): -",
        "face 0 (175,64 97x97): suit",
        "face 0 (175,64 97x97): suit 0.10, lab coat",
        "face x (175,64 97x97): suit 0.10",
        "face 0 (175,64): suit 0.10",
    ] {
        assert_eq!(face_line(wrong), None, "{wrong}");
    }
}

/// show_regions (pipelines/common.sh) reads classifyjson's JSON: escaped quotes, commas
/// and brackets in labels come out whole, a region without labels gets `-`, a line
/// without regions prints nothing, and the copy of the regions under `classifications`
/// is not printed again.
#[test]
fn show_regions_reads_json_lines_with_awkward_labels() {
    let input = concat!(
        r#"{"pts":0,"target":"regions","labels":[],"regions":[{"roi-id":0,"roi-type":"face","x":175,"y":64,"width":97,"height":97,"labels":["say \"cheese\", [x]","caf\u00e9","soup bowl"],"class-ids":[1,2,3],"scores":[0.5,0.25,0.125]},{"roi-id":3,"roi-type":"face","x":1,"y":2,"width":3,"height":4,"labels":[],"class-ids":[],"scores":[],"embedding":[0.5,0.5]}],"classifications":[{"regions":[{"roi-id":9,"roi-type":"copy","x":0,"y":0,"width":1,"height":1,"labels":["no"],"class-ids":[1],"scores":[1]}]}]}"#,
        "\n",
        r#"{"pts":40,"regions":[],"classifications":[]}"#,
        "\n",
    );
    let stdout = formatted("show_regions", input);
    assert_eq!(
        stdout,
        "face 0 (175,64 97x97): say \"cheese\", [x] 0.50, caf\u{e9} 0.25, soup bowl 0.12\n\
         face 3 (1,2 3x4): -\n"
    );
}

/// gst-launch sets properties before the element has a bus, so a refused value would
/// vanish unseen: it is logged as a warning, and the pipeline does not start, with an
/// error naming the property, the value and the form it takes.
#[test]
fn a_refused_property_in_gst_launch_stops_the_pipeline_with_an_error_naming_it() {
    for (property, expected) in [
        (
            "min-region-size=big",
            "min-region-size 'big' is not WxH (e.g. 32x32)",
        ),
        ("input-mean=127,127", "input-mean '127,127': 2 values given"),
        ("zones=gate:10,10,100", "zones 'gate:10,10,100' refused"),
    ] {
        let out = command("gst-launch-1.0")
            .env("GST_DEBUG", "imgclassify:2")
            .env("GST_DEBUG_NO_COLOR", "1")
            .args(["-q", "videotestsrc", "num-buffers=1", "!", "imgclassify"])
            .arg(property)
            .args(["!", "fakesink"])
            .output()
            .expect("gst-launch-1.0 runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{property}: {stdout}{stderr}");
        assert!(
            stderr.contains("WARN") && stderr.contains(expected),
            "{property}: the log names it: {stderr}"
        );
        assert!(
            stderr.contains("ERROR: from element") && stderr.matches(expected).count() >= 2,
            "{property}: the error names it too: {stdout}{stderr}"
        );
    }
}

#[test]
fn zones_sh_prints_a_change_event_when_the_cat_leaves_the_sofa() {
    let dir = tmp("zones-sh");
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let png = dir.join("room.png");
    let out = script("zones.sh")
        .arg(&png)
        .env("SYNC", "false")
        .env("SECONDS_CAT", "1")
        .env("SECONDS_EMPTY", "1")
        .output()
        .expect("bash runs");
    let stdout = ok("pipelines/zones.sh", out);
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let summary: Vec<(&str, Option<&str>, Option<&str>, u64)> = events
        .iter()
        .map(|e| {
            (
                e["zone"].as_str().unwrap_or(""),
                e["old-label"].as_str(),
                e["new-label"].as_str(),
                e["pts"].as_u64().unwrap_or(u64::MAX),
            )
        })
        .collect();
    assert_eq!(summary.len(), 3, "{stdout}");
    assert_eq!(summary[0], ("table", None, Some("espresso"), 0));
    assert_eq!(
        (summary[1].0, summary[1].1, summary[1].3),
        ("sofa", None, 0)
    );
    assert_eq!((summary[2].0, summary[2].1), ("sofa", summary[1].2));
    assert!(
        summary[2].3 >= 1_000_000_000,
        "the cat leaves after 1 s: {stdout}"
    );
    assert!(std::fs::metadata(&png).is_ok_and(|m| m.len() > 0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the formatter `function` of pipelines/common.sh prints for `input`.
fn formatted(function: &str, input: &str) -> String {
    use std::io::Write;
    let mut child = command("bash")
        .args([
            "-c",
            &format!("set -euo pipefail; source pipelines/common.sh; {function}"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("bash runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    ok(function, child.wait_with_output().expect("bash ends"))
}
