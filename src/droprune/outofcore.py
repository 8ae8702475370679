"""A kept list for a manifest of any size: per-class counts and a per-class ranked selection
in an embedded SQL engine (DuckDB), the quotas from droprune's numpy core.

A *manifest* is a Parquet or CSV file with one row per training sample (row i = sample i): a
label column (class ids or names), optionally a path column and a score column. Nothing of
the manifest is held in memory: DuckDB reads it three times (class counts and checks; the
per-class cut-off of the ranking; the kept rows, streamed to ``kept.parquet``), within
``memory_limit`` and spilling to a temporary folder. Only the per-class table (K rows) is in
Python.

The order inside each class is the seeded **hash order** of :mod:`droprune.hash_order` (a key
of (seed, row index) in plain 64-bit integer arithmetic), not numpy's generator: the kept set
equals :func:`droprune.hash_order.hashed_kept` on the same data exactly; the per-class counts
equal :func:`droprune.prune`'s (same quota rule, same options). With a score column the highest
scores are kept, equal scores by smallest key.

The selection is one SQL query (:func:`selection_sql`) that takes the per-class quotas as a
``VALUES`` table; :func:`emit_sql` writes it for Spark SQL, Trino or BigQuery, where a team can
run it on its cluster (``docs/prune.md``, "A manifest of any size").

DuckDB is imported only when a function needs it; pyarrow reads CSV (both come with ``pip
install "droprune[outofcore]"``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from ._checks import check_density, check_int, target_count
from ._columns import listed
from ._manifest import MAX_CLASSES, _Distinct, _Manifest
from .manifest_sql import DIALECTS, ManifestPlan, _sql_string, selection_sql

if TYPE_CHECKING:  # quotas is imported where it is used
    from .quotas import DropMode, ErrorEstimate

__all__ = ["DIALECTS", "ManifestPlan", "ManifestResult", "emit_sql", "file_record_streamed",
           "plan_manifest", "prune_manifest", "selection_sql", "write_manifest_outputs"]

#: DuckDB's memory limit by default (it spills to ``temp_dir`` beyond it)
MEMORY_LIMIT = "2GB"
#: what :func:`write_manifest_outputs` writes besides ``kept.parquet`` (``manifest.json`` last)
OUTPUTS = ("kept.parquet", "classes.csv", "warnings.txt", "selection.sql", "manifest.json")


# -- the plan: class counts and quotas ---------------------------------------------------------

def plan_manifest(manifest: Any, density: float, *, method: str = "Random+DRoP",
                  seed: int = 0, recalls: Any = None, val_counts: Any = None,
                  class_names: Sequence[str] | None = None, class_ids: str = "name",
                  num_classes: int | None = None, label: str = "label",
                  path: str | None = "path", score: str | None = None,
                  error_estimate: ErrorEstimate = "point", prior: Any = None,
                  min_per_class: int = 0, min_density: float | None = None,
                  mode: DropMode = "density",
                  memory_limit: str = MEMORY_LIMIT, threads: int | None = None,
                  temp_dir: Any = None) -> ManifestPlan:
    """The class counts of a manifest (one pass in DuckDB) and the quotas of ``method``: what
    :func:`selection_sql` needs. Arguments as :func:`prune_manifest`; writes nothing."""
    with _open(manifest, density, seed, method, class_ids, label, path, score, memory_limit,
               threads, temp_dir) as m:
        return _plan(m, density, method=method, seed=seed, recalls=recalls,
                     val_counts=val_counts, class_names=class_names, class_ids=class_ids,
                     num_classes=num_classes, error_estimate=error_estimate, prior=prior,
                     min_per_class=min_per_class, min_density=min_density, mode=mode)


def _open(manifest: Any, density: float, seed: int, method: str, class_ids: str, label: str,
          path: str | None, score: str | None, memory_limit: str, threads: int | None,
          temp_dir: Any) -> _Manifest:
    """The manifest, with the score column of a method that ranks (its strategy's name when
    ``score`` is None); the arguments checked first (a large file is read only for valid
    arguments)."""
    from .inputs import _check_class_ids
    from .pruning import parse_prune_method

    check_density(density)
    check_int(seed, "seed", minimum=0)
    _check_class_ids(class_ids)
    parsed = parse_prune_method(method, scores_given=None)
    if score is None and parsed.reads_scores:
        score = parsed.quota_strategy or parsed.strategy
    return _Manifest(manifest, label=label, path_column=path, score=score,
                     memory_limit=memory_limit, threads=threads, temp_dir=temp_dir)


def _plan(m: _Manifest, density: float, **kw: Any) -> ManifestPlan:
    found = m.counts()
    if found.num_rows == 0:
        raise ValueError(f"{m.source}: holds no rows: write one row per sample")
    if found.num_rows > MAX_CLASSES:
        raise ValueError(f"{m.source}: column {m.label!r} holds more than {MAX_CLASSES} "
                         f"distinct values: is it the class label? (label=)")
    value = found.column("value")
    rows = found.column("first").to_numpy()
    if value.null_count:
        i = int(rows[np.flatnonzero(value.is_null().to_numpy(zero_copy_only=False))[0]])
        raise ValueError(f"{m.source}: the label of sample {i} is empty: write a class index "
                         f"or name in every row")
    if "bad" in found.column_names and found.column("bad").null_count < found.num_rows:
        i = int(np.nanmin(found.column("bad").to_numpy(zero_copy_only=False).astype(float)))
        raise ValueError(f"{m.source}: the score of sample {i} is empty or not finite: scores "
                         f"must be finite numbers")
    distinct = _Distinct(value.to_numpy(zero_copy_only=False), rows, m.csv)
    n = found.column("n").to_numpy().astype(np.int64)
    selection = None
    if "from_selection" == _rule(kw["method"]):
        selection = lambda plan: _selection_counts(m, plan)  # noqa: E731
    return _make_plan(distinct, n, m.source, density, score=m.score,
                      score_is_float=m.score is None or "INT" not in m.types[m.score].upper(),
                      selection=selection, **kw)


def _rule(method: str) -> str:
    from .pruning import parse_prune_method
    from .quotas import QUOTA_RULES

    return QUOTA_RULES.entry(parse_prune_method(method, scores_given=None).quota).name


def _make_plan(distinct: Any, n: np.ndarray, source: Any, density: float, *, method: str,
               seed: int, recalls: Any, val_counts: Any, class_names: Any, class_ids: str,
               num_classes: Any, error_estimate: ErrorEstimate, prior: Any,
               min_per_class: int, min_density: Any, mode: DropMode, score: str | None,
               score_is_float: bool,
               selection: Any = None) -> ManifestPlan:
    """Classes of the distinct labels, recalls, quotas (the rules of ``droprune prune``)."""
    from .inputs import _check_class_ids, _class_indices, _names, read_recalls
    from .pruning import _recalls, parse_prune_method, resolve_floor
    from .quotas import JEFFREYS_PRIOR, QUOTA_RULES, QuotaOptions, QuotaWarning, make_quotas

    density = check_density(density)
    seed = check_int(seed, "seed", minimum=0)
    parsed = parse_prune_method(method, scores_given=score is not None)
    _check_class_ids(class_ids)
    names = _names(class_names)
    from_file = isinstance(recalls, (str, Path))
    if names is None and from_file:
        names = _names(read_recalls(recalls).class_names)
    ids = _class_indices(distinct, Path(str(source)), names, class_ids, "label")
    if ids is None:
        raise ValueError(f"{source}: holds class names ({listed(distinct.values.tolist())}) but "
                         f"no class order was given to turn them into indices: pass "
                         f"class_names, or a recalls file that names the classes")
    k = len(names) if names is not None else (
        None if num_classes is None else check_int(num_classes, "num_classes", minimum=1))
    if from_file:
        recalls, val_counts, file_names = read_recalls(
            recalls, labels=np.unique(ids), class_names=names, num_classes=k,
            class_ids=class_ids)
        names = None if file_names is None else list(file_names)
    if recalls is not None:
        k = int(np.size(recalls))
    k = k if k is not None else int(ids.max()) + 1
    if ids.max() >= k:
        i = int(np.argmax(ids))
        raise ValueError(f"{source}: label {distinct.values[i]!r} ({distinct.where(i)}) is "
                         f"outside the {k} classes (0..{k - 1})")
    rec, n_val = _recalls(k, recalls, None, None, None, val_counts)
    if parsed.needs_recalls and rec is None:
        raise ValueError(f"method {parsed.name!r} sets DRoP quotas from the validation recall "
                         f"of each class: pass recalls= (a file or one per class)")
    sizes = np.zeros(k, dtype=np.int64)
    np.add.at(sizes, ids, n)
    quota, floor = resolve_floor(parsed.quota, min_density, density)
    options = QuotaOptions(mode=mode, error_estimate=error_estimate,
                           prior=JEFFREYS_PRIOR if prior is None else prior,
                           min_per_class=min_per_class,
                           min_density=floor)
    shown = tuple(names) if names is not None else tuple(str(c) for c in range(k))
    plan = ManifestPlan(parsed.name, density, seed, tuple(_scalar(v) for v in distinct.values),
                        ids, shown, sizes, None, int(sizes.sum()), score, score_is_float,
                        rec, n_val)
    rule = QUOTA_RULES.entry(quota)
    selection_counts = None
    if "selection" in rule.needs:
        if selection is None:
            raise ValueError(f"method {parsed.name!r} takes the class counts of a global "
                             f"ranking: it needs the manifest, not class counts")
        selection_counts = selection(replace(plan, total=target_count(density, plan.total)))
        score = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", QuotaWarning)
        quotas = make_quotas(rule.name, sizes, density, recalls=rec, val_counts=n_val,
                             selection_counts=selection_counts, options=options,
                             class_names=names)
    for w in caught:
        if not issubclass(w.category, QuotaWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    messages = tuple(str(w.message) for w in caught if issubclass(w.category, QuotaWarning))
    total = target_count(density, plan.total) if quotas is None else int(quotas.sum())
    return replace(plan, quotas=quotas, total=total, score=score, warnings=messages,
                   options=options, quota=quota)


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _selection_counts(m: _Manifest, plan: ManifestPlan) -> np.ndarray:
    """Class histogram of the global ranking by the score column (for ``Random+XQ``)."""
    sql = selection_sql(plan, source=m.relation(), index="file_row_number", label=m.label,
                        order=False)
    found = m.query(f"SELECT label, count(*) AS n FROM ({sql}) GROUP BY label")
    counts = np.zeros(plan.sizes.size, dtype=np.int64)
    counts[found.column("label").to_numpy()] = found.column("n").to_numpy()
    return counts


# -- running it --------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class ManifestResult:
    """What :func:`prune_manifest` kept (the kept list is the file ``kept_path``).

    Attributes
    ----------
    kept_path
        ``kept.parquet``: ``index``, ``label`` (class index), ``class_name`` and ``path`` (with
        a path column) of every kept sample, in index order.
    kept, samples
        Samples kept, samples in the manifest.
    table
        One row per class, as :attr:`droprune.PruneResult.table`.
    warnings, starved
        As :class:`droprune.PruneResult`.
    method, density, seed, class_names
        As asked.
    sql
        The query that selected the kept rows (DuckDB dialect).
    plan
        The :class:`ManifestPlan`.
    """

    kept_path: Path
    kept: int
    samples: int
    table: Any
    warnings: tuple[str, ...]
    starved: tuple[int, ...]
    method: str
    density: float
    seed: int
    class_names: tuple[str, ...]
    sql: str
    plan: ManifestPlan

    def summary(self) -> str:
        """A few lines: what was kept, the class densities, starved classes, warnings."""
        t = self.table
        lines = [f"{self.method} at density {self.density:g}: kept {self.kept} of "
                 f"{self.samples} samples ({self.kept / max(self.samples, 1):.1%}) over "
                 f"{len(t)} classes (out of core, hash order, seed {self.seed})"]
        dens = t["density"].dropna()
        if len(dens):
            lo, hi = int(dens.idxmin()), int(dens.idxmax())
            lines.append(f"class densities from {dens[lo]:.3f} ({t['name'][lo]}) to "
                         f"{dens[hi]:.3f} ({t['name'][hi]})")
        starved = ", ".join(str(t["name"][c]) for c in self.starved[:20]) or "none"
        lines.append(f"starved classes: {starved}" + (", ..." if len(self.starved) > 20 else ""))
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])


def prune_manifest(manifest: Any, density: float, kept: Any, *,
                   method: str = "Random+DRoP", seed: int = 0, recalls: Any = None,
                   val_counts: Any = None, class_names: Sequence[str] | None = None,
                   class_ids: str = "name", num_classes: int | None = None,
                   label: str = "label", path: str | None = "path", score: str | None = None,
                   error_estimate: ErrorEstimate = "point", prior: Any = None,
                   min_per_class: int = 0, min_density: float | None = None,
                   mode: DropMode = "density",
                   memory_limit: str = MEMORY_LIMIT, threads: int | None = None,
                   temp_dir: Any = None, ordered: bool = True) -> ManifestResult:
    """Prune a manifest of any size out of core: ``droprune.prune`` on a file, the kept list
    streamed to ``kept`` (Parquet).

    Parameters
    ----------
    manifest
        A ``.parquet`` or ``.csv`` file (with a header row), one row per sample, row i =
        sample i.
    density, method, seed, error_estimate, prior, min_per_class, min_density, mode
        As :func:`droprune.prune` (``density`` is the fraction KEPT); the random order is the
        hash order of :mod:`droprune.hash_order`.
    kept
        The Parquet file to write (atomically: a temporary file moved into place), columns
        ``index``, ``label``, ``class_name``, ``path``.
    recalls, val_counts
        A recalls file (``class``, ``recall``[, ``count``], read by
        :func:`droprune.read_recalls`; a file naming its classes sets the class order), or
        per-class recalls (K,) and validation counts.
    class_names, class_ids, num_classes
        The class order, as :func:`droprune.read_labels` takes it.
    label
        The label column (class indices, or class names); the only column when the file has
        one.
    path
        The path column copied to ``kept`` ("path" by default, when present; None: none).
    score
        The score column ranked by (higher = harder = kept first); by default the column named
        after the method's strategy (``EL2N+DRoP`` reads ``el2n``, case-insensitively).
    memory_limit, threads, temp_dir
        DuckDB's memory limit (it spills beyond it), threads (default: all cores) and where it
        spills (default: the system's temporary folder).
    ordered
        Write the kept rows in index order (default). At 10^8 rows the sort about doubles the
        time of the last pass; ``False`` writes them in the engine's order.

    Returns
    -------
    ManifestResult

    Raises
    ------
    ValueError
        One line naming the file or argument (a missing column, an empty or unknown label, a
        score that is not a finite number, a density out of range, ...), before anything is
        written.
    ImportError
        Without DuckDB or pyarrow (one line: ``pip install "droprune[outofcore]"``).
    """
    kept = Path(kept)
    with _open(manifest, density, seed, method, class_ids, label, path, score, memory_limit,
               threads, temp_dir) as m:
        plan = _plan(m, density, method=method, seed=seed, recalls=recalls,
                     val_counts=val_counts, class_names=class_names, class_ids=class_ids,
                     num_classes=num_classes, error_estimate=error_estimate, prior=prior,
                     min_per_class=min_per_class, min_density=min_density, mode=mode)
        sql = selection_sql(plan, source=m.relation(), index="file_row_number", label=m.label,
                            path=m.path, order=ordered)
        counts = _write(m, sql, kept, plan.sizes.size)
    if int(counts.sum()) != plan.total or (plan.quotas is not None
                                           and not np.array_equal(counts, plan.quotas)):
        raise RuntimeError(f"{kept}: kept {counts.sum()} rows, expected {plan.total}")
    return _result(plan, counts, kept, sql)


def _write(m: _Manifest, sql: str, kept: Path, k: int) -> np.ndarray:
    """``COPY`` the query to a temporary file next to ``kept``, count its classes, move it
    into place; the kept count per class."""
    from ._io import _create_temporary

    kept.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(kept)
    os.close(fd)
    try:
        m.query(f"COPY ({sql}) TO {_sql_string(str(tmp))} (FORMAT PARQUET)", result=False)
        found = m.query(f"SELECT label, count(*) AS n FROM read_parquet("
                        f"{_sql_string(str(tmp))}) GROUP BY label")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, kept)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    counts = np.zeros(k, dtype=np.int64)
    counts[found.column("label").to_numpy()] = found.column("n").to_numpy()
    return counts


def _result(plan: ManifestPlan, counts: np.ndarray, kept: Path, sql: str) -> ManifestResult:
    from .pruning import _table, _why, parse_prune_method
    from .quotas import QUOTA_RULES, QuotaWarning, starved_classes, under_served_classes

    starved = tuple(starved_classes(counts, plan.sizes))
    messages = list(plan.warnings)
    strategy = plan.method.split("+")[0]
    if starved and QUOTA_RULES.entry(_rule(plan.method)).allocate is None:
        listed_ = ", ".join(f"class {c} keeps {counts[c]} of {plan.sizes[c]}"
                            for c in starved[:10])
        messages.append(f"the global ranking {plan.method} (no class quotas) starves "
                        f"{len(starved)} classes: {listed_}; use a quota rule (e.g. "
                        f"{strategy}+DRoP) with min_per_class=5")
    for text in messages:
        warnings.warn(text, QuotaWarning, stacklevel=3)
    parsed = parse_prune_method(plan.method, scores_given=None)
    bound, paper = _why(replace(parsed, quota=plan.quota or parsed.quota), plan.sizes, counts,
                        plan.density, plan.recalls, plan.val_counts, plan.options)
    table = _table(plan.sizes, counts, plan.recalls, plan.val_counts, plan.class_names,
                   starved, tuple(under_served_classes(counts, plan.sizes, plan.density)),
                   bound, paper)
    return ManifestResult(kept, int(counts.sum()), int(plan.sizes.sum()), table,
                          tuple(messages), starved, plan.method, plan.density, plan.seed,
                          plan.class_names, sql, plan)


def emit_sql(manifest: Any, density: float, *, dialect: str = "spark",
             table: str | None = None, index: str = "idx", label: str = "label",
             path: str | None = "path", score: str | None = None, method: str = "Random+DRoP",
             seed: int = 0, recalls: Any = None, val_counts: Any = None,
             class_names: Sequence[str] | None = None, class_ids: str = "name",
             num_classes: int | None = None, error_estimate: ErrorEstimate = "point",
             prior: Any = None, min_per_class: int = 0, min_density: float | None = None,
             mode: DropMode = "density",
             memory_limit: str = MEMORY_LIMIT, threads: int | None = None,
             temp_dir: Any = None) -> str:
    """The selection query of :func:`prune_manifest` for another SQL engine.

    Parameters
    ----------
    manifest
        A manifest file (its class counts are read here, in DuckDB), or the class counts
        themselves: a mapping of label value (as in the table) -> rows, e.g. the result of
        ``SELECT label, count(*) FROM manifest GROUP BY label`` run on the cluster.
    dialect
        ``"spark"`` (Spark SQL, Databricks), ``"trino"`` (Trino, Presto, Athena),
        ``"bigquery"`` or ``"duckdb"``.
    table
        The table the query reads, written as given (``catalog.schema.table``; default
        ``manifest``; with ``dialect="duckdb"`` and a Parquet manifest, the file itself). It
        needs an ``index`` column holding the row index.
    index, label, path, score
        Its columns (``path=None``: none is copied). With a manifest file, ``label``,
        ``path`` and ``score`` name its columns as in :func:`prune_manifest`.
    Other arguments
        As :func:`prune_manifest`.

    Returns
    -------
    str
        One query; its rows (``index``, ``label`` (class index), ``class_name``, ``path``) are
        the kept samples, the same set :func:`prune_manifest` keeps when ``index`` is the row
        index and the engine computes 64-bit integer arithmetic (every SQL engine does).
    """
    options = dict(method=method, seed=seed, recalls=recalls, val_counts=val_counts,
                   class_names=class_names, class_ids=class_ids, num_classes=num_classes,
                   error_estimate=error_estimate, prior=prior, min_per_class=min_per_class,
                   min_density=min_density, mode=mode)
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {dialect!r}")
    if isinstance(manifest, Mapping):
        from .pruning import parse_prune_method

        parsed = parse_prune_method(method, scores_given=None)
        if score is None and parsed.reads_scores:
            score = parsed.quota_strategy or parsed.strategy
        values = list(manifest)
        n = np.array([check_int(manifest[v], f"count of label {v!r}") for v in values])
        distinct = _Distinct(np.array(values, dtype=object if any(
            isinstance(v, str) for v in values) else None), None, False)
        plan = _make_plan(distinct, n, "counts", density, score=score, score_is_float=True,
                          **options)
        return selection_sql(plan, dialect=dialect, source=table or "manifest", index=index,
                             label=label, path=path)
    with _open(manifest, density, seed, method, class_ids, label, path, score, memory_limit,
               threads, temp_dir) as m:
        plan = _plan(m, density, **options)
        if table is None and dialect == "duckdb" and not m.csv:  # the file itself
            return selection_sql(plan, source=m.relation(), index="file_row_number",
                                 label=m.label, path=m.path)
        return selection_sql(plan, dialect=dialect, source=table or "manifest", index=index,
                             label=m.label, path=m.path)


def write_manifest_outputs(result: ManifestResult, out: Any, *,
                           manifest: Mapping[str, Any] | None = None) -> list[Path]:
    """The output folder of an out-of-core pruning, beside ``kept.parquet`` (which
    :func:`prune_manifest` wrote): ``classes.csv``, ``warnings.txt``, ``selection.sql`` and
    ``manifest.json`` (last). Returns the files of :data:`OUTPUTS`."""
    from . import __version__
    from ._io import atomic_write_json, atomic_write_text

    out = Path(out)
    atomic_write_text(out / "classes.csv", result.table.to_csv(index=False))
    atomic_write_text(out / "warnings.txt", "".join(f"{w}\n" for w in result.warnings))
    atomic_write_text(out / "selection.sql", result.sql + "\n")
    atomic_write_json(out / "manifest.json", dict(
        manifest or {}, droprune_version=__version__, method=result.method,
        density=result.density, seed=result.seed, kept=result.kept, samples=result.samples,
        starved=list(result.starved), order="hash (droprune.hash_order)",
        kept_list=str(result.kept_path), outputs=list(OUTPUTS)))
    return [out / name for name in OUTPUTS]


def file_record_streamed(path: Any) -> dict[str, Any]:
    """What a manifest.json records of an input file (its path, size and sha256), read in
    8 MiB chunks: a manifest of 10^8 rows is never held in memory (as
    :func:`droprune.prune_output.file_record` would hold it).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh:
    ...     _ = fh.write("label\\n0\\n")
    >>> record = file_record_streamed(fh.name)
    >>> record["bytes"], record["sha256"][:12]
    (8, '3deb6d3c17a2')
    """
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(8 << 20), b""):
            digest.update(chunk)
    return {"path": str(path), "sha256": digest.hexdigest(), "bytes": os.path.getsize(path)}
