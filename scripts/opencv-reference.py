#!/usr/bin/env python3
"""Writes OpenCV's own outputs for the test photos to test-vectors/opencv-reference.json.

For each photo: cv2.FaceDetectorYN boxes, scores and landmarks (run on the same letterboxed
640x640 input that rust-core builds, score threshold 0.75, NMS 0.3) and, for the largest face, the
SFace embedding of cv2.FaceRecognizerSF.alignCrop's crop of the main face (RGB, as FaceRecognizerSF.feature feeds
it) computed by onnxruntime, since OpenCV 5 cannot run this SFace file itself.

    pip install -r scripts/requirements-reference.txt
    python3 scripts/opencv-reference.py
"""
from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import onnxruntime

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import reference_models as rm  # noqa: E402

SIZE, SCORE, NMS = 640, 0.75, 0.3
FACES = rm.ROOT / "test-vectors" / "faces"
OUT = rm.ROOT / "test-vectors" / "opencv-reference.json"


def main() -> None:
    detector = cv2.FaceDetectorYN.create(str(rm.YUNET), "", (SIZE, SIZE), SCORE, NMS, 5000)
    # alignCrop needs an instance; OpenCV 5 loads this SFace file lazily enough to create one.
    try:
        aligner = cv2.FaceRecognizerSF.create(str(rm.SFACE), "")
    except cv2.error as e:
        sys.exit(f"OpenCV cannot create FaceRecognizerSF: {e}")
    sface = rm.ort_session(rm.folded(rm.SFACE))
    images = {}
    paths = sorted(p for p in FACES.rglob("*.jpg"))
    for n, path in enumerate(paths, 1):
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        canvas, sx, sy = rm.letterbox(bgr, SIZE)
        _, found = detector.detect(canvas)
        faces = []
        for f in (found if found is not None else []):
            x, y, w, h = f[0] / sx, f[1] / sy, f[2] / sx, f[3] / sy
            lm = [[float(f[4 + 2 * i] / sx), float(f[5 + 2 * i] / sy)] for i in range(5)]
            faces.append({"box": [float(x), float(y), float(w), float(h)], "score": float(f[14]), "landmarks": lm})
        entry = {"width": bgr.shape[1], "height": bgr.shape[0], "faces": faces}
        if faces:
            # rust-core's main face: the largest among those scoring within 0.1 of the best.
            best = max(f["score"] for f in faces)
            big = max((f for f in faces if f["score"] >= best - 0.1), key=lambda f: f["box"][2] * f["box"][3])
            entry["main_face"] = faces.index(big)
            row = np.array(big["box"] + [c for p in big["landmarks"] for c in p] + [big["score"]], np.float32)
            crop = aligner.alignCrop(bgr, row)
            blob = cv2.dnn.blobFromImage(crop, 1.0, (112, 112), (0, 0, 0), swapRB=True, crop=False)
            emb = sface.run(None, {"data": blob})[0].reshape(-1)
            emb /= np.linalg.norm(emb)
            entry["embedding"] = [round(float(v), 6) for v in emb]
        images[str(path.relative_to(FACES))] = entry
        print(f"\r{n}/{len(paths)} photos", end="", file=sys.stderr)
    print(file=sys.stderr)
    doc = {
        "generator": "scripts/opencv-reference.py",
        "opencv": cv2.__version__,
        "onnxruntime": onnxruntime.__version__,
        "detector_size": SIZE,
        "score_threshold": SCORE,
        "nms_threshold": NMS,
        "letterbox": "shrink to fit (never enlarge) with INTER_AREA, pad right and bottom with black",
        "images": images,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(rm.ROOT)}: {len(images)} photos", file=sys.stderr)


if __name__ == "__main__":
    main()
