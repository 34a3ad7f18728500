#!/usr/bin/env bash
# Proves the Kotlin side on the JVM: builds the host cdylib, generates the UniFFI Kotlin bindings
# (library mode, uniffi pinned in rust-core/ffi/Cargo.toml), compiles them with the tests using
# kotlinc (npm package kotlin-compiler) against JNA, kotlinx-coroutines and JUnit from Maven
# Central, and runs the tests against the real core, models, photos and a real `salur serve`.
# The generated code is built, not committed: it is derived from the library and always fresh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
cache=${SALUR_CACHE:-$HOME/.cache/salur}
out=$target/kotlin
mkdir -p "$cache" "$out"

# JDK, Maven and npm from Debian's packages when missing.
missing=()
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    echo "kotlin-test: installing ${missing[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

kotlinc=$cache/kotlinc/node_modules/kotlin-compiler/bin/kotlinc
if [ ! -x "$kotlinc" ]; then
    echo "kotlin-test: installing kotlinc from npm (kotlin-compiler 2.4.20)" >&2
    mkdir -p "$cache/kotlinc"
    (cd "$cache/kotlinc" && npm install --silent --no-audit --no-fund kotlin-compiler@2.4.20)
fi
jars=$cache/kotlin-jars
if [ ! -f "$jars/.complete" ] || [ scripts/kotlin/pom.xml -nt "$jars/.complete" ]; then
    echo "kotlin-test: fetching JNA, kotlinx-coroutines and JUnit from Maven Central" >&2
    rm -rf "$jars"
    mvn -q -f scripts/kotlin/pom.xml dependency:copy-dependencies -DoutputDirectory="$jars"
    touch "$jars/.complete"
fi

cargo build --release --quiet -p salur-ffi --lib
cargo build --release --quiet -p salur-server --bin salur
lib=$target/release/libsalur_ffi.so
rm -rf "$out/bindings"
cargo run --release --quiet -p salur-ffi --bin uniffi-bindgen -- \
    generate --library "$lib" --language kotlin --no-format --out-dir "$out/bindings"

cp=$(ls "$jars"/*.jar | tr '\n' ':')
echo "kotlin-test: compiling the bindings and tests" >&2
"$kotlinc" -nowarn -jvm-target 17 -cp "$cp" -d "$out/tests.jar" \
    $(find "$out/bindings" -name '*.kt') $(find rust-core/ffi/kotlin-tests/src -name '*.kt') 2> >(grep -v '^warning' >&2)
java -Djna.library.path="$target/release" -Dsalur.root="$root" -Dsalur.bin="$target/release/salur" \
    -cp "$out/tests.jar:$cp" org.junit.runner.JUnitCore id.salur.core.test.SalurFfiTest
