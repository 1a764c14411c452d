"""Run the dbt project (``dbt_project/``) in-process with dbt's programmatic runner.

Every call builds the warehouse of one :class:`~recsys.config.Settings`: the RECSYS_* variables
from ``Settings.env()`` (absolute paths) are set for the duration of the call, so the views that
dbt creates over the parquet files keep working from any directory.

How the Python stages use it:

* ``recsys build`` (and ``make build``) calls :func:`build`: ``dbt build`` of the whole project.
* The candidate stage writes the ``candidates`` table, closes its DuckDB connection and calls
  :func:`build_candidate_features`, which rebuilds (and tests) only the ``candidate_features``
  mart; every other mart stays as it is.

Example
-------
>>> from recsys.config import load_settings
>>> from recsys import dbt_runner
>>> dbt_runner.build(load_settings(), select=["eval_targets"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from recsys.columns import Tables
from recsys.config import DBT_PROJECT_DIR, Settings
from recsys.errors import DataValidationError, RecsysError
from recsys.failures import explain
from recsys.pipeline_config import ValidationConfig
from recsys.run_lock import holds_run_lock
from recsys.warehouse import connect, release, replace_file

_FAILED_STATUSES = {"error", "fail", "runtime error"}
# dbt commands that write models: they run on a staged copy of the warehouse (_StagedWarehouse)
_WRITING_COMMANDS = {"build", "run", "seed", "snapshot"}
_ENV_LOCK = threading.Lock()
# files the dbt sources read (dbt_project/models/staging/_yambda__sources.yml)
_EVENT_FILES = ("listens", "likes", "dislikes", "unlikes", "undislikes")
_ROOT_FILES = ("embeddings", "artist_item_mapping", "album_item_mapping")


class DbtRunError(RecsysError):
    """dbt failed: a model, test or the project itself. ``failed`` names the failing nodes."""

    def __init__(self, message: str, failed: Sequence[str] = ()):
        super().__init__(message)
        self.failed = list(failed)


@dataclass
class DbtRunSummary:
    """What a successful dbt invocation did.

    Attributes
    ----------
    command : the dbt arguments that ran.
    statuses : node name -> status (``success``, ``pass``, ``warn``, ``skipped``, ...).
    dropped : Python-written tables dropped because the build's inputs changed (``recsys.state``).
    data_warnings : soft problems of the input data (``recsys.data.validate.content_checks``),
        also recorded in ``build_state`` (and so in ``run_manifest.json``).
    reused : a whole build with nothing changed: dbt did not run (``plan`` says why).
    plan : what :func:`build` decided to do (:class:`BuildPlan`); None for a bare :func:`run_dbt`.
    """

    command: list[str]
    statuses: dict[str, str] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    data_warnings: list[str] = field(default_factory=list)
    reused: bool = False
    plan: BuildPlan | None = None

    @property
    def warned(self) -> list[str]:
        return [name for name, status in self.statuses.items() if status == "warn"]


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block (dbt reads ``env_var`` from os.environ)."""
    with _ENV_LOCK:
        saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for name, old in saved.items():
                if old is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = old


