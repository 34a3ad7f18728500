#!/usr/bin/env bash
# Face pipeline speed and memory, side by side in one run: tract (criterion, single thread) against
# onnxruntime and OpenCV on the same models and photo (scripts/bench-reference.py). Prints a
# markdown table for docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
python3 -c 'import cv2, onnxruntime, onnx' 2>/dev/null || pip install -q -r scripts/requirements-reference.txt
echo "== tract (criterion)" >&2
cargo bench -p salur-core --bench face >&2
echo "== onnxruntime / OpenCV" >&2
OMP_NUM_THREADS=1 python3 scripts/bench-reference.py > "$target/bench-reference.json"
cargo build --release --bin salur >&2
TARGET="$target" python3 - <<'PY'
import json, os, pathlib, resource, subprocess
target = pathlib.Path(os.environ["TARGET"])
ref = json.loads((target / "bench-reference.json").read_text())
def tract(name):
    est = json.loads((target / "criterion/face" / name / "new/estimates.json").read_text())
    return est["median"]["point_estimate"] / 1e6
faces = "test-vectors/faces"
subprocess.run([str(target / "release/salur"), "verify", f"{faces}/same/fr_biden/1.jpg", f"{faces}/single/fr_lin_manuel_miranda.jpg"],
               stdout=subprocess.DEVNULL, check=False)
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
rows = [
    ("decode JPEG 704x612", tract("decode_jpeg"), ref["decode_jpeg"]["opencv"], "OpenCV imdecode"),
    ("YuNet 320 (incl. shrink, NMS)", tract("detect_320"), ref["detect_320"]["opencv"], "OpenCV FaceDetectorYN"),
    ("YuNet 320 model only", None, ref["detect_320"]["onnxruntime_model_only"], "onnxruntime"),
    ("YuNet 640 (incl. shrink, NMS)", tract("detect_640"), ref["detect_640"]["opencv"], "OpenCV FaceDetectorYN"),
    ("YuNet 640, 640x640 frame (no shrink)", tract("detect_640_no_shrink"), ref["detect_640"]["onnxruntime_model_only"], "onnxruntime, model only"),
    ("align + SFace embed", tract("align_embed"), ref["align_embed"]["onnxruntime"], "OpenCV alignCrop + onnxruntime"),
    ("whole verify, 640 input", tract("verify_640"), ref["verify_640"]["opencv_onnxruntime"], "OpenCV + onnxruntime"),
    ("whole verify, 320 input", tract("verify_320"), None, ""),
    ("load both models", tract("load_models"), ref["load_models"]["onnxruntime"], "onnxruntime sessions (after folding)"),
]
fmt = lambda v: "-" if v is None else f"{v:.1f}"
print(f"| step (median ms, 1 thread) | salur (tract) | reference | ratio | reference is |")
print("|---|---|---|---|---|")
for name, ours, theirs, what in rows:
    ratio = f"{ours / theirs:.2f}x" if ours and theirs else "-"
    print(f"| {name} | {fmt(ours)} | {fmt(theirs)} | {ratio} | {what} |")
print(f"\nPeak memory of `salur verify` (load both models, verify one pair): {peak_mb:.0f} MB.")
print(f"Versions: {ref['versions']}; photo {ref['photo']}.")
PY
