#!/usr/bin/env bash
# Proves the Kotlin API on the JVM: the generated UniFFI bindings, loaded through JNA, against the
# real core, models, photos and a real `salur serve` (see scripts/kotlin-env.sh for the set-up).
source "$(dirname "$0")/kotlin-env.sh"
echo "kotlin-test: compiling the bindings and tests" >&2
compile_kotlin "$target/kotlin/ffi-tests.jar" "$cp" \
    $(find "$bindings" -name '*.kt') $(find rust-core/ffi/kotlin-tests/src -name '*.kt')
run_junit "$target/kotlin/ffi-tests.jar" id.salur.core.test.SalurFfiTest
