"""The API reference (docs/api/*.rst, built by scripts/docs) leaves out no public name.

Public: every name of the ``__all__`` of ``droprune``, of each of its non-private modules and
subpackages (not the command line) and of the modules of ``droprune.integrations``. Each such
module needs an ``automodule`` directive with ``:members:`` (autodoc lists the module's
``__all__``; docs/api/conf.py keeps the undocumented names too); a name left out with
``:exclude-members:`` must be documented where it is imported from, or where it is re-exported
(``droprune.quotas.drop_quotas`` is documented once, as ``droprune.drop_quotas``). Needs no
Sphinx: the pages and the sources are read as text.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PAGES = ROOT / "docs" / "api"
#: modules of a subpackage that users import by their own path
SUBMODULES = ("droprune.integrations.lightning", "droprune.integrations.huggingface")


def public_modules() -> list[str]:
    pkg = SRC / "droprune"
    names = ["droprune"]
    names += [f"droprune.{p.stem}" for p in sorted(pkg.glob("*.py"))
              if not p.stem.startswith("_")]
    names += [f"droprune.{p.parent.name}" for p in sorted(pkg.glob("*/__init__.py"))
              if p.parent.name != "cli" and not p.parent.name.startswith("_")]
    return names + list(SUBMODULES)


def source(module: str) -> ast.Module:
    path = SRC / Path(*module.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return ast.parse(path.read_text())


def module_all(module: str) -> list[str]:
    for node in source(module).body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            try:
                return list(ast.literal_eval(node.value))
            except ValueError:  # computed (droprune.experiments): its import is torch-free
                return list(importlib.import_module(module).__all__)
    raise AssertionError(f"{module} has no __all__")


def imported_from(module: str) -> dict[str, str]:
    """name -> the module it is imported from, for the relative imports of ``module``."""
    package = module if (SRC / Path(*module.split("."))).is_dir() else module.rsplit(".", 1)[0]
    out: dict[str, str] = {}
    for node in source(module).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            where = f"{base}.{node.module}" if node.module else base
            for alias in node.names:
                out[alias.asname or alias.name] = where
    return out


DIRECTIVE = re.compile(r"^\.\. (auto\w+):: *(\S+)\n((?:[ \t]+\S.*\n?)*)", re.M)


def directives(text: str) -> tuple[dict[str, set[str]], set[str]]:
    """(module -> its excluded names, for each ``automodule`` with ``:members:``; the dotted
    names of the other auto directives) in the text of .rst pages."""
    modules: dict[str, set[str]] = {}
    objects: set[str] = set()
    for kind, target, body in DIRECTIVE.findall(text):
        if kind != "automodule":
            objects.add(target)
            continue
        if not re.search(r"^\s+:members:\s*$", body, re.M):
            continue
        excluded = re.search(r":exclude-members:(.*(?:\n[ \t]+[^:\s].*)*)", body)
        names = excluded.group(1).replace("\n", " ").split(",") if excluded else []
        modules[target] = {n.strip() for n in names if n.strip()}
    return modules, objects


def uncovered(modules: list[str], text: str) -> list[str]:
    """The public names of ``modules`` that the pages ``text`` leave out, with why."""
    documented, objects = directives(text)
    alls = {m: module_all(m) for m in modules}

    def shown(module: str, name: str) -> bool:
        return (f"{module}.{name}" in objects
                or (module in documented and name not in documented[module]))

    problems = [f"{m}: no '.. automodule:: {m}' with ':members:'" for m in modules
                if m not in documented]
    for module, names in alls.items():
        excluded = documented.get(module, set())
        problems += [f"{module}: excludes {n!r}, which is not in its __all__"
                     for n in sorted(excluded - set(names))]
        for name in names:
            if shown(module, name):
                continue
            # documented once, under another of its import paths: the same object (one module
            # imports it from the other, or both from the same one)
            home = imported_from(module).get(name, module)
            elsewhere = [m for m in alls if m != module and name in alls[m] and shown(m, name)
                         and home in (m, imported_from(m).get(name, m))]
            if not elsewhere:
                problems.append(f"{module}.{name}: on no page of docs/api")
    return problems


def pages_text() -> str:
    return "\n".join(p.read_text() for p in sorted(PAGES.glob("*.rst")))


def test_every_public_name_is_in_the_api_reference() -> None:
    assert uncovered(public_modules(), pages_text()) == []


def test_the_public_modules_are_found() -> None:
    modules = public_modules()
    assert {"droprune", "droprune.quotas", "droprune.theory", "droprune.data",
            "droprune.integrations", "droprune.integrations.lightning"} <= set(modules)
    assert not any(m.startswith(("droprune.cli", "droprune._")) for m in modules)
    assert "prune" in module_all("droprune") and "run_sweep" in module_all("droprune.experiments")


def test_a_name_left_out_is_reported() -> None:
    text = pages_text()
    # a page that drops a name documented nowhere else
    dropped = text.replace(".. automodule:: droprune.theory\n   :members:\n",
                           ".. automodule:: droprune.theory\n   :members:\n"
                           "   :exclude-members: t_star, t_hat\n")
    assert dropped != text
    assert uncovered(["droprune.theory"], dropped) == [
        "droprune.theory.t_hat: on no page of docs/api",
        "droprune.theory.t_star: on no page of docs/api",
    ]
    # a module with no page; a stale exclusion
    assert uncovered(["droprune.splits"], "") == [
        "droprune.splits: no '.. automodule:: droprune.splits' with ':members:'"] + [
        f"droprune.splits.{n}: on no page of docs/api" for n in module_all("droprune.splits")]
    stale = ".. automodule:: droprune.splits\n   :members:\n   :exclude-members: gone\n"
    assert uncovered(["droprune.splits"], stale) == [
        "droprune.splits: excludes 'gone', which is not in its __all__"]


def test_a_re_export_is_documented_once() -> None:
    # documented as droprune.drop_quotas; excluded from the droprune.quotas page
    documented, _ = directives(pages_text())
    assert "drop_quotas" in documented["droprune.quotas"]
    assert "drop_quotas" not in documented["droprune"]
    # ... which counts only because droprune imports it from droprune.quotas
    assert uncovered(["droprune.quotas"], pages_text()) != []


@pytest.mark.parametrize("page", sorted(p.name for p in PAGES.glob("*.rst")))
def test_each_page_is_in_the_index(page: str) -> None:
    if page == "index.rst":
        return
    index = (PAGES / "index.rst").read_text()
    assert re.search(rf"^   {re.escape(page[:-4])}$", index, re.M), f"{page} not in index.rst"
