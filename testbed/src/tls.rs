//! A private CA made at test time with the `openssl` CLI, and server
//! certificates it issues for 127.0.0.1: what a site's registry behind an
//! internal CA looks like. Nothing is kept between runs.

use crate::{require, run};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA (P-256 key, self-signed, one day) in its own temporary directory.
pub struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    /// Make a CA named `name`.
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new().prefix("airlock-ca-").tempdir().expect("tempdir");
        run(Command::new(require("openssl"))
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
            .args(["-subj", &format!("/CN={name}")])
            .args(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(dir.path().join("ca.key"))
            .arg("-out")
            .arg(dir.path().join("ca.pem")));
        Self { dir }
    }

    /// The CA certificate (PEM): what an operator passes to `--registry-ca`.
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Issue a server certificate for the IP address `ip` into `dir`;
    /// returns `(certificate, key)` PEM paths.
    pub fn issue_server_cert(&self, dir: &Path, ip: &str) -> (PathBuf, PathBuf) {
        let (cert, key, csr, ext) = (dir.join("server.pem"), dir.join("server.key"), dir.join("server.csr"), dir.join("server.ext"));
        let openssl = require("openssl");
        run(Command::new(&openssl)
            .args(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"])
            .args(["-subj", &format!("/CN={ip}")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr));
        std::fs::write(
            &ext,
            format!("subjectAltName=IP:{ip}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"),
        )
        .expect("write extensions");
        run(Command::new(&openssl)
            .args(["x509", "-req", "-days", "1", "-set_serial", "2"])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(self.cert())
            .arg("-CAkey")
            .arg(self.dir.path().join("ca.key"))
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&cert));
        (cert, key)
    }
}
