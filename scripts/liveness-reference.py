#!/usr/bin/env python3
"""Reference numbers for the passive live-person check (MiniFASNet), with onnxruntime and OpenCV.

Never on the product path. For each photo in test-vectors/liveness/images/ it finds the face with
cv2.FaceDetectorYN (on the same letterboxed 640x640 input rust-core builds), crops it exactly as
upstream Silent-Face-Anti-Spoofing does (`generate_patches.py`: scale 2.7 and 4.0 around the box,
shifted back inside the image, cv2.resize to 80x80 bilinear, BGR, raw 0..255 floats, NCHW), runs both
models in onnxruntime and writes logits, softmax and the fused P(real) (mean of the two models'
P(real), as upstream's Android app) to test-vectors/liveness/reference.json. The 80x80 crops go to
test-vectors/liveness/crops/ as PNG so rust-core can check tract against onnxruntime on identical input.

    pip install -r scripts/requirements-reference.txt
    python3 scripts/liveness-reference.py            # reference.json + crops
    python3 scripts/liveness-reference.py --timing   # onnxruntime, one thread, median per model and per face
    python3 scripts/liveness-reference.py --survey   # fused score and turn measure of every motion frame
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import reference_models as rm  # noqa: E402

SIZE, SCORE, NMS = 640, 0.75, 0.3
LIVE = rm.ROOT / "test-vectors" / "liveness"
IMAGES = LIVE / "images"
CROPS = LIVE / "crops"
OUT = LIVE / "reference.json"
V2 = rm.MODELS / "2.7_80x80_MiniFASNetV2.onnx"
V1SE = rm.MODELS / "4_0_0_80x80_MiniFASNetV1SE.onnx"
MODELS = [("v2", V2, 2.7), ("v1se", V1SE, 4.0)]


def session(path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def detect(detector, bgr):
    """rust-core's main face (largest among those within 0.1 of the best score), or None."""
    canvas, sx, sy = rm.letterbox(bgr, SIZE)
    _, found = detector.detect(canvas)
    faces = []
    for f in found if found is not None else []:
        box = [float(f[0] / sx), float(f[1] / sy), float(f[2] / sx), float(f[3] / sy)]
        lm = [[float(f[4 + 2 * i] / sx), float(f[5 + 2 * i] / sy)] for i in range(5)]
        faces.append({"box": box, "score": float(f[14]), "landmarks": lm})
    if not faces:
        return None, 0
    best = max(f["score"] for f in faces)
    return max((f for f in faces if f["score"] >= best - 0.1), key=lambda f: f["box"][2] * f["box"][3]), len(faces)


def new_box(src_w, src_h, box, scale):
    """Upstream `CropImage._get_new_box`: the scaled box, shifted (not clipped) back inside the image."""
    x, y, bw, bh = box
    scale = min((src_h - 1) / bh, min((src_w - 1) / bw, scale))
    nw, nh = bw * scale, bh * scale
    cx, cy = bw / 2 + x, bh / 2 + y
    l, t, r, b = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if l < 0:
        r -= l
        l = 0
    if t < 0:
        b -= t
        t = 0
    if r > src_w - 1:
        l -= r - src_w + 1
        r = src_w - 1
    if b > src_h - 1:
        t -= b - src_h + 1
        b = src_h - 1
    return int(l), int(t), int(r), int(b)


def crop(bgr, box, scale):
    h, w = bgr.shape[:2]
    l, t, r, b = new_box(w, h, box, scale)
    return cv2.resize(bgr[t : b + 1, l : r + 1], (80, 80))


def blob(patch):
    return patch.astype(np.float32).transpose(2, 0, 1)[None]


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def turn(lm):
    """(nose - eye midpoint) along the eye line, in inter-eye distances (rust-core's turn measure)."""
    re, le, nose = (np.array(p) for p in lm[:3])
    eye, mid = le - re, (le + re) / 2
    return float(np.dot(nose - mid, eye) / max(np.dot(eye, eye), 1e-12))


