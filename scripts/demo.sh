#!/usr/bin/env bash
# The main job on a fresh machine: builds `salur` and shows the face engine on the project's real photos.
set -euo pipefail
cd "$(dirname "$0")/.."
faces=test-vectors/faces
cargo build --release --bin salur
salur=${CARGO_TARGET_DIR:-target}/release/salur
echo "== same person (two photos of Joe Biden)"
"$salur" verify "$faces/same/fr_biden/1.jpg" "$faces/same/fr_biden/2.jpg" || true
echo "== impostor (Barack Obama against Joe Biden's photo)"
"$salur" verify "$faces/same/fr_biden/1.jpg" "$faces/same/fr_obama/1.jpg" || true
echo "== several faces in the frame (refused at the doorstep)"
"$salur" verify "$faces/same/fr_biden/1.jpg" "$faces/multi/fr_obama_and_biden.jpg" || true
echo "== accuracy on all $(($(wc -l < "$faces/pairs.csv") - 1)) labelled pairs"
"$salur" eval --pairs "$faces/pairs.csv" --root "$faces"
