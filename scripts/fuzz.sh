#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of the parsers of outside input, each target
# for a bounded time starting from its committed corpus (fuzz/corpus/TARGET). New inputs go to a
# scratch copy; a crash, a panic or a broken invariant stops the run, and the input is kept in
# fuzz/artifacts/TARGET/ (make it a regression test and add it to the corpus).
#
#   scripts/fuzz.sh                 every target, SALUR_FUZZ_SECONDS each (default 20), as many
#                                   at once as there are cores
#   scripts/fuzz.sh TARGET SECONDS  one target, e.g. 1800 for the figures in docs/reliability.md
#   scripts/fuzz.sh --build         only build (the test command starts this early, niced, so
#                                   that it uses the cores the tests leave idle)
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
[ "${1:-}" = "--build" ] && exit 0
targets=${1:-$(cargo $tc fuzz list)}
bin=$CARGO_TARGET_DIR/$(rustc -vV | sed -n 's/^host: //p')/release
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# One target from its corpus; the binary is run directly (cargo fuzz run would rebuild first).
run_one() {
  local t=$1 log="$scratch/$1.log"
  mkdir -p "$scratch/$t" "artifacts/$t"
  cp -r "corpus/$t/." "$scratch/$t/" 2>/dev/null || true
  if ! "$bin/$t" "$scratch/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$seconds" -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz: $t FAILED (input in fuzz/artifacts/$t/)" >&2
    return 1
  fi
  local runs cov
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
  echo "fuzz: $t ok, $runs executions in ${seconds}s, coverage $cov edges, corpus $(ls "$scratch/$t" | wc -l) inputs" \
    >"$scratch/$t.summary"
}
# As many targets at once as there are cores; the summaries in target order at the end.
# A target passed when it wrote its summary.
for t in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  run_one "$t" &
done
wait
failed=0
for t in $targets; do cat "$scratch/$t.summary" 2>/dev/null || failed=1; done
exit "$failed"
