"""Sphinx configuration of the droprune API reference (built by ``scripts/docs``).

Offline by design: no intersphinx, the builtin ``alabaster`` theme, no downloads. The pages
are generated from the docstrings of the installed (editable) ``droprune`` with autodoc and
napoleon (numpy-style docstrings); ``scripts/docs`` builds with ``-W --keep-going``.
"""

from __future__ import annotations

import sys

import droprune

project = "droprune"
author = "droprune developers"
copyright = "droprune developers, MIT License"
release = droprune.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

root_doc = "index"
exclude_patterns: list[str] = []
html_theme = "alabaster"
html_static_path: list[str] = []
html_show_sourcelink = False

# autodoc: each page lists a module's ``__all__`` (autodoc honours it), in source order.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"
autodoc_preserve_defaults = True

# napoleon: numpy-style docstrings only.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

#: a value longer than this is not shown (registries: their entries are documented by name)
MAX_VALUE_CHARS = 120

# Not -n (nitpicky): without intersphinx (no network at build time) every numpy, torch and
# pathlib annotation is an unresolved reference, and the docstrings still name internal
# helpers; a reference that does not resolve renders as plain text.


def _lookup(target: str, module: str | None) -> object | None:
    """The Python object a dotted ``target`` names (relative to ``module`` first), or None."""
    import importlib

    for name in ([f"{module}.{target}"] if module else []) + [target]:
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj: object = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                break
            return obj
    return None


def _resolve_reexport(app, env, node, contnode):
    """Resolve a reference to a name documented under another of its import paths.

    ``:func:`drop_quotas``` in :mod:`droprune.quotas`, or ``droprune.data.adapter.as_labelled``,
    name objects documented once, as ``droprune.drop_quotas`` and ``droprune.data.as_labelled``:
    link to the documented name of the same Python object.
    """
    from sphinx.util.nodes import make_refnode

    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    obj = _lookup(target, node.get("py:module"))
    leaf = target.rsplit(".", 1)[-1]
    same_leaf = [(name, entry) for name, entry in env.get_domain("py").objects.items()
                 if name.rsplit(".", 1)[-1] == leaf and not entry.aliased]
    # the same object; else the one documented name with that leaf (a docstring shown on the
    # top-level page names ``STARVATION_FLOOR`` of its own module, droprune.quotas)
    found = [(n, e) for n, e in same_leaf if obj is not None and _lookup(n, None) is obj]
    found = found or (same_leaf if len(same_leaf) == 1 else [])
    if not found:
        return None
    name, entry = found[0]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode,
                        name)


def _skip_member(app, what, name, obj, skip, options):
    """Which members autodoc lists.

    - A module's: every name of its ``__all__`` that the page does not exclude, documented or
      not, so that none goes missing silently (a constant re-exported by a package has no
      docstring of its own; see :func:`_data_documenter`).
    - A class's: not the ``Alias for field number i`` members of a NamedTuple, which its
      Attributes section documents (both would be a duplicate object description).
    """
    module = sys.modules.get(app.env.temp_data.get("autodoc:module") or "")
    if (what == "module" and skip and name in getattr(module, "__all__", ())
            and name not in (options.get("exclude-members") or ())):
        return False
    if what == "class" and (getattr(obj, "__doc__", None) or "").startswith("Alias for field"):
        return True
    return None


def _data_documenter():
    """autodoc's DataDocumenter, for a constant re-exported by a package too (autodoc's own
    documents only constants that have a ``#:`` comment in the module documented), with that
    comment from the defining module and no value longer than :data:`MAX_VALUE_CHARS`."""
    import inspect

    from sphinx.ext.autodoc import DataDocumenter, ModuleDocumenter
    from sphinx.pycode import ModuleAnalyzer
    from sphinx.util.inspect import object_description

    class Documenter(DataDocumenter):
        @classmethod
        def can_document_member(cls, member, membername, isattr, parent):
            return isinstance(parent, ModuleDocumenter) and (isattr or not (
                inspect.isclass(member) or inspect.isroutine(member) or inspect.ismodule(member)))

        def should_suppress_value_header(self) -> bool:
            return (len(object_description(self.object)) > MAX_VALUE_CHARS
                    or super().should_suppress_value_header())

        def get_doc(self) -> list[list[str]] | None:
            name = self.objpath[-1]
            # the module that defines the constant: the ``#:`` comment is in its source
            for modname in [self.modname] + sorted(sys.modules):
                if not modname.startswith("droprune"):
                    continue
                if getattr(sys.modules.get(modname), name, None) is not self.object:
                    continue
                try:
                    comment = ModuleAnalyzer.for_module(modname).find_attr_docs().get(("", name))
                except Exception:  # noqa: BLE001 (no source: try the next module)
                    continue
                if comment:
                    return [list(comment)]
            return []  # never the docstring of the value's type (``str``, ``tuple``, ...)

    return Documenter


def setup(app):
    app.add_autodocumenter(_data_documenter(), override=True)
    app.connect("missing-reference", _resolve_reexport)
    app.connect("autodoc-skip-member", _skip_member)
