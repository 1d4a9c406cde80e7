"""``stsseg export``: a trained model (a run folder, a ``.keras`` file, or a cv folder's folds) as
a deployable network plus ``stsseg.json``, everything needed to turn a source case into model
input and the output back into a mask on the case's own grid: the slice spec (channels, windows,
geometry, canvas, divisor), the spacing policy, the post-processing the model itself applies (so
that the export gives the model's masks), the class map, and the provenance (config hash,
versions, what it was exported from).

Formats: ``onnx`` (the default; Keras 3 ``model.export`` through tf2onnx, ``stsseg[export]``),
``saved_model`` (TensorFlow SavedModel) and ``litert`` (a ``.tflite`` flatbuffer). ``stsseg infer
--model DIR`` runs an ONNX export on ONNX Runtime, without TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sts_seg.config.evaluate import PostprocessConfig
from sts_seg.errors import ConfigError, ModelError
from sts_seg.io.atomic import check_writable_dir, staged_dir
from sts_seg.io.tables import write_json
from sts_seg.modelsource import ModelSource, is_cv_dir, open_model
from sts_seg.runtime import import_keras, import_tensorflow

FORMATS = ("onnx", "saved_model", "litert")
_SUFFIX = {"onnx": ".onnx", "saved_model": "", "litert": ".tflite"}
#: stsseg's format names -> Keras 3 ``Model.export`` formats
_KERAS_FORMAT = {"onnx": "onnx", "saved_model": "tf_saved_model", "litert": "litert"}


@dataclass
class ExportResult:
    """The export folder, the network files in it (one per fold model) and the card written."""

    output: Path
    files: list[str]
    card: dict[str, Any]


def _source(model: Path) -> ModelSource:
    """The Keras model(s) to export: a ``.keras`` file, a run folder or a cv folder."""
    model = Path(model)
    if model.is_dir() and not (model / "best.keras").is_file() and not is_cv_dir(model):
        raise ModelError(f"{model}: no best.keras in this folder; pass a run folder, a .keras file or a cv folder")
    source = open_model(model)
    if source.kind == "export":
        raise ModelError(f"{model}: already an export; pass the run folder, .keras file or cv folder it came from")
    if source.card is None:
        raise ModelError(
            f"{source.networks[0]}: no stsseg.json beside the model; export a model trained by 'stsseg train'"
        )
    return source


def export_card(source: ModelSource, fmt: str, names: list[str], channels: int, divisor: int,
                versions: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The export's ``stsseg.json``: the model's card, its own post-processing (what
    :func:`~sts_seg.modelsource.resolve_postprocess` gives the model itself, so the export and the
    model give the same masks), the network files and their input, and the provenance
    (``versions``: of the exporting software)."""
    card = source.card
    doc = card.to_dict()
    doc["postprocess"] = source.postprocess or PostprocessConfig().settings
    doc["network"] = {
        "format": fmt,
        "files": names,
        "ensemble": "mean of the softmax outputs" if len(names) > 1 else None,
        "input": {
            "name": "image",
            "layout": "NHWC",
            "dtype": "float32",
            "range": [0, 255],
            "channels": channels,
            "divisor": divisor,
        },
        "output": {"layout": "NHWK", "meaning": "softmax over classes", "classes": card.num_classes},
    }
    exported_from = [str(p) for p in source.networks]
    doc["provenance"] = {**card.provenance, "exported_from": exported_from, "export_versions": versions}
    return doc


def _float32(model):
    """``model`` itself if it computes in float32, else a float32 copy (ONNX export needs one)."""
    keras = import_keras()

    if all(getattr(layer, "dtype_policy", None) is None or layer.dtype_policy.name == "float32"
           for layer in model.layers):  # fmt: skip
        return model

    def strip(obj: Any) -> Any:
        if isinstance(obj, dict):
            if obj.get("class_name") in ("DTypePolicy", "FloatDTypePolicy"):
                return "float32"
            return {k: strip(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    clone = keras.Model.from_config(strip(model.get_config()))
    clone.set_weights(model.get_weights())
    return clone


def _write_network(model, fmt: str, path: Path, channels: int) -> None:
    import warnings

    tf = import_tensorflow()

    spec = [tf.TensorSpec((None, None, None, channels), tf.float32, name="image")]
    try:
        with warnings.catch_warnings():  # keras' tf2onnx shim warns about np.object
            warnings.filterwarnings("ignore", category=FutureWarning, module=r"keras\.src\.export.*")
            model.export(str(path), format=_KERAS_FORMAT[fmt], input_signature=spec, verbose=False)
    except ImportError as exc:
        raise ConfigError(
            f"exporting to {fmt} needs {exc.name or 'an extra package'}: pip install 'stsseg[export]'"
        ) from None


def export_model(*, model: Path, output: Path, fmt: str = "onnx", force: bool = False) -> ExportResult:
    """Export ``model`` (run folder, ``.keras`` or cv folder) into the folder ``output``."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is unknown; choose one of {', '.join(FORMATS)}")
    from sts_seg.infer.keras_net import load_model, pooling_divisor
    from sts_seg.train.compile import versions

    source = _source(model)
    files = source.networks
    check_writable_dir(Path(output), force, "export folder")
    names: list[str] = []
    with staged_dir(Path(output), force=force, what="export folder") as tmp:
        for i, path in enumerate(files):
            keras_model = _float32(load_model(path))
            channels, divisor = int(keras_model.input_shape[-1]), pooling_divisor(keras_model)
            name = f"model{'' if len(files) == 1 else f'_fold{i}'}{_SUFFIX[fmt]}"
            _write_network(keras_model, fmt, tmp / name, channels)
            names.append(name)
        doc = export_card(source, fmt, names, channels, divisor, versions())
        write_json(tmp / "stsseg.json", doc)
    return ExportResult(Path(output), names, doc)
