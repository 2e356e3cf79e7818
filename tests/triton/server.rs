//! A real Triton for the tests: the binary inside the PyPI package nvidia-pytriton
//! (deps/triton-venv, from `scripts/setup.sh --dev`), started by server/triton/serve.sh on
//! free ports of 127.0.0.1, serving the built-in mobilenet through its Python backend.
//! Stopped by its PID when dropped, also when a test fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::servers::free_port;

/// Triton is ready in 2–10 s on an idle machine; generous for a loaded 2-core one.
const PATIENCE: Duration = Duration::from_secs(120);

pub struct Triton {
    pub dir: tempfile::TempDir,
    pub grpc_port: u16,
    http_port: u16,
    extra: Vec<String>,
    child: Option<Child>,
}

impl Triton {
    pub fn start() -> Triton {
        Triton::start_with(&[])
    }

    /// With more tritonserver options (e.g. TLS).
    pub fn start_with(extra: &[&str]) -> Triton {
        Triton::start_with_models(extra, |_| {})
    }

    /// `models` may add models to the repository (its folder) before Triton starts.
    pub fn start_with_models(extra: &[&str], models: impl FnOnce(&Path)) -> Triton {
        let mut t = Triton {
            dir: tempfile::tempdir().expect("temporary folder"),
            grpc_port: free_port(),
            http_port: free_port(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        let repository = t.dir.path().join("work/models");
        std::fs::create_dir_all(&repository).expect("model repository");
        models(&repository);
        t.launch();
        t
    }

    pub fn endpoint(&self) -> String {
        format!("grpc://127.0.0.1:{}", self.grpc_port)
    }

    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("server/triton/serve.sh")
    }

    pub fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("triton.log")).expect("log file");
        let child = Command::new(Triton::script())
            .arg(self.grpc_port.to_string())
            .arg(self.http_port.to_string())
            .arg(self.dir.path().join("work"))
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("server/triton/serve.sh starts");
        // Held before waiting, so a server that never gets ready is still stopped.
        let child = self.child.insert(child);
        let port = self.http_port;
        crate::common::servers::wait_ready(
            "tritonserver (scripts/setup.sh --dev installs it)",
            child,
            &self.dir.path().join("triton.log"),
            PATIENCE,
            || crate::common::servers::model_ready(port, "mobilenet"),
        );
    }

    /// The way a crash looks to clients: SIGKILL, no goodbye. Its Python-backend
    /// processes are killed too, by their PIDs, as a crash of the whole box would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let stubs = children_of(child.id());
            let _ = child.kill();
            let _ = child.wait();
            crate::common::servers::kill_all(stubs);
        }
    }

    /// SIGTERM, so Triton stops its Python-backend processes, then SIGKILL if it lingers.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            crate::common::servers::terminate(&mut child, Duration::from_secs(20));
        }
    }
}

impl Drop for Triton {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The PIDs whose parent is `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let pid = pid.to_string();
    crate::common::servers::processes(|fields| fields.get(1) == Some(&pid.as_str()))
}
