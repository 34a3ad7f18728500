# Sourced by kotlin-test.sh and android-check.sh: installs what the Kotlin side needs (JDK,
# Maven, npm from Debian; kotlinc from npm; jars from Maven Central), builds the host cdylib and
# the `salur` binary, and generates the UniFFI Kotlin bindings in library mode. The generated
# code is built, not committed: it derives from the library, so it is always fresh.
# Sets: root target cache kotlinc jars cp bindings
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
cache=${SALUR_CACHE:-$HOME/.cache/salur}
mkdir -p "$cache" "$target/kotlin"

missing=()
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || missing+=(maven)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
    echo "kotlin: installing ${missing[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

kotlinc=$cache/kotlinc/node_modules/kotlin-compiler/bin/kotlinc
if [ ! -x "$kotlinc" ]; then
    echo "kotlin: installing kotlinc from npm (kotlin-compiler 2.4.20)" >&2
    mkdir -p "$cache/kotlinc"
    (cd "$cache/kotlinc" && npm install --silent --no-audit --no-fund kotlin-compiler@2.4.20)
fi
jars=$cache/kotlin-jars
# Fetched again only when the pom's content changes (a fresh clone's timestamps say nothing).
marker=$jars/.complete-$(sha256sum scripts/kotlin/pom.xml | cut -c1-16)
if [ ! -f "$marker" ]; then
    echo "kotlin: fetching JNA, kotlinx-coroutines, JUnit and android-all from Maven Central" >&2
    rm -rf "$jars"
    mvn -q -f scripts/kotlin/pom.xml dependency:copy-dependencies -DoutputDirectory="$jars"
    touch "$marker"
fi
# The JVM classpath (android-all and coroutines-android only where Android code is compiled).
cp=$(ls "$jars"/*.jar | grep -v -e android-all -e coroutines-android | tr '\n' ':')

# The same selection as `cargo test --workspace` (tests included), so that features unify the same
# way and, after the Rust tests, nothing is built twice.
cargo build --release --quiet --workspace --lib --bins --tests
bindings=$target/kotlin/bindings
rm -rf "$bindings"
"$target/release/uniffi-bindgen" \
    generate --library "$target/release/libsalur_ffi.so" --language kotlin --no-format --out-dir "$bindings"

# Runs JUnit 4 classes on the JVM with the host library and the project's files.
run_junit() {
    local jar=$1
    shift
    java -Djna.library.path="$target/release" -Dsalur.root="$root" -Dsalur.bin="$target/release/salur" \
        -cp "$jar:$cp" org.junit.runner.JUnitCore "$@"
}

compile_kotlin() {
    local out=$1 classpath=$2
    shift 2
    "$kotlinc" -nowarn -jvm-target 17 -cp "$classpath" -d "$out" "$@" 2> >(grep -v '^warning' >&2)
}
