"""Tests for shared.cli: argparse from a frozen config dataclass."""

import dataclasses
import json
import typing
from typing import Literal

import pytest

from shared import cli


@dataclasses.dataclass(frozen=True)
class ToyConfig:
    epochs: int = dataclasses.field(default=3, metadata={"help": "Passes over the data."})
    learning_rate: float = dataclasses.field(default=0.01, metadata={"help": "Step size."})
    model: str = dataclasses.field(default="tiny", metadata={"help": "Model reference."})
    augment: bool = dataclasses.field(default=True, metadata={"help": "Random flips."})
    seed: int | None = dataclasses.field(default=None, metadata={"help": "Random seed."})
    image_size: tuple[int, ...] = dataclasses.field(
        default=(32, 32), metadata={"help": "Height and width."}
    )
    mode: Literal["feature_extract", "fine_tune"] = dataclasses.field(
        default="feature_extract", metadata={"help": "Training mode."}
    )


def test_help_lists_every_field_with_help_and_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_config(ToyConfig, ["--help"])
    assert exit_info.value.code == 0
    output = " ".join(capsys.readouterr().out.split())
    for flag, help_text, default in [
        ("--epochs", "Passes over the data.", "3"),
        ("--learning-rate", "Step size.", "0.01"),
        ("--model", "Model reference.", "tiny"),
        ("--augment", "Random flips.", "True"),
        ("--seed", "Random seed.", "None"),
        ("--image-size", "Height and width.", "[32, 32]"),
        ("--mode", "Training mode.", "feature_extract"),
    ]:
        assert flag in output
        assert f"{help_text} (default: {default})" in output
    assert "--no-augment" in output
    assert "--config FILE" in output


def test_no_arguments_give_the_defaults():
    config, namespace = cli.parse_config(ToyConfig, [])
    assert config == ToyConfig()
    assert namespace.config_file is None


def test_precedence_defaults_then_yaml_file_then_flags(tmp_path):
    config_file = tmp_path / "settings.yaml"
    config_file.write_text("epochs: 7\nlearning_rate: 1\nmodel: from-file\nimage_size: [64, 48]\n")
    config, _ = cli.parse_config(ToyConfig, ["--config", str(config_file), "--epochs", "9"])
    assert config.epochs == 9  # flag beats file
    assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)
    assert config.model == "from-file"  # file beats default
    assert config.image_size == (64, 48)  # list coerced to tuple
    assert config.mode == "feature_extract"  # default kept


def test_json_config_file(tmp_path):
    config_file = tmp_path / "settings.json"
    config_file.write_text(json.dumps({"seed": 5, "augment": False, "mode": "fine_tune"}))
    config, _ = cli.parse_config(ToyConfig, ["--config", str(config_file)])
    assert (config.seed, config.augment, config.mode) == (5, False, "fine_tune")


def test_unknown_key_in_file_names_it_and_the_valid_keys(tmp_path):
    config_file = tmp_path / "settings.yaml"
    config_file.write_text("epochz: 2\n")
    with pytest.raises(ValueError, match="epochz") as error_info:
        cli.parse_config(ToyConfig, ["--config", str(config_file)])
    assert "learning_rate" in str(error_info.value)


def test_wrong_type_in_file_names_field_type_and_value(tmp_path):
    config_file = tmp_path / "settings.yaml"
    config_file.write_text("epochs: many\n")
    with pytest.raises(ValueError, match=r"'epochs' expects int, got 'many'"):
        cli.parse_config(ToyConfig, ["--config", str(config_file)])


def test_config_file_with_unsupported_extension(tmp_path):
    config_file = tmp_path / "settings.toml"
    config_file.write_text("epochs = 2\n")
    with pytest.raises(ValueError, match="settings.toml"):
        cli.parse_config(ToyConfig, ["--config", str(config_file)])


def test_bool_flags_optional_and_tuple_values():
    config, _ = cli.parse_config(
        ToyConfig, ["--no-augment", "--seed", "4", "--image-size", "1", "2", "3"]
    )
    assert config.augment is False
    assert config.seed == 4
    assert config.image_size == (1, 2, 3)
    config, _ = cli.parse_config(ToyConfig, ["--augment", "--seed", "none"])
    assert config.augment is True and config.seed is None


