"""The package's shape: imports point down the layers, every module says what it owns, every
script says when to use it and documents every option."""

import argparse
import ast
from pathlib import Path

import pytest
from script_module import load_script

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {  # a module may import its own package and packages of a lower layer only
    "envs": 0, "marl_prune.seeding": 0,
    "marl_prune.models": 1, "marl_prune.pruning": 1,
    "marl_prune.testbeds": 2,
    "marl_prune.learner": 3,
    "marl_prune.methods": 4, "marl_prune.deploy": 4,
    "marl_prune.experiments": 5,
}
MODULES = sorted(p for p in [*ROOT.glob("marl_prune/**/*.py"), *ROOT.glob("envs/**/*.py")])
SCRIPTS = sorted(ROOT.glob("scripts/*.py"))


def _package(module: str) -> str | None:
    return max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len, default=None)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path):
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    own = _package(module)
    for name in _imports(path):
        other = _package(name)
        if other is not None and own is not None and other != own:
            assert LAYERS[other] < LAYERS[own], f"{module} imports {name}, a layer at or above its own"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_has_a_docstring(path):
    assert ast.get_docstring(ast.parse(path.read_text())), f"{path} has no module docstring"


class _Parsed(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_every_script_documents_itself_and_every_option(path, monkeypatch):
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc and "Use it" in doc, f"{path.name}: the docstring should say when to use it"

    def capture(parser, *args, **kwargs):
        raise _Parsed(parser)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(_Parsed) as parsed:
        load_script(path.name).main()
    undocumented = [a.dest for a in parsed.value.parser._actions
                    if not isinstance(a, argparse._HelpAction) and not a.help]
    assert not undocumented, f"{path.name}: options without help: {undocumented}"
    assert "usage:" in parsed.value.parser.format_help()  # --help renders (a bare % in a help text breaks it)
