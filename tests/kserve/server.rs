//! KServe's model server in front of Ray Serve replicas, for the tests:
//! server/kserve/serve.py from deps/kserve-venv (`scripts/setup.sh --dev`), serving the
//! built-in mobilenet on free ports of 127.0.0.1 with a Ray of its own in a temporary
//! folder. Ray starts many processes (its GCS, raylet, agents, the Serve controller and
//! the replicas), some in process groups of their own, so serve.py starts a session of
//! its own: stopping sends it SIGTERM, then SIGKILLs whatever is left in that session.
//! Dropping the server stops it, also when a test fails.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::servers::free_port;

/// Ray and two replicas are ready in about 15 s on an idle machine; generous for a
/// loaded 2-core one.
const PATIENCE: Duration = Duration::from_secs(180);

/// One `calls:` line of serve.py: a batch answered by a replica.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub replica: String,
    pub node: String,
    pub batch: usize,
}

pub struct KServe {
    pub dir: tempfile::TempDir,
    pub grpc_port: u16,
    http_port: u16,
    child: Option<Child>,
}

impl KServe {
    /// serve.py with `replicas` Ray Serve replicas, ready to answer. Another program may
    /// take a port between our check that it is free and serve.py binding it; then
    /// serve.py exits and is started again on other ports.
    pub fn start(replicas: u32) -> KServe {
        const TRIES: u32 = 3;
        for tried in 1.. {
            match KServe::try_start(replicas) {
                Ok(k) => return k,
                Err(e) if tried < TRIES && e.contains("address already in use") => {
                    eprintln!("serve.py: a port was taken, starting it again on others");
                }
                Err(e) => panic!("{e}"),
            }
        }
        unreachable!("the last try returns or panics")
    }

    /// serve.py started and ready; or, when it exits first, its log (it is stopped).
    fn try_start(replicas: u32) -> Result<KServe, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let python = root.join("deps/kserve-venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: scripts/setup.sh --dev installs KServe and Ray there",
            python.display()
        );
        let mut k = KServe {
            dir: tempfile::tempdir().expect("temporary folder"),
            grpc_port: free_port(),
            http_port: free_port(),
            child: None,
        };
        let log = std::fs::File::create(k.log_path()).expect("log file");
        let token = k.dir.path().join("auth_token");
        write_token(&token);
        let mut command = Command::new(python);
        command
            .arg(root.join("server/kserve/serve.py"))
            .arg("--model")
            .arg(root.join("deps/models/mobilenet.onnx"))
            .args(["--replicas", &replicas.to_string()])
            .args(["--grpc-port", &k.grpc_port.to_string()])
            .args(["--http-port", &k.http_port.to_string()])
            .arg("--temp-dir")
            .arg(k.dir.path().join("ray"))
            // Ray's log lines, as they come: the test reads the `calls:` lines.
            .env("PYTHONUNBUFFERED", "1")
            // Ray's usage statistics would go to the internet.
            .env("RAY_USAGE_STATS_ENABLED", "0")
            // Token authentication with a token of this server's own, not one Ray would
            // otherwise make in ~/.ray.
            .env("RAY_AUTH_MODE", "token")
            .env("RAY_AUTH_TOKEN_PATH", &token)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        // SAFETY: setsid() is async-signal-safe and touches no memory of this process.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        // Held before waiting, so a server that never gets ready is still stopped.
        let log = k.log_path();
        let child = k
            .child
            .insert(command.spawn().expect("server/kserve/serve.py starts"));
        let port = k.http_port;
        crate::common::servers::wait_up("serve.py", child, &log, PATIENCE, || {
            crate::common::servers::model_ready(port, "mobilenet")
        })?;
        Ok(k)
    }

    pub fn endpoint(&self) -> String {
        format!("grpc://127.0.0.1:{}", self.grpc_port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("serve.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Every batch the replicas answered so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.log().lines().filter_map(parse_call).collect()
    }

    /// The PIDs of serve.py's session: serve.py and every Ray process it started.
    pub fn processes(&self) -> Vec<u32> {
        self.child
            .as_ref()
            .map(|c| session_members(c.id()))
            .unwrap_or_default()
    }

    /// SIGTERM to serve.py, which stops its Ray; after 30 s, SIGKILL to whatever of its
    /// session is left. Returns the PIDs still there after that (none, unless a process
    /// could not be killed).
    pub fn stop(&mut self) -> Vec<u32> {
        let Some(mut child) = self.child.take() else {
            return Vec::new();
        };
        let sid = child.id();
        crate::common::servers::terminate(&mut child, Duration::from_secs(30));
        // Ray's processes end by themselves once serve.py has gone; give them a moment,
        // then kill the stragglers by PID.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !session_members(sid).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        crate::common::servers::kill_all(session_members(sid));
        // Killed orphans are zombies until init reaps them: wait for that too, so that
        // nothing of this server shows in `ps` after the test.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !session_processes(sid, true).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        session_members(sid)
    }
}

impl Drop for KServe {
    fn drop(&mut self) {
        let left = self.stop();
        if !left.is_empty() {
            eprintln!("KServe: processes {left:?} of its session survived SIGKILL");
        }
    }
}

/// A random token for Ray (64 hex digits, as Ray makes them), readable by its owner only.
fn write_token(path: &Path) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("random bytes");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(hex.as_bytes()))
        .expect("token file");
}

/// `… serve calls: replica=ID node=IP batch=N count=C` → the call.
fn parse_call(line: &str) -> Option<Call> {
    let rest = line.split_once(" calls: ")?.1;
    let field = |name: &str| {
        rest.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_string)
    };
    Some(Call {
        replica: field("replica")?,
        node: field("node")?,
        batch: field("batch")?.parse().ok()?,
    })
}

/// The live processes whose session is `sid`.
fn session_members(sid: u32) -> Vec<u32> {
    session_processes(sid, false)
}

/// The processes whose session is `sid`, from /proc, zombies too if asked.
fn session_processes(sid: u32, zombies: bool) -> Vec<u32> {
    let sid = sid.to_string();
    crate::common::servers::processes(|fields| {
        (zombies || fields.first() != Some(&"Z")) && fields.get(3) == Some(&sid.as_str())
    })
}
