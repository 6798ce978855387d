"""Tests for shared.cli: argparse from a frozen config dataclass."""

import dataclasses
import json
import typing
from typing import Literal

import pytest

from shared import cli, config_values


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
    values = config_values.config_to_dict(config)
    assert values["image_size"] == [8, 8]
    assert config_values.config_from_dict(ToyConfig, json.loads(json.dumps(values))) == config


def test_config_from_dict_validates():
    with pytest.raises(ValueError, match="'image_size\\[1\\]' expects int, got 'x'"):
        config_values.config_from_dict(ToyConfig, {"image_size": [1, "x"]})
    with pytest.raises(ValueError, match="'augment' expects bool, got 1"):
        config_values.config_from_dict(ToyConfig, {"augment": 1})
    with pytest.raises(ValueError, match="'mode'"):
        config_values.config_from_dict(ToyConfig, {"mode": "scratch"})


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
    assert config_values.config_from_dict(legacy, {"seed": None}).seed is None
    with pytest.raises(ValueError, match="'seed' expects Optional\\[int\\], got 'x'"):
        config_values.config_from_dict(legacy, {"seed": "x"})


def test_yaml_exponent_floats_are_read_as_floats(tmp_path):
    config_file = tmp_path / "settings.yaml"
    config_file.write_text("learning_rate: 1e-3\n")
    config, _ = cli.parse_config(ToyConfig, ["--config", str(config_file)])
    assert config.learning_rate == 0.001
    with pytest.raises(ValueError, match="'learning_rate' expects float, got 'fast'"):
        config_values.config_from_dict(ToyConfig, {"learning_rate": "fast"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class CommandConfig:
    inputs: tuple[str, ...] = dataclasses.field(
        metadata={"help": "Files to read.", "positional": True, "metavar": "FILE"}
    )
    data: str = dataclasses.field(metadata={"help": "Dataset."})
    tag: tuple[str, ...] = dataclasses.field(
        default=(), metadata={"help": "A tag (repeatable).", "action": "append"}
    )
    json: bool = dataclasses.field(
        default=False,
        metadata={"help": "JSON lines.", "action": "store_true", "exclusive": "format"},
    )
    csv: bool = dataclasses.field(
        default=False,
        metadata={"help": "CSV rows.", "action": "store_true", "exclusive": "format"},
    )
    top_k: int = dataclasses.field(default=5, metadata={"help": "Classes per input."})

    def validate(self):
        if self.top_k < 1:
            raise ValueError("--top-k must be at least 1")


def test_positional_store_true_and_append_arguments():
    config, _ = cli.parse_config(
        CommandConfig, ["a.png", "b.png", "--tag", "x", "--data", "d", "--tag", "y", "--json"]
    )
    assert config.inputs == ("a.png", "b.png")
    assert config.tag == ("x", "y")
    assert (config.json, config.csv, config.data) == (True, False, "d")


def test_help_of_positional_switch_and_required_flag(capsys):
    with pytest.raises(SystemExit):
        cli.parse_config(CommandConfig, ["--help"])
    output = " ".join(capsys.readouterr().out.split())
    assert "FILE [FILE ...]" in output and "[--json | --csv]" in output
    assert "Files to read." in output and "--no-json" not in output
    assert "JSON lines. --csv" in output  # a switch shows no default
    assert "Dataset. (required)" in output
    assert "Classes per input. (default: 5)" in output


def test_a_positional_with_a_default_is_optional():
    optional = dataclasses.make_dataclass(
        "Optional",
        [
            (
                "texts",
                tuple[str, ...],
                dataclasses.field(default=(), metadata={"positional": True}),
            )
        ],
    )
    assert cli.parse_config(optional, [])[0].texts == ()
    assert cli.parse_config(optional, ["a", "b"])[0].texts == ("a", "b")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["a.png"], "the following arguments are required: --data"),
        ([], "the following arguments are required: FILE"),
        (
            ["a.png", "--data", "d", "--json", "--csv"],
            "argument --csv: not allowed with argument --json",
        ),
    ],
)
def test_usage_errors_exit_with_status_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_config(CommandConfig, argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_config_file_gives_required_values_and_is_checked_with_the_flags(tmp_path, capsys):
    config_file = tmp_path / "settings.yaml"
    config_file.write_text("data: from-file\ncsv: true\n")
    config, _ = cli.parse_config(CommandConfig, ["a.png", "--config", str(config_file)])
    assert (config.data, config.csv) == ("from-file", True)
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_config(CommandConfig, ["a.png", "--config", str(config_file), "--json"])
    assert exit_info.value.code == 2
    assert "argument --csv: not allowed with argument --json" in capsys.readouterr().err


def test_parse_command_validates_and_reports_bad_usage(tmp_path, capsys):
    config = cli.parse_command(CommandConfig, ["a.png", "--data", "d", "--top-k", "2"], prog="toy")
    assert config.top_k == 2
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_command(CommandConfig, ["a.png", "--data", "d", "--top-k", "0"], prog="toy")
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.endswith("toy: error: --top-k must be at least 1\n")
    config_file = tmp_path / "settings.yaml"
    config_file.write_text("top_kk: 3\n")
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_command(CommandConfig, ["a.png", "--config", str(config_file)], prog="toy")
    assert exit_info.value.code == 2
    assert "unknown config keys ['top_kk']" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("annotation", "default", "action"),
    [(bool, True, "store_true"), (int, 0, "store_true"), (str, "", "append")],
)
def test_unsupported_actions_are_refused(annotation, default, action):
    field = dataclasses.field(default=default, metadata={"action": action})
    bad = dataclasses.make_dataclass("Bad", [("value", annotation, field)])
    with pytest.raises(TypeError, match="'value'"):
        cli.build_parser(bad)
