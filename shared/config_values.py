"""Config values: dataclass fields checked and coerced from plain dicts and config files
(YAML or JSON), and configs back to JSON-safe dicts. ``shared.cli`` parses flags with them."""

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from shared.results import fields_dict

CONFIG_FILE_SUFFIXES = (".yaml", ".yml", ".json")


def type_hints(config_cls: type) -> dict[str, Any]:
    """Returns the resolved annotations of a dataclass (string annotations too)."""
    if not dataclasses.is_dataclass(config_cls) or not isinstance(config_cls, type):
        raise TypeError(f"expected a dataclass type, got {config_cls!r}")
    return typing.get_type_hints(config_cls)


def unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """Returns (T, True) for `Optional[T]` or `T | None`, else (annotation, False)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        arguments = typing.get_args(annotation)
        inner = [argument for argument in arguments if argument is not type(None)]
        if len(inner) == 1 and len(arguments) == 2:
            return inner[0], True
        raise TypeError(f"unsupported union annotation {annotation!r}; use Optional[T]")
    return annotation, False


def type_name(annotation: Any) -> str:
    """Returns a short readable name for an annotation, for error messages."""
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__name__
    return str(annotation).replace("typing.", "")


def coerce(name: str, annotation: Any, value: Any) -> Any:
    """Returns `value` checked against `annotation` (ints to float, lists to tuple);
    raises ValueError naming the field, the expected type and the value."""
    inner, optional = unwrap_optional(annotation)
    if value is None and optional:
        return None
    expected = type_name(annotation)
    error = ValueError(f"config field {name!r} expects {expected}, got {value!r}")
    origin = typing.get_origin(inner)
    if origin is typing.Literal:
        for choice in typing.get_args(inner):
            if type(value) is type(choice) and value == choice:
                return value
        raise error
    if origin is tuple:
        item_types = typing.get_args(inner)
        if not isinstance(value, (list, tuple)):
            raise error
        if len(item_types) == 2 and item_types[1] is Ellipsis:
            item_types = (item_types[0],) * len(value)
        if len(item_types) != len(value):
            raise error
        return tuple(
            coerce(f"{name}[{index}]", item_type, item)
            for index, (item_type, item) in enumerate(zip(item_types, value))
        )
    if inner is float and type(value) in (int, float):
        return float(value)
    if inner is float and isinstance(value, str):
        try:  # PyYAML (YAML 1.1) reads `1e-3` as a string.
            return float(value)
        except ValueError:
            raise error from None
    if inner in (int, str, bool) and type(value) is inner:
        return value
    raise error


def validated_values(config_cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """Returns `values` with keys checked against the fields and values coerced."""
    hints = type_hints(config_cls)
    names = [field.name for field in dataclasses.fields(config_cls)]
    unknown = sorted(str(key) for key in values if key not in names)
    if unknown:
        name = config_cls.__name__
        raise ValueError(f"unknown config keys {unknown} for {name}; valid: {names}")
    return {key: coerce(key, hints[key], value) for key, value in values.items()}


def config_from_dict(config_cls: type, values: dict[str, Any]) -> Any:
    """Builds a config from a plain dict, with the same checks as config files.

    Raises:
        ValueError: for unknown keys, wrong types or missing required fields.
    """
    if not isinstance(values, dict):
        raise TypeError(f"expected a dict of config values, got {values!r}")
    validated = validated_values(config_cls, values)
    try:
        return config_cls(**validated)
    except TypeError as error:
        raise ValueError(f"cannot build {config_cls.__name__}: {error}") from error


def config_to_dict(config: Any) -> dict[str, Any]:
    """Returns a JSON-safe dict of a config's fields (tuples become lists)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"expected a dataclass instance, got {config!r}")
    return fields_dict(config)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Reads a YAML or JSON settings file (by extension) into a dict; keys may be
    written `batch_size` or `batch-size`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in CONFIG_FILE_SUFFIXES:
        raise ValueError(f"config file must end in {CONFIG_FILE_SUFFIXES}, got {path}")
    try:
        text = path.read_text(encoding="utf-8")
        values = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (OSError, json.JSONDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"cannot read config file {str(path)!r}: {error}") from error
    values = {} if values is None else values
    if not isinstance(values, dict):  # A user's file: ValueError, as for bad input.
        raise ValueError(f"config file {path} must hold a mapping, got {values!r}")  # noqa: TRY004
    return {str(key).replace("-", "_"): value for key, value in values.items()}
