#!/usr/bin/env bash
# Fetch onnxruntime's Android build for the phone benchmark (ort_bench.c) and print where it is.
#
# Usage: scripts/phone/fetch-onnxruntime.sh [CACHE_DIR]
#   CACHE_DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/salur/onnxruntime-android.
# Downloads the pinned onnxruntime-android AAR from Maven Central (skipped when the file is
# already there with the pinned SHA-256), checks it, and unpacks into CACHE_DIR:
#   headers/                       the C API headers (onnxruntime_c_api.h, ...)
#   jni/arm64-v8a/libonnxruntime.so the phone library
# Then prints CACHE_DIR (its absolute path) as the only line on stdout; progress goes to stderr.
# ORT_ANDROID_URL may name a mirror of the same file; the SHA-256 is checked all the same.
set -euo pipefail

VERSION=1.23.2
SHA256=82048d1f462218adae4ba76477089ab0ba76093d84f733540066db1a8ba6b827
URL=${ORT_ANDROID_URL:-https://repo1.maven.org/maven2/com/microsoft/onnxruntime/onnxruntime-android/$VERSION/onnxruntime-android-$VERSION.aar}
DIR=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/salur/onnxruntime-android}

say() { echo "fetch-onnxruntime: $*" >&2; }
die() { say "$*"; exit 1; }

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d' ' -f1
  else die "need sha256sum or shasum"
  fi
}

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
AAR=$DIR/onnxruntime-android-$VERSION.aar

if [[ -f $AAR && $(sha256_of "$AAR") == "$SHA256" ]]; then
  say "have $AAR"
else
  say "downloading $URL"
  rm -f "$AAR" "$AAR.part"
  if command -v curl >/dev/null 2>&1; then
    curl -fL --retry 3 --silent --show-error -o "$AAR.part" "$URL"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$AAR.part" "$URL"
  else
    die "need curl or wget"
  fi
  got=$(sha256_of "$AAR.part")
  if [[ $got != "$SHA256" ]]; then
    rm -f "$AAR.part"
    die "SHA-256 mismatch for $URL: got $got, expected $SHA256"
  fi
  mv "$AAR.part" "$AAR"
fi

# Unpack once per checked AAR; a stamp holding the hash tells that this one is unpacked.
STAMP=$DIR/.unpacked
if [[ -f $STAMP && $(cat "$STAMP") == "$SHA256" && -f $DIR/headers/onnxruntime_c_api.h \
      && -f $DIR/jni/arm64-v8a/libonnxruntime.so ]]; then
  say "already unpacked"
else
  rm -rf "$DIR/headers" "$DIR/jni" "$STAMP"
  if command -v unzip >/dev/null 2>&1; then
    unzip -oq "$AAR" 'headers/*' 'jni/arm64-v8a/libonnxruntime.so' -d "$DIR"
  elif command -v python3 >/dev/null 2>&1; then
    python3 - "$AAR" "$DIR" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extractall(sys.argv[2], [n for n in z.namelist()
                               if n.startswith("headers/") or n == "jni/arm64-v8a/libonnxruntime.so"])
EOF
  else
    die "need unzip or python3"
  fi
  [[ -f $DIR/headers/onnxruntime_c_api.h && -f $DIR/jni/arm64-v8a/libonnxruntime.so ]] \
    || die "$AAR lacks headers/onnxruntime_c_api.h or jni/arm64-v8a/libonnxruntime.so"
  echo "$SHA256" > "$STAMP"
  say "unpacked onnxruntime-android $VERSION"
fi

echo "$DIR"
