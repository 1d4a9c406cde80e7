"""The shipped configs: package data, ``stsseg config list/show``, names accepted wherever a config
path is, and the built-in defaults equal to the general recipe (configs/sts.yaml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from sts_seg.cli import app
from sts_seg.config import Config, load_config
from sts_seg.config.shipped import FOLDER, shipped_names
from sts_seg.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sts_seg"

#: keys where the defaults may differ from configs/sts.yaml, and why
DIFFERENT_ON_PURPOSE = {
    # sts.yaml names the Kaggle file; a default input path would point at a file most users lack,
    # and 'no source given' must stay an error that says how to pass one
    "data.source": (None, "lab_petct_vox_5.00mm.h5"),
}


def _leaves(tree: object, prefix: str = "") -> dict[str, object]:
    """``{"train.epochs": 80, ...}``: every leaf of nested mappings (lists are leaves)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    out: dict[str, object] = {}
    for key, value in tree.items():
        out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _one_line_error(result, *names: str) -> str:
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "Traceback" not in result.output
    for name in names:
        assert name in result.stderr
    return result.stderr


# ------------------------------------------------------------------ the defaults are the recipe


def test_the_defaults_are_the_shipped_general_recipe_but_the_listed_keys():
    defaults = _leaves(Config().model_dump(mode="json"))
    recipe = _leaves(load_config(ROOT / "configs" / "sts.yaml").model_dump(mode="json"))
    assert defaults.keys() == recipe.keys()
    differ = {k: (defaults[k], recipe[k]) for k in defaults if defaults[k] != recipe[k]}
    assert differ == DIFFERENT_ON_PURPOSE  # a new difference, or a stale entry in the list, fails


def test_every_key_the_recipe_file_sets_is_the_default():
    """Read the YAML text itself (not through Config): each value it writes equals Config()'s."""
    raw = _leaves(yaml.safe_load((ROOT / "configs" / "sts.yaml").read_text()))
    defaults = _leaves(Config().model_dump(mode="json"))
    written = {k: v for k, v in raw.items() if k not in DIFFERENT_ON_PURPOSE}
    assert {"train.patch_size", "infer.tta", "augment.online"} <= written.keys()
    for key, value in written.items():
        if key == "augment.online":  # op entries: the file gives only some fields of each op
            ops = defaults[key]
            assert [{k: op[k] for k in entry} for op, entry in zip(ops, value, strict=True)] == value
            continue
        assert defaults[key] == value, key  # 5 == 5.0: YAML ints match float fields


def test_the_recipe_settings_the_readme_calls_the_default():
    cfg = Config()
    assert cfg.train.patch_size == 64
    assert cfg.train.hard_negative_fraction == 0.25
    assert cfg.train.tumour_fraction == 0.33
    assert cfg.infer.tta == "flips"
    assert [op.name for op in cfg.augment.online] == ["hflip", "vflip", "rotate", "zoom", "gamma"]
    assert cfg.augment.offline == ()


def test_seed_flexunet_keeps_the_original_sampling_and_no_flips():
    """The parity config opts out of every recipe default the original did not have."""
    cfg = load_config("seed_flexunet")
    t = cfg.train
    assert (t.patch_size, t.tumour_fraction, t.hard_negative_fraction) == (None, None, None)
    assert cfg.augment.online == ()
    assert cfg.infer.tta == "none"
    assert [op.name for op in cfg.augment.offline] == ["hflip", "vflip", "rotate", "distort"]


def test_eight_levels_with_the_default_patches_say_how_to_fix_it():
    with pytest.raises(ConfigError, match=r"train.patch_size 64 .* multiple of 128 .*or null"):
        load_config(None, ["model.num_layers=8", "model.image_size=512"])
    assert load_config(None, ["model.num_layers=8", "model.image_size=512", "train.patch_size=null"])


# ------------------------------------------------------------------ package data


def test_the_shipped_configs_live_in_the_package_and_configs_points_there():
    assert FOLDER == PACKAGE / "configs"
    assert {"demo", "demo_nifti", "seed_flexunet", "sts"} <= set(shipped_names())
    top = ROOT / "configs"
    assert top.is_symlink(), "configs/ is a link to sts_seg/configs (one copy of each file)"
    assert top.resolve() == FOLDER.resolve()
    assert sorted(p.stem for p in top.glob("*.yaml")) == shipped_names()


