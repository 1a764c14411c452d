"""Benchmark integrity: ``run_manifest.json`` records the git commit and the lock file's hash,
and ``requirements.lock`` pins every dependency of ``pyproject.toml`` inside its ranges (so the
same commit installs the same packages anywhere). Fast: no network, no venv, no warehouse."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from robust_fixtures import work_settings

from recsys import run_manifest
from recsys.pipeline_config import pipeline_config
from recsys.run_manifest import LOCK_NAME, REPO_ROOT, build_manifest, provenance

PYPROJECT = REPO_ROOT / "pyproject.toml"
LOCK = REPO_ROOT / LOCK_NAME


def lock_pins() -> dict[str, Version]:
    """``requirements.lock`` as {canonical name: version}; every line a comment or an exact pin."""
    pins: dict[str, Version] = {}
    for line in LOCK.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and name and version and ";" not in line and " " not in line, \
            f"not an exact name==version pin: {line!r}"
        key = canonicalize_name(name)
        assert key not in pins, f"pinned twice: {name}"
        pins[key] = Version(version)
    return pins


def project_requirements() -> list[Requirement]:
    """The project's dependencies and those of its ``dev`` extra (the ones ``make setup`` installs)."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [Requirement(s) for s in specs]


def git_head() -> str | None:
    if shutil.which("git") is None:
        return None
    done = subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--show-toplevel", "HEAD"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    top, head = done.stdout.split()
    return head if Path(top).resolve() == REPO_ROOT else None


def test_manifest_provenance_has_head_commit_and_lock_hash(tmp_path):
    head = git_head()
    if head is None:
        pytest.skip("the package does not run from a git checkout")
    manifest = build_manifest(work_settings(tmp_path, tmp_path), pipeline_config(), fold="test",
                              models=["mostpop"])
    prov = manifest["provenance"]
    # re-read HEAD after building: a commit by someone else in between is not a failure
    assert prov["git_commit"] in {head, git_head()}
    assert len(prov["git_commit"]) == 40
    assert isinstance(prov["git_dirty"], bool)
    assert prov["lock_sha256"] == hashlib.sha256(LOCK.read_bytes()).hexdigest()
    assert "optuna" in manifest["packages"]
    # what the JSON file gets
    assert '"lock_sha256"' in run_manifest.manifest_json(manifest)


def test_provenance_is_none_outside_a_checkout_and_without_git(tmp_path, monkeypatch):
    # not a checkout, no lock: unknown, not an error
    assert provenance(tmp_path) == {"git_commit": None, "git_dirty": None, "lock_sha256": None}
    # a lock file is hashed even without git
    (tmp_path / LOCK_NAME).write_text("numpy==2.0.0\n")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    got = provenance(REPO_ROOT)
    assert got["git_commit"] is None and got["git_dirty"] is None
    assert provenance(tmp_path)["lock_sha256"] == hashlib.sha256(b"numpy==2.0.0\n").hexdigest()


def test_a_checkout_that_only_contains_the_package_is_not_its_provenance(tmp_path):
    """An installed package inside some other repository (a venv in a checkout) has no commit."""
    if shutil.which("git") is None:
        pytest.skip("no git")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    inner = tmp_path / "site-packages"
    inner.mkdir()
    assert provenance(inner)["git_commit"] is None


def test_lock_pins_every_dependency_within_pyproject_ranges():
    pins = lock_pins()
    assert "recsys" not in pins, "the project itself is not pinned"
    missing, outside = [], []
    for req in project_requirements():
        if req.marker is not None and not req.marker.evaluate():
            continue
        version = pins.get(canonicalize_name(req.name))
        if version is None:
            missing.append(req.name)
        elif not req.specifier.contains(version, prereleases=True):
            outside.append(f"{req.name}=={version} (pyproject: {req.specifier})")
    assert not missing, f"dependencies of pyproject.toml missing from {LOCK_NAME}: {missing}"
    assert not outside, f"pins outside pyproject.toml's ranges: {outside}; run `make lock`"


def test_makefile_setup_installs_from_the_lock():
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "-c requirements.lock -e '.[dev]'" in makefile
    rule = next(line for line in makefile.splitlines() if line.startswith("$(BIN)/recsys:"))
    assert "pyproject.toml" in rule and "requirements.lock" in rule
    assert any(line.startswith("lock:") and "## " in line for line in makefile.splitlines())