def _close_duckdb() -> None:
    """Release dbt-duckdb's process-wide DuckDB handle so Python can open the warehouse next."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    env = DuckDBConnectionManager._ENV
    if env is not None:
        try:
            env.close()
        finally:
            DuckDBConnectionManager._ENV = None


def _require_input_files(settings: Settings) -> None:
    names = [settings.flat_dir / f"{t}.parquet" for t in _EVENT_FILES]
    names += [settings.data_dir / f"{t}.parquet" for t in _ROOT_FILES]
    missing = [str(p) for p in names if not p.is_file()]
    if missing:
        raise DbtRunError(
            f"dbt needs the dataset files, but {len(missing)} are missing: {', '.join(missing)}. "
            f"Generate them with `recsys generate --size {settings.size}` (or `recsys download`), "
            "or point RECSYS_DATA_DIR / RECSYS_SIZE (--data-dir / --size) at an existing dataset."
        )
    # columns and dtypes from the parquet footers (fast at any size), before dbt reads anything;
    # multi_event is not read by dbt, so a dataset without it still builds
    from recsys.data.validate import validate_dataset

    skip = f"flat/{settings.size}/multi_event.parquet"
    problems = [p for p in validate_dataset(settings.data_dir, settings.size) if not p.startswith(skip)]
    if problems:
        raise DataValidationError(problems)


def _checkpoint(path: Path) -> None:
    """Open ``path`` read-write (a clear error if another process holds it), checkpoint, close.

    Checkpointing folds the write-ahead log (``<path>.wal``) into the file, so a byte copy of the
    file is the whole database.
    """
    con = connect(path, must_exist=False)
    try:
        con.execute("checkpoint")
    finally:
        con.close()


class _StagedWarehouse:
    """``dbt build`` into ``<warehouse>.building``; the warehouse is replaced only on success.

    dbt-duckdb commits model by model, so a build killed half-way would otherwise leave a mix of
    old and new marts. The staging file starts as a byte copy of the warehouse (tables written by
    Python, such as ``candidates``, stay) and is renamed over the warehouse (``os.replace``,
    atomic) once dbt succeeded. While dbt runs, the run's connection to the warehouse
    (``recsys.warehouse.holding``) keeps other processes out with DuckDB's lock error.
    The copy costs one extra warehouse size of disk while the build runs.
    """

    def __init__(self, settings: Settings, on_success: Callable[[Path], object] | None = None,
                 on_staged: Callable[[Path], object] | None = None):
        self.on_success = on_success  # called with the staged file before it replaces the target
        self.target = settings.warehouse.resolve()
        self.path = self.target.with_name(self.target.name + ".building")
        self.created = not self.target.exists()
        _checkpoint(self.target)  # lock check; an empty warehouse if there was none
        self._hold = connect(self.target, read_only=True)
        try:
            _remove_database(self.path)  # left over from a killed build
            _require_space(self.target)
            try:
                shutil.copyfile(self.target, self.path)
            except OSError as exc:
                raise (explain(exc, str(self.path)) or exc) from exc
            if on_staged is not None:  # e.g. drop tables of other inputs before dbt reads them
                on_staged(self.path)
        except BaseException:
            self.close(success=False)
            raise
        self.settings = settings.with_(warehouse=self.path)

    def close(self, *, success: bool) -> None:
        """Rename the staging file over the warehouse if ``success``, else drop it."""
        try:
            if success:
                _checkpoint(self.path)
                if self.on_success is not None:
                    self.on_success(self.path)
                self._hold.close()  # no handle on the old file outlives the swap
                replace_file(self.path, self.target)
        finally:
            self._hold.close()
            _remove_database(self.path)
            if self.created and not success:
                release(self.target)
                _remove_database(self.target)


def resource_hint(messages: Sequence[str], warehouse: Path) -> str:
    """The sentence of a full disk or exhausted memory among dbt's node messages
    (``recsys.failures``), as a first line; empty when none is one.

    >>> resource_hint(["IO Error: No space left on device"], Path("w.duckdb")).startswith("The disk is full")
    True
    >>> resource_hint(["Binder Error: column x not found"], Path("w.duckdb"))
    ''
    """
    import duckdb

    for message in messages:
        sentence = str(explain(duckdb.Error(message), str(warehouse)) or "")
        if sentence.startswith(("The disk is full", "DuckDB ran out of memory")):
            return f"{sentence}\n"
    return ""


def _require_space(warehouse: Path) -> None:
    """Fail before the staged copy when its disk cannot hold it (the copy, plus a quarter for
    what dbt writes into it), with the size needed in the message."""
    from recsys.errors import WarehouseError

    need = int(warehouse.stat().st_size * 1.25)
    free = shutil.disk_usage(warehouse.parent).free
    if free < need:
        raise WarehouseError(
            f"recsys build stages a copy of the warehouse ({warehouse.stat().st_size / 2**30:.1f} GiB) "
            f"beside it and needs about {need / 2**30:.1f} GiB free in {warehouse.parent}, which has "
            f"{free / 2**30:.1f} GiB. Free space there, or move the warehouse (RECSYS_WAREHOUSE) to "
            "a disk with room; the warehouse was not changed.")


def _remove_database(path: Path) -> None:
    for name in (path, path.with_name(path.name + ".wal")):
        name.unlink(missing_ok=True)


def _node_label(node_result) -> str:
    node = node_result.node
    kind = getattr(node, "resource_type", "node")
    return f"{kind} {getattr(node, 'name', node_result)}"


def _failures(result) -> list[tuple[str, str]]:
    """(label, message) for every node whose status is an error or a failure."""
    out = []
    for node_result in getattr(result, "results", None) or []:
        status = str(getattr(node_result, "status", "")).lower()
        if status in _FAILED_STATUSES:
            out.append((_node_label(node_result), str(node_result.message or status).strip()))
    return out


def _progress_callback(bar):
    """A dbt event callback that advances ``bar`` once per finished node."""

    def callback(event) -> None:
        name = event.info.name
        if name == "ConcurrencyLine":
            bar.reset(total=getattr(event.data, "node_count", None) or bar.total)
        elif name == "NodeFinished":
            # dbt's node_count leaves out unit tests (and more), which also finish: the total
            # grows with them instead of being overshot ("127/117")
            if bar.total is not None and bar.n >= bar.total:
                bar.total = bar.n + 1
            bar.set_postfix_str(getattr(event.data.node_info, "node_name", ""), refresh=False)
            bar.update(1)

    return callback


@holds_run_lock("recsys build (dbt)", built=False)
def run_dbt(
    settings: Settings,
    args: Sequence[str],
    *,
    target_path: Path | None = None,
    log_path: Path | None = None,
    progress: bool = False,
    staged: bool = True,
    on_success: Callable[[Path], object] | None = None,
    on_staged: Callable[[Path], object] | None = None,
) -> DbtRunSummary:
    """Run one dbt command (``["build", "--select", "x"]``) against the warehouse of ``settings``.

    Parameters
    ----------
    settings : data, size, warehouse and DuckDB resources; passed to dbt as RECSYS_* variables.
    args : dbt arguments, starting with the command (``build``, ``run``, ``test``, ``docs``...).
    target_path, log_path : where dbt writes artifacts and logs (default ``dbt_project/target``
        and ``dbt_project/logs``); give separate folders to builds that may run at the same time.
    progress : show a progress bar over the nodes on stderr; dbt's own log lines are silenced
        either way (they stay in ``<log_path>/dbt.log``).
    staged : build/run/seed/snapshot into ``<warehouse>.building`` and rename it over the
        warehouse on success (a killed run leaves the previous warehouse). ``False`` writes in
        place: for a single-model rebuild (one transaction in dbt-duckdb), saving a warehouse copy.
    on_success : called with the staged warehouse file once dbt succeeded, before it replaces the
        warehouse (``build`` records the build's fingerprint there: ``recsys.state``).

    Returns
    -------
    DbtRunSummary

    Raises
    ------
    DbtRunError
        dbt failed; the message names every failing model or test and dbt's message for it.
    """
    from dbt.cli.main import dbtRunner

    from recsys.progress import progress_bar

    args = [str(a) for a in args]
    if not args:
        raise DbtRunError("No dbt command given; pass e.g. ['build'].")
    _require_input_files(settings)
    cli = [*args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    # silent on the console; dbt.log (info) keeps what ran for the error messages below
    cli += ["--log-level", "none", "--log-level-file", "info", "--no-use-colors"]
    if target_path is not None:
        cli += ["--target-path", str(Path(target_path).resolve())]
    if log_path is not None:
        cli += ["--log-path", str(Path(log_path).resolve())]

    settings.warehouse.resolve().parent.mkdir(parents=True, exist_ok=True)
    settings.temp_dir.resolve().mkdir(parents=True, exist_ok=True)
    stage = staged and args[0] in _WRITING_COMMANDS
    staging = _StagedWarehouse(settings, on_success, on_staged) if stage else None
    if not stage and settings.warehouse.exists():
        _checkpoint(settings.warehouse)  # a clear lock error instead of dbt's
    success = False
    try:
        with progress_bar(desc=f"dbt {args[0]}", unit="node", disable=not progress, total=None) as bar:
            callbacks = [_progress_callback(bar)] if progress else []
            with _environment((staging.settings if staging else settings).env()):
                try:
                    result = dbtRunner(callbacks=callbacks).invoke(cli)
                finally:
                    _close_duckdb()
        # a run that built nothing (a selection matching no node) leaves the warehouse as it was
        success = bool(result.success) and bool(getattr(result.result, "results", None))
    finally:
        if staging is not None:
            staging.close(success=success)

    interrupted = _interruption(result.exception)
    if interrupted is not None:  # Ctrl-C or SIGTERM inside dbt: dbt returns it as its exception
        raise interrupted
    failures = _failures(result.result)
    if not result.success:
        if failures:
            lines = "\n".join(f"  - {label}: {message}" for label, message in failures)
            raise DbtRunError(
                f"{resource_hint([m for _, m in failures], settings.warehouse)}"
                f"`dbt {' '.join(args)}` failed for {len(failures)} node(s):\n{lines}\n"
                f"Details are in {log_path or DBT_PROJECT_DIR / 'logs'}/dbt.log.",
                failed=[label for label, _ in failures],
            )
        reason = result.exception or "dbt reported failure without a node result"
        sentence = explain(reason, str(settings.warehouse)) if isinstance(reason, BaseException) else None
        if sentence is not None:
            raise sentence from reason
        raise DbtRunError(
            f"`dbt {' '.join(args)}` failed: {reason}. Check the data paths "
            f"(RECSYS_DATA_DIR={settings.data_dir}, RECSYS_SIZE={settings.size}) and "
            "dbt_project/; run `recsys validate` to check the input files."
        )
    statuses = {
        _node_label(r): str(r.status).lower() for r in getattr(result.result, "results", None) or []
    }
    return DbtRunSummary(command=list(args), statuses=statuses)


def _interruption(exc: BaseException | None) -> KeyboardInterrupt | None:
    """The Ctrl-C / SIGTERM (``recsys.failures.Interrupted``) behind dbt's exception, if any."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


@dataclass(frozen=True)
class BuildPlan:
    """What a ``dbt build`` of the whole project has to do, from what the warehouse recorded.

    ``action``: ``reuse`` (nothing changed: no dbt at all), ``modified`` (only the dbt project's
    files changed: build ``state:modified+`` against the recorded manifest) or ``full``.
    ``reason`` says why, in words; ``recorded`` is the build_state details of the warehouse."""

    action: str
    reason: str
    fingerprint: str | None = None
    recorded: Mapping[str, object] | None = None
    manifest: str | None = None


@dataclass(frozen=True)
class _Inputs:
    """What a whole build is made from: ``base`` (input files, dbt vars, schema version),
    ``project`` (the dbt project's files), ``limits`` (the validation bounds checked)."""

    data_hash: str
    vars: Mapping[str, object]
    base: str
    project: str
    limits: str


def _inputs(settings: Settings, vars: Mapping[str, object] | None,
            limits: ValidationConfig | None) -> _Inputs:
    from dataclasses import asdict

    from recsys import state

    data_hash = state.data_hash(settings)
    mart_vars = {k: v for k, v in dict(vars or {}).items() if k not in state.FEATURE_ONLY_VARS}
    return _Inputs(data_hash, mart_vars, state.build_fingerprint(data_hash, mart_vars),
                   state.project_hash(DBT_PROJECT_DIR),
                   state.digest(asdict(limits or ValidationConfig())))


def plan_build(settings: Settings, vars: Mapping[str, object] | None = None,
               limits: ValidationConfig | None = None) -> BuildPlan:
    """Decide what a whole-project build of ``settings``' warehouse has to do (:class:`BuildPlan`)."""
    return _plan(settings, _inputs(settings, vars, limits))


def _plan(settings: Settings, now: _Inputs) -> BuildPlan:
    from recsys import state

    if not settings.warehouse.exists():
        return BuildPlan("full", "there is no warehouse yet")
    con = connect(settings.warehouse, read_only=True)
    try:
        recorded, fingerprint = state.build_details(con), state.current_build(con)
        manifest = state.build_manifest(con)
        relations = {r[0] for r in con.execute(
            "select table_name from information_schema.tables").fetchall()}
    finally:
        con.close()
    if recorded is None:
        return BuildPlan("full", "the warehouse has no recorded build")
    if recorded.get("base") != now.base:
        return BuildPlan("full", "the input files, dbt vars or schema version changed", fingerprint,
                         recorded)
    if manifest is None:
        return BuildPlan("full", "the last build recorded no dbt manifest", fingerprint, recorded)
    missing = sorted(_model_relations(manifest) - relations)
    if missing:
        return BuildPlan("full", f"model(s) missing from the warehouse: {', '.join(missing[:5])}",
                         fingerprint, recorded)
    if recorded.get("project_sha256") != now.project or not recorded.get("complete"):
        return BuildPlan("modified", "the dbt project's files changed since the last whole build",
                         fingerprint, recorded, manifest)
    if recorded.get("limits") != now.limits:
        return BuildPlan("modified", "the validation bounds changed (the data are checked again)",
                         fingerprint, recorded, manifest)
    return BuildPlan("reuse", "the input files, dbt vars, validation bounds and dbt project are "
                     "those of the last build", fingerprint, recorded, manifest)


def _model_relations(manifest: str) -> set[str]:
    """Names of the tables and views the models of a dbt manifest create (ephemeral ones do not)."""
    import json

    nodes = json.loads(manifest).get("nodes", {})
    return {node.get("alias") or node["name"] for node in nodes.values()
            if node.get("resource_type") == "model"
            and node.get("config", {}).get("materialized") != "ephemeral"}


@holds_run_lock("recsys build (dbt)", built=False)
def build(
    settings: Settings,
    select: Sequence[str] | None = None,
    *,
    vars: Mapping[str, object] | None = None,
    progress: bool = False,
    limits: ValidationConfig | None = None,
    full: bool = False,
    **kwargs,
) -> DbtRunSummary:
    """``dbt build`` (models and their tests) of the whole project or of ``select``.

    ``vars`` overrides dbt vars (``{"n_folds": 3}``); ``limits`` bounds the data's values (the
    config's ``validation`` section; checked before dbt runs); other keyword arguments go to
    :func:`run_dbt`.

    A build of the whole project is incremental (:func:`plan_build`): with the input files, dbt
    vars, validation bounds and dbt project of the last build it does nothing
    (``summary.reused``); when only the dbt project's files changed it builds the models dbt
    finds modified against the last build's manifest, with their descendants and tests
    (``state:modified+``); else everything. ``full`` builds everything regardless.
    A selection of ``candidate_features`` alone is written in place (``staged=False``, as
    :func:`build_candidate_features`): one model, no copy of the whole warehouse.
    """
    if select and list(select) == [Tables.candidate_features]:
        kwargs.setdefault("staged", False)
        summary = run_dbt(settings, _build_args(select, vars), progress=progress, **kwargs)
        _require_selected(select, summary)
        if summary.statuses.get(f"model {Tables.candidate_features}") == "success":
            _record_feature_mart(settings, vars)
        return summary
    from recsys import state, tables

    _require_input_files(settings)
    now = _inputs(settings, vars, limits)
    plan = _plan(settings, now)
    if select:
        plan = BuildPlan("select", f"--select {' '.join(select)}", plan.fingerprint, plan.recorded)
    elif full:
        plan = BuildPlan("full", "--full", plan.fingerprint, plan.recorded)
    if plan.action == "reuse":
        return DbtRunSummary(command=["build"], reused=True, plan=plan,
                             data_warnings=list(plan.recorded.get("data_warnings", [])))
    data_warnings = check_data_values(settings, (vars or {}).get("n_folds"), limits)
    target = artifacts_dir(kwargs.get("target_path"))
    dropped: list[str] = []
    recorder = _build_recorder(now, plan, settings, vars, data_warnings, target / "manifest.json",
                               select)
    kwargs.setdefault("on_success", lambda path: dropped.extend(recorder(path)))
    if (plan.recorded or {}).get("base") != now.base:
        # Python's tables of other inputs go before dbt runs: candidate_features reads
        # `candidates`, whose folds need not be this build's
        kwargs.setdefault("on_staged", lambda path: dropped.extend(
            state.drop_tables(path, tables.PYTHON_TABLES)))
    with _state_selection(plan) as state_args:
        summary = run_dbt(settings, [*_build_args(select, vars), *state_args], progress=progress,
                          **kwargs)
    if plan.action == "modified" and not summary.statuses:
        recorder(settings.warehouse, unchanged_marts=True)  # no model changed: the record only
    else:
        _require_selected(select, summary)
    if summary.statuses.get(f"model {Tables.candidate_features}") == "success":
        _record_feature_mart(settings, vars)
    summary.dropped = dropped
    summary.data_warnings = data_warnings
    summary.plan = plan
    return summary


def _build_args(select: Sequence[str] | None, vars: Mapping[str, object] | None) -> list[str]:
    import json

    args = ["build"]
    if select:
        args += ["--select", *select]
    if vars:
        args += ["--vars", json.dumps(dict(vars))]
    return args


def _require_selected(select: Sequence[str] | None, summary: DbtRunSummary) -> None:
    if select and not summary.statuses:
        raise DbtRunError(
            f"--select {' '.join(select)} matched no dbt model or test, so nothing was built. "
            "Use model names from dbt_project/models/ (e.g. `eval_targets`, `folds+`)."
        )


@contextmanager
def _state_selection(plan: BuildPlan) -> Iterator[list[str]]:
    """dbt arguments that select what changed against the plan's recorded manifest (none unless
    the plan is ``modified``), with the manifest in a temporary folder for the block."""
    if plan.action != "modified":
        yield []
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="recsys-dbt-state-") as folder:
        (Path(folder) / "manifest.json").write_text(plan.manifest)
        yield ["--select", "state:modified+", "--state", folder]


