#!/usr/bin/env bash
# Prepares android/ for Gradle on a machine with the Android SDK and NDK (not available in CI):
# builds salur-ffi for arm64-v8a, armeabi-v7a and x86_64 with cargo-ndk into jniLibs (profile
# `android`: LTO, one codegen unit, stripped, 16 KB page alignment), generates the Kotlin
# bindings, copies the models into the assets and writes the server's address and pins
# (SALUR_SERVER_URL, SALUR_SERVER_PINS). Then: cd android && gradle assembleRelease.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to an Android NDK (r27 or newer)}"
command -v cargo-ndk >/dev/null || cargo install cargo-ndk --locked
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
# Google Play requires 16 KB page alignment for native libraries of new apps (Android 15+).
export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-z,max-page-size=16384"
cargo ndk --platform 26 -t arm64-v8a -t armeabi-v7a -t x86_64 -o android/app/src/main/jniLibs \
    build --profile android -p salur-ffi --lib
# The bindings only depend on the interface, identical for every target: made from a host build.
cargo build --release -p salur-ffi --lib
rm -rf android/app/build/generated/uniffi
cargo run --release -p salur-ffi --bin uniffi-bindgen -- generate \
    --library "${CARGO_TARGET_DIR:-target}/release/libsalur_ffi.so" --language kotlin \
    --out-dir android/app/build/generated/uniffi
mkdir -p android/app/src/main/assets
cp models/*.onnx android/app/src/main/assets/
# The server this build talks to and its certificate pins (SHA-256 of the SPKI, hex, comma
# separated): fixed in the APK, so nobody can point a phone elsewhere from its screens.
: "${SALUR_SERVER_URL:?set SALUR_SERVER_URL to the disbursement API (https://...)}"
printf 'url=%s\npins=%s\n' "$SALUR_SERVER_URL" "${SALUR_SERVER_PINS:-}" >android/app/src/main/assets/provisioning.properties
for abi in arm64-v8a armeabi-v7a x86_64; do
    ls -l "android/app/src/main/jniLibs/$abi/libsalur_ffi.so"
done
echo "now: cd android && gradle assembleRelease (or open android/ in Android Studio)"
