// The app: framework APIs only (no AndroidX), JNA and kotlinx-coroutines from Maven Central.
// Run scripts/build-android.sh first: it puts the native libraries in src/main/jniLibs, the
// generated bindings in build/generated/uniffi and the models in src/main/assets.
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "id.salur.app"
    compileSdk = 35
    defaultConfig {
        applicationId = "id.salur.app"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }
    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    sourceSets["main"].kotlin.srcDir("build/generated/uniffi")
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    // Native libraries stay uncompressed and page-aligned in the APK (16 KB pages).
    packaging { jniLibs { useLegacyPackaging = false } }
}

dependencies {
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    // src/test: the logic tests and the Robolectric screen tests. They need the host-built core
    // (libsalur_ffi.so on jna.library.path) and -Dsalur.root/-Dsalur.bin, which
    // scripts/android-check.sh sets; run them there.
    testImplementation("junit:junit:4.13.2")
    testImplementation("org.robolectric:robolectric:4.16")
    testImplementation("net.java.dev.jna:jna:5.17.0")
}
