#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of the core's parsers of outside input, each
# target for a bounded time starting from its committed corpus (fuzz/corpus/TARGET). New inputs go
# to a scratch copy; a crash, a panic or a broken invariant stops the run, and the input is kept
# in fuzz/artifacts/TARGET/ (make it a regression test and add it to the corpus).
#
#   scripts/fuzz.sh                 every target, SALUR_FUZZ_SECONDS each (default 20)
#   scripts/fuzz.sh TARGET SECONDS  one target, e.g. 1800 for the figures in docs/reliability.md
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${2:-${SALUR_FUZZ_SECONDS:-20}}
# Without a sanitizer cargo-fuzz passes only stable -C flags (sanitizer coverage passes); the
# nightly toolchain is used where one is installed (how the figures were measured), stable
# otherwise. libfuzzer-sys builds libFuzzer with the system's C++ compiler.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  tc=+nightly
else
  tc=
fi
command -v c++ >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null; }
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# Outside the clone, like the test build: a second run on the same machine only relinks.
export CARGO_TARGET_DIR=${SALUR_FUZZ_TARGET_DIR:-$HOME/.cache/salur/fuzz-target}
# No sanitizer: the targets are safe Rust over safe Rust parsers; what is looked for is a panic,
# an allocation past libFuzzer's limit, or a failed invariant (and it halves the build).
opts=(--release --sanitizer none)
cargo $tc fuzz build "${opts[@]}" >&2
targets=${1:-$(cargo $tc fuzz list)}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in $targets; do
  mkdir -p "$scratch/$t" "artifacts/$t"
  cp -r "corpus/$t/." "$scratch/$t/" 2>/dev/null || true
  log="$scratch/$t.log"
  if ! cargo $tc fuzz run "${opts[@]}" "$t" "$scratch/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz: $t FAILED (input in fuzz/artifacts/$t/)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
  echo "fuzz: $t ok, $runs executions in ${seconds}s, coverage $cov edges, corpus $(ls "$scratch/$t" | wc -l) inputs"
done