def _record_feature_mart(settings: Settings, vars: Mapping[str, object] | None) -> None:
    """Record the vars ``candidate_features`` was built with (the ranker rebuilds it when its
    config's differ: ``recsys.pipeline.ensure_inputs``)."""
    from recsys import state

    con = connect(settings.warehouse)
    try:
        state.record_feature_mart(con, vars)
    finally:
        con.close()


def check_data_values(settings: Settings, n_folds: int | None,
                      limits: ValidationConfig | None = None) -> list[str]:
    """The values of the data, before dbt reads them (``recsys.data.validate.content_checks``):
    errors raise ``DataValidationError``; returns the warnings, which the build records."""
    from recsys.data.validate import require_valid_values

    return require_valid_values(settings.data_dir, settings.size, n_folds, limits)


def _build_recorder(now: _Inputs, plan: BuildPlan, settings: Settings,
                    vars: Mapping[str, object] | None, data_warnings: Sequence[str],
                    manifest_path: Path, select: Sequence[str] | None) -> Callable[..., list[str]]:
    """What records a build in the warehouse file it is given (``recsys.state.record_build``):
    its fingerprint, details and dbt manifest.

    The fingerprint covers the input files, dbt vars and the project's files the marts were
    built with, so rebuilding models from the same ones keeps the Python tables. A build of a
    selection keeps the last whole build's manifest, and marks the record incomplete unless
    every model was already built from these inputs and project files (the next whole build
    then compares against that manifest); a ``modified`` build that rebuilt no model keeps the
    fingerprint (``unchanged_marts``: the Python tables stay valid)."""
    from recsys import state, tables

    recorded = dict(plan.recorded or {})
    same_base = recorded.get("base") == now.base
    # a selection over a warehouse whose every model was built from these inputs and project
    # keeps it whole; any other selection leaves models of other inputs or project files
    complete = not select or (same_base and bool(recorded.get("complete"))
                              and recorded.get("project_sha256") == now.project)
    details = {"data_dir": str(settings.data_dir), "size": settings.size, "vars": dict(vars or {}),
               "data_warnings": list(data_warnings), "data_sha256": now.data_hash,
               "base": now.base if same_base or not select else None, "limits": now.limits,
               "complete": complete,
               "project_sha256": now.project if complete else recorded.get("project_sha256"),
               "marts_project_sha256": now.project}
    fingerprint = state.build_fingerprint(now.data_hash, now.vars, now.project)

    def record(path: Path, unchanged_marts: bool = False) -> list[str]:
        nonlocal fingerprint
        if unchanged_marts:
            fingerprint = plan.fingerprint
            details["marts_project_sha256"] = recorded.get("marts_project_sha256")
        else:
            require_usable(path)  # an unusable build never replaces the warehouse
        manifest = None if select else manifest_path.read_text()
        return state.record_build(path, fingerprint, details, tables.PYTHON_TABLES, manifest)

    return record


