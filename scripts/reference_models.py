"""Reference runtimes for the two face models: OpenCV's FaceDetectorYN and onnxruntime.

Used only by scripts that produce numbers to compare against (never by the product).
`folded()` turns the shipped int8 block-quantized files into float32 models, as rust-core does at
load time, because onnxruntime refuses YuNet's block-quantized bias and SFace's dangling inputs.
"""
from __future__ import annotations

import pathlib

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = pathlib.Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
YUNET = MODELS / "face_detection_yunet_2023mar_int8bq.onnx"
SFACE = MODELS / "face_recognition_sface_2021dec_int8bq.onnx"


def _dequantize(x: np.ndarray, scale: np.ndarray, zero: np.ndarray, axis: int, block: int) -> np.ndarray:
    x = x.astype(np.float32)
    if scale.size == 1:
        return (x - zero.astype(np.float32).reshape(())) * scale.reshape(())
    if block:
        scale = np.repeat(scale, block, axis=axis).take(range(x.shape[axis]), axis=axis)
        zero = np.repeat(zero, block, axis=axis).take(range(x.shape[axis]), axis=axis)
        return (x - zero.astype(np.float32)) * scale
    shape = [1] * x.ndim
    shape[axis] = -1
    return (x - zero.astype(np.float32).reshape(shape)) * scale.reshape(shape)


def folded(path: pathlib.Path) -> onnx.ModelProto:
    """The model with every constant DequantizeLinear folded to float32 and unused inputs dropped."""
    model = onnx.load(str(path))
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    keep = []
    for node in g.node:
        if node.op_type == "DequantizeLinear" and all(i in inits for i in node.input):
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            x, scale = inits[node.input[0]], inits[node.input[1]]
            zero = inits[node.input[2]] if len(node.input) > 2 else np.zeros_like(scale)
            axis = attrs.get("axis", 1) % x.ndim
            inits[node.output[0]] = _dequantize(x, scale, zero, axis, attrs.get("block_size", 0))
        else:
            keep.append(node)
    read = {i for n in keep for i in n.input}
    del g.node[:]
    g.node.extend(keep)
    del g.initializer[:]
    g.initializer.extend(numpy_helper.from_array(v, k) for k, v in inits.items() if k in read)
    names = {t.name for t in g.initializer}
    inputs = [i for i in g.input if i.name in read and i.name not in names]
    del g.input[:]
    g.input.extend(inputs)
    del g.value_info[:]
    return model


def ort_session(model: onnx.ModelProto, threads: int = 1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def yunet_for_size(size: int) -> onnx.ModelProto:
    """Folded YuNet with its input declared size x size (the file says 640)."""
    model = folded(YUNET)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = size
    dims[3].dim_value = size
    for out in model.graph.output:
        out.type.tensor_type.ClearField("shape")
    return model


def letterbox(bgr: np.ndarray, size: int) -> tuple[np.ndarray, float, float]:
    """What rust-core does: shrink (never enlarge) so the longer side fits, pad right/bottom black."""
    import cv2

    h, w = bgr.shape[:2]
    scale = min(1.0, size / max(w, h))
    rw, rh = (min(size, max(1, int(side * scale + 0.5))) for side in (w, h))
    resized = bgr if (rw, rh) == (w, h) else cv2.resize(bgr, (rw, rh), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((size, size, 3), np.uint8)
    canvas[:rh, :rw] = resized
    return canvas, rw / w, rh / h
