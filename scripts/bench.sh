#!/usr/bin/env bash
# Face pipeline speed and memory, side by side in one run: tract (criterion) against onnxruntime and
# OpenCV on the same models, photo and frames (scripts/bench-reference.py). Prints markdown tables
# for docs/performance.md, with the CPU it ran on.
#
#   scripts/bench.sh           every table: the pipeline, the speed levers before/after, the
#                              allocator, 1 and 2 threads, the doorstep sequence (about 12 min here)
#   scripts/bench.sh --quick   the summary lines only (whole verify; the doorstep sequence against the
#                              careful reference and the one embedding every frame)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
target=$CARGO_TARGET_DIR
quick=false
[ "${1:-}" = "--quick" ] && quick=true
python3 -c 'import cv2, onnxruntime, onnx' 2>/dev/null || pip install -q -r scripts/requirements-reference.txt
# --workspace: the same features as the test build, so nothing but the bench targets is rebuilt.
bench() { cargo bench --workspace "$@" >&2; }

if $quick; then
  echo "== tract (criterion): whole verify, doorstep sequence" >&2
  bench --bench face -- 'face/verify_640$' --save-baseline quick
  bench --bench liveness -- 'doorstep/sequence' --save-baseline quick
  echo "== onnxruntime / OpenCV" >&2
  OMP_NUM_THREADS=1 python3 scripts/bench-reference.py --quick --runs 20 > "$target/bench-reference-quick.json"
else
  echo "== tract (criterion)" >&2
  bench --bench face -- --save-baseline quick
  bench --bench liveness -- 'doorstep/' --save-baseline quick
  echo "== tract (criterion) on mimalloc instead of the system allocator (rebuilds salur-core)" >&2
  cargo bench -p salur-core --features mimalloc --bench face -- 'face/verify_640$' --save-baseline mimalloc >&2
  echo "== onnxruntime / OpenCV, 1 and 2 threads" >&2
  OMP_NUM_THREADS=1 python3 scripts/bench-reference.py > "$target/bench-reference.json"
  OMP_NUM_THREADS=1 python3 scripts/bench-reference.py --quick --runs 20 > "$target/bench-reference-quick.json"
  OMP_NUM_THREADS=2 python3 scripts/bench-reference.py --quick --runs 20 --threads 2 > "$target/bench-reference-quick-2t.json"
  cargo build --release --workspace --bin salur >&2
fi
QUICK=$quick TARGET="$target" python3 - <<'PY'
import json, os, pathlib, resource, subprocess
target = pathlib.Path(os.environ["TARGET"])
quick = os.environ["QUICK"] == "true"
crit = target / "criterion"
def est(group, name, baseline="quick"):
    p = crit / group / name / baseline / "estimates.json"
    return json.loads(p.read_text())["median"]["point_estimate"] / 1e6 if p.exists() else None
cpu = next((l.split(":", 1)[1].strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if l.startswith("Model name")), "unknown CPU")
q = json.loads((target / "bench-reference-quick.json").read_text())
def line(what, ours, theirs):
    print(f"{what}: salur {ours:.1f} ms, reference {theirs:.1f} ms, ratio {ours / theirs:.2f}")
line("whole verify", est("face", "verify_640"), q["verify_640"])
line("doorstep sequence, careful reference", est("doorstep", "sequence"), q["doorstep_careful"])
line("doorstep sequence, per-frame embedding", est("doorstep", "sequence"), q["doorstep_sequence"])
print(f"(single thread, {cpu}; photo pair at the 640 detector input; doorstep sequence: lp_d12 at 320 until the live"
      f" check passes ({q['careful_frames']} frames); careful reference: FaceDetectorYN on those frames, the passive"
      f" models on {q['careful_passive']} frontal ones, one SFace embedding; per-frame: FaceDetectorYN and SFace on all {q['frames']})")
if quick:
    raise SystemExit
ref = json.loads((target / "bench-reference.json").read_text())
q2 = json.loads((target / "bench-reference-quick-2t.json").read_text())
faces = "test-vectors/faces"
subprocess.run([str(target / "release/salur"), "verify", f"{faces}/same/fr_biden/1.jpg", f"{faces}/single/fr_lin_manuel_miranda.jpg"],
               stdout=subprocess.DEVNULL, check=False)
peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
tract = lambda name: est("face", name)
rows = [
    ("decode JPEG 704x612", tract("decode_jpeg"), ref["decode_jpeg"]["opencv"], "OpenCV imdecode"),
    ("YuNet 320 (incl. shrink, NMS)", tract("detect_320"), ref["detect_320"]["opencv"], "OpenCV FaceDetectorYN"),
    ("YuNet 320 model only", None, ref["detect_320"]["onnxruntime_model_only"], "onnxruntime"),
    ("YuNet 640 (incl. shrink, NMS)", tract("detect_640"), ref["detect_640"]["opencv"], "OpenCV FaceDetectorYN"),
    ("YuNet 640, 640x640 frame (no shrink)", tract("detect_640_no_shrink"), ref["detect_640"]["onnxruntime_model_only"], "onnxruntime, model only"),
    ("align + SFace embed", tract("align_embed"), ref["align_embed"]["onnxruntime"], "OpenCV alignCrop + onnxruntime"),
    ("whole verify, 640 input", tract("verify_640"), ref["verify_640"]["opencv_onnxruntime"], "OpenCV + onnxruntime"),
    ("whole verify, 320 input", tract("verify_320"), None, ""),
    ("whole verify, 640 input, 2 threads", est("levers", "verify_640_2t"), q2["verify_640"], "OpenCV + onnxruntime, 2 threads"),
    (f"doorstep sequence (lp_d12, 320 input, {q['careful_frames']} frames to pass)", est("doorstep", "sequence"), q["doorstep_careful"],
     f"careful: FaceDetectorYN per frame, passive models on {q['careful_passive']} frontal frames, one SFace"),
    ("doorstep sequence, against an embedding per frame", est("doorstep", "sequence"), q["doorstep_sequence"],
     f"FaceDetectorYN + SFace on all {q['frames']} frames, no passive models"),
    ("YuNet 320, 1280x720 frame, whole", est("doorstep", "wide_whole_frame"), None, ""),
    ("YuNet 192 tracker, region around the last face", est("doorstep", "wide_followed"), None, ""),
    ("load both models", tract("load_models"), ref["load_models"]["onnxruntime"], "onnxruntime sessions (after folding)"),
]
fmt = lambda v: "-" if v is None else f"{v:.1f}"
print("\n| step (median ms, 1 thread unless said) | salur (tract) | reference | ratio | reference is |")
print("|---|---|---|---|---|")
for name, ours, theirs, what in rows:
    ratio = f"{ours / theirs:.2f}x" if ours and theirs else "-"
    print(f"| {name} | {fmt(ours)} | {fmt(theirs)} | {ratio} | {what} |")
print("\n| lever (median ms, models alone) | YuNet 640 | SFace |")
print("|---|---|---|")
for name, what in [("before_1t", "before (pools as in the file, PRelu as Relu + a*Min)"), ("maxpool_1t", "2x2 MaxPool split in two"),
                   ("prelu_chain_1t", "PRelu as x + (a-1)*Min"), ("after_1t", "both"), ("after_2t", "both, 2 threads")]:
    print(f"| {what} | {fmt(est('levers', f'yunet_640_{name}'))} | {fmt(est('levers', f'sface_{name}'))} |")
faults = {a: json.loads((crit / "face" / f"faults-{a}.json").read_text())["minor_faults_per_verify"]
          for a in ("system", "mimalloc") if (crit / "face" / f"faults-{a}.json").exists()}
print("\n| allocator | whole verify, 640 (median ms) | minor page faults per verify |")
print("|---|---|---|")
for a, baseline in (("system", "quick"), ("mimalloc", "mimalloc")):
    print(f"| {a} | {fmt(est('face', 'verify_640', baseline))} | {faults.get(a, float('nan')):.0f} |")
print(f"\nPeak memory of `salur verify` (load both models, verify one pair): {peak_mb:.0f} MB.")
print(f"Versions: {ref['versions']}; photo {ref['photo']}; {cpu}.")
PY
