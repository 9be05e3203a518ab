"""The installable project (pyproject.toml) ships every package of the service and every file its code
reads beside the modules, so an installed copy, and the image built from it, is the service."""
from __future__ import annotations

import fnmatch
from pathlib import Path

import tomllib

from tests.conftest import ROOT

SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
# Top-level packages that are not the service: the bot runs in its own Python 3.10 environment and
# image; fakes, benchmarks and tests are development tools.
NOT_SHIPPED = {"bot", "fakes", "bench", "tests"}


def shipped_packages() -> set[str]:
    include = SETUPTOOLS["packages"]["find"]["include"]
    return {name for name in include if "*" not in name}


def test_the_package_list_matches_the_product_packages_on_disk():
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - NOT_SHIPPED
    assert shipped_packages() == on_disk
    include = set(SETUPTOOLS["packages"]["find"]["include"])
    assert {f"{name}.*" for name in on_disk} <= include, "subpackages of every package are shipped too"


def _data_patterns(folder: Path) -> list[str]:
    package = ".".join(folder.relative_to(ROOT).parts)
    return SETUPTOOLS["package-data"].get(package, [])


def test_every_file_beside_the_modules_is_package_data():
    missing = []
    for package in sorted(shipped_packages()):
        for path in sorted((ROOT / package).rglob("*")):
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            if not any(fnmatch.fnmatch(path.name, pattern) for pattern in _data_patterns(path.parent)):
                missing.append(str(path.relative_to(ROOT)))
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"


def test_package_data_names_folders_that_exist_and_hold_files():
    for package, patterns in SETUPTOOLS["package-data"].items():
        folder = ROOT.joinpath(*package.split("."))
        assert folder.is_dir(), package
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"{package}: {pattern} matches nothing"
