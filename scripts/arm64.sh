#!/usr/bin/env bash
# The core on ARM64 (docs/arm64.md): cross-builds a focused set of salur-core's and salur-ffi's
# tests for aarch64-unknown-linux-gnu and runs them under qemu-aarch64 (user mode, no binfmt):
# face scores, decisions and live-check verdicts against x86-64's (rust-core/tests/it/arch_parity.rs and
# test-vectors/arm64/, a sample under qemu: SALUR_PARITY_EVERY), the receipt vectors and the store,
# the FFI crate's tests; then `cargo check` of the FFI crate for aarch64-linux-android.
#
#   scripts/arm64.sh                   the whole ARM64 leg (its own target dir, default target/arm64)
#   scripts/arm64.sh --android-check   only the Android `cargo check` (the test command runs this, in
#                                      the x86 CARGO_TARGET_DIR, whose host build scripts it reuses)
#
# Cost, measured 2026-12-07 on a 2-core AMD EPYC (KVM), in docs/arm64.md: the Android check from
# an empty target dir 4 min 34 s; the cold cross-build of salur-core's tests 19 min 14 s; the rest
# is timed per step by this script. Installs, when missing: Debian's gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross (and qemu-user for the whole leg) and rustup's target standard libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "== arm64: $1 (at ${SECONDS}s)"; }

android_only=false
[ "${1:-}" = "--android-check" ] && android_only=true
# The CI's lint wrapper is for the host build only.
unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS

step "toolchain: Debian's cross gcc (and qemu-user), rustup targets (when missing)"
need=()
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
$android_only || command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
installed=$(rustup target list --installed)
targets=(aarch64-linux-android)
$android_only || targets+=(aarch64-unknown-linux-gnu)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done

android_check() {
  step "cargo check of the FFI crate for aarch64-linux-android (no NDK needed to check)"
  # The C of ring and SQLite, which check still compiles, by Debian's ARM64 gcc in place of the NDK's clang.
  CC_aarch64_linux_android=aarch64-linux-gnu-gcc AR_aarch64_linux_android=aarch64-linux-gnu-ar \
    cargo check --release --target aarch64-linux-android -p salur-ffi
}
if $android_only; then
  android_check
  step "done"
  exit 0
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/arm64}"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
# qemu-user runs each test binary directly; -L points it at Debian's ARM64 glibc and loader.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
target=(--release --target aarch64-unknown-linux-gnu)

step "cross-building the tests for aarch64-unknown-linux-gnu (release: the models are slow unoptimised)"
cargo test "${target[@]}" -p salur-core --features bundled-models --test it --no-run
cargo test "${target[@]}" -p salur-ffi --no-run

step "under qemu-aarch64: face scores, decisions and live-check verdicts against x86-64's; receipts"
# Every 25th pair with its photos, the pairs x86-64 puts in the retry band, every 25th photo of
# multi/ and noface/, the passive photos and lp_d12: the whole set takes over 20 CPU minutes here.
SALUR_PARITY_EVERY=${SALUR_PARITY_EVERY:-25} \
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

android_check
step "done"
