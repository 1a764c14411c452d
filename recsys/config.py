"""Settings: the one source of truth for paths and resources.

Every value comes from an environment variable with a documented default, so the CLI, the
Makefile and dbt (``env_var(...)`` in ``dbt_project/profiles.yml`` and ``dbt_project.yml``) all
read the same thing. Relative paths are resolved against the current directory (the repo root
when run through ``make``).

=====================  ==========================  ==============================================
variable               default                     meaning
=====================  ==========================  ==============================================
RECSYS_DATA_DIR        data/yambda                 root with ``flat/<size>/*.parquet`` + root files
RECSYS_SIZE            small                       dataset size preset (tiny, small, 50m, ...)
RECSYS_WAREHOUSE       warehouse/recsys.duckdb     the DuckDB warehouse dbt and the CLI share
RECSYS_REPORTS_DIR     reports                     where metrics.csv, report.html, bench go
RECSYS_MEMORY_LIMIT    12GB                        DuckDB ``memory_limit``
RECSYS_THREADS         (all cores)                 DuckDB ``threads``
RECSYS_TEMP_DIR        warehouse/tmp               DuckDB spill directory
=====================  ==========================  ==============================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from recsys.errors import ConfigError

DEFAULT_DATA_DIR = "data/yambda"
DEFAULT_SIZE = "small"
DEFAULT_WAREHOUSE = "warehouse/recsys.duckdb"
DEFAULT_REPORTS_DIR = "reports"
DEFAULT_MEMORY_LIMIT = "12GB"
DEFAULT_TEMP_DIR = "warehouse/tmp"

GENERATED_SIZES = ("tiny", "small", "50m", "500m")
PUBLIC_SIZES = ("50m", "500m", "5b")
KNOWN_SIZES = tuple(dict.fromkeys(GENERATED_SIZES + PUBLIC_SIZES))

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SQL_DIR = REPO_ROOT / "sql"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(DEFAULT_DATA_DIR))
    size: str = DEFAULT_SIZE
    warehouse: Path = field(default_factory=lambda: Path(DEFAULT_WAREHOUSE))
    reports_dir: Path = field(default_factory=lambda: Path(DEFAULT_REPORTS_DIR))
    memory_limit: str = DEFAULT_MEMORY_LIMIT
    threads: int | None = None
    temp_dir: Path = field(default_factory=lambda: Path(DEFAULT_TEMP_DIR))

    @property
    def flat_dir(self) -> Path:
        """``<data_dir>/flat/<size>``: the event files of the chosen size."""
        return self.data_dir / "flat" / self.size

    def with_(self, **changes) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def require_writable(self) -> None:
        """Fail with one sentence when the warehouse's folder, the reports folder or the temp
        folder (or, for one not made yet, the nearest folder above it) cannot be written, before
        a run does any work. Tried by creating a file there: permissions, a read-only mount."""
        import tempfile

        places = {"RECSYS_WAREHOUSE's folder": self.warehouse.resolve().parent,
                  "RECSYS_REPORTS_DIR": self.reports_dir.resolve(),
                  "RECSYS_TEMP_DIR": self.temp_dir.resolve()}
        for name, folder in places.items():
            existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
            if existing is None:
                continue
            try:
                with tempfile.TemporaryFile(dir=existing):
                    pass
            except OSError as exc:
                raise ConfigError(
                    f"{name} {folder} cannot be written ({exc.strerror or exc} in {existing}). "
                    "Make it writable or point the variable at a writable folder; nothing was "
                    "done.") from None

    def env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings (absolute paths), for dbt."""
        env = {
            "RECSYS_DATA_DIR": str(self.data_dir.resolve()),
            "RECSYS_SIZE": self.size,
            "RECSYS_WAREHOUSE": str(self.warehouse.resolve()),
            "RECSYS_REPORTS_DIR": str(self.reports_dir.resolve()),
            "RECSYS_MEMORY_LIMIT": self.memory_limit,
            "RECSYS_TEMP_DIR": str(self.temp_dir.resolve()),
        }
        if self.threads:
            env["RECSYS_THREADS"] = str(self.threads)
        return env


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment (``os.environ`` by default)."""
    environ = os.environ if environ is None else environ
    size = environ.get("RECSYS_SIZE", DEFAULT_SIZE).strip()
    if not size or "/" in size:
        raise ConfigError(f"RECSYS_SIZE={size!r} is not a size name; use one of {', '.join(KNOWN_SIZES)}.")
    threads_raw = environ.get("RECSYS_THREADS", "").strip()
    threads = None
    if threads_raw:
        try:
            threads = int(threads_raw)
        except ValueError:
            threads = 0
        if threads < 1:
            raise ConfigError(f"RECSYS_THREADS={threads_raw!r} must be a positive integer (or unset for all cores).")
    return Settings(
        data_dir=Path(environ.get("RECSYS_DATA_DIR", DEFAULT_DATA_DIR)),
        size=size,
        warehouse=Path(environ.get("RECSYS_WAREHOUSE", DEFAULT_WAREHOUSE)),
        reports_dir=Path(environ.get("RECSYS_REPORTS_DIR", DEFAULT_REPORTS_DIR)),
        memory_limit=environ.get("RECSYS_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT),
        threads=threads,
        temp_dir=Path(environ.get("RECSYS_TEMP_DIR", DEFAULT_TEMP_DIR)),
    )
