#!/usr/bin/env bash
# What CI can prove of the Android app without the SDK: every Kotlin file under android/ compiles
# against the real Android framework classes (org.robolectric:android-all) with the generated
# bindings, JNA and kotlinx-coroutines; the screens' plain logic runs on the JVM against the real
# host-built core; and the real Activities run under Robolectric against the real core, models,
# recorded frames of real people, a real SQLite file and a real `salur serve` on loopback.
# The APK itself is built with scripts/build-android.sh and Gradle.
source "$(dirname "$0")/kotlin-env.sh"
android_all=$(ls "$jars"/android-all-*.jar)
app=android/app/src
# The test helpers the FFI tests use too (software signer, photos as camera frames).
shared=rust-core/ffi/kotlin-tests/src/TestFrames.kt
echo "android-check: compiling android/ against $(basename "$android_all")" >&2
android_cp="$android_all:$(ls "$jars"/kotlinx-coroutines-android-*.jar):$cp"
compile_kotlin "$target/kotlin/android-app.jar" "$android_cp" \
    $(find "$bindings" -name '*.kt') $(find "$app/main/kotlin" -name '*.kt')
# The logic tests need no Android classes: compiled and run on the plain JVM.
echo "android-check: the screens' logic on the JVM" >&2
compile_kotlin "$target/kotlin/android-logic-tests.jar" "$cp" \
    $(find "$bindings" -name '*.kt') $(find "$app/main/kotlin/id/salur/app/logic" "$app/main/kotlin/id/salur/app/lock" -name '*.kt') \
    $(find "$app/test/kotlin/id/salur/app" -maxdepth 1 -name '*.kt') "$shared"
run_junit "$target/kotlin/android-logic-tests.jar" id.salur.app.LogicTest

# Robolectric, offline: its instrumented framework jar comes from Maven Central with the rest.
robo=$cache/robolectric-jars
robo_marker=$robo/.complete-$(sha256sum scripts/kotlin/robolectric-pom.xml | cut -c1-16)
if [ ! -f "$robo_marker" ]; then
    echo "android-check: fetching Robolectric 4.16 and android-all-instrumented from Maven Central" >&2
    rm -rf "$robo"
    mvn -q -f scripts/kotlin/robolectric-pom.xml dependency:copy-dependencies -DoutputDirectory="$robo"
    # androidx.test's monitor and idling resource come as AARs: their classes.jar is what the JVM needs.
    for aar in "$robo"/*.aar; do unzip -q -o -p "$aar" classes.jar >"${aar%.aar}.jar"; done
    touch "$robo_marker"
fi
robo_cp=$(ls "$robo"/*.jar | grep -v android-all-instrumented | tr '\n' ':')
echo "android-check: the app's screens under Robolectric" >&2
compile_kotlin "$target/kotlin/android-ui-tests.jar" "$robo_cp$android_cp" \
    $(find "$bindings" -name '*.kt') $(find "$app/main/kotlin" -name '*.kt') $(find "$app/test/kotlin/id/salur/app/ui" -name '*.kt') "$shared"
# The disk-full test needs a file system it can fill: a small tmpfs when this machine allows one.
small=$(mktemp -d)
if mount -t tmpfs -o size=4m tmpfs "$small" 2>/dev/null; then
    trap 'umount "$small" 2>/dev/null; rmdir "$small"' EXIT
else
    echo "android-check: cannot mount a tmpfs here; the disk-full test will say so" >&2
    rmdir "$small"; small=""
fi
java -Xmx3g -Djna.library.path="$target/release" -Dsalur.root="$root" -Dsalur.bin="$target/release/salur" \
    ${small:+-Dsalur.smallfs="$small"} \
    -Drobolectric.offline=true -Drobolectric.dependency.dir="$robo" -Drobolectric.logging.enabled=false \
    -cp "$target/kotlin/android-ui-tests.jar:$robo_cp$android_cp" org.junit.runner.JUnitCore id.salur.app.ui.AppDayTest id.salur.app.ui.LockedUploadTest \
    2>"$target/kotlin/robolectric.log" || {
    # The framework's own warnings go to the log; shown when a test failed.
    tail -n 80 "$target/kotlin/robolectric.log" >&2
    exit 1
}
# Every screen as pictures, and the pixel checks on them (about 3 min; see the script); the
# full-disk picture on the same small file system.
SALUR_SMALLFS="$small" "$root/scripts/screens.sh"
