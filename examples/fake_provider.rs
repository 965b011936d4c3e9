//! The test fake provider as a standalone process, for the editor tests.
//!
//! Prints its base URL (`http://127.0.0.1:PORT`) as the first line of stdout and
//! serves until killed or until stdin closes. Control it over HTTP on the same port:
//! `POST /_control/push` | `/_control/default` with a reply such as
//! `{"type":"ok","text":"return a + b"}` or `{"type":"error","status":529}`,
//! `POST /_control/reset`, `POST /_control/status_page`, `GET /_control/requests`.
//!
//! With `FAKE_PROVIDER_TLS_CA=FILE` it serves HTTPS (`https://127.0.0.1:PORT`) with a
//! certificate from a CA made at start, whose PEM it writes to FILE (for `[network] ca_file`).

#[path = "../tests/support/fake_provider.rs"]
mod fake_provider;

use std::io::{BufRead, Write};

fn main() {
    let fake = match std::env::var_os("FAKE_PROVIDER_TLS_CA") {
        Some(ca_file) => {
            let fake = fake_provider::FakeProvider::start_tls();
            let pem = fake.ca_pem().unwrap_or_default();
            if let Err(err) = std::fs::write(&ca_file, pem) {
                eprintln!("fake_provider: cannot write the CA to {ca_file:?}: {err}");
                std::process::exit(2);
            }
            fake
        }
        None => fake_provider::FakeProvider::start(),
    };
    println!("{}", fake.url());
    let _ = std::io::stdout().flush();
    // Serve until stdin reaches EOF (the parent closed it) or the process is killed.
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        if line.is_err() {
            break;
        }
    }
    // Keep serving if stdin was never connected (e.g. </dev/null gives EOF at once).
    if std::env::var_os("FAKE_PROVIDER_EXIT_ON_EOF").is_none() {
        loop {
            std::thread::park();
        }
    }
}
