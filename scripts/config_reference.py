"""Print the config reference (markdown) from the pydantic models: ``python scripts/config_reference.py``."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from sts_seg.config import Config


def _type(ann: object) -> str:
    text = str(ann).replace("typing.", "").replace("pathlib.", "").replace("sts_seg.config.", "")
    return text.replace("<class '", "").replace("'>", "").replace("NoneType", "None")


def _default(v: object) -> str:
    if isinstance(v, BaseModel):
        return "(section)"
    if isinstance(v, tuple) and v and isinstance(v[0], BaseModel):
        return "; ".join(str(x.model_dump(mode="json")) for x in v)
    return str(v)


def rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str]]:
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


def main() -> None:
    print("| key | type | default | meaning |")
    print("|---|---|---|---|")
    for key, typ, default, doc in rows(Config):
        cells = (f"`{key}`", f"`{typ}`", f"`{default}`", doc)
        print("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    typing.get_type_hints(Config)  # fail loudly if an annotation cannot be resolved


if __name__ == "__main__":
    main()
