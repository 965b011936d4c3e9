//! A real HTTP proxy for tests: Debian's `tinyproxy`, started on a free loopback port
//! with a generated config in a temporary directory, in the foreground, and killed on drop.
//!
//! Its log is how a test sees what went through it: one `Request (file descriptor N): …`
//! line per request (a `CONNECT host:port` for a tunnel, the whole request line for a
//! forwarded plain-HTTP one).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Tinyproxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// Where Debian puts it (outside `PATH` for some users), then `PATH`.
fn binary() -> Option<PathBuf> {
    let candidates = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"]
        .into_iter()
        .map(PathBuf::from);
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("tinyproxy"));
    candidates.chain(on_path).find(|p| p.is_file())
}

impl Tinyproxy {
    /// Starts tinyproxy allowing CONNECT to `connect_ports`. Without tinyproxy: `None`
    /// and a loud note on stderr, or a failed test when `CI=true` (CI installs it).
    pub fn start(connect_ports: &[u16]) -> Option<Tinyproxy> {
        Self::start_with(connect_ports, None)
    }

    /// Like [`Tinyproxy::start`], requiring `user`/`password` (Basic auth).
    pub fn start_with_auth(connect_ports: &[u16], user: &str, password: &str) -> Option<Tinyproxy> {
        Self::start_with(connect_ports, Some((user, password)))
    }

    fn start_with(connect_ports: &[u16], auth: Option<(&str, &str)>) -> Option<Tinyproxy> {
        let Some(binary) = binary() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "tinyproxy is not installed (CI=true: .ci/run installs it with apt-get)"
            );
            eprintln!(
                "SKIPPED: tinyproxy is not installed; `apt-get install -y tinyproxy` to run the proxy tests"
            );
            return None;
        };
        // The free port may be taken again before tinyproxy binds it: then try another.
        for _ in 0..3 {
            if let Some(proxy) = Self::spawn(&binary, connect_ports, auth) {
                return Some(proxy);
            }
        }
        panic!("tinyproxy did not start listening (three ports tried)");
    }

    fn spawn(
        binary: &Path,
        connect_ports: &[u16],
        auth: Option<(&str, &str)>,
    ) -> Option<Tinyproxy> {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let log = dir.path().join("tinyproxy.log");
        let mut config = format!(
            "Port {port}\nListen 127.0.0.1\nAllow 127.0.0.1\nTimeout 30\nMaxClients 50\nLogLevel Info\nLogFile \"{}\"\nPidFile \"{}\"\n",
            log.display(),
            dir.path().join("tinyproxy.pid").display()
        );
        for connect_port in connect_ports {
            config.push_str(&format!("ConnectPort {connect_port}\n"));
        }
        if let Some((user, password)) = auth {
            config.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        let config_path = dir.path().join("tinyproxy.conf");
        std::fs::write(&config_path, config).expect("write tinyproxy.conf");
        let child = Command::new(binary)
            .arg("-d")
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tinyproxy");
        let mut proxy = Tinyproxy {
            child,
            port,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if proxy.log().contains("Accepting connections") {
                return Some(proxy);
            }
            // Exited (most likely the port was taken): the caller tries another port.
            if !matches!(proxy.child.try_wait(), Ok(None)) || Instant::now() > deadline {
                return None;
            }
            // A log file has no event to wait on: look again shortly.
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The request lines it received (`CONNECT 127.0.0.1:4431 HTTP/1.1`, `POST http://…`).
    pub fn requests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|line| line.split_once("Request (file descriptor "))
            .filter_map(|(_, rest)| rest.split_once("): "))
            .map(|(_, request)| request.trim().to_string())
            .collect()
    }

    /// Waits until the log contains `needle`; fails the test after `timeout`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "tinyproxy: waited {timeout:?} for {needle:?} in its log:\n{log}"
            );
            // A log file has no event to wait on: look again shortly.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (the OS does not hand it out again at once).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}