def score(sessions, bgr, box):
    out = {}
    for (name, _, scale), sess in zip(MODELS, sessions):
        patch = crop(bgr, box, scale)
        logits = sess.run(None, {"input": blob(patch)})[0].reshape(-1)
        out[name] = {"logits": [float(v) for v in logits], "p_real": float(softmax(logits)[1]), "patch": patch}
    out["fused"] = (out["v2"]["p_real"] + out["v1se"]["p_real"]) / 2
    return out


def reference(detector, sessions):
    CROPS.mkdir(parents=True, exist_ok=True)
    images = {}
    for path in sorted(IMAGES.iterdir()):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # applies EXIF orientation
        face, n = detect(detector, bgr)
        if face is None:
            sys.exit(f"{path.name}: no face")
        s = score(sessions, bgr, face["box"])
        entry = {"width": bgr.shape[1], "height": bgr.shape[0], "faces": n, "face": face, "turn": turn(face["landmarks"])}
        for name, _, scale in MODELS:
            png = f"{path.stem}_{name}.png"
            cv2.imwrite(str(CROPS / png), s[name]["patch"])
            entry[name] = {
                "crop_box": new_box(bgr.shape[1], bgr.shape[0], face["box"], scale),
                "crop": png,
                "logits": [round(v, 6) for v in s[name]["logits"]],
                "p_real": round(s[name]["p_real"], 6),
            }
        entry["fused"] = round(s["fused"], 6)
        images[path.name] = entry
        print(f"{path.name}: fused P(real) {s['fused']:.4f} (v2 {s['v2']['p_real']:.4f}, v1se {s['v1se']['p_real']:.4f})")
    import onnxruntime

    doc = {
        "generator": "scripts/liveness-reference.py",
        "onnxruntime": onnxruntime.__version__,
        "opencv": cv2.__version__,
        "detector": {"size": SIZE, "score": SCORE, "nms": NMS},
        "images": images,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(rm.ROOT)}")


def survey(detector, sessions):
    for clip in sorted((LIVE / "motion").iterdir()):
        for path in sorted(clip.glob("*.jpg")):
            bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
            face, n = detect(detector, bgr)
            if face is None:
                print(f"{clip.name}/{path.name} noface")
                continue
            s = score(sessions, bgr, face["box"])
            print(
                f"{clip.name}/{path.name} faces={n} w={face['box'][2]:.0f} turn={turn(face['landmarks']):+.3f} "
                f"fused={s['fused']:.3f} v2={s['v2']['p_real']:.3f} v1se={s['v1se']['p_real']:.3f}"
            )


def timing(detector, sessions, runs=300):
    bgr = cv2.imread(str(IMAGES / "sfas_image_T1.jpg"), cv2.IMREAD_COLOR)
    face, _ = detect(detector, bgr)
    cv2.setNumThreads(1)
    patches = [crop(bgr, face["box"], scale) for _, _, scale in MODELS]

    def median_ms(fn):
        for _ in range(20):
            fn()
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t) * 1000)
        return statistics.median(samples)

    res = {
        "v2_ms": median_ms(lambda: sessions[0].run(None, {"input": blob(patches[0])})),
        "v1se_ms": median_ms(lambda: sessions[1].run(None, {"input": blob(patches[1])})),
        "passive_per_face_ms": median_ms(lambda: score(sessions, bgr, face["box"])),
    }
    import onnxruntime

    print(json.dumps({"onnxruntime": onnxruntime.__version__, "threads": 1, "cpu": platform.processor() or platform.machine(), **{k: round(v, 3) for k, v in res.items()}}, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timing", action="store_true")
    ap.add_argument("--survey", action="store_true")
    args = ap.parse_args()
    detector = cv2.FaceDetectorYN.create(str(rm.YUNET), "", (SIZE, SIZE), SCORE, NMS, 5000)
    sessions = [session(p) for _, p, _ in MODELS]
    if args.timing:
        timing(detector, sessions)
    elif args.survey:
        survey(detector, sessions)
    else:
        reference(detector, sessions)


if __name__ == "__main__":
    main()
