//! Certificates and htpasswd for the HTTPS + basic-auth registry instance.
//!
//! The harness makes its own tiny PKI with the `openssl` CLI: a CA, and a server certificate
//! signed by it with SAN `IP:127.0.0.1, DNS:localhost`. A separate CA (rather than one
//! self-signed leaf) matters: rustls/webpki refuse a CA certificate used as the server's own
//! certificate (`CaUsedAsEndEntity`), while Go, skopeo and openssl accept both. Tests trust
//! `ca.pem` (`Registry::ca_pem_path`).
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct TlsFiles {
    /// The CA certificate (PEM) that clients must trust.
    pub ca_pem: PathBuf,
    /// A dir holding only `ca.crt` (= the CA), for skopeo's `--cert-dir`/`--dest-cert-dir`.
    pub cert_dir: PathBuf,
    /// Server certificate (PEM, signed by the CA) and its key, for the registry config.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

const OPENSSL_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = pinnace test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
";

const SERVER_EXTENSIONS: &str = "\
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// Writes the CA, the server certificate and key, and the skopeo cert dir under `dir`.
pub fn make_tls_files(dir: &Path) -> TlsFiles {
    fs::create_dir_all(dir).unwrap();
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    fs::write(dir.join("openssl.cnf"), OPENSSL_CONFIG).unwrap();
    fs::write(dir.join("server.ext"), SERVER_EXTENSIONS).unwrap();
    // P-256 keys: quick to generate, and accepted by Go, rustls and OpenSSL alike.
    let ec_key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];

    let mut ca = vec!["req", "-x509", "-config", "openssl.cnf", "-days", "7"];
    ca.extend(ec_key);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(dir, &ca);

    let mut csr = vec![
        "req",
        "-new",
        "-config",
        "openssl.cnf",
        "-subj",
        "/CN=127.0.0.1",
    ];
    csr.extend(ec_key);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(dir, &csr);

    // A fresh serial each time: clients may cache certificates by issuer + serial.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let serial = format!("0x{:x}{:x}", nanos, std::process::id());
    #[rustfmt::skip]
    openssl(dir, &[
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-set_serial", &serial, "-days", "7", "-extfile", "server.ext", "-out", "server.pem",
    ]);

    let cert_dir = dir.join("cert-dir");
    fs::create_dir_all(&cert_dir).unwrap();
    fs::copy(dir.join("ca.pem"), cert_dir.join("ca.crt")).unwrap();
    TlsFiles {
        ca_pem: path("ca.pem").into(),
        cert_dir,
        server_cert: path("server.pem").into(),
        server_key: path("server.key").into(),
    }
}

/// Runs `openssl ARGS` in `dir`; panics with its stderr unless it succeeds.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl (install it: scripts/install-test-deps.sh)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An htpasswd file with one bcrypt entry, the only hash distribution's htpasswd auth accepts.
/// Cost 4 (the minimum) keeps both hashing here and every auth check in the registry fast.
pub fn write_htpasswd(path: &Path, user: &str, password: &str) {
    assert!(
        !user.contains(':'),
        "htpasswd user names cannot contain ':'"
    );
    let hash = bcrypt::hash(password, 4).expect("bcrypt hash");
    fs::write(path, format!("{user}:{hash}\n")).unwrap();
}
