//! The variants run by Python scripts.

use super::*;

pub struct PythonRun {
    pub per_frame: Duration,
    pub top1: String,
    pub versions: String,
}

pub fn opencv_round(
    python: &Path,
    frame: &Path,
    (width, height): (u32, u32),
    (model, threads): (&Path, u32),
    (warmup, frames): (u64, u64),
) -> Result<PythonRun, Error> {
    let out = Command::new(python)
        .arg(OPENCV_LOOP)
        .arg("--frame")
        .arg(frame)
        .arg("--model")
        .arg(model)
        .args([
            "--width",
            &width.to_string(),
            "--height",
            &height.to_string(),
        ])
        .args(["--threads", &threads.to_string()])
        .args([
            "--warmup",
            &warmup.to_string(),
            "--frames",
            &frames.to_string(),
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{OPENCV_LOOP} failed ({}); scripts/setup.sh installs its packages, or give \
             --python, or leave out --variants opencv:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let text = |key: &str| report[key].as_str().unwrap_or("?").to_string();
    let ms = report["ms_per_frame"]
        .as_f64()
        .ok_or("opencv_loop.py reported no ms_per_frame")?;
    Ok(PythonRun {
        per_frame: Duration::from_secs_f64(ms / 1e3),
        top1: text("top1"),
        versions: format!(
            "Python onnxruntime {}, OpenCV {}",
            text("onnxruntime"),
            text("opencv")
        ),
    })
}

/// `benches/ort_defaults.py` on the tensor in `tensor`: ONNX Runtime with no options.
pub fn ort_defaults_round(
    python: &Path,
    tensor: &Path,
    model: &Path,
    (warmup, frames): (u64, u64),
) -> Result<PythonRun, Error> {
    let out = Command::new(python)
        .arg(ORT_DEFAULTS)
        .arg("--tensor")
        .arg(tensor)
        .arg("--model")
        .arg(model)
        .args([
            "--warmup",
            &warmup.to_string(),
            "--frames",
            &frames.to_string(),
        ])
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{ORT_DEFAULTS} failed ({}); give --python, or leave out --variants ortdef:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let ms = report["ms_per_frame"]
        .as_f64()
        .ok_or("ort_defaults.py reported no ms_per_frame")?;
    Ok(PythonRun {
        per_frame: Duration::from_secs_f64(ms / 1e3),
        top1: report["top1"].as_str().unwrap_or("?").to_string(),
        versions: format!(
            "Python onnxruntime {}",
            report["onnxruntime"].as_str().unwrap_or("?")
        ),
    })
}
