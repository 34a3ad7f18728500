#!/usr/bin/env bash
# The core on ARM64 (docs/arm64.md): cross-builds a focused set of salur-core's and salur-ffi's
# tests for aarch64-unknown-linux-gnu and runs them under qemu-aarch64 (user mode, no binfmt):
# face scores, decisions and live-check verdicts against x86-64's (rust-core/tests/it/arch_parity.rs and
# test-vectors/arm64/), the receipt vectors and the store; then `cargo check` of the FFI crate for
# aarch64-linux-android.
#
# Cost, measured 2026-12-07 on a 2-core AMD EPYC (KVM) shared with other builds (docs/arm64.md):
# the cold cross-build of salur-core's tests 19 min 14 s; the server's cross-build for salur-ffi's
# tests comes on top; under qemu the face and clip parity needs more than 20 CPU minutes (tract's
# NEON kernels are emulated); the other selected tests were not yet timed together. Installs, when missing:
# Debian's gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user (25 packages, 56.4 MB) and
# rustup's two target standard libraries. Idempotent.
#
# Its own target dir (CARGO_TARGET_DIR, default target/arm64) so the x86 builds are not disturbed.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "== arm64: $1 (at ${SECONDS}s)"; }

step "toolchain: cross gcc and qemu-user from Debian, rustup targets (when missing)"
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null
fi
installed=$(rustup target list --installed)
for t in aarch64-unknown-linux-gnu aarch64-linux-android; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/arm64}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
# qemu-user runs each test binary directly; -L points it at Debian's ARM64 glibc and loader.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
# The CI's lint wrapper is for the host build only.
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
target=(--release --target aarch64-unknown-linux-gnu)

step "cross-building the tests for aarch64-unknown-linux-gnu (release: the models are slow unoptimised)"
cargo test "${target[@]}" -p salur-core --features bundled-models --test it --no-run
cargo test "${target[@]}" -p salur-ffi --no-run

step "under qemu-aarch64: face scores, decisions and live-check verdicts against x86-64's; receipts"
cargo test "${target[@]}" -p salur-core --features bundled-models --test it -- arch_parity:: --nocapture
step "under qemu-aarch64: the core's live-check, receipt and store tests"
# Two store tests re-run the test binary itself as a child (SIGKILL, file-size limit): without
# binfmt_misc the kernel cannot exec an ARM64 binary, so they are skipped here.
cargo test "${target[@]}" -p salur-core --features bundled-models --test it -- \
  liveness::tract_matches_onnxruntime liveness::crops_match liveness::live_photos_pass \
  liveness::a_session_asking_the_clip_order \
  receipt_vectors:: receipts:: store:: \
  --skip store::sigkill_at_random_moments --skip store::an_os_write_error_at_commit
step "under qemu-aarch64: the FFI crate's tests (the Phone against the real server on loopback)"
cargo test "${target[@]}" -p salur-ffi

step "cargo check of the FFI crate for aarch64-linux-android (no NDK needed to check)"
CC_aarch64_linux_android=aarch64-linux-gnu-gcc AR_aarch64_linux_android=aarch64-linux-gnu-ar \
  cargo check --release --target aarch64-linux-android -p salur-ffi
step "done"
