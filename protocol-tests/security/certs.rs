//! Test certificates, made fresh by each test run (never committed): a CA, the broker's
//! certificate for 127.0.0.1 and localhost, a client certificate `CN=alice,O=weir` signed by the
//! CA, and a client certificate from a CA the broker does not trust.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

pub struct Certs {
    /// Holds the files; removed when the certificates are dropped.
    _dir: tempfile::TempDir,
    /// The CA certificate (the clients' trust store, and the broker's).
    pub ca: PathBuf,
    /// The broker's key and certificate chain in one PEM file (`ssl.keystore.location`).
    pub server: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub untrusted_cert: PathBuf,
    pub untrusted_key: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().expect("CA key");
    let cert = params.self_signed(&key).expect("CA certificate");
    (cert, key)
}

fn client(ca: &rcgen::Certificate, ca_key: &KeyPair) -> (String, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "weir");
    params.distinguished_name.push(DnType::CommonName, "alice");
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().expect("client key");
    let cert = params
        .signed_by(&key, ca, ca_key)
        .expect("client certificate");
    (cert.pem(), key.serialize_pem())
}

impl Certs {
    pub fn generate() -> Certs {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, text: &str| -> PathBuf {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write PEM");
            path
        };
        let (ca_cert, ca_key) = ca("weir test CA");
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("server params");
        params.distinguished_name.push(DnType::CommonName, "weir");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().expect("server key");
        let server = params
            .signed_by(&server_key, &ca_cert, &ca_key)
            .expect("server certificate");
        let (client_cert, client_key) = client(&ca_cert, &ca_key);
        let (other_ca, other_key) = ca("someone else's CA");
        let (untrusted_cert, untrusted_key) = client(&other_ca, &other_key);
        Certs {
            ca: write("ca.pem", &ca_cert.pem()),
            server: write(
                "server.pem",
                &format!("{}{}", server_key.serialize_pem(), server.pem()),
            ),
            client_cert: write("client.pem", &client_cert),
            client_key: write("client.key", &client_key),
            untrusted_cert: write("untrusted.pem", &untrusted_cert),
            untrusted_key: write("untrusted.key", &untrusted_key),
            _dir: dir,
        }
    }

    pub fn path(p: &Path) -> String {
        p.to_string_lossy().into_owned()
    }
}
