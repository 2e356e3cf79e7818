//! What the tests that start inference servers share: asking one whether it is ready.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

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

/// Waits until `ready` says the server `child` started is up. One that exits, or is not
/// up within `patience`, fails the test with its log (`log`, a file).
pub fn wait_ready(
    what: &str,
    child: &mut std::process::Child,
    log: &std::path::Path,
    patience: Duration,
    ready: impl Fn() -> bool,
) {
    let read_log = || std::fs::read_to_string(log).unwrap_or_default();
    let deadline = std::time::Instant::now() + patience;
    while !ready() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited ({status}): {}", read_log());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} not ready in {patience:?}: {}",
            read_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
