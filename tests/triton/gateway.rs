//! `gateway.py` for the tests: a gRPC gateway in front of a Triton that checks a bearer
//! token, delays every inference (or those after the first N), refuses large requests,
//! spoils or pads answers, on a free port of 127.0.0.1, run by the Python of
//! deps/triton-venv (it has grpcio). Stopped by its PID when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Gateway {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Gateway {
    /// In front of the gRPC port `upstream`, with `gateway.py`'s options.
    pub fn start(upstream: u16, options: &[&str]) -> Gateway {
        Gateway::start_on(crate::common::servers::free_port(), upstream, options)
    }

    /// On `port` (an endpoint that was down, coming up).
    pub fn start_on(port: u16, upstream: u16, options: &[&str]) -> Gateway {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let venv = std::env::var_os("IMGCLASSIFY_TRITON_VENV")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("deps/triton-venv"));
        let dir = tempfile::tempdir().expect("temporary folder");
        let log = std::fs::File::create(dir.path().join("gateway.log")).expect("log file");
        let child = Command::new(venv.join("bin/python"))
            .arg(root.join("tests/triton/gateway.py"))
            .args(["--port", &port.to_string()])
            .args(["--upstream", &format!("127.0.0.1:{upstream}")])
            .args(options)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("tests/triton/gateway.py starts");
        let mut gateway = Gateway { port, dir, child };
        crate::common::servers::wait_ready(
            "gateway.py",
            &mut gateway.child,
            &gateway.dir.path().join("gateway.log"),
            Duration::from_secs(60),
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
        );
        gateway
    }

    /// What it printed so far: "ready", then a line per call it holds.
    #[allow(dead_code)] // Not every test binary that starts a gateway reads it.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }

    pub fn endpoint(&self) -> String {
        format!("grpc://127.0.0.1:{}", self.port)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
