"""The command line of :class:`~marl_prune.learner.config.TrainConfig`: one option per field,
its help from the field's docstring, its choices from ``CHOICES``; TOML/YAML config files;
``--env KEY=VALUE`` overrides of the environment."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any

from marl_prune.learner.config import CHOICES, TrainConfig


def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of a dataclass (as CleanRL's tyro reads them)."""
    node = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    if not isinstance(node, ast.ClassDef):
        raise TypeError(f"{cls!r} is not defined by a class statement")
    docs = {}
    for node, after in zip(node.body, node.body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)):
            docs[node.target.id] = " ".join(str(after.value.value).split())
    return docs


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (.toml) or YAML (.yaml/.yml, needs PyYAML) file into a dict."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file not found: {path}")
    if path.suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        try:
            with path.open("rb") as f:
                return tomllib.load(f)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path} is not valid TOML: {e}") from None
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ValueError("reading YAML configs needs PyYAML: pip install pyyaml") from e
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as e:
            raise ValueError(f"{path} is not valid YAML: {e}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path} must hold a mapping of config keys")
        return data
    raise ValueError(f"config file must end in .toml, .yaml or .yml: {path}")


def key_value(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` -> ``(key, value)``, the value read as a Python literal when it is one
    (``3``, ``0.5``, ``True``, ``(0, 1)``; ``true`` / ``false`` in any case are booleans), else
    kept as a string. The config's own type check then accepts or rejects the value."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    if value.strip().lower() in ("true", "false"):
        return key, value.strip().lower() == "true"
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def add_env_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``--env KEY=VALUE`` (repeatable): overrides of DSAConfig fields, collected as pairs."""
    parser.add_argument("--env", type=key_value, action="append", metavar="KEY=VALUE", default=None,
                        help=help_text)


def build_parser(description: str) -> argparse.ArgumentParser:
    """An argparse parser with one option per TrainConfig field (defaults left unset so that
    only the options given on the command line override a config file)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", type=Path, help="TOML or YAML file of config keys")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR",
                        help="continue an interrupted run from its last checkpoint (with --iterations or "
                             "--finetune-iterations: extend it)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a run folder that holds another config (by default that is an error)")
    docs = field_docs(TrainConfig)
    hints = typing.get_type_hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = _default(f)
        help_text = docs.get(f.name, "") + ("" if default is None else f" (default: {default!r})")
        help_text = help_text.replace("%", "%%")  # argparse formats help with %: "10% of" is no format
        kind = hints[f.name]
        optional = [a for a in typing.get_args(kind) if a is not type(None)]
        if type(None) in typing.get_args(kind) and len(optional) == 1:
            kind = optional[0]  # X | None takes an X on the command line
        if f.name == "env":
            add_env_argument(parser, docs["env"])
        elif kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        else:
            base = int if kind is int else float if kind is float else str
            parser.add_argument(flag, type=base, default=None, help=help_text, choices=CHOICES.get(f.name))
    return parser


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else None


def given_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainConfig fields given on the command line."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
             if getattr(args, f.name, None) is not None}
    if "env" in given:
        given["env"] = dict(given["env"])
    return given


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then the --config file, then command-line options."""
    values: dict[str, Any] = load_config_file(args.config) if args.config else {}
    if "env" in values and not isinstance(values["env"], dict):
        raise ValueError(f"TrainConfig.env must be a mapping of DSAConfig fields, got {values['env']!r}")
    for f in dataclasses.fields(TrainConfig):
        given = getattr(args, f.name, None)
        if given is None:
            continue
        values[f.name] = {**values.get("env", {}), **dict(given)} if f.name == "env" else given
    return TrainConfig.from_dict(values)
