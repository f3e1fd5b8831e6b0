//! Test harness for talking to a real OCI registry on 127.0.0.1 (see `registry.rs`).
//!
//! Include it from a test file with `mod support;` and use the re-exports:
//! `Registry`, `TestImage`, `Pushed`, `RateLimitProxy`, `DigestStrippingProxy`, `TokenServer`,
//! `TokenRequest`, `HostileServer` (a misbehaving registry, for what no real one can be made
//! to do), `docker_config_with_auth`,
//! `docker_config_with_helper`, `registry_tools_missing`. Every test that starts a registry
//! begins with `if support::registry_tools_missing() { return; }`.
//!
//! Needs `docker-registry`, `skopeo` and `openssl` (scripts/install-test-deps.sh).
#![allow(dead_code, unused_imports)]

pub mod cli;
pub mod cosign;
pub mod cosign_key;
pub mod docker_config;
pub mod hostile_server;
pub mod http;
pub mod oci_layout;
pub mod proxy;
pub mod registry;
pub mod registry_process;
pub mod sigstore;
pub mod tls_auth;
pub mod token_server;
pub mod tools;

pub use docker_config::{docker_config_with_auth, docker_config_with_helper};
pub use hostile_server::{HostileServer, Reply, Seen};
pub use http::{HttpResponse, http_get, http_request};
pub use oci_layout::TestImage;
pub use proxy::{DigestStrippingProxy, RateLimitProxy};
pub use registry::{Pushed, Registry};
pub use token_server::{TokenRequest, TokenServer};
pub use tools::registry_tools_missing;
