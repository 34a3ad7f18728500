#!/usr/bin/env python3
"""Times the reference runtimes on the same models and photo as `cargo bench --bench face`.

Single thread: onnxruntime (intra-op 1) on the float32-folded models, OpenCV 5 DNN (setNumThreads 1)
running YuNet's int8 file through cv2.FaceDetectorYN, and the whole OpenCV + onnxruntime verify
pipeline. Prints one JSON object of medians in milliseconds. Reference numbers only: Python is never
on the product path.

    pip install -r scripts/requirements-reference.txt
    python3 scripts/bench-reference.py [--runs 40]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import reference_models as rm  # noqa: E402

PHOTO = rm.ROOT / "test-vectors/faces/single/fr_lin_manuel_miranda.jpg"
REFERENCE = rm.ROOT / "test-vectors/faces/same/fr_biden/1.jpg"


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="only the whole verify and the doorstep sequence")
    args = ap.parse_args()
    runs, threads = args.runs, args.threads
    cv2.setNumThreads(threads)
    if args.quick:
        print(json.dumps(quick(runs, threads)))
        return
    data = PHOTO.read_bytes()
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    out = {"decode_jpeg": {"opencv": median_ms(lambda: cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), runs)}}

    def load():
        return rm.ort_session(rm.yunet_for_size(640)), rm.ort_session(rm.folded(rm.SFACE))

    out["load_models"] = {"onnxruntime": median_ms(load, max(5, runs // 8))}
    sface = rm.ort_session(rm.folded(rm.SFACE))
    aligner = cv2.FaceRecognizerSF.create(str(rm.SFACE), "")
    for size in (320, 640):
        canvas, _, _ = rm.letterbox(bgr, size)
        yunet = rm.ort_session(rm.yunet_for_size(size))
        blob = cv2.dnn.blobFromImage(canvas)
        detector = cv2.FaceDetectorYN.create(str(rm.YUNET), "", (size, size), 0.75, 0.3, 5000)
        out[f"detect_{size}"] = {
            "onnxruntime_model_only": median_ms(lambda: yunet.run(None, {"input": blob}), runs),
            "opencv": median_ms(lambda: detector.detect(rm.letterbox(bgr, size)[0]), runs),
        }
    detector = cv2.FaceDetectorYN.create(str(rm.YUNET), "", (640, 640), 0.75, 0.3, 5000)

    def embed(img):
        canvas, sx, sy = rm.letterbox(img, 640)
        faces = detector.detect(canvas)[1]
        f = faces[0].copy()
        f[0:14:2] /= sx
        f[1:14:2] /= sy
        crop = aligner.alignCrop(img, f)
        e = sface.run(None, {"data": cv2.dnn.blobFromImage(crop, 1.0, (112, 112), (0, 0, 0), swapRB=True)})[0].ravel()
        return e / np.linalg.norm(e), f

    _, face = embed(bgr)
    crop = aligner.alignCrop(bgr, face)
    out["align_embed"] = {
        "onnxruntime": median_ms(
            lambda: sface.run(
                None, {"data": cv2.dnn.blobFromImage(aligner.alignCrop(bgr, face), 1.0, (112, 112), (0, 0, 0), swapRB=True)}
            ),
            runs,
        )
    }
    del crop
    ref, _ = embed(cv2.imread(str(REFERENCE)))
    out["verify_640"] = {
        "opencv_onnxruntime": median_ms(
            lambda: float(ref @ embed(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))[0]), runs
        )
    }
    import onnxruntime

    out["versions"] = {"opencv": cv2.__version__, "onnxruntime": onnxruntime.__version__}
    out["photo"] = f"{PHOTO.relative_to(rm.ROOT)} ({bgr.shape[1]}x{bgr.shape[0]})"
    print(json.dumps(out))


def clip(name: str) -> list[np.ndarray]:
    d = rm.ROOT / "test-vectors/liveness/motion" / name
    return [cv2.imread(str(p)) for p in sorted(d.glob("*.jpg"))]


def _liveness_reference():
    """scripts/liveness-reference.py as a module (its name has a dash): the passive models' crops and scoring."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("liveness_reference", rm.ROOT / "scripts/liveness-reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def quick(runs: int, threads: int) -> dict:
    """The two summary figures: a whole verify of one photo pair, and a doorstep sequence done
    the way OpenCV's samples do it (FaceDetectorYN on every whole frame, then alignCrop and SFace
    on its face), at the same detector inputs as the engine (640 for the photo, 320 for frames)."""
    sface = rm.ort_session(rm.folded(rm.SFACE), threads)
    aligner = cv2.FaceRecognizerSF.create(str(rm.SFACE), "")
    detectors = {size: cv2.FaceDetectorYN.create(str(rm.YUNET), "", (size, size), 0.75, 0.3, 5000) for size in (320, 640)}

    def embed(img, size):
        canvas, sx, sy = rm.letterbox(img, size)
        faces = detectors[size].detect(canvas)[1]
        if faces is None:
            return None
        f = faces[0].copy()
        f[0:14:2] /= sx
        f[1:14:2] /= sy
        crop = aligner.alignCrop(img, f)
        e = sface.run(None, {"data": cv2.dnn.blobFromImage(crop, 1.0, (112, 112), (0, 0, 0), swapRB=True)})[0].ravel()
        return e / np.linalg.norm(e)

    data = PHOTO.read_bytes()
    ref = embed(cv2.imread(str(REFERENCE)), 640)
    frames = clip("lp_d12")
    first = embed(frames[0], 320)

    def sequence():
        return [float(first @ e) for e in (embed(f, 320) for f in frames) if e is not None]

    # The careful reference (issue 35 item 5): what a careful implementation of the same check does,
    # not an embedding per frame. On the frames the core's check used on this clip (x86-64's
    # reference in test-vectors/arm64/liveness.json, checked by every test run): FaceDetectorYN on
    # every frame, the two passive models (onnxruntime) on the frontal frames the core would score
    # (|turn| <= 0.25, at most 24), and one alignCrop + SFace embedding, of the last frontal frame.
    lr = _liveness_reference()
    passive = [rm.ort_session(__import__("onnx").load(str(path)), threads) for _, path, _ in lr.MODELS]
    used = json.loads((rm.ROOT / "test-vectors/arm64/liveness.json").read_text())["clips"]["lp_d12"]["frames"]

    def careful():
        scores, steady = [], None
        for f in frames[:used]:
            canvas, sx, sy = rm.letterbox(f, 320)
            found = detectors[320].detect(canvas)[1]
            if found is None:
                continue
            face = found[0].copy()
            face[0:14:2] /= sx
            face[1:14:2] /= sy
            if abs(lr.turn(face[4:10].reshape(3, 2).tolist())) <= 0.25 and len(scores) < 24:
                scores.append(lr.score(passive, f, [float(v) for v in face[:4]])["fused"])
                steady = (f, face)
        crop = aligner.alignCrop(*steady)
        e = sface.run(None, {"data": cv2.dnn.blobFromImage(crop, 1.0, (112, 112), (0, 0, 0), swapRB=True)})[0].ravel()
        return float(ref @ (e / np.linalg.norm(e))), scores

    import onnxruntime

    return {
        "threads": threads,
        "verify_640": median_ms(lambda: float(ref @ embed(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), 640)), runs),
        "doorstep_sequence": median_ms(sequence, max(3, runs // 8)),
        "frames": len(frames),
        "doorstep_careful": median_ms(careful, max(3, runs // 8)),
        "careful_frames": used,
        "careful_passive": len(careful()[1]),
        "versions": {"opencv": cv2.__version__, "onnxruntime": onnxruntime.__version__},
    }


if __name__ == "__main__":
    main()
