//! Finds and loads the ONNX Runtime library once per process.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use once_cell::sync::OnceCell;
use ort::environment::Environment;
use ort::logging::LogLevel;

/// Where ONNX Runtime log lines go; set by the GStreamer glue before the first load.
pub type LogSink = Arc<dyn Fn(LogLevel, &str) + Send + Sync>;

static LOG_SINK: Mutex<Option<LogSink>> = Mutex::new(None);
static RUNTIME: OnceCell<Result<Runtime, RuntimeError>> = OnceCell::new();

/// The loaded library and the process-wide ONNX Runtime environment.
pub struct Runtime {
    pub environment: Environment,
    pub library: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "could not load the ONNX Runtime library; tried:{}\nRun scripts/setup.sh to fetch it, or set \
     ORT_DYLIB_PATH to the full path of a libonnxruntime.so (version 1.24 or newer); when \
     ORT_DYLIB_PATH is set, nothing else is tried.",
    listed(attempts)
)]
pub struct RuntimeError {
    /// Each place tried, with why it failed. Kept as text: the error is cloned to every
    /// element that asks after the one failed load, and ort's errors are not `Clone`.
    pub attempts: Vec<(String, String)>,
}

fn listed(attempts: &[(String, String)]) -> String {
    attempts
        .iter()
        .map(|(place, why)| format!("\n  {place}: {why}"))
        .collect()
}

/// Sets where ONNX Runtime's own log goes. Only lines logged after the library is
/// loaded are routed, so call this first.
pub fn set_log_sink(sink: LogSink) {
    if let Ok(mut slot) = LOG_SINK.lock() {
        *slot = Some(sink);
    }
}

/// The libraries to try, in order. An explicit `ORT_DYLIB_PATH` is the only candidate:
/// silently loading a different library than the one asked for would hide a mistake.
/// Otherwise: the installed copy, the source checkout's copy, then the system loader.
pub fn candidates(explicit: Option<PathBuf>) -> Vec<PathBuf> {
    if let Some(path) = explicit.filter(|p| !p.as_os_str().is_empty()) {
        return vec![path];
    }
    let mut list = Vec::new();
    if let Some(dir) = option_env!("IMGCLASSIFY_INSTALLED_DATADIR") {
        list.push(PathBuf::from(dir).join("onnxruntime/libonnxruntime.so"));
    }
    list.push(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deps/onnxruntime/libonnxruntime.so"
    )));
    list.push(PathBuf::from("libonnxruntime.so.1"));
    list.push(PathBuf::from("libonnxruntime.so"));
    list
}

/// The process-wide runtime, loading the library on first use. ONNX Runtime allows
/// one library per process, so the first successful load stays for good.
pub fn runtime() -> Result<&'static Runtime, RuntimeError> {
    RUNTIME.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<Runtime, RuntimeError> {
    let mut attempts = Vec::new();
    for path in candidates(std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from)) {
        if path.is_absolute() && !path.exists() {
            attempts.push((path.display().to_string(), "no such file".to_string()));
            continue;
        }
        // ort panics on some malformed libraries; a panic must not reach a streaming thread.
        let result = std::panic::catch_unwind(|| build_environment(&path));
        match result {
            Ok(Ok(environment)) => {
                return Ok(Runtime {
                    environment,
                    library: path,
                });
            }
            Ok(Err(why)) => attempts.push((path.display().to_string(), why.to_string())),
            Err(_) => attempts.push((
                path.display().to_string(),
                "the library could not be initialised".to_string(),
            )),
        }
    }
    Err(RuntimeError { attempts })
}

fn build_environment(path: &std::path::Path) -> Result<Environment, Box<dyn std::error::Error>> {
    let builder = ort::init_from(path)?;
    Ok(builder
        .with_name("imgclassify")
        .with_telemetry(false)
        .with_logger(Arc::new(|level, category, _id, _location, message| {
            let sink = LOG_SINK.lock().ok().and_then(|s| s.clone());
            if let Some(sink) = sink {
                sink(level, &format!("[{category}] {message}"));
            }
        }))
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_path_is_the_only_candidate() {
        let p = PathBuf::from("/opt/ort/libonnxruntime.so");
        assert_eq!(candidates(Some(p.clone())), vec![p]);
    }

    #[test]
    fn defaults_end_with_the_system_loader() {
        let list = candidates(None);
        assert!(
            list.iter()
                .any(|p| p.ends_with("deps/onnxruntime/libonnxruntime.so"))
        );
        assert_eq!(list.last(), Some(&PathBuf::from("libonnxruntime.so")));
        assert_eq!(candidates(Some(PathBuf::new())), list);
    }

    #[test]
    fn error_lists_every_attempt_and_the_fix() {
        let e = RuntimeError {
            attempts: vec![
                ("/a/libonnxruntime.so".into(), "no such file".into()),
                (
                    "libonnxruntime.so.1".into(),
                    "cannot open shared object file".into(),
                ),
            ],
        };
        let text = e.to_string();
        assert!(
            text.contains("/a/libonnxruntime.so: no such file"),
            "{text}"
        );
        assert!(text.contains("libonnxruntime.so.1: cannot open"), "{text}");
        assert!(
            text.contains("scripts/setup.sh") && text.contains("ORT_DYLIB_PATH"),
            "{text}"
        );
    }
}
