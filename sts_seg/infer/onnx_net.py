"""An exported ONNX network as a :class:`~sts_seg.infer.predictor.Network`, on ONNX Runtime:
no TensorFlow in the process. The graph takes ``(N, H, W, C)`` float32 in 0..255 (the scaling is
inside it) with dynamic N, H and W, and returns the softmax ``(N, H, W, K)``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sts_seg.errors import ModelError
from sts_seg.runtime import require


def _ort():
    require("onnxruntime", "an ONNX export")
    import onnxruntime as ort

    return ort


class OnnxNetwork:
    """``probabilities(batch)`` of one ``.onnx`` file; ``threads`` caps ORT's intra-op pool
    (default: ``STSSEG_ORT_THREADS``, else ONNX Runtime's own choice, all cores)."""

    def __init__(self, path: Path, channels: int, divisor: int, threads: int | None = None) -> None:
        ort = _ort()
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"{path}: ONNX file not found; re-run 'stsseg export'")
        opts = ort.SessionOptions()
        threads = threads or int(os.environ.get("STSSEG_ORT_THREADS", "0") or 0)
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(
                f"{path}: ONNX Runtime cannot load it ({exc.__class__.__name__}); re-run 'stsseg export'"
            ) from None
        self.input = self.session.get_inputs()[0].name
        self.channels = channels
        self.divisor = divisor

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """``(N, H, W, C)`` float32 in 0..255 -> ``(N, H, W, K)`` float32 softmax."""
        out = self.session.run(None, {self.input: np.ascontiguousarray(batch, dtype=np.float32)})[0]
        return np.asarray(out, dtype=np.float32)