def test_literal_choices_reject_a_bad_value(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_config(ToyConfig, ["--mode", "scratch"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'scratch'" in capsys.readouterr().err


def test_extra_arguments_stay_in_the_namespace():
    parser = cli.build_parser(ToyConfig, prog="toy")
    parser.add_argument("inputs", nargs="*")
    parser.add_argument("--json", action="store_true")
    config, namespace = cli.parse_config(
        ToyConfig, ["a.png", "b.png", "--epochs", "2"], parser=parser
    )
    assert config.epochs == 2
    assert namespace.inputs == ["a.png", "b.png"]
    assert namespace.json is False
    assert not hasattr(namespace, "epochs")


def test_defaults_instance_is_never_mutated(tmp_path):
    start = ToyConfig(epochs=1)
    config_file = tmp_path / "settings.yml"
    config_file.write_text("model: other\n")
    config, _ = cli.parse_config(
        ToyConfig,
        ["--config", str(config_file), "--learning-rate", "0.5"],
        defaults=start,
    )
    assert start == ToyConfig(epochs=1)
    assert ToyConfig() == ToyConfig(3, 0.01, "tiny", True, None, (32, 32), "feature_extract")
    assert (config.epochs, config.model, config.learning_rate) == (1, "other", 0.5)


def test_dict_round_trip_is_json_safe():
    config = ToyConfig(image_size=(8, 8), seed=2)
    values = cli.config_to_dict(config)
    assert values["image_size"] == [8, 8]
    assert cli.config_from_dict(ToyConfig, json.loads(json.dumps(values))) == config


def test_config_from_dict_validates():
    with pytest.raises(ValueError, match="'image_size\\[1\\]' expects int, got 'x'"):
        cli.config_from_dict(ToyConfig, {"image_size": [1, "x"]})
    with pytest.raises(ValueError, match="'augment' expects bool, got 1"):
        cli.config_from_dict(ToyConfig, {"augment": 1})
    with pytest.raises(ValueError, match="'mode'"):
        cli.config_from_dict(ToyConfig, {"mode": "scratch"})


def test_report_error_prints_one_line_and_returns_non_zero(capsys):
    assert cli.report_error("cannot read\nimage.png") == 2
    assert capsys.readouterr().err == "error: cannot read image.png\n"


def test_flags_beat_file_beats_defaults_instance_with_kebab_keys(tmp_path):
    config_file = tmp_path / "settings.yaml"
    config_file.write_text("learning-rate: 0.2\nepochs: 5\n")
    config, _ = cli.parse_config(
        ToyConfig,
        ["--config", str(config_file), "--epochs", "6"],
        defaults=ToyConfig(epochs=1, learning_rate=0.3, model="start"),
    )
    assert (config.epochs, config.learning_rate, config.model) == (6, 0.2, "start")


def test_typing_optional_annotation_is_supported():
    optional_int = typing.Optional[int]  # noqa: UP045 -- the old spelling is the point
    seed_field = ("seed", optional_int, dataclasses.field(default=None))
    legacy = dataclasses.make_dataclass("Legacy", [seed_field])
    config, _ = cli.parse_config(legacy, ["--seed", "3"])
    assert config.seed == 3
    assert cli.config_from_dict(legacy, {"seed": None}).seed is None
    with pytest.raises(ValueError, match="'seed' expects Optional\\[int\\], got 'x'"):
        cli.config_from_dict(legacy, {"seed": "x"})


def test_yaml_exponent_floats_are_read_as_floats(tmp_path):
    config_file = tmp_path / "settings.yaml"
    config_file.write_text("learning_rate: 1e-3\n")
    config, _ = cli.parse_config(ToyConfig, ["--config", str(config_file)])
    assert config.learning_rate == 0.001
    with pytest.raises(ValueError, match="'learning_rate' expects float, got 'fast'"):
        cli.config_from_dict(ToyConfig, {"learning_rate": "fast"})
