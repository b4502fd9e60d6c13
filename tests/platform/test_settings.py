"""Every MESH_* setting in one place: defaults, values read fresh, clear errors, and the README table."""

from __future__ import annotations

import re

import pytest

from mesh_orchestrator.core import settings
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.settings import SettingError


def test_an_unset_or_blank_variable_means_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESH_LOCK_RETRIES", raising=False)
    assert settings.LOCK_RETRIES.value() == 3
    monkeypatch.setenv("MESH_LOCK_RETRIES", "  ")
    assert settings.LOCK_RETRIES.value() == 3
    monkeypatch.setenv("MESH_LOCK_RETRIES", "5")
    assert settings.LOCK_RETRIES.value() == 5  # read when asked, not at import


@pytest.mark.parametrize(
    ("setting", "raw", "says"),
    [
        (settings.LOCK_RETRIES, "three", "must be a whole number >= 0 (default 3)"),
        (settings.LOCK_RETRIES, "-1", "must be a whole number >= 0 (default 3)"),
        (settings.FILE_SETTLE_SECONDS, "-2", "must be a number of seconds >= 0 (default 10)"),
        (settings.DATA_FOLDER_WAIT_SECONDS, "soon", "must be a number of seconds >= 0 (default unset)"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_it_takes(
    monkeypatch: pytest.MonkeyPatch, setting: settings.Setting, raw: str, says: str
) -> None:
    monkeypatch.setenv(setting.env, raw)
    with pytest.raises(SettingError) as raised:
        setting.value()
    assert str(raised.value) == f"${setting.env}={raw!r} {says}"


def test_every_mesh_variable_the_platform_reads_is_a_setting() -> None:
    """No module reads a MESH_* variable of its own, besides the documented exceptions."""
    exceptions = {"MESH_PII_KEY_", "MESH_PARTITION_START", "MESH_PARTITION_END"}
    declared = {s.env for s in settings.SETTINGS}
    package = REPO_ROOT / "mesh_orchestrator"
    found = set()
    for path in package.rglob("*.py"):
        if path.name == "settings.py" or "devtools" in path.parts:
            continue
        found |= set(re.findall(r'"(MESH_[A-Z_]+)"', path.read_text(encoding="utf-8")))
    assert found - declared - exceptions == set()


def test_the_readme_lists_every_setting() -> None:
    assert settings.table() in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
