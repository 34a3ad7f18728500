#!/usr/bin/env bash
# Runs every test of the project (the README's test command; CI calls it through .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step says when it started (seconds into the run): where a slow machine spends its time.
step() { echo "== $1 (at ${SECONDS}s)"; }

# rustfmt and clippy come with rustup's default profile; add them where a minimal toolchain lacks them.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi

step "format"
cargo fmt --all -- --check
step "PostgreSQL for the server tests (installed from Debian's packages when missing)"
SALUR_TEST_POSTGRES_URL=$(scripts/ensure-postgres.sh)
export SALUR_TEST_POSTGRES_URL
step "headless Chromium for the dashboard test (Debian's chromium when missing)"
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
step "poppler (pdftotext, pdftoppm) to read the printed letters back (Debian's poppler-utils when missing)"
if ! command -v pdftoppm >/dev/null || ! command -v pdftotext >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
fi
step "nginx for the front-door test (Debian's nginx when missing: two packages, about 0.7 MB)"
if [ ! -x /usr/sbin/nginx ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
fi
step "ARM64 gcc and the Android standard library for the Android check (Debian, rustup; when missing)"
# Here and not in the background job below: two apt-gets at once fail on dpkg's lock.
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross >/dev/null
fi
rustup target list --installed | grep -qx aarch64-linux-android || rustup target add aarch64-linux-android
# The fuzz targets build in the background from here, at the lowest priority: on two cores the
# test build leaves gaps (serial crates, links) and the tests themselves wait on servers and
# browsers, and the fuzz build fills them instead of running after everything else.
fuzz_log=$(mktemp)
(unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS; exec nice -n 19 scripts/fuzz.sh --build) >"$fuzz_log" 2>&1 &
fuzz_build=$!
# The FFI crate checked for the phones' target (aarch64-linux-android) the same way: in the
# background at the lowest priority, in its own target dir beside the others (the main build
# would wait on a shared one's lock). 4 min 34 s from an empty dir on 2 cores, seconds when cached
# (docs/arm64.md).
android_log=$(mktemp)
(export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}-android"; exec nice -n 19 scripts/arm64.sh --android-check) \
  >"$android_log" 2>&1 &
android_build=$!
step "tests and lints (release: the face models are too slow unoptimised)"
# clippy-driver compiles the project's crates in the same pass (dependencies stay on rustc), so
# the lints cost no second build of the dependency tree; this is how `cargo clippy` itself hands
# its arguments to the driver.
export RUSTC_WORKSPACE_WRAPPER
RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
log=$(mktemp)
trap 'rm -f "$log" "$fuzz_log" "$android_log"; kill "$fuzz_build" "$android_build" 2>/dev/null || true' EXIT
# tee through a process substitution, not a pipe: a server a failing test left running keeps
# cargo's output open, and a pipe would make this script wait for it instead of failing.
cargo test --release --workspace > >(tee "$log") 2>&1
# The benchmarks are not test targets: build them (and so lint them) once.
cargo build --release --workspace --benches
step "the FFI crate checked for aarch64-linux-android (built in the background since the start)"
if ! wait "$android_build"; then
  tail -40 "$android_log" >&2
  echo "android target: cargo check of salur-ffi failed (above)" >&2
  exit 1
fi
tail -1 "$android_log"
step "fuzzing: each parser target ${SALUR_FUZZ_SECONDS:-20} s from its corpus (cargo-fuzz, libFuzzer)"
if ! wait "$fuzz_build"; then
  tail -40 "$fuzz_log" >&2
  echo "fuzz: building the targets failed (above)" >&2
  exit 1
fi
(unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS; scripts/fuzz.sh) 2>&1 | tee -a "$log"
step "the API against its OpenAPI document (schemathesis, SQLite and PostgreSQL)"
scripts/schemathesis.sh 2>&1 | tee -a "$log"
step "Kotlin on the JVM over the UniFFI bindings"
scripts/kotlin-test.sh 2>&1 | tee -a "$log"
step "the Android app: compiled against the Android framework, its logic run on the JVM"
scripts/android-check.sh 2>&1 | tee -a "$log"
# One closing line over every test binary (cargo's last line is the doc tests', often 0).
# JUnit prints "OK (N tests)" (a failure stops the script above).
step "done"
awk '/^test result:/ { p += $4; f += $6 } /^OK \([0-9]+ tests?\)/ { gsub(/[()]/, ""); p += $2 }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
