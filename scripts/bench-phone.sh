#!/usr/bin/env bash
# The face engine on a real phone, side by side with onnxruntime's Android build on the same
# models, at 1, 2 and 4 threads and with tract's half-precision SFace. Prints one table.
#
# Needs an arm64-v8a phone with USB debugging on (`adb devices` lists it), the Android NDK
# (ANDROID_NDK_HOME, r26 or newer), rustup, Python 3 (for the float32 reference models).
#
#   ANDROID_NDK_HOME=~/Android/Sdk/ndk/27.0.12077973 scripts/bench-phone.sh
#
# Not run yet: the project machine has no phone and no NDK (docs/performance.md says so).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to the Android NDK (r26 or newer)}"
command -v adb >/dev/null || { echo "adb not found: install Android platform-tools" >&2; exit 2; }
[ "$(adb get-state 2>/dev/null)" = device ] || { echo "no phone: connect one with USB debugging on" >&2; exit 2; }
threads=${SALUR_BENCH_THREADS:-1,2,4}
dev=/data/local/tmp/salur-bench
work=${CARGO_TARGET_DIR:-$PWD/target}/phone-bench
mkdir -p "$work"

echo "== the criterion benches for arm64-v8a (cargo-ndk)" >&2
rustup target add aarch64-linux-android >&2
command -v cargo-ndk >/dev/null || cargo install cargo-ndk --locked >&2
cargo ndk --platform 26 -t arm64-v8a bench -p salur-core --bench face --bench liveness --no-run \
  --message-format=json > "$work/build.json"
mapfile -t benches < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "bench" in m["target"]["kind"]:
        print(m["executable"])' "$work/build.json")
[ "${#benches[@]}" -eq 2 ] || { echo "expected the face and liveness bench binaries, got: ${benches[*]}" >&2; exit 1; }

echo "== onnxruntime's Android build and its runner (NDK clang)" >&2
ort=$(scripts/phone/fetch-onnxruntime.sh)
host=$(uname -s | tr '[:upper:]' '[:lower:]')-x86_64
"$ANDROID_NDK_HOME/toolchains/llvm/prebuilt/$host/bin/aarch64-linux-android26-clang" -O2 -std=c99 \
  -I"$ort/headers" scripts/phone/ort_bench.c -L"$ort/jni/arm64-v8a" -lonnxruntime -o "$work/ort_bench"
python3 -c 'import onnx' 2>/dev/null || pip install -q -r scripts/requirements-reference.txt
# The float32 models onnxruntime runs on the desktop too (scripts/reference_models.py folds them).
python3 - "$work" <<'PY'
import sys, pathlib, onnx
sys.path.insert(0, "scripts")
import reference_models as rm
out = pathlib.Path(sys.argv[1])
onnx.save(rm.folded(rm.SFACE), str(out / "sface_f32.onnx"))
onnx.save(rm.yunet_for_size(640), str(out / "yunet640_f32.onnx"))
onnx.save(rm.yunet_for_size(320), str(out / "yunet320_f32.onnx"))
PY

echo "== to the phone ($dev)" >&2
adb shell "rm -rf $dev && mkdir -p $dev/test-vectors" >&2
adb push models "$dev/" >&2
adb push test-vectors/faces test-vectors/liveness "$dev/test-vectors/" >&2
for b in "${benches[@]}"; do adb push "$b" "$dev/$(basename "$b" | sed 's/-[0-9a-f]*$//')" >&2; done
adb push "$work/ort_bench" "$ort/jni/arm64-v8a/libonnxruntime.so" "$work"/*_f32.onnx "$dev/" >&2

echo "== running (keep the phone on the charger, screen on, nothing else open)" >&2
run() { adb shell "cd $dev && SALUR_ROOT=$dev CRITERION_HOME=$dev/criterion SALUR_BENCH_THREADS=$threads SALUR_BENCH_F16=1 $*"; }
run ./face --bench "'face/(verify_640|detect_320|align_embed|load_models)\$|levers/'" > "$work/face.txt"
run ./liveness --bench "'doorstep/sequence|liveness/passive_per_face'" > "$work/liveness.txt"
: > "$work/ort.jsonl"
for t in ${threads//,/ }; do
  for m in "sface_f32.onnx 1,3,112,112" "yunet640_f32.onnx 1,3,640,640" "yunet320_f32.onnx 1,3,320,320"; do
    set -- $m
    adb shell "cd $dev && LD_LIBRARY_PATH=. ./ort_bench $1 $2 $t 30" >> "$work/ort.jsonl"
  done
done
model=$(adb shell getprop ro.product.model | tr -d '\r')
soc=$(adb shell getprop ro.soc.model | tr -d '\r')

MODEL="$model" SOC="$soc" WORK="$work" THREADS="$threads" python3 - <<'PY'
import json, os, pathlib, re
work = pathlib.Path(os.environ["WORK"])
# criterion prints "<id>\n   time:   [low mid high]"; the middle figure is its estimate.
est = {}
for name in ("face.txt", "liveness.txt"):
    text = (work / name).read_text()
    for m in re.finditer(r"^(\S+/\S+)\s*\n?\s+time:\s+\[\S+ \S+ (\S+) (\S+)", text, re.M):
        value, unit = float(m.group(2)), m.group(3)
        est[m.group(1)] = value * {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1, "s": 1e3}[unit]
ort = {}
for line in (work / "ort.jsonl").read_text().splitlines():
    if line.strip():
        j = json.loads(line)
        ort[(j["model"], j["threads"])] = j["median_ms"]
fmt = lambda v: "-" if v is None else f"{v:.1f}"
print(f"Phone: {os.environ['MODEL']} ({os.environ['SOC']}), arm64-v8a, the system allocator (as the app).\n")
print("| model alone (ms) | threads | salur (tract) | onnxruntime | ratio |")
print("|---|---|---|---|---|")
for t in [int(x) for x in os.environ["THREADS"].split(",")]:
    for label, ours, theirs in (("YuNet 640", f"levers/yunet_640/after_{t}t", "yunet640_f32.onnx"),
                                ("SFace", f"levers/sface/after_{t}t", "sface_f32.onnx")):
        o, r = est.get(ours), ort.get((theirs, t))
        ratio = f"{o / r:.2f}x" if o and r else "-"
        print(f"| {label} | {t} | {fmt(o)} | {fmt(r)} | {ratio} |")
print(f"| SFace, tract f16 (depthwise in f32) | 1 | {fmt(est.get('levers/sface/after_f16_1t'))} | {fmt(ort.get(('sface_f32.onnx', 1)))} | - |")
print("\n| step (ms, 1 thread) | salur (tract) |")
print("|---|---|")
for label, key in (("whole verify, 640 input", "face/verify_640"), ("YuNet 320 with shrink and NMS", "face/detect_320"),
                   ("align + SFace", "face/align_embed"), ("load both models", "face/load_models"),
                   ("passive live check per face", "liveness/passive_per_face"), ("doorstep sequence (lp_d12, 61 frames)", "doorstep/sequence")):
    print(f"| {label} | {fmt(est.get(key))} |")
PY
