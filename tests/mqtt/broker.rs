//! A real MQTT broker for the tests: Debian's `mosquitto` on a free port of 127.0.0.1
//! with a password file, in a temporary folder; killed by its PID when dropped, also
//! when a test fails. Plus a subscriber (rumqttc) that collects what arrives, and the
//! certificates for TLS made with `openssl`.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::servers::free_port;

pub const USER: &str = "camera";
pub const PASSWORD: &str = "pw-Zq81-never-logged";
/// How long a test waits for any condition; generous for a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Calls `done` until it is true or `PATIENCE` runs out; panics with `what` then.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/setup.sh installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Certificates for TLS: a CA, a server certificate for 127.0.0.1 signed by it, and a
/// second CA that signed nothing.
#[derive(Clone)]
pub struct Certs {
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Certs {
    pub fn make(dir: &Path) -> Certs {
        let p = |n: &str| dir.join(n);
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        for name in ["ca", "other-ca"] {
            run(Command::new("openssl")
                .args([
                    "req",
                    "-x509",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=imgclassify test {name}"),
                ])
                .args(ec)
                .arg("-keyout")
                .arg(p(&format!("{name}.key")))
                .arg("-out")
                .arg(p(&format!("{name}.pem"))));
        }
        run(Command::new("openssl")
            .args(["req", "-subj", "/CN=127.0.0.1"])
            .args(ec)
            .arg("-keyout")
            .arg(p("server.key"))
            .arg("-out")
            .arg(p("server.csr")));
        std::fs::write(p("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").expect("ext file");
        run(Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
            .arg("-in")
            .arg(p("server.csr"))
            .arg("-CA")
            .arg(p("ca.pem"))
            .arg("-CAkey")
            .arg(p("ca.key"))
            .arg("-extfile")
            .arg(p("ext.cnf"))
            .arg("-out")
            .arg(p("server.pem")));
        Certs {
            ca: p("ca.pem"),
            other_ca: p("other-ca.pem"),
            cert: p("server.pem"),
            key: p("server.key"),
        }
    }
}

pub struct Broker {
    pub dir: tempfile::TempDir,
    /// Plain MQTT, what the subscriber uses.
    pub port: u16,
    /// TLS, with `Certs` (only if started with them).
    pub tls_port: Option<u16>,
    conf: PathBuf,
    child: Option<Child>,
}

impl Broker {
    pub fn start() -> Broker {
        Broker::start_with(|_| None)
    }

    /// A broker that forgets everything when it stops, retained messages included.
    pub fn start_forgetful() -> Broker {
        Broker::start_as(|_| None, false)
    }

    /// `tls` makes the certificates in the broker's folder, or none.
    pub fn start_with(tls: impl FnOnce(&Path) -> Option<Certs>) -> Broker {
        Broker::start_as(tls, true)
    }

    fn start_as(tls: impl FnOnce(&Path) -> Option<Certs>, persistence: bool) -> Broker {
        let dir = tempfile::tempdir().expect("temporary folder");
        let pw = dir.path().join("passwords");
        run(Command::new("mosquitto_passwd")
            .args(["-b", "-c"])
            .arg(&pw)
            .args([USER, PASSWORD]));
        let port = free_port();
        // Persistence keeps the subscriber's session and its queued messages over a restart.
        let mut conf = format!(
            "per_listener_settings false\nallow_anonymous false\npassword_file {}\n\
             persistence {persistence}\npersistence_location {}/\nmax_queued_messages 100000\n\
             listener {port} 127.0.0.1\n",
            pw.display(),
            dir.path().display()
        );
        let mut tls_port = None;
        if let Some(c) = tls(dir.path()) {
            let p = free_port();
            conf += &format!(
                "listener {p} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n",
                c.ca.display(),
                c.cert.display(),
                c.key.display()
            );
            tls_port = Some(p);
        }
        // As root mosquitto would switch to its own user, which cannot read these files.
        if Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
        {
            conf += "user root\n";
        }
        let conf_path = dir.path().join("mosquitto.conf");
        std::fs::write(&conf_path, conf).expect("broker config");
        let mut broker = Broker {
            dir,
            port,
            tls_port,
            conf: conf_path,
            child: None,
        };
        broker.launch();
        broker
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("mosquitto.log")).expect("log file");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("mosquitto starts (scripts/setup.sh installs it)");
        self.child = Some(child);
        let ports: Vec<u16> = std::iter::once(self.port).chain(self.tls_port).collect();
        wait_for("mosquitto to listen", || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("mosquitto exited ({status}): {}", self.log());
            }
            ports
                .iter()
                .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok())
        });
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    /// Stops the broker the way an administrator would (SIGTERM, so that it saves its
    /// sessions) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A subscriber to `topic` with a persistent session (QoS 1), so that it misses nothing
/// while the broker restarts. Every payload arrives on `messages`.
pub struct Subscriber {
    pub messages: mpsc::Receiver<Vec<u8>>,
    client: rumqttc::Client,
}

impl Subscriber {
    pub fn connect(port: u16, topic: &str) -> Subscriber {
        let mut options = rumqttc::MqttOptions::new(format!("test-sub-{port}"), "127.0.0.1", port);
        options
            .set_credentials(USER, PASSWORD)
            .set_clean_session(false)
            .set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut connection) = rumqttc::Client::new(options, 16);
        let (tx, messages) = mpsc::channel();
        let (subscribed_tx, subscribed) = mpsc::channel();
        let sub = client.clone();
        let topic = topic.to_string();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                        let _ = sub.try_subscribe(topic.as_str(), rumqttc::QoS::AtLeastOnce);
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                        let _ = subscribed_tx.send(());
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        if tx.send(p.payload.to_vec()).is_err() {
                            break;
                        }
                    }
                    Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                    Ok(_) => {}
                    // The broker is away: retry at a calm pace until it is back.
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        });
        subscribed
            .recv_timeout(PATIENCE)
            .expect("the subscriber is subscribed");
        Subscriber { messages, client }
    }

    /// Waits until `n` different messages arrived (or `PATIENCE` passed) and returns
    /// them: QoS 1 is at least once, so a message may come twice, for instance when the
    /// broker restarts before the subscriber's acknowledgement reached it.
    pub fn take(&self, n: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + PATIENCE;
        let mut got: Vec<Vec<u8>> = Vec::new();
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(m) if !got.contains(&m) => got.push(m),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        got
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.client.try_disconnect();
    }
}
