"""``recsys download``: fetch the real Yambda files from the Hugging Face hub into the local layout.

The hub dataset ``yandex/yambda`` has the same layout this project reads:
``flat/<size>/<event>.parquet`` and the root files. Files are fetched one by one with
``huggingface_hub.hf_hub_download(local_dir=...)``, which resumes interrupted downloads and skips
files that are already complete. Where the files come from is injectable: ``fetch`` is any
function ``(repo_path, out_dir) -> local_path``; ``mirror_fetcher`` reads a local folder with the
hub's layout (an offline copy, or a fake hub in tests).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlparse

from recsys.config import PUBLIC_SIZES
from recsys.errors import ConfigError, HubUnreachableError
from recsys.schema import EVENT_FILES, ROOT_FILES

HUB_REPO = "yandex/yambda"
Fetcher = Callable[[str, Path], Path]

_EVENT_NAMES = tuple(name.removesuffix(".parquet") for name in EVENT_FILES)
_ROOT_NAMES = tuple(name.removesuffix(".parquet") for name in ROOT_FILES)
FILE_NAMES = _EVENT_NAMES + _ROOT_NAMES


def hub_paths(size: str, files: Iterable[str] | None = None) -> list[str]:
    """Repository paths to fetch for ``size``; ``files`` picks by name (``listens``, ``embeddings``)."""
    if size not in PUBLIC_SIZES:
        raise ConfigError(
            f"Size {size!r} is not published on the hub; use one of {', '.join(PUBLIC_SIZES)} "
            "(or `recsys generate --size tiny|small|50m` for generated data)."
        )
    names = list(files) if files else list(FILE_NAMES)
    unknown = [n for n in names if n.removesuffix(".parquet") not in FILE_NAMES]
    if unknown:
        raise ConfigError(
            f"Unknown file name(s) {', '.join(unknown)}; choose from {', '.join(FILE_NAMES)}."
        )
    paths = []
    for name in dict.fromkeys(n.removesuffix(".parquet") for n in names):
        paths.append(f"flat/{size}/{name}.parquet" if name in _EVENT_NAMES else f"{name}.parquet")
    return paths


def _unreachable(endpoint: str | None, what: str, exc: BaseException) -> HubUnreachableError:
    return HubUnreachableError(
        f"The Hugging Face hub is unreachable ({endpoint or 'https://huggingface.co'}), so "
        f"{what} cannot be downloaded: {exc}\n"
        "To use local files instead: copy the Yambda parquet files into a folder with the "
        "layout flat/<size>/*.parquet plus embeddings, artist_item_mapping and "
        "album_item_mapping at the root, and set RECSYS_DATA_DIR to it (or run `recsys "
        "download --mirror <that folder>`); or generate data with `recsys generate`."
    )


def _probe(endpoint: str | None, timeout: float = 5.0) -> None:
    """Fail fast (instead of minutes of retries) when the hub's host cannot be reached at all."""
    url = urlparse(endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise _unreachable(endpoint, "the dataset", exc) from exc


def hub_fetcher(repo_id: str = HUB_REPO, endpoint: str | None = None) -> Fetcher:
    """Fetch from the Hugging Face hub (resumable); network failures become ``HubUnreachableError``."""
    probed = []

    def fetch(repo_path: str, out_dir: Path) -> Path:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

        if not probed:
            _probe(endpoint)
            probed.append(True)
        try:
            return Path(
                hf_hub_download(
                    repo_id=repo_id,
                    filename=repo_path,
                    repo_type="dataset",
                    local_dir=out_dir,
                    endpoint=endpoint,
                )
            )
        except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
            if isinstance(exc, HfHubHTTPError) and getattr(exc.response, "status_code", 500) < 500:
                raise ConfigError(f"The hub refused {repo_id}/{repo_path}: {exc}") from exc
            raise _unreachable(endpoint, repo_path, exc) from exc

    return fetch


def mirror_fetcher(mirror: Path | str) -> Fetcher:
    """Copy from a local folder laid out like the hub repository (atomically: temp file + rename)."""
    mirror = Path(mirror)

    def fetch(repo_path: str, out_dir: Path) -> Path:
        source = mirror / repo_path
        if not source.is_file():
            raise ConfigError(f"The mirror {mirror} has no {repo_path}; expected it at {source}.")
        target = out_dir / repo_path
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and target.stat().st_size == source.stat().st_size:
            return target  # already complete
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return target

    return fetch


def download_dataset(
    out: Path | str,
    size: str,
    files: Iterable[str] | None = None,
    fetch: Fetcher | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """Fetch the files of ``size`` into ``out`` with the public layout; returns the local paths.

    Parameters
    ----------
    out : dataset root (``RECSYS_DATA_DIR``).
    size : ``50m``, ``500m`` or ``5b``.
    files : subset of file names (default: all six event files and the three root files).
    fetch : where files come from (default: the Hugging Face hub).
    progress : called with each repository path before it is fetched.
    """
    out = Path(out)
    paths = hub_paths(size, files)
    out.mkdir(parents=True, exist_ok=True)
    fetch = fetch or hub_fetcher()
    local = []
    for repo_path in paths:
        if progress:
            progress(repo_path)
        got = Path(fetch(repo_path, out))
        expected = out / repo_path
        if got.resolve() != expected.resolve():  # a fetcher that used a cache: place it
            expected.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(got, expected)
        local.append(expected)
    return local
