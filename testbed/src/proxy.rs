//! An HTTP proxy on 127.0.0.1: Debian's tinyproxy, as an operator behind
//! a corporate proxy has one. It forwards plain HTTP requests and tunnels
//! HTTPS (`CONNECT`), and logs every request it handles, which is how a
//! test sees that traffic went through it.

use crate::{free_port, http_status, require, wait_until};
use std::process::{Child, Command, Stdio};

/// A tinyproxy process, killed on drop.
pub struct Proxy {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Proxy {
    /// Start one on a free port, accepting clients from 127.0.0.1 only and
    /// tunnelling to any port.
    pub fn start() -> Self {
        let binary = require("tinyproxy");
        let dir = tempfile::Builder::new().prefix("airlock-proxy-").tempdir().expect("tempdir");
        for _ in 0..5 {
            let port = free_port();
            // No ConnectPort line: CONNECT to every port (registries on
            // test ports). No User: it runs as whoever runs the tests.
            let config = format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 60\nLogLevel Connect\nLogFile \"{}\"\nMaxClients 64\nAllow 127.0.0.1\nDisableViaHeader Yes\n",
                dir.path().join("proxy.log").display()
            );
            let config_path = dir.path().join("tinyproxy.conf");
            std::fs::write(&config_path, config).expect("write tinyproxy.conf");
            let mut child = Command::new(&binary)
                .arg("-d")
                .arg("-c")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
            // tinyproxy answers a request for its own address with an error page.
            if wait_until(&mut child, || http_status(port, "/").is_some()) {
                return Self { child, port, dir };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("tinyproxy did not start after 5 tries");
    }

    /// `http://127.0.0.1:PORT`, for `HTTP_PROXY` / `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests it handled for `host` (`127.0.0.1:PORT`): request
    /// lines such as `GET http://HOST/v2/ HTTP/1.1` or `CONNECT HOST HTTP/1.1`.
    pub fn requests_to(&self, host: &str) -> Vec<String> {
        let log = std::fs::read_to_string(self.dir.path().join("proxy.log")).unwrap_or_default();
        log.lines()
            .filter_map(|line| line.split_once("): ").map(|(_, request)| request))
            .filter(|request| {
                request.starts_with(&format!("CONNECT {host} ")) || request.contains(&format!("://{host}/"))
            })
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
