"""Config schema: defaults, shipped configs, every rejection path, ``--set`` and round trips."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sts_seg.config import Config, config_to_dict, dump_config, load_config, parse_override
from sts_seg.config.reference import markdown
from sts_seg.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SHIPPED = sorted(CONFIGS.glob("*.yaml"))
REQUIRED = ("demo.yaml", "seed_flexunet.yaml", "sts.yaml")

#: one problem as printed: ``dotted.path: message (got VALUE)``
PROBLEM = re.compile(r"^[A-Za-z_][\w]*(\.\w+)*: .+ \(got .+\)$")


def _error(overrides: list[str], path: Path | None = None) -> str:
    with pytest.raises(ConfigError) as ei:
        load_config(path, overrides)
    return str(ei.value)


def _write(tmp_path: Path, data: object, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _problems(message: str) -> list[str]:
    """The ``; ``-joined problem list after ``<source>: N problem(s): ``."""
    _, _, rest = message.partition(" problem")
    return rest.split(": ", 1)[1].split(" | ")


# --------------------------------------------------------------------------- defaults


def test_defaults_load_and_are_consistent():
    cfg = load_config()
    assert cfg == Config()
    assert cfg.model.image_size == "auto"  # the canvas is chosen from the data by prepare
    assert cfg.model.divisor == 2 ** (cfg.model.num_layers - 1) == 16
    assert sum(cfg.split.fractions) == pytest.approx(1.0)
    assert cfg.split.train is cfg.split.valid is cfg.split.test is None
    assert [(c.modality, c.window) for c in cfg.prepare.channels] == [
        ("ct", (-160.0, 240.0)),
        ("pet", (0.0, 10.0)),
        ("ct", (-1000.0, 1000.0)),
    ]
    assert cfg.prepare.select.model_dump() == {"train": "labeled_plus_negatives", "valid": "all", "test": "all"}
    assert cfg.data.spacing_mm == (5.0, 5.0, 5.0)
    assert [(c.color, c.label) for c in cfg.data.rgb_map] == [((0, 0, 0), 0), ((255, 255, 0), 1)]


def test_empty_yaml_file_gives_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_config(path) == Config()


def test_yaml_file_merges_over_defaults(tmp_path):
    path = _write(tmp_path, {"model": {"image_size": 64, "num_layers": 4}, "train": {"epochs": 3}})
    cfg = load_config(path)
    assert (cfg.model.image_size, cfg.model.num_layers, cfg.train.epochs) == (64, 4, 3)
    assert cfg.model.base_filters == Config().model.base_filters
    assert cfg.prepare == Config().prepare


# --------------------------------------------------------------------------- shipped configs


def test_required_configs_are_shipped():
    names = {p.name for p in SHIPPED}
    assert len(SHIPPED) >= 3, f"configs/ holds {sorted(names)}; the spec requires {REQUIRED}"
    assert set(REQUIRED) <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_config_loads_and_round_trips(path, tmp_path):
    cfg = load_config(path)
    assert isinstance(cfg, Config)
    out = tmp_path / "resolved.yaml"
    dump_config(cfg, out)
    assert load_config(out) == cfg


def test_seed_flexunet_matches_the_original_settings():
    cfg = load_config(CONFIGS / "seed_flexunet.yaml")
    m, t = cfg.model, cfg.train
    assert (m.image_size, m.image_channels, m.num_classes) == (512, 3, 2)
    assert (m.base_filters, m.base_kernels, m.num_layers) == (16, (11, 11), 8)
    assert m.dropout_rate == pytest.approx(0.04)
    assert t.learning_rate == pytest.approx(7e-5)
    assert t.batch_size == 2
    assert t.loss == "ce"
    assert t.reducer.enabled
    assert t.reducer.factor == pytest.approx(0.5)
    assert t.reducer.patience == 4
    assert t.early_stopping.enabled
    assert t.early_stopping.patience == 10
    assert [(c.color, c.label) for c in cfg.data.rgb_map] == [((0, 0, 0), 0), ((255, 255, 0), 1)]


# --------------------------------------------------------------------------- rejections


def test_misspelled_key_in_file_names_dotted_path_and_file(tmp_path):
    path = _write(tmp_path, {"model": {"imagesize": 64}})
    msg = _error([], path)
    assert str(path) in msg
    assert "model.imagesize: " in msg
    assert "(got 64)" in msg


def test_misspelled_section_is_rejected(tmp_path):
    msg = _error([], _write(tmp_path, {"modle": {"image_size": 64}}))
    assert "modle" in msg


def test_misspelled_nested_key_is_rejected():
    msg = _error(["train.reducer.patiense=3"])
    assert "train.reducer.patiense: " in msg


@pytest.mark.parametrize(
    ("override", "key", "got"),
    [
        ("train.epochs=abc", "train.epochs", "'abc'"),
        ("model.image_size=[1, 2]", "model.image_size", "[1, 2]"),
        ("prepare.geometry=stretch", "prepare.geometry", "'stretch'"),
        ("train.batch_size=0", "train.batch_size", "0"),
        ("model.base_kernels=[4, 4]", "model.base_kernels", "[4, 4]"),
    ],
)
def test_wrong_type_or_value_names_key_and_value(override, key, got):
    msg = _error([override])
    assert f"{key}: " in msg
    assert f"(got {got})" in msg


@pytest.mark.parametrize("fractions", [[0.5, 0.2, 0.2], [0.7, 0.2, 0.2], [1.0, 0.0, 0.1]])
def test_split_fractions_must_sum_to_one(fractions):
    msg = _error([f"split.fractions={fractions}"])
    assert "split.fractions: " in msg
    assert "sum to 1" in msg
    assert f"(got {fractions})" in msg


def test_negative_split_fraction_is_rejected():
    assert "split.fractions" in _error(["split.fractions=[1.2, -0.1, -0.1]"])


@pytest.mark.parametrize(
    ("size", "layers", "suggested"),
    [(30, 5, 32), (100, 4, 96), (12, 5, 16), (500, 8, 512)],
)
def test_image_size_the_unet_cannot_halve_suggests_a_valid_size(size, layers, suggested):
    msg = _error([f"model.image_size={size}", f"model.num_layers={layers}"])
    assert "image_size" in msg
    assert str(size) in msg
    assert f"e.g. {suggested}" in msg
    # the suggestion really is valid (whole slices: the default 64 px patches need num_layers <= 7)
    cfg = load_config(None, [f"model.image_size={suggested}", f"model.num_layers={layers}", "train.patch_size=null"])
    assert cfg.model.image_size == suggested


@pytest.mark.parametrize(("size", "layers"), [(32, 3), (48, 3), (32, 6), (512, 8), (96, 6)])
def test_image_size_that_halves_cleanly_loads(size, layers):
    cfg = load_config(None, [f"model.image_size={size}", f"model.num_layers={layers}", "train.patch_size=null"])
    assert (cfg.model.image_size, cfg.model.num_layers, cfg.model.divisor) == (size, layers, 2 ** (layers - 1))


@pytest.mark.parametrize("window", [[240, -160], [100, 100]])
def test_empty_ct_window_is_rejected(window):
    msg = _error([f"prepare.channels=[{{modality: ct, window: {window}}}]"])
    assert "prepare.channels.0" in msg
    assert "window is empty" in msg


def test_explicit_split_lists_with_a_patient_in_two_splits():
    msg = _error(["split.train=[A, B]", "split.valid=[C, A]", "split.test=[D]"])
    assert "split" in msg
    assert "patient A" in msg
    assert "train" in msg
    assert "valid" in msg


def test_explicit_split_lists_need_all_three():
    msg = _error(["split.train=[A, B]", "split.valid=[C]"])
    assert "split.train/valid/test" in msg


def test_explicit_split_lists_load():
    cfg = load_config(None, ["split.train=[A, B]", "split.valid=[C]", "split.test=[D]"])
    assert (cfg.split.train, cfg.split.valid, cfg.split.test) == (("A", "B"), ("C",), ("D",))


def test_image_channels_must_match_prepare():
    msg = _error(["model.image_channels=2"])
    assert "model.image_channels" in msg
    assert "set model.image_channels: 3" in msg


def test_error_format_is_dotted_path_message_got_value():
    msg = _error(["train.epochs=abc"])
    assert msg.startswith("config + --set: 1 problem: ")
    (problem,) = _problems(msg)
    assert PROBLEM.match(problem), problem
    assert problem == (
        "train.epochs: Input should be a valid integer, unable to parse string as an integer (got 'abc')"
    )


def test_all_problems_are_listed_in_one_message(tmp_path):
    path = _write(
        tmp_path,
        {
            "train": {"epochs": "abc"},
            "model": {"imagesize": 3},
            "data": {"spacing_mm": [0, 5, 5]},
            "split": {"fractions": [0.5, 0.2, 0.2]},
        },
    )
    msg = _error([], path)
    assert msg.startswith(f"{path}: 4 problems: ")
    problems = _problems(msg)
    assert len(problems) == 4
    for problem in problems:
        assert PROBLEM.match(problem), problem
    keys = sorted(p.split(": ", 1)[0] for p in problems)
    assert keys == ["data.spacing_mm", "model.imagesize", "split.fractions", "train.epochs"]
    assert "\n" not in msg  # one line


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        # either key of the combination may carry the error, but it must name a key and a value
        (["model.image_size=30"], r"model\.(image_size|num_layers): .+ \(got (30|5)\)"),
        (
            ["prepare.channels=[{modality: ct, window: [240, -160]}]"],
            r"prepare\.channels\.0\.window: .+ \(got .*240.*-160.*\)",
        ),
    ],
    ids=["image_size", "ct_window"],
)
def test_impossible_combinations_follow_the_error_format(overrides, pattern):
    """Spec §3: *every* error reads ``dotted.path: message (got VALUE)``, the cross-field
    checks (image size vs UNet depth, empty CT window) included."""
    msg = _error(overrides)
    assert re.search(pattern, msg), msg


# --------------------------------------------------------------------------- config files


def test_missing_config_file_is_a_config_error(tmp_path):
    msg = _error([], tmp_path / "nope.yaml")
    assert "nope.yaml" in msg
    assert "not found" in msg


def test_malformed_yaml_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  image_size: 64\n  num_layers: [3\n")
    msg = _error([], path)
    assert str(path) in msg
    assert "line" in msg


def test_top_level_must_be_a_mapping(tmp_path):
    path = _write(tmp_path, [1, 2])
    assert "mapping" in _error([], path)


# --------------------------------------------------------------------------- --set


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("train.epochs=3", ("train.epochs", 3)),
        ("train.learning_rate=0.5", ("train.learning_rate", 0.5)),
        ("train.cache=false", ("train.cache", False)),
        ("train.cache=true", ("train.cache", True)),
        ("split.train=[A, B]", ("split.train", ["A", "B"])),
        ("split.fractions=[0.6, 0.2, 0.2]", ("split.fractions", [0.6, 0.2, 0.2])),
        ("data.source=x.h5", ("data.source", "x.h5")),
        ("data.source=null", ("data.source", None)),
        ("train.run_dir=runs/a=b", ("train.run_dir", "runs/a=b")),
        ("  train.epochs = 4 ", ("train.epochs", 4)),
        ("prepare.select={train: all}", ("prepare.select", {"train": "all"})),
    ],
)
def test_parse_override_types_values_as_yaml(text, expected):
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["train.epochs", "=3", "  =3", "train.epochs=[1,", "a={x: "])
def test_parse_override_bad_syntax_is_a_config_error(text):
    with pytest.raises(ConfigError, match="--set"):
        parse_override(text)


def test_overrides_apply_over_file_and_are_validated(tmp_path):
    path = _write(tmp_path, {"model": {"image_size": 32, "num_layers": 3}, "split": {"seed": 1}})
    cfg = load_config(path, ["split.seed=5", "train.epochs=2", "train.learning_rate=1e-3"])
    assert (cfg.split.seed, cfg.train.epochs, cfg.model.image_size) == (5, 2, 32)
    assert cfg.train.learning_rate == pytest.approx(1e-3)
    msg = _error(["model.imagesize=3"], path)
    assert "--set" in msg
    assert "model.imagesize: " in msg
    assert "(got 3)" in msg


def test_override_through_a_non_section_is_rejected():
    with pytest.raises(ConfigError):
        load_config(None, ["train.epochs=3", "train.epochs.x=3"])


def test_override_does_not_mutate_defaults():
    load_config(None, ["model.image_size=64", "model.num_layers=3"])
    assert load_config().model.image_size == Config().model.image_size


# --------------------------------------------------------------------------- dump


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        [
            "split.train=[A, B]",
            "split.valid=[C]",
            "split.test=[D]",
            "data.source=some/file.h5",
            "model.image_size=32",
            "model.num_layers=3",
            "prepare.geometry=resize",
            "prepare.image_mode=seed_sum",
            "train.class_weights=[0.2, 0.8]",
            "data.rgb_map=[{color: [0, 0, 0], label: 0}, {color: [255, 255, 0], label: 1}]",
        ],
    ],
)
def test_dump_config_round_trips(overrides, tmp_path):
    cfg = load_config(None, overrides)
    path = tmp_path / "dump.yaml"
    dump_config(cfg, path)
    again = load_config(path)
    assert again == cfg
    assert config_to_dict(again) == config_to_dict(cfg)
    assert yaml.safe_load(path.read_text()) == config_to_dict(cfg)


def test_readme_config_reference_is_current_and_complete():
    """The README's key and op tables are generated from the models; every field is described."""
    from sts_seg.config.reference import op_rows, rows

    text = markdown()
    assert text.count("\n") > 80
    readme = (ROOT / "README.md").read_text()
    between = readme.split("<!-- config-reference:start -->\n", 1)[1].split("\n<!-- config-reference:end -->", 1)[0]
    assert between == text, "run: python scripts/config_reference.py"
    undocumented = [key for key, _t, _d, doc in rows(Config) if not doc.strip()]
    assert not undocumented, f"config fields without a description: {undocumented}"
    assert not [f"{op}.{f}" for op, f, _d, doc in op_rows() if not doc.strip()]