@pytest.mark.slow
def test_the_wheel_ships_every_config(tmp_path: Path):
    """pip builds the wheel (build isolation: setuptools from the index) from a copy of the tree
    (pip builds in place: build/ and egg-info stay out of the checkout); its files are listed."""
    src, out = tmp_path / "src", tmp_path / "wheel"
    top = shutil.ignore_patterns(".*", "*.egg-info", "build", "demo*", "runs", "data")  # at the root only

    def ignore(folder: str, names: list[str]) -> set[str]:
        return set(top(folder, names)) if Path(folder) == ROOT else {"__pycache__"} & set(names)

    shutil.copytree(ROOT, src, symlinks=True, ignore=ignore)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    offline = ("No matching distribution", "Could not find a version", "NewConnectionError", "Network is unreachable")
    if done.returncode != 0 and any(s in done.stderr for s in offline):
        pytest.skip(f"cannot fetch the build backend: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    (wheel,) = out.glob("stsseg-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in shipped_names():
        assert f"sts_seg/configs/{name}.yaml" in names
        data = zipfile.ZipFile(wheel).read(f"sts_seg/configs/{name}.yaml")
        assert data == (FOLDER / f"{name}.yaml").read_bytes()


# ------------------------------------------------------------------ stsseg config list / show


def test_config_list_names_each_config_with_its_first_comment_line(runner):
    result = runner.invoke(app, ["config", "list"], terminal_width=300)
    assert result.exit_code == 0, result.output
    for path in sorted(FOLDER.glob("*.yaml")):
        first = path.read_text().splitlines()[0]
        assert first.startswith("# "), f"{path.name}: start with a one-line '# description'"
        assert path.stem in result.stdout
        assert first[2:].strip() in result.stdout


@pytest.mark.parametrize("name", ["sts", "demo", "seed_flexunet"])
def test_config_show_prints_the_file_verbatim_and_it_loads_as_the_same_config(runner, in_tmp, name):
    result = runner.invoke(app, ["config", "show", name])
    assert result.exit_code == 0, result.output
    assert result.stdout == (FOLDER / f"{name}.yaml").read_text()
    (in_tmp / "my.yaml").write_text(result.stdout)
    assert load_config(in_tmp / "my.yaml") == load_config(FOLDER / f"{name}.yaml")


def test_config_show_of_an_unknown_name_lists_the_shipped_ones(runner):
    err = _one_line_error(runner.invoke(app, ["config", "show", "stss"]), "'stss'", "sts", "demo", "seed_flexunet")
    assert "stsseg config list" in err


# ------------------------------------------------------------------ a name wherever a path is accepted


def test_a_name_loads_the_shipped_file(in_tmp):
    assert load_config("sts") == load_config(ROOT / "configs" / "sts.yaml")
    assert load_config("demo.yaml", ["train.epochs=2"]) == load_config(FOLDER / "demo.yaml", ["train.epochs=2"])
    assert load_config("demo").train.epochs == 15  # not the default's 80: the file was read


def test_an_existing_file_wins_over_a_shipped_name(in_tmp):
    (in_tmp / "sts").write_text("train: {epochs: 3}\n")
    assert load_config("sts").train.epochs == 3
    assert load_config("sts").train.patch_size == 64  # the rest: the defaults


def test_a_folder_named_like_a_shipped_config_does_not_hide_it(in_tmp):
    (in_tmp / "demo").mkdir()  # make demo writes demo/
    assert load_config("demo") == load_config(FOLDER / "demo.yaml")


def test_an_unknown_config_is_one_error_listing_the_shipped_names(in_tmp):
    with pytest.raises(ConfigError) as ei:
        load_config("nope")
    msg = str(ei.value)
    assert "\n" not in msg
    assert msg.startswith("nope: config file not found")
    for name in shipped_names():
        assert name in msg
    (in_tmp / "folder").mkdir()
    with pytest.raises(ConfigError, match=r"^folder: is a folder, not a YAML config file; shipped configs: "):
        load_config("folder")


def test_a_missing_configs_path_hints_at_the_name(in_tmp):
    """A pip user runs the README's 'configs/sts.yaml' without a checkout."""
    with pytest.raises(ConfigError, match=r"goes by name: sts \(stsseg config show sts > sts.yaml\)"):
        load_config("configs/sts.yaml")


def test_cli_commands_take_a_name_like_the_file(runner, in_tmp, hand_h5):
    """prepare with 'demo' writes what prepare with configs/demo.yaml writes, and not the defaults."""
    sets = ["--set", "model.image_size=32", "--set", "model.num_layers=3"]
    for config, out in (("demo", "a"), (str(ROOT / "configs" / "demo.yaml"), "b"), (None, "c")):
        args = ["prepare", *([config] if config else []), "--h5", str(hand_h5), "-o", out, *sets]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    manifest = {d: (in_tmp / d / "manifest.csv").read_text() for d in "abc"}
    assert manifest["a"] == manifest["b"]
    assert manifest["a"] != manifest["c"]  # demo: every train slice; the defaults: labeled + negatives
    _one_line_error(runner.invoke(app, ["prepare", "nope", "--h5", str(hand_h5), "-o", "d"]), "nope", "sts")
    assert not (in_tmp / "d").exists()
