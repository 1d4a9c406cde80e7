"""The README's configuration reference, generated from the models (``make docs`` or
``python -m sts_seg.config.reference``): one table of keys and one of augmentation ops."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from sts_seg.augment.ops import OP_TYPES
from sts_seg.config.root import Config


def _type(ann: object) -> str:
    text = str(ann).replace("typing.", "").replace("pathlib.", "")
    for prefix in ("sts_seg.config.data.", "sts_seg.config.", "sts_seg.augment.ops."):
        text = text.replace(prefix, "")
    text = text.replace("<class '", "").replace("'>", "").replace("NoneType", "None")
    if "Annotated[Union[HFlip" in text or "HFlip" in text:
        return "tuple[AugmentOp, ...]"
    return text


def _default(v: object) -> str:
    if isinstance(v, BaseModel):
        return "(section)"
    if isinstance(v, tuple) and v and isinstance(v[0], BaseModel):
        return "; ".join(str(x.model_dump(mode="json")) for x in v)
    return str(v)


def rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str]]:
    """``(dotted key, type, default, description)`` of every leaf field of ``model``."""
    out = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += rows(ann, key + ".")
            continue
        default = field.get_default(call_default_factory=True)
        out.append((key, _type(ann), _default(default), (field.description or "")))
    return out


def op_rows() -> list[tuple[str, str, str, str]]:
    """``(op, field, default, description)`` of every augmentation op field (``name`` and ``p`` once)."""
    out = []
    for cls in OP_TYPES:
        op = cls.model_fields["name"].default
        for name, field in cls.model_fields.items():
            if name in ("name", "p"):
                continue
            out.append((op, name, _default(field.get_default(call_default_factory=True)), field.description or ""))
        if len(cls.model_fields) == 2:
            out.append((op, "-", "-", cls.summary))
    return out


def _table(header: tuple[str, ...], body: list[tuple[str, ...]], code: tuple[int, ...]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in body:
        cells = [f"`{c}`" if i in code else c for i, c in enumerate(row)]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def markdown() -> str:
    """Both tables, as they appear in the README."""
    typing.get_type_hints(Config)  # fail loudly if an annotation cannot be resolved
    keys = _table(("key", "type", "default", "meaning"), rows(Config), (0, 1, 2))
    ops = _table(("op", "field", "default", "meaning"), op_rows(), (0, 1, 2))
    return (
        keys + "\n\nAugmentation ops (`augment.offline` / `augment.online` entries; every op also takes `p`):\n\n" + ops
    )


if __name__ == "__main__":
    print(markdown())
