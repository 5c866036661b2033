"""The pure layers (hapair.core, hapair.config) must not do I/O, directly or through an import.

This is the mechanical guard for ../shared/DESIGN.md section 3: it parses every module of the pure
layers, follows their hapair-internal imports transitively, and fails on any banned module or on a
call of a builtin that does I/O. The same rule is in ruff's banned-api (src/hapair/*/ruff.toml); this
test is what makes the test run fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PURE_PACKAGES = ("hapair.core", "hapair.config")
# hapair modules outside the pure packages that a pure module may import (they are pure themselves).
PURE_SHARED = ("hapair.errors", "hapair")
BANNED_MODULES = {
    "asyncio",
    "os",
    "time",
    "random",
    "secrets",
    "socket",
    "select",
    "selectors",
    "subprocess",
    "threading",
    "multiprocessing",
    "concurrent",
    "signal",
    "uuid",
    "shutil",
    "tempfile",
    "glob",
    "pathlib",
    "io",
    "pyroute2",
    "logging",
    "fcntl",
    "mmap",
    "ctypes",
    "datetime",
    "sys",
    "urllib",
    "http",
    "ssl",
    "ftplib",
    "smtplib",
    "prometheus_client",
}
BANNED_BUILTINS = {"open", "print", "input", "__import__", "exec", "eval", "breakpoint"}


def module_path(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    if base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def is_pure_name(name: str) -> bool:
    return name in PURE_SHARED or any(name == p or name.startswith(p + ".") for p in PURE_PACKAGES)


def pure_modules() -> list[str]:
    names = []
    for pkg in PURE_PACKAGES:
        root = SRC.joinpath(*pkg.split("."))
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(SRC).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            names.append(".".join(parts))
    return names


def imported_names(module: str, tree: ast.AST) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    package = (
        module
        if module_path(module) and str(module_path(module)).endswith("__init__.py")
        else module.rpartition(".")[0]
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            out.append((target, node.lineno))
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if module_path(sub) is not None:
                    out.append((sub, node.lineno))
    return out


def violations_of(module: str) -> list[str]:
    path = module_path(module)
    assert path is not None, module
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    problems = []
    for name, line in imported_names(module, tree):
        top = name.split(".")[0]
        where = f"{path.relative_to(SRC)}:{line}"
        if top in BANNED_MODULES:
            problems.append(f"{where}: imports {name}")
        elif top == "hapair" and not is_pure_name(name):
            problems.append(f"{where}: imports {name}, which is not a pure layer")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BANNED_BUILTINS:
            problems.append(f"{path.relative_to(SRC)}:{node.lineno}: calls {node.func.id}()")
    return problems


@pytest.mark.parametrize("module", pure_modules())
def test_pure_module_does_no_io(module: str) -> None:
    assert violations_of(module) == []


def test_checker_catches_banned_imports(tmp_path: Path) -> None:
    """The checker itself must be able to fail: feed it a module that breaks every rule."""
    tree = ast.parse("import os\nfrom time import monotonic\nimport hapair.adapters\nopen('x')\n")
    names = [n for n, _ in imported_names("hapair.core.fake", tree)]
    assert "os" in names and "time" in names and "hapair.adapters" in names
    assert not is_pure_name("hapair.adapters")
    assert is_pure_name("hapair.core.vrrp")


def test_there_are_pure_modules() -> None:
    assert "hapair.core" in pure_modules()
    assert "hapair.config" in pure_modules()
