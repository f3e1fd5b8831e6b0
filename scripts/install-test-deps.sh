#!/usr/bin/env bash
# Installs the real tools the registry integration tests drive (tests/support/registry.rs):
#   docker-registry  CNCF distribution 2.8.x, run by the tests on 127.0.0.1 with their own configs
#   skopeo           pushes the OCI layouts the tests build and inspects what the registry serves
#   openssl          makes the self-signed certificate of the TLS registry instance
#   git              `git http-backend` serves the repositories the migrate tests clone and push
# and the system libraries the build links (checked by pkg-config, not by a binary on PATH):
#   libssl-dev       OpenSSL for git2's https transport (`pinnace migrate` clones and pushes)
#   pkg-config       how openssl-sys finds it
# Idempotent: a tool already on PATH is left alone, and `apt-get update` runs once, only when
# something has to be installed. CI (.ci/run) calls it before `cargo test`.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# binary name -> Debian package
declare -A PACKAGE_OF=([docker-registry]=docker-registry [skopeo]=skopeo [openssl]=openssl [git]=git [pkg-config]=pkg-config)

missing=()
for tool in docker-registry skopeo openssl git pkg-config; do
    if command -v "$tool" >/dev/null 2>&1; then
        echo "install-test-deps: $tool already installed ($(command -v "$tool"))"
    else
        missing+=("${PACKAGE_OF[$tool]}")
    fi
done
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openssl; then
    echo "install-test-deps: libssl-dev already installed (openssl $(pkg-config --modversion openssl))"
else
    missing+=(libssl-dev)
fi

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-test-deps: nothing to install"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "install-test-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

# The docker-registry package ships a system service listening on :5000. The tests never use it
# (each test starts its own instance on a free port), so make sure it is not left running. In
# containers policy-rc.d usually stops it from starting at all; everything here is best effort.
if [[ " ${missing[*]} " == *" docker-registry "* ]]; then
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        $SUDO systemctl disable --now docker-registry >/dev/null 2>&1 || true
        echo "install-test-deps: stopped and disabled the docker-registry system service"
    elif command -v service >/dev/null 2>&1; then
        $SUDO service docker-registry stop >/dev/null 2>&1 || true
        echo "install-test-deps: stopped the docker-registry system service (if it had started)"
    fi
fi

for tool in docker-registry skopeo openssl git pkg-config; do
    command -v "$tool" >/dev/null 2>&1 || { echo "install-test-deps: $tool still missing" >&2; exit 1; }
done
pkg-config --exists openssl || { echo "install-test-deps: libssl-dev still missing" >&2; exit 1; }
echo "install-test-deps: done"
