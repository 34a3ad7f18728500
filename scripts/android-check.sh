#!/usr/bin/env bash
# What CI can prove of the Android app without the SDK: every Kotlin file under android/ compiles
# against the real Android framework classes (org.robolectric:android-all) with the generated
# bindings, JNA and kotlinx-coroutines; the screens' plain logic runs on the JVM against the
# real host-built core. The APK itself is built with scripts/build-android.sh and Gradle.
source "$(dirname "$0")/kotlin-env.sh"
android_all=$(ls "$jars"/android-all-*.jar)
app=android/app/src
echo "android-check: compiling android/ against $(basename "$android_all")" >&2
compile_kotlin "$target/kotlin/android-app.jar" "$android_all:$(ls "$jars"/kotlinx-coroutines-android-*.jar):$cp" \
    $(find "$bindings" -name '*.kt') $(find "$app/main/kotlin" -name '*.kt')
# The logic tests need no Android classes: compiled and run on the plain JVM.
echo "android-check: the screens' logic on the JVM" >&2
compile_kotlin "$target/kotlin/android-logic-tests.jar" "$cp" \
    $(find "$bindings" -name '*.kt') $(find "$app/main/kotlin/id/salur/app/logic" -name '*.kt') \
    $(find "$app/test/kotlin" -name '*.kt')
run_junit "$target/kotlin/android-logic-tests.jar" id.salur.app.LogicTest