def artifacts_dir(target_path: Path | str | None = None) -> Path:
    """Where dbt writes its artifacts (``manifest.json``, ``compiled/``): ``target_path``, else
    dbt's own ``DBT_TARGET_PATH`` (relative to the project, as dbt reads it; ``recsys bench``
    sets it per size), else ``dbt_project/target``."""
    chosen = Path(target_path or os.environ.get("DBT_TARGET_PATH") or "target")
    return (chosen if chosen.is_absolute() else DBT_PROJECT_DIR / chosen).resolve()


def require_usable(path: Path) -> None:
    """Fail unless every fold of the staged warehouse at ``path`` has evaluated users with
    targets of both types (skipped when the build has no ``folds`` / ``eval_targets`` yet)."""
    from recsys.columns import TARGETS
    from recsys.errors import WarehouseError

    con = connect(path, read_only=True)
    try:
        names = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        if not {Tables.folds, Tables.eval_targets} <= names:
            return
        rows = con.execute(
            f"""select f.fold, f.target_start_ts, f.target_end_ts, t.target, count(e.uid)
                from {Tables.folds} as f cross join (select unnest($targets) as target) as t
                left join {Tables.eval_targets} as e on e.fold = f.fold and e.target = t.target
                group by f.fold, f.target_start_ts, f.target_end_ts, t.target, f.history_end_ts
                order by f.history_end_ts desc, t.target""",
            {"targets": list(TARGETS)}).fetchall()
    finally:
        con.close()
    empty = [f"{fold} has no {target} targets in its window [{start:,}, {end:,})"
             for fold, start, end, target, n in rows if n == 0]
    if empty:
        raise WarehouseError(
            f"The build is not usable: {'; '.join(empty)}. The warehouse was left as it was. "
            "Check the data's time range and event files (`recsys profile`), or build fewer "
            "folds (ranker.train_folds in --config sets dbt var n_folds).")


def build_candidate_features(settings: Settings, **kwargs) -> DbtRunSummary:
    """Rebuild the ``candidate_features`` mart after Python wrote the ``candidates`` table.

    Call it with no open DuckDB connection to the warehouse (one writer at a time). One model:
    :func:`build` writes it in place, without copying the whole warehouse first.
    """
    return build(settings, select=[Tables.candidate_features], **kwargs)


__all__ = ["DbtRunError", "DbtRunSummary", "build", "build_candidate_features", "run_dbt"]
