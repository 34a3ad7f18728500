#!/usr/bin/env bash
# The worker's day as pictures: every screen and state rendered to PNG by Robolectric's native
# graphics (nativeruntime-dist-compat, which Robolectric 4.16 brings from Maven Central) at
# 360x640 dp hdpi and 411x891 dp xhdpi in Bahasa Indonesia, and 360x640 in English (longer
# texts in places), against the real core, recorded
# frames and a real `salur serve`, and judged by the pixel checks (android/app/src/test/kotlin/
# id/salur/app/ui/PixelChecks.kt): it fails when a check does.
#   Writes: ${SALUR_SCREENS:-$CARGO_TARGET_DIR/screens}/{360x640,411x891,360x640-en}/*.png and checks.txt
#   (outside the clone); docs/screens.md shows the key ones, copied from there by hand.
# Cost, measured on a 2-core machine (another build running): about 3 min for the three runs
# (about 90 PNGs; the Robolectric days take 92 s for the two Indonesian sizes, 57 s for
# English) after scripts/android-check.sh has compiled the tests (it runs this script last);
# 1 min more alone (the Kotlin compile).
source "$(dirname "$0")/kotlin-env.sh"
android_all=$(ls "$jars"/android-all-*.jar)
android_cp="$android_all:$(ls "$jars"/kotlinx-coroutines-android-*.jar):$cp"
robo=$cache/robolectric-jars
if [ ! -f "$robo/.complete-$(sha256sum scripts/kotlin/robolectric-pom.xml | cut -c1-16)" ]; then
    echo "screens: Robolectric is fetched by scripts/android-check.sh; run it first" >&2
    exit 1
fi
robo_cp=$(ls "$robo"/*.jar | grep -v android-all-instrumented | tr '\n' ':')
app=android/app/src
jar=$target/kotlin/android-ui-tests.jar
# Compiled by android-check.sh a moment ago: compiled again only if a source or the core changed since.
if [ ! -f "$jar" ] || [ -n "$(find "$app" "$target/release/libsalur_ffi.so" rust-core/ffi/kotlin-tests/src -newer "$jar" -type f | head -1)" ]; then
    echo "screens: compiling the app and its tests" >&2
    compile_kotlin "$jar" "$robo_cp$android_cp" \
        $(find "$bindings" -name '*.kt') $(find "$app/main/kotlin" -name '*.kt') $(find "$app/test/kotlin/id/salur/app/ui" -name '*.kt') \
        rust-core/ffi/kotlin-tests/src/TestFrames.kt
fi
out=${SALUR_SCREENS:-$target/screens}
rm -rf "$out/360x640" "$out/411x891" "$out/360x640-en"
mkdir -p "$out"
echo "screens: rendering the worker's day into $out" >&2
java -Xmx3g -Djna.library.path="$target/release" -Dsalur.root="$root" -Dsalur.bin="$target/release/salur" \
    -Dsalur.screens="$out" ${SALUR_SMALLFS:+-Dsalur.smallfs="$SALUR_SMALLFS"} \
    -Drobolectric.offline=true -Drobolectric.dependency.dir="$robo" -Drobolectric.logging.enabled=false \
    -cp "$jar:$robo_cp$android_cp" org.junit.runner.JUnitCore \
    id.salur.app.ui.SmallScreensTest id.salur.app.ui.CommonScreensTest id.salur.app.ui.EnglishScreensTest \
    2>"$target/kotlin/screens.log" || {
    tail -n 40 "$target/kotlin/screens.log" >&2
    exit 1
}
echo "screens: $(find "$out" -name '*.png' | wc -l) PNGs in $out" >&2
