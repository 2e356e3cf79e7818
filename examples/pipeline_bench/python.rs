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
    let mut command = Command::new(python);
    command
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
        .args(["--threads", &threads.to_string()]);
    let report = run_script(
        command,
        OPENCV_LOOP,
        (warmup, frames),
        "scripts/setup.sh installs its packages, or give --python, or leave out \
         --variants opencv",
    )?;
    report.run(|text| {
        format!(
            "Python onnxruntime {}, OpenCV {}",
            text("onnxruntime"),
            text("opencv")
        )
    })
}

/// `benches/ort_defaults.py` on the tensor in `tensor`: ONNX Runtime with no options.
pub fn ort_defaults_round(
    python: &Path,
    tensor: &Path,
    model: &Path,
    (warmup, frames): (u64, u64),
) -> Result<PythonRun, Error> {
    let mut command = Command::new(python);
    command
        .arg(ORT_DEFAULTS)
        .arg("--tensor")
        .arg(tensor)
        .arg("--model")
        .arg(model);
    let report = run_script(
        command,
        ORT_DEFAULTS,
        (warmup, frames),
        "give --python, or leave out --variants ortdef",
    )?;
    report.run(|text| format!("Python onnxruntime {}", text("onnxruntime")))
}

/// What a script printed: one JSON object with `ms_per_frame`, `top1` and versions.
struct Report {
    script: String,
    json: serde_json::Value,
}

impl Report {
    /// `versions` gets a reader of the report's text fields.
    fn run(
        &self,
        versions: impl Fn(&dyn Fn(&str) -> String) -> String,
    ) -> Result<PythonRun, Error> {
        let text = |key: &str| self.json[key].as_str().unwrap_or("?").to_string();
        let ms = self.json["ms_per_frame"]
            .as_f64()
            .ok_or_else(|| format!("{} reported no ms_per_frame", file_name(&self.script)))?;
        Ok(PythonRun {
            per_frame: Duration::from_secs_f64(ms / 1e3),
            top1: text("top1"),
            versions: versions(&text),
        })
    }
}

/// Runs `command` (Python on `script` and its arguments) with `--warmup` and `--frames`;
/// `hint` says how to get past a failure.
fn run_script(
    mut command: Command,
    script: &str,
    (warmup, frames): (u64, u64),
    hint: &str,
) -> Result<Report, Error> {
    let out = command
        .args([
            "--warmup",
            &warmup.to_string(),
            "--frames",
            &frames.to_string(),
        ])
        .output()
        .map_err(|e| {
            format!(
                "cannot run {}: {e}",
                command.get_program().to_string_lossy()
            )
        })?;
    if !out.status.success() {
        return Err(format!(
            "{script} failed ({}); {hint}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(Report {
        script: script.to_string(),
        json: serde_json::from_slice(&out.stdout)?,
    })
}

fn file_name(script: &str) -> String {
    Path::new(script)
        .file_name()
        .map_or_else(|| script.to_string(), |n| n.to_string_lossy().into_owned())
}
