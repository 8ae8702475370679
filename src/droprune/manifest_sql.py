"""The selection of an out-of-core pruning as SQL text, for DuckDB, Spark SQL, Trino or BigQuery.

:func:`selection_sql` writes one query from a :class:`ManifestPlan` (the label values of a
manifest, their classes and the per-class quotas, as a ``VALUES`` table): it adds the hash key
of :mod:`droprune.hash_order` to every row in plain 64-bit integer arithmetic (xor, shifts,
``&``, products below ``2**63``), ranks every class by a window function
(``row_number() OVER (PARTITION BY class ORDER BY score DESC, key)``), takes the cut-off row of
each class's quota, and keeps the rows at or above it. The dialects differ only in the names of
the bit operations, identifier quotes, string escapes and the ``VALUES`` table (BigQuery:
``UNNEST`` of structs). No engine is imported here; :mod:`droprune.outofcore` runs the DuckDB
dialect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .hash_order import MASK31, MASK32, MIX_MULTIPLIERS, round_keys

__all__ = ["DIALECTS", "ManifestPlan", "selection_sql"]

#: SQL dialects of :func:`selection_sql`
DIALECTS = ("duckdb", "spark", "trino", "bigquery")

# xor, shift right, bitwise and, identifier quote
_OPS = {
    "duckdb": ("xor({}, {})", "({} >> {})", "({} & {})", '"'),
    "spark": ("({} ^ {})", "shiftright({}, {})", "({} & {})", "`"),
    "trino": ("bitwise_xor({}, {})", "bitwise_right_shift({}, {})", "bitwise_and({}, {})", '"'),
    "bigquery": ("({} ^ {})", "({} >> {})", "({} & {})", "`"),
}


@dataclass(frozen=True, eq=False)
class ManifestPlan:
    """What the selection query needs: the manifest's label values, their classes and the
    quotas (from :func:`plan_manifest`, or from class counts for :func:`emit_sql`).

    Attributes
    ----------
    method, density, seed
        As asked (the method's canonical name).
    values
        The distinct label values of the manifest, as written in it (ints, floats or text).
    value_class
        The class index of each value.
    class_names
        The name of each class (its index as text when the classes have no names).
    sizes
        Samples per class, int64 (K,).
    quotas
        Kept per class, int64 (K,), or None for a global ranking (``Random``, ``X``).
    total
        Samples kept.
    score
        The score column ranked by (higher = harder = kept first), or None: hash order.
    score_is_float
        Whether the score column holds floats (-0.0 and 0.0 are then made equal).
    recalls, val_counts
        Per-class recalls and validation counts read (None when not given).
    warnings
        The :class:`~droprune.QuotaWarning` messages of the quota rule.
    options, quota
        The :class:`~droprune.QuotaOptions` and the quota rule the quotas were computed with
        (``droprune.prune``'s default floor for DRoP is the ``drop_floor`` rule; None: the
        method's own rule).
    """

    method: str
    density: float
    seed: int
    values: tuple
    value_class: np.ndarray
    class_names: tuple[str, ...]
    sizes: np.ndarray
    quotas: np.ndarray | None
    total: int
    score: str | None = None
    score_is_float: bool = True
    recalls: np.ndarray | None = None
    val_counts: np.ndarray | None = None
    warnings: tuple[str, ...] = ()
    options: Any = None  # the droprune.QuotaOptions the quotas were computed with
    quota: str | None = None



def _sql_string(text: str, dialect: str = "duckdb") -> str:
    if dialect in ("spark", "bigquery"):
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str, dialect: str) -> str:
    q = _OPS[dialect][3]
    return q + name.replace(q, q + q) + q


def _literal(value: Any, dialect: str) -> str:
    if isinstance(value, str):
        return _sql_string(value, dialect)
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise ValueError(f"label {value!r} cannot be written in SQL")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return repr(float(value))


def _key_ctes(carry: str, seed: int, dialect: str) -> list[tuple[str, str]]:
    """The CTEs that add the hash key ``k`` to ``base`` (:mod:`droprune.hash_order`)."""
    xor, shr, band, _ = _OPS[dialect]

    def x(a: Any, b: Any) -> str:
        return xor.format(a, b)

    def a_(e: Any, m: int) -> str:
        return band.format(e, m)

    def xs(e: str, n: int) -> str:  # e ^ (e >> n)
        return x(e, shr.format(e, n))

    m1, m2 = MIX_MULTIPLIERS
    ctes = [("h0", f"SELECT {carry}, {shr.format('idx', 31)} AS l, {a_('idx', MASK31)} AS r "
                   f"FROM base")]
    for key in round_keys(seed):
        for step in (f"l, r, {xs(x('r', key), 16)} AS a",
                     f"l, r, {xs(a_(f'(a * {m1})', MASK32), 15)} AS a",
                     f"r AS l, {x('l', a_(xs(a_(f'(a * {m2})', MASK32), 16), MASK31))} AS r"):
            ctes.append((f"h{len(ctes)}", f"SELECT {carry}, {step} FROM {ctes[-1][0]}"))
    ctes.append(("keyed", f"SELECT {carry}, l * 2147483648 + r AS k FROM {ctes[-1][0]}"))
    return ctes


def _classes_cte(plan: ManifestPlan, dialect: str) -> str:
    quota = plan.quotas is not None
    rows = []
    for v, c in zip(plan.values, plan.value_class):
        cells = [_literal(v, dialect), str(int(c)), _sql_string(plan.class_names[c], dialect)]
        rows.append(cells + ([str(int(plan.quotas[c]))] if plan.quotas is not None else []))
    cols = ["value", "class_id", "class_name"] + (["quota"] if quota else [])
    if dialect == "bigquery":
        types = ["STRING" if isinstance(plan.values[0], str) else
                 "INT64" if isinstance(plan.values[0], int) else "FLOAT64", "INT64", "STRING",
                 "INT64"][:len(cols)]
        struct = ", ".join(f"{c} {t}" for c, t in zip(cols, types))
        body = ",\n    ".join(f"({', '.join(r)})" for r in rows)
        return f"SELECT * FROM UNNEST(ARRAY<STRUCT<{struct}>>[\n    {body}])"
    body = ",\n    ".join(f"({', '.join(r)})" for r in rows)
    if dialect == "spark":
        return f"SELECT * FROM VALUES\n    {body}\n  AS c({', '.join(cols)})"
    return f"SELECT * FROM (VALUES\n    {body}) AS c({', '.join(cols)})"


def selection_sql(plan: ManifestPlan, *, dialect: str = "duckdb", source: str = "manifest",
                  index: str = "idx", label: str = "label", path: str | None = None,
                  order: bool = True) -> str:
    """The selection as one SQL query: ``index``, ``label`` (class index), ``class_name`` and
    ``path`` (when given) of every kept row, in index order.

    Parameters
    ----------
    plan
        The classes and quotas (:func:`plan_manifest`).
    dialect
        ``"duckdb"`` (what :func:`prune_manifest` runs), ``"spark"``, ``"trino"`` or
        ``"bigquery"``.
    source
        A table name or a table expression (e.g. ``read_parquet('m.parquet', file_row_number
        = true)``); written as given.
    index
        Its column holding the row index (sample i has index i): a distributed table has no
        row order, so it must have one.
    label, path
        Its label column (the values of ``plan.values``) and path column.
    order
        Sort the rows by index (``ORDER BY``).
    """
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
    q = lambda name: _ident(name, dialect)  # noqa: E731
    score = plan.score
    cols = ["idx", "value"] + (["score"] if score else []) + (["path"] if path else [])
    base = [f"CAST({q(index)} AS {'INT64' if dialect == 'bigquery' else 'BIGINT'}) AS idx",
            f"{q(label)} AS value"]
    if score:
        s = q(score)
        base.append(f"CASE WHEN {s} = 0 THEN 0.0 ELSE {s} END AS score"
                    if plan.score_is_float else f"{s} AS score")
    if path:
        base.append(f"{q(path)} AS path")
    ctes = [("base", f"SELECT {', '.join(base)} FROM {source}")]
    ctes += _key_ctes(", ".join(cols), plan.seed, dialect)
    ctes.append(("classes", _classes_cte(plan, dialect)))
    rank = "h.score DESC, h.k" if score else "h.k"
    if plan.quotas is not None:
        ctes.append(("ranked", f"SELECT c.class_id, c.quota, {'h.score, ' if score else ''}h.k, "
                               f"row_number() OVER (PARTITION BY c.class_id ORDER BY {rank}) "
                               f"AS rn FROM keyed h JOIN classes c ON h.value = c.value "
                               f"WHERE c.quota > 0"))
        ctes.append(("cut", f"SELECT class_id, {'score AS cut_score, ' if score else ''}"
                            f"k AS cut_k FROM ranked WHERE rn = quota"))
        join = "JOIN cut t ON t.class_id = c.class_id"
    else:
        ctes.append(("ranked", f"SELECT {'h.score, ' if score else ''}h.k, row_number() OVER "
                               f"(ORDER BY {rank}) AS rn FROM keyed h"))
        ctes.append(("cut", f"SELECT {'score AS cut_score, ' if score else ''}k AS cut_k "
                            f"FROM ranked WHERE rn = {plan.total}"))
        join = "CROSS JOIN cut t"
    keep = ("h.score > t.cut_score OR (h.score = t.cut_score AND h.k <= t.cut_k)" if score
            else "h.k <= t.cut_k")
    inline = " NOT MATERIALIZED" if dialect == "duckdb" else ""
    with_ = ",\n".join(f"{name} AS{inline} (\n  {body}\n)" for name, body in ctes)
    out = [f"h.idx AS {q('index')}", f"c.class_id AS {q('label')}",
           f"c.class_name AS {q('class_name')}"] + ([f"h.path AS {q('path')}"] if path else [])
    return (f"-- droprune {plan.method} at density {plan.density:g}, seed {plan.seed}: "
            f"keeps {plan.total} rows\nWITH {with_}\nSELECT {', '.join(out)}\n"
            f"FROM keyed h JOIN classes c ON h.value = c.value {join}\nWHERE {keep}"
            + ("\nORDER BY h.idx" if order else ""))
