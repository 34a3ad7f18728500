#!/usr/bin/env bash
# The passive live check's speed, side by side in one run: tract (criterion, one thread) against
# onnxruntime on the same two MiniFASNet models, photo and face box (scripts/liveness-reference.py
# --timing). Prints a markdown table for docs/liveness.md, with the CPU it ran on.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
python3 -c 'import cv2, onnxruntime' 2>/dev/null || pip install -q -r scripts/requirements-reference.txt
echo "== tract (criterion)" >&2
cargo bench -p salur-core --features bundled-models --bench liveness >&2
echo "== onnxruntime" >&2
OMP_NUM_THREADS=1 python3 scripts/liveness-reference.py --timing > "$target/liveness-reference.json"
TARGET="$target" python3 - <<'PY'
import json, os, pathlib, subprocess
target = pathlib.Path(os.environ["TARGET"])
ref = json.loads((target / "liveness-reference.json").read_text())
def tract(name):
    est = json.loads((target / "criterion/liveness" / name / "new/estimates.json").read_text())
    return est["median"]["point_estimate"] / 1e6
cpu = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if l.startswith("Model name")), "unknown CPU")
rows = [
    ("both models on ready patches", tract("models_only"), ref["v2_ms"] + ref["v1se_ms"]),
    ("passive check per face (crops + both models)", tract("passive_per_face"), ref["passive_per_face_ms"]),
]
print("| step (median ms, 1 thread) | salur (tract) | onnxruntime | ratio |")
print("|---|---|---|---|")
for name, ours, theirs in rows:
    print(f"| {name} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f}x |")
print(f"\nonnxruntime {ref['onnxruntime']}, {cpu}.")
PY
