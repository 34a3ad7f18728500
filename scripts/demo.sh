#!/usr/bin/env bash
# The main job on a fresh machine: builds `salur` and runs `salur demo`, a postal worker's day end
# to end (API and dashboard on loopback, roster with real photos, doorsteps, offline, sync, audit).
# Arguments pass through, e.g. `scripts/demo.sh --keep-running` to open the dashboard afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null; then
    echo "cargo is missing: install Rust from https://rustup.rs and run this again" >&2
    exit 2
fi
echo "building salur (the first build takes several minutes)..." >&2
cargo build --release --quiet --bin salur
exec "${CARGO_TARGET_DIR:-target}/release/salur" demo "$@"
