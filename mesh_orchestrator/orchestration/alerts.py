"""Alerts: one JSON line per alert in ``<data>/alerts/alerts.jsonl``, and a webhook POST when configured.

The log file is the record that always exists; the webhook (``$MESH_ALERT_WEBHOOK_URL``, e.g. a chat
incoming-webhook) is best effort. ``send_alert`` never raises: it runs inside sensors, and a run-status
sensor that raises still advances its cursor, so the alert would be lost rather than retried. A failed
POST becomes a ``webhook_error`` line in the same log; a log file that cannot be written is reported
through Python logging and the return value, and the webhook is still tried.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from mesh_orchestrator.core import settings
from mesh_orchestrator.core.paths import data_dir

WEBHOOK_ENV = settings.ALERT_WEBHOOK_URL.env
WEBHOOK_TIMEOUT_SECONDS = 5.0
RUN_FAILURE: Final = "run_failure"
GATE_FAILURE: Final = "gate_failure"
STALE_PRODUCT: Final = "stale_product"
#: Log lines of this kind record a webhook POST that failed; they are not alerts.
WEBHOOK_ERROR: Final = "webhook_error"

AlertKind = Literal["run_failure", "gate_failure", "stale_product"]

log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Alert:
    """Something an operator must look at; ``subject`` is the asset key or run id it is about."""

    kind: AlertKind
    subject: str
    message: str
    run_id: str | None = None
    location: str | None = None
    timestamp: str = field(default_factory=_now)
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """One line of JSON; values JSON cannot hold (dates, Dagster objects) become strings."""
        return json.dumps(asdict(self), default=str, sort_keys=True)


def alerts_log_path() -> Path:
    """The alert log, under the mesh's data folder so that the CLI, sensors and tests agree on it."""
    return data_dir() / "alerts" / "alerts.jsonl"


def _append(line: str) -> None:
    path = alerts_log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # One write of one line in append mode: concurrent writers (several sensors) do not interleave.
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def _redacted(url: str) -> str:
    """Scheme and host only: webhook URLs often carry their secret token in the path or query."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else "<invalid url>"


def _post(url: str, body: str) -> None:
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"{WEBHOOK_ENV} must be an http(s) URL")
    request = urllib.request.Request(
        url, data=body.encode("utf-8"), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        response.read()


def _webhook_error(alert: Alert, url: str, exc: Exception) -> str:
    return json.dumps(
        {
            "kind": WEBHOOK_ERROR,
            "alert_kind": alert.kind,
            "subject": alert.subject,
            "webhook": _redacted(url),
            "message": f"{type(exc).__name__}: {exc}",
            "timestamp": _now(),
        },
        sort_keys=True,
    )


def send_alert(alert: Alert) -> bool:
    """Log ``alert`` and POST it to the webhook if one is configured; True when the log line was written."""
    line = alert.to_json()
    logged = True
    try:
        _append(line)
    except OSError:
        log.exception("could not write alert %s about %s to %s", alert.kind, alert.subject, alerts_log_path())
        logged = False
    url = settings.ALERT_WEBHOOK_URL.value()
    if not url:
        return logged
    try:
        _post(url, line)
    except Exception as exc:  # any failure of the webhook: the alert is in the log, the sensor carries on
        try:
            _append(_webhook_error(alert, url, exc))
        except OSError:
            log.exception("could not write webhook_error for alert about %s", alert.subject)
    return logged
