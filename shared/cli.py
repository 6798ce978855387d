"""Command-line parsing from a frozen config dataclass.

Each field (with `metadata={"help": ...}`) becomes a flag, plus `--config FILE`.
Precedence: dataclass defaults < config file < flags; parsing returns a new config.

More `metadata` keys shape a field's argument:
    positional: True for an argument without a flag (a tuple takes one or more values,
        or any number when the field has a default).
    metavar: the name shown for its values in `--help`.
    action: "store_true" for a bool switch that defaults to False (`--json`), or
        "append" for a repeatable flag of a `tuple[T, ...]` field (`--file A --file B`).
    exclusive: a group name; at most one field of a group may be set.
A field without a default is required: a flag or the config file gives it.
"""

import argparse
import dataclasses
import json
import sys
import typing
from typing import Any

from shared.config_values import (
    config_from_dict,
    config_to_dict,
    load_config_file,
    type_hints,
    type_name,
    unwrap_optional,
    validated_values,
)

CONFIG_FILE_DEST = "config_file"
NONE_WORDS = ("none", "null")


def report_error(message: Any, code: int = 2) -> int:
    """Prints `error: <message>` as one line to stderr and returns `code` for `main()`."""
    if code == 0:
        raise ValueError(f"report_error() needs a non-zero exit code, got {code!r}")
    one_line = " ".join(str(message).split())
    print(f"error: {one_line}", file=sys.stderr)
    return code


def _field_default(field: dataclasses.Field) -> Any:
    """Returns a field's default value, or dataclasses.MISSING when it has none."""
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


def _scalar_parser(scalar_type: Any, optional: bool) -> Any:
    """Returns the argparse `type=` callable for one scalar value."""
    if not optional:
        return scalar_type

    def parse_optional(text: str) -> Any:
        return None if text.lower() in NONE_WORDS else scalar_type(text)

    parse_optional.__name__ = type_name(scalar_type)
    return parse_optional


def _type_options(name: str, annotation: Any) -> dict[str, Any]:
    """Returns the `add_argument` keyword arguments for one annotated field's type."""
    inner, optional = unwrap_optional(annotation)
    origin = typing.get_origin(inner)
    if inner is bool:
        return {"action": argparse.BooleanOptionalAction}
    if origin is typing.Literal:
        choices = typing.get_args(inner)
        choice_types = {type(choice) for choice in choices}
        if len(choice_types) != 1:
            raise TypeError(f"field {name!r}: Literal choices must share one type")
        return {
            "choices": choices,
            "type": _scalar_parser(choice_types.pop(), optional),
        }
    if origin is tuple:
        item_types = typing.get_args(inner)
        variadic = len(item_types) == 2 and item_types[1] is Ellipsis
        if not variadic and len(set(item_types)) != 1:
            raise TypeError(f"field {name!r}: tuple items must share one type")
        nargs = "+" if variadic else len(item_types)
        return {"nargs": nargs, "type": item_types[0], "metavar": name.upper()}
    if inner in (int, float, str):
        return {"type": _scalar_parser(inner, optional)}
    raise TypeError(f"field {name!r}: unsupported annotation {annotation!r}")


def _action_options(field: dataclasses.Field, annotation: Any) -> dict[str, Any]:
    """Returns the `add_argument` keyword arguments of a field's `action` metadata."""
    action = field.metadata["action"]
    if action == "store_true":
        if annotation is not bool or field.default is not False:
            raise TypeError(f"field {field.name!r}: store_true needs a bool defaulting to False")
        return {"action": "store_true"}
    item_types = typing.get_args(annotation)
    if action == "append" and typing.get_origin(annotation) is tuple and item_types[1:] == (...,):
        return {"action": "append", "type": item_types[0], "metavar": field.name.upper()}
    raise TypeError(
        f"field {field.name!r}: unsupported action {action!r} for {annotation!r}; "
        "use store_true (bool) or append (tuple[T, ...])"
    )


def _argument_options(field: dataclasses.Field, annotation: Any) -> dict[str, Any]:
    """Returns the `add_argument` keyword arguments for one config field."""
    if "action" in field.metadata:
        options = _action_options(field, annotation)
    else:
        options = _type_options(field.name, annotation)
    if field.metadata.get("positional") and _field_default(field) is not dataclasses.MISSING:
        if options.get("nargs") not in (None, "+"):
            raise TypeError(f"field {field.name!r}: a fixed-length positional needs no default")
        options["nargs"] = "*" if options.get("nargs") == "+" else "?"
    if "metavar" in field.metadata:
        options["metavar"] = field.metadata["metavar"]
    return options


def _help_text(field: dataclasses.Field) -> str:
    """Returns a field's help, with its default (or that it is required) for flags."""
    help_text = str(field.metadata.get("help", "")).replace("%", "%%")
    if field.metadata.get("positional") or "action" in field.metadata:
        return help_text
    default = _field_default(field)
    if default is dataclasses.MISSING:
        return f"{help_text} (required)".strip()
    shown = list(default) if isinstance(default, tuple) else default
    shown = str(shown).replace("%", "%%")
    return f"{help_text} (default: {shown})".strip()


