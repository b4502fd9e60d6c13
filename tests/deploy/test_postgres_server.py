"""The throwaway server of tests/deploy: where its binaries are missing, CI fails and a developer skips."""

from __future__ import annotations

import socket

import pytest

from tests.deploy import conftest


@pytest.fixture
def no_binaries(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setattr(conftest, "server_binaries", lambda: None)
    return monkeypatch


def test_missing_binaries_fail_under_ci(no_binaries: pytest.MonkeyPatch) -> None:
    no_binaries.setenv("CI", "true")
    expected = pytest.raises(pytest.fail.Exception, match=r"CI must run .*apt-get install -y postgresql")
    with expected, conftest.running_server():
        pass


def test_missing_binaries_skip_with_the_install_command_elsewhere(no_binaries: pytest.MonkeyPatch) -> None:
    no_binaries.delenv("CI", raising=False)
    expected = pytest.raises(pytest.skip.Exception, match=r"sudo apt-get install -y postgresql")
    with expected, conftest.running_server():
        pass


def test_the_server_is_stopped_and_its_folder_removed() -> None:
    with conftest.running_server() as server:
        assert (server.folder / "data" / "postmaster.pid").exists()
        socket.create_connection((server.host, server.port), timeout=5).close()
    assert not server.folder.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=5)
