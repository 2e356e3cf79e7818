//! A misbehaving MQTT broker for the tests: it accepts the connection (CONNACK) and
//! answers pings, but never acknowledges a PUBLISH, as a broker that hangs after the
//! handshake would. It listens on a free port of 127.0.0.1; dropping it closes the
//! listener and every connection and joins its threads, also when a test fails.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::common::servers::free_port;

const CONNECT: u8 = 1;
const PUBLISH: u8 = 3;
const PINGREQ: u8 = 12;
const DISCONNECT: u8 = 14;
const CONNACK: [u8; 4] = [0x20, 0x02, 0x00, 0x00];
const PINGRESP: [u8; 2] = [0xd0, 0x00];

#[derive(Default)]
struct Seen {
    stop: AtomicBool,
    publishes: AtomicUsize,
    /// Each accepted connection, so that dropping the broker can close it.
    streams: Mutex<Vec<TcpStream>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

pub struct SilentBroker {
    pub port: u16,
    seen: Arc<Seen>,
    acceptor: Option<JoinHandle<()>>,
}

impl SilentBroker {
    pub fn start() -> SilentBroker {
        let port = free_port();
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("the fake broker listens");
        // Polled, so that dropping the broker ends the accepting thread.
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let seen = Arc::new(Seen::default());
        let shared = seen.clone();
        let acceptor = std::thread::spawn(move || accept(&listener, &shared));
        SilentBroker {
            port,
            seen,
            acceptor: Some(acceptor),
        }
    }

    /// PUBLISH packets received so far, on every connection.
    pub fn publishes(&self) -> usize {
        self.seen.publishes.load(Ordering::SeqCst)
    }
}

fn accept(listener: &TcpListener, seen: &Arc<Seen>) {
    while !seen.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                if let Ok(copy) = stream.try_clone() {
                    seen.streams
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(copy);
                }
                let shared = seen.clone();
                let thread = std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
                seen.threads
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(thread);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => return,
        }
    }
}

/// Reads packets until the client leaves or the broker is dropped (which shuts the
/// stream down): CONNECT gets its CONNACK, PINGREQ its PINGRESP, PUBLISH nothing.
fn serve(mut stream: TcpStream, seen: &Seen) -> io::Result<()> {
    loop {
        let mut kind = [0u8; 1];
        stream.read_exact(&mut kind)?;
        let mut remaining = 0usize;
        for shift in [0, 7, 14, 21] {
            let mut byte = [0u8; 1];
            stream.read_exact(&mut byte)?;
            remaining |= usize::from(byte[0] & 0x7f) << shift;
            if byte[0] & 0x80 == 0 {
                break;
            }
        }
        io::copy(&mut (&stream).take(remaining as u64), &mut io::sink())?;
        match kind[0] >> 4 {
            CONNECT => stream.write_all(&CONNACK)?,
            PUBLISH => {
                seen.publishes.fetch_add(1, Ordering::SeqCst);
            }
            PINGREQ => stream.write_all(&PINGRESP)?,
            DISCONNECT => return Ok(()),
            _ => {}
        }
    }
}

impl Drop for SilentBroker {
    fn drop(&mut self) {
        self.seen.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let streams =
            std::mem::take(&mut *self.seen.streams.lock().unwrap_or_else(|e| e.into_inner()));
        for stream in streams {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let threads =
            std::mem::take(&mut *self.seen.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
    }
}
