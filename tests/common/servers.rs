//! What the tests that start servers share: a port to give one, asking one whether it
//! is ready, waiting for it.

use std::hash::{BuildHasher, RandomState};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// The ports [`free_port`] hands out: below Linux's ephemeral range (32768–60999), from
/// which the kernel takes the port of every outgoing connection and of every `bind` to
/// port 0, and Ray picks its own ports at random; above the ports `ray start` gives its
/// workers (10002–19999). A port found free there stays free until its server binds it.
const PORTS: std::ops::Range<u16> = 20000..32768;

/// A port no server of this machine listens on, on any interface: Triton and KServe's
/// model server listen on 0.0.0.0 or [::] as well as 127.0.0.1.
pub fn free_port() -> u16 {
    let random = RandomState::new();
    let span = u64::from(PORTS.end - PORTS.start);
    (0u64..10_000)
        .map(|i| PORTS.start + (random.hash_one(i) % span) as u16)
        .find(|&port| {
            TcpListener::bind(("0.0.0.0", port)).is_ok()
                && !matches!(
                    TcpListener::bind(("::", port)),
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse
                )
        })
        .expect("a free port in 20000-32767")
}

/// The server on 127.0.0.1:`http_port` answers 200 to `/v2/models/{model}/ready` (the
/// Open Inference Protocol's REST readiness check). Servers keep the connection open:
/// only the status line is read, with a timeout.
pub fn model_ready(http_port: u16, model: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", http_port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /v2/models/{model}/ready HTTP/1.1\r\nHost: 127.0.0.1:{http_port}\r\n\
         Connection: close\r\n\r\n"
    );
    let mut answer = [0u8; 12];
    s.write_all(request.as_bytes()).is_ok()
        && s.read_exact(&mut answer).is_ok()
        && answer.starts_with(b"HTTP/1.1 200")
}

/// The processes of this machine whose `/proc/PID/stat` fields after the command name
/// (state, parent, process group, session, …) satisfy `keep`.
pub fn processes(keep: impl Fn(&[&str]) -> bool) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            // "PID (COMM) STATE PPID PGRP SESSION ...": COMM may hold spaces.
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|stat| {
                    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
                    Some(keep(&fields))
                })
                .unwrap_or(false)
        })
        .collect()
}

/// SIGTERM to `child`, which may then stop what it started; SIGKILL if it has not
/// exited after `grace`.
pub fn terminate(child: &mut std::process::Child, grace: Duration) {
    let _ = std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status();
    let deadline = std::time::Instant::now() + grace;
    while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// SIGKILL to each of `pids`.
pub fn kill_all(pids: impl IntoIterator<Item = u32>) {
    for pid in pids {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

/// Waits until `ready` says the server `child` started is up. One that exits, or is not
/// up within `patience`, fails the test with its log (`log`, a file).
pub fn wait_ready(
    what: &str,
    child: &mut std::process::Child,
    log: &std::path::Path,
    patience: Duration,
    ready: impl Fn() -> bool,
) {
    if let Err(exited) = wait_up(what, child, log, patience, ready) {
        panic!("{exited}");
    }
}

/// [`wait_ready`], except that a server that exits is an error, with its log, for the
/// caller to look at.
pub fn wait_up(
    what: &str,
    child: &mut std::process::Child,
    log: &std::path::Path,
    patience: Duration,
    ready: impl Fn() -> bool,
) -> Result<(), String> {
    let read_log = || std::fs::read_to_string(log).unwrap_or_default();
    let deadline = std::time::Instant::now() + patience;
    while !ready() {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what} exited ({status}): {}", read_log()));
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} not ready in {patience:?}: {}",
            read_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}