def _flag(field: dataclasses.Field) -> str:
    """Returns the name of a field's argument: `--kebab-case`, or a positional's metavar."""
    if field.metadata.get("positional"):
        return str(field.metadata.get("metavar", field.name))
    return "--" + field.name.replace("_", "-")


def _exclusive_groups(config_cls: type) -> dict[str, list[dataclasses.Field]]:
    """Returns the fields of each `exclusive` group name, in field order."""
    groups: dict[str, list[dataclasses.Field]] = {}
    for field in dataclasses.fields(config_cls):
        if "exclusive" in field.metadata:
            groups.setdefault(field.metadata["exclusive"], []).append(field)
    return groups


def build_parser(
    config_cls: type, *, prog: str | None = None, description: str | None = None
) -> argparse.ArgumentParser:
    """Builds an argument parser with one `--kebab-case` flag per config field.

    Flags default to `argparse.SUPPRESS`, so the parsed namespace only holds the
    flags the user passed; `--config FILE` (YAML or JSON) is added too. Callers
    may add their own arguments before passing the parser to `parse_config`.
    """
    hints = type_hints(config_cls)
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument(
        "--config",
        dest=CONFIG_FILE_DEST,
        metavar="FILE",
        default=None,
        help="YAML (.yaml/.yml) or JSON (.json) file of settings; flags override it.",
    )
    groups = {name: parser.add_mutually_exclusive_group() for name in _exclusive_groups(config_cls)}
    for field in dataclasses.fields(config_cls):
        options = _argument_options(field, hints[field.name])
        name = field.name  # a positional's dest is its name
        if not field.metadata.get("positional"):
            name, options["dest"] = _flag(field), field.name
        target = groups.get(field.metadata.get("exclusive"), parser)
        target.add_argument(name, default=argparse.SUPPRESS, help=_help_text(field), **options)
    return parser


def parse_config(
    config_cls: type,
    argv: list[str] | None = None,
    *,
    parser: argparse.ArgumentParser | None = None,
    defaults: Any = None,
) -> tuple[Any, argparse.Namespace]:
    """Parses defaults < config file < flags into a new config instance.

    Args:
        config_cls: the config dataclass type.
        argv: arguments without the program name; `sys.argv[1:]` when None.
        parser: a parser from `build_parser(config_cls)`, possibly with extra
            arguments added by the caller.
        defaults: a config to start from instead of the dataclass defaults (for
            example `Config.tiny()`); it is never mutated.

    Returns:
        (config, namespace): the namespace holds `config_file` and the caller's
        extra arguments; config fields are removed from it.

    Raises:
        ValueError: for an unreadable config file, unknown keys or wrong types.
        SystemExit: (status 2, through `parser.error`) for bad flags, a required
            field with no value, or two fields of one `exclusive` group set.
    """
    parser = parser if parser is not None else build_parser(config_cls)
    namespace = parser.parse_args(argv)
    values = {} if defaults is None else config_to_dict(defaults)
    config_file = getattr(namespace, CONFIG_FILE_DEST, None)
    if config_file is not None:
        values.update(load_config_file(config_file))
    for field in dataclasses.fields(config_cls):
        if hasattr(namespace, field.name):
            values[field.name] = getattr(namespace, field.name)
            delattr(namespace, field.name)
    values = validated_values(config_cls, values)  # a mistyped key is named first
    _check_usage(config_cls, values, parser)
    return config_from_dict(config_cls, values), namespace


def _check_usage(config_cls: type, values: dict[str, Any], parser: argparse.ArgumentParser):
    """Exits through `parser.error` (status 2) when a required field has no value, or
    more than one field of an `exclusive` group is set, flags and config file together."""
    missing = [
        _flag(field)
        for field in dataclasses.fields(config_cls)
        if field.name not in values and _field_default(field) is dataclasses.MISSING
    ]
    if missing:
        parser.error(f"the following arguments are required: {', '.join(missing)}")
    for fields in _exclusive_groups(config_cls).values():
        chosen = [_flag(field) for field in fields if values.get(field.name)]
        if len(chosen) > 1:
            parser.error(f"argument {chosen[1]}: not allowed with argument {chosen[0]}")


def parse_command(config_cls: type, argv: list[str] | None = None, *, prog: str) -> Any:
    """Parses a command's arguments (defaults < `--config` file < flags) into a config.

    A config with a `validate()` method is validated; bad usage (unknown flags, a missing
    required value, an unreadable config file, a value `validate()` refuses) prints the
    usage and the reason to stderr and exits with status 2.
    """
    parser = build_parser(config_cls, prog=prog)
    try:
        config, _ = parse_config(config_cls, argv, parser=parser)
        if hasattr(config, "validate"):
            config.validate()
    except ValueError as error:
        parser.error(" ".join(str(error).split()))
    return config


def print_report(compute, *, as_json, describe):
    """Run ``compute()`` and print its report: one JSON line, or ``describe(report)``.

    The evaluate commands of every app share it. Bad input (``ValueError``/``OSError``)
    becomes a one-line ``error:`` and exit status 2.

    Returns:
        The exit status for ``main()``.
    """
    try:
        report = compute()
    except (ValueError, OSError) as error:
        return report_error(error)
    print(json.dumps(report) if as_json else describe(report))
    return 0
