"""Ingestion triggers: a sensor per landing feed that starts ingestion when files arrive, and cron
schedules for batch feeds (``schedules:`` in ``domains/<domain>/defs.yaml``). Both target the
landing asset only.

The files it looks at are landing's own selection (``feed_files.select_files``): those landing does
not read (links, FIFOs, wrong extension, outside every sender's folder, undated) are named with the
reason in every tick, never requested. The cursor remembers every file it requested by name, size,
mtime and content hash, not a high-water mark: a file is requested once even when mtimes tie or
clocks jump, and a file rewritten under the same name with new content counts as new. Files still
being written (``*.part``, ``*.tmp``, or modified within the settle time) wait for a later tick;
hidden and ``_``-prefixed files are not data. Landing dedupes by content hash too, so a request
that does come twice ingests nothing twice.

A feed partitioned by day gets one request per day among the new files, for that day's landing
partition; a file waits until its day is over, and a file with no day in its name is reported in
the tick's reason, never ingested. Its schedule runs the day that just ended, files or not.
"""

# No `from __future__ import annotations` here: Dagster reads the `context` annotation at definition time.

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._utils.schedules import is_valid_cron_string
from pydantic import Field, field_validator

from mesh_orchestrator.core import names, settings
from mesh_orchestrator.core.errors import NotRegularFileError, SpecError
from mesh_orchestrator.core.models import SpecModel, iana_zone, problem, validate
from mesh_orchestrator.core.partitions import PartitionSpec, file_day, partitions_def
from mesh_orchestrator.core.paths import landing_dir
from mesh_orchestrator.core.spec import DEFAULT_TIMEZONE, DomainSpec, FeedSpec
from mesh_orchestrator.ingestion.feed_files import FeedFile, Unread, file_digest, select_files

#: The key of a domain's spec that holds its feeds' cron schedules.
SCHEDULES = "schedules"

#: Run tags of a sensor's request: the new files (truncated), how many there are, and the files of
#: the folder that landing does not read (with why).
FILES_TAG = "mesh/new_files"
FILE_COUNT_TAG = "mesh/new_file_count"
UNREAD_TAG = "mesh/files_not_read"
MAX_FILES_TAG_CHARS = 1000
#: Seconds a tick may spend hashing new files (Dagster times a sensor evaluation out after 60 s).
HASH_BUDGET_SECONDS = 20.0
CURSOR_VERSION = 1


# --- settings -------------------------------------------------------------------------------------


def sensor_interval_seconds() -> int:
    """Seconds between a feed sensor's ticks (``$MESH_SENSOR_INTERVAL_SECONDS``, default 30)."""
    return max(1, round(settings.SENSOR_INTERVAL_SECONDS.value()))


def settle_seconds() -> float:
    """How long a file must be left unmodified before it is ingested (``$MESH_FILE_SETTLE_SECONDS``)."""
    return settings.FILE_SETTLE_SECONDS.value()


def sensor_name(domain: str, feed: str) -> str:
    return f"{domain}__{feed}__files"


def schedule_name(domain: str, feed: str) -> str:
    return f"{domain}__{feed}__schedule"


# --- what the sensor sees --------------------------------------------------------------------------


def landing_files(spec: DomainSpec, feed: FeedSpec) -> list[FeedFile]:
    """Every complete file landing would read (``feed_files.select_files``, landing's own selection),
    so the sensor never starts a run for a file landing would ignore."""
    return select_files(feed, landing_dir(spec.name, feed.name)).read


def unread_note(unread: list[Unread], limit: int = 600) -> str:
    """The files nobody reads, with why, for a tick's reason or a log line."""
    return f"{len(unread)} file(s) not read: {files_tag([str(u) for u in unread], limit)}"


@dataclass(frozen=True)
class FeedCursor:
    """What a feed sensor has seen, kept only for files still present (so it stays small).

    ``requested``: label -> (size, mtime_ns, sha256) of the version last requested.
    ``settling``: label -> (size, mtime_ns, first seen ns) of a file not yet settled, so that a file
    whose mtime lies in the future (a producer's clock ahead of ours) settles by being seen unchanged.
    """

    requested: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    settling: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def to_json(self) -> str:
        data = {
            "v": CURSOR_VERSION,
            "requested": {k: list(v) for k, v in self.requested.items()},
            "settling": {k: list(v) for k, v in self.settling.items()},
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | None) -> "FeedCursor":
        """Parse a cursor; raises ValueError on anything this version did not write."""
        if not raw:
            return cls()
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
            raise ValueError(f"not a version {CURSOR_VERSION} feed cursor")
        requested = {str(k): (int(s), int(m), str(h)) for k, (s, m, h) in data["requested"].items()}
        settling = {str(k): (int(s), int(m), int(f)) for k, (s, m, f) in data["settling"].items()}
        return cls(requested, settling)


@dataclass(frozen=True)
class Scan:
    """One look at a feed's folder: the files to request, those still settling, the next cursor."""

    new: list[tuple[str, str]]  # (label, sha256), sorted by label
    waiting: list[str]
    cursor: FeedCursor
    deferred: list[str] = field(default_factory=list)  # settled, left for the next tick (hash budget)


def _settled(age_ns: int, unchanged_for_ns: int, settle_ns: int) -> bool:
    """Left alone for the settle time: by its mtime, or, if that lies ahead of our clock, as observed."""
    return settle_ns <= 0 or age_ns >= settle_ns or unchanged_for_ns >= settle_ns


def scan(
    files: list[FeedFile],
    before: FeedCursor,
    now_ns: int,
    settle_ns: int,
    hash_budget_s: float = HASH_BUDGET_SECONDS,
) -> Scan:
    """Compare the folder with the cursor. Only new or changed, settled files are hashed.

    Hashing stops once it took ``hash_budget_s``: the files left are taken on the next tick, so a
    tick over a folder of large files stays well inside Dagster's sensor timeout.
    """
    after = FeedCursor()
    new: list[tuple[str, str]] = []
    waiting: list[str] = []
    deferred: list[str] = []
    deadline = time.monotonic() + hash_budget_s
    hashed = 0
    for file in sorted(files):
        label = file.label
        try:
            stat = os.stat(file.path, follow_symlinks=False)
        except FileNotFoundError:  # moved away between listing and stat
            continue
        size, mtime = stat.st_size, stat.st_mtime_ns
        known = before.requested.get(label)
        if known is not None and known[:2] == (size, mtime):
            after.requested[label] = known
            continue
        seen = before.settling.get(label)
        first_seen = seen[2] if seen is not None and seen[:2] == (size, mtime) else now_ns
        if not _settled(now_ns - mtime, now_ns - first_seen, settle_ns):
            after.settling[label] = (size, mtime, first_seen)
            waiting.append(label)
            if known is not None:  # an earlier version stays requested while the new one settles
                after.requested[label] = known
            continue
        if hashed and time.monotonic() > deadline:
            deferred.append(label)
            if known is not None:
                after.requested[label] = known
            continue
        try:
            digest = file_digest(file)
        except (FileNotFoundError, NotRegularFileError):  # moved, or swapped for a link, since listed
            continue
        hashed += 1
        after.requested[label] = (size, mtime, digest)
        if known is None or known[2] != digest:  # a touch without new content is not new
            new.append((label, digest))
    return Scan(new=new, waiting=waiting, cursor=after, deferred=deferred)


def run_key(domain: str, feed: str, new: list[tuple[str, str]]) -> str:
    """Deterministic from the new files' names and contents: the daemon never launches it twice."""
    digest = hashlib.sha256("\n".join(f"{label}\t{sha}" for label, sha in sorted(new)).encode())
    return f"{sensor_name(domain, feed)}:{digest.hexdigest()[:32]}"


def files_tag(labels: list[str], limit: int = MAX_FILES_TAG_CHARS) -> str:
    """The labels comma-separated, cut to at most ``limit`` characters with a count of the rest."""
    text = ", ".join(labels)
    if len(text) <= limit:
        return text
    shown = used = 0
    for label in labels:
        rest = f", ... and {len(labels) - shown - 1} more"
        if used + len(label) + len(rest) > limit:
            break
        used += len(label) + 2
        shown += 1
    if not shown:
        return f"{len(labels)} files"
    return ", ".join(labels[:shown]) + f", ... and {len(labels) - shown} more"


def evaluate_feed(
    spec: DomainSpec,
    feed: FeedSpec,
    cursor: str | None,
    log: Any = None,
    now_ns: int | None = None,
    landed_at_ns: int | None = None,
) -> dg.SensorResult:
    """One tick of a feed sensor (the sensor's body, callable without Dagster).

    ``landed_at_ns``: when the feed's landing asset last materialised. On the sensor's first tick
    (no cursor) the files older than that were read by that run (landing ingests every file
    present): they are remembered, not requested, so starting the daemon on an existing mesh does
    not re-run every feed.
    """
    folder = landing_dir(spec.name, feed.name)
    if not folder.is_dir():  # keep the cursor: a folder that is briefly unmounted re-requests nothing
        return dg.SensorResult(skip_reason=f"landing folder {folder} does not exist", cursor=cursor)
    try:
        before = FeedCursor.from_json(cursor)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        if log is not None:
            log.warning(f"ignoring unreadable cursor ({exc}); files present are requested once more")
        before = FeedCursor()
    now = time.time_ns() if now_ns is None else now_ns
    selection = select_files(feed, folder)
    files, held = _by_partition(feed, selection.read, now)
    if selection.waiting:
        held.append(
            f"{len(selection.waiting)} partial file(s) wait for their final name: "
            f"{files_tag(selection.waiting, 200)}"
        )
    result = scan(files, before, now, int(settle_seconds() * 1e9))
    if cursor is None and landed_at_ns is not None:
        result.new[:] = [
            (label, sha) for label, sha in result.new if result.cursor.requested[label][1] >= landed_at_ns
        ]
    next_cursor = result.cursor.to_json()
    if not result.new:
        reason = f"no new files in {folder}"
        if result.waiting:
            reason += f"; {len(result.waiting)} still being written: {files_tag(result.waiting, 300)}"
        if result.deferred:
            reason += f"; {len(result.deferred)} left for the next tick (hash time budget)"
        if held:
            reason += "; " + "; ".join(held)
        if selection.unread:
            reason += "; " + unread_note(selection.unread)
        return dg.SensorResult(skip_reason=reason, cursor=next_cursor)
    if result.deferred and log is not None:
        log.info(f"{len(result.deferred)} more new file(s) are left for the next tick (hash time budget)")
    if held and log is not None:
        log.info("; ".join(held))
    if selection.unread and log is not None:
        log.warning(unread_note(selection.unread, MAX_FILES_TAG_CHARS))
    unread_tag = {UNREAD_TAG: files_tag([str(u) for u in selection.unread])} if selection.unread else {}
    groups: dict[str | None, list[tuple[str, str]]] = {}
    for label, sha in result.new:
        day = file_day(label) if feed.partitioned_by is not None else None
        groups.setdefault(day.isoformat() if day else None, []).append((label, sha))
    requests = []
    for partition, new in sorted(groups.items(), key=lambda item: item[0] or ""):
        labels = [label for label, _ in new]
        requests.append(
            dg.RunRequest(
                run_key=run_key(spec.name, feed.name, new),
                asset_selection=[names.asset_key(spec.name, "landing", feed.name)],
                partition_key=partition,
                tags={FILES_TAG: files_tag(labels), FILE_COUNT_TAG: str(len(labels)), **unread_tag},
            )
        )
    return dg.SensorResult(run_requests=requests, cursor=next_cursor)


def _by_partition(feed: FeedSpec, files: list[FeedFile], now_ns: int) -> tuple[list[FeedFile], list[str]]:
    """A partitioned feed's files whose day is a partition already (the day is over, UTC), and why
    the others wait; every file of an unpartitioned feed. (Files no partition reads, undated or
    before the first, are among the selection's unread files.)"""
    if feed.partitioned_by is None:
        return files, []
    today = datetime.fromtimestamp(now_ns / 1e9, UTC).date()
    ready: list[FeedFile] = []
    open_days: list[str] = []
    for file in files:
        day = file_day(file.label)
        if day is not None and day >= today:
            open_days.append(file.label)
        else:
            ready.append(file)
    held = []
    if open_days:
        held.append(
            f"{len(open_days)} file(s) wait until their day is over (UTC): {files_tag(open_days, 200)}"
        )
    return ready, held


def feed_sensor(spec: DomainSpec, feed: FeedSpec) -> dg.SensorDefinition:
    """``<domain>__<feed>__files``: materialises the feed's landing asset when new files arrive."""
    key = names.asset_key(spec.name, "landing", feed.name)
    folder = landing_dir(spec.name, feed.name)
    settle = settings.FILE_SETTLE_SECONDS

    @dg.sensor(
        name=sensor_name(spec.name, feed.name),
        target=[key],
        minimum_interval_seconds=sensor_interval_seconds(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Ingests new or changed files of {folder} once they are left unmodified "
        f"for ${settle.env} seconds (default {settle.default:g}).",
    )
    def _files(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        landed_at = None
        if context.cursor is None:
            event = context.instance.get_latest_materialization_event(key)
            landed_at = int(event.timestamp * 1e9) if event is not None else None
        return evaluate_feed(spec, feed, context.cursor, context.log, landed_at_ns=landed_at)

    return _files


# --- schedules ------------------------------------------------------------------------------------


class FeedSchedule(SpecModel):
    """A batch feed's cron (``schedules.<feed>`` of its domain's spec): when its landing asset runs
    whatever the sensor has seen."""

    cron: str = Field(description="a cron string (minute hour day-of-month month day-of-week)")
    timezone: str = Field(default=DEFAULT_TIMEZONE, description="the IANA time zone of the cron")
    description: str = ""

    @field_validator("cron", mode="before")
    @classmethod
    def _valid_cron(cls, cron: Any) -> str:
        if not isinstance(cron, str) or not is_valid_cron_string(cron):
            raise problem(f"{cron!r} is not a valid cron string (minute hour day-of-month month day-of-week)")
        return cron

    @field_validator("timezone", mode="before")
    @classmethod
    def _known_zone(cls, zone: Any) -> str:
        return iana_zone(zone)

    @field_validator("description")
    @classmethod
    def _one_line(cls, description: str) -> str:
        return " ".join(description.split())


def parse_schedules(data: Any, spec: DomainSpec, path: Path) -> dict[str, FeedSchedule]:
    """Validate a spec's ``schedules:`` (``{feed: {cron, timezone, description}}``); errors name
    ``path`` and the field under ``schedules``."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(path, SCHEDULES, f"expected a mapping of feed -> schedule, got {type(data).__name__}")
    feeds = [f.name for f in spec.feeds]
    for feed in data:
        if feed not in feeds:
            raise SpecError(
                path, f"{SCHEDULES}.{feed}", f"no feed {feed!r} in {spec.name}; feeds: {', '.join(feeds)}"
            )
    return {feed: validate(FeedSchedule, raw, path, at=(SCHEDULES, feed)) for feed, raw in data.items()}


def load_schedules(spec: DomainSpec) -> dict[str, FeedSchedule]:
    """The domain's feed schedules (``schedules:`` of its spec); none when it declares none."""
    return parse_schedules(spec.schedules, spec, spec.path)


def feed_schedule(
    spec: DomainSpec, feed: FeedSpec, schedules: Mapping[str, FeedSchedule] | None = None
) -> dg.ScheduleDefinition | None:
    """``<domain>__<feed>__schedule`` on the feed's cron, or None when the feed has none."""
    entry = (load_schedules(spec) if schedules is None else schedules).get(feed.name)
    if entry is None:
        return None
    if feed.partitioned_by is not None:
        return _partition_schedule(spec, feed, entry, feed.partitioned_by)
    return dg.ScheduleDefinition(
        name=schedule_name(spec.name, feed.name),
        target=[names.asset_key(spec.name, "landing", feed.name)],
        cron_schedule=entry.cron,
        execution_timezone=entry.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=entry.description or f"Ingests {feed.name} on '{entry.cron}' ({entry.timezone}).",
    )


def _partition_schedule(
    spec: DomainSpec, feed: FeedSpec, entry: FeedSchedule, partitioning: PartitionSpec
) -> dg.ScheduleDefinition:
    """A partitioned feed's schedule closes the last day that is over: its landing partition runs
    even when no file came, so that the day is recorded (empty) and nothing downstream waits on it."""
    pdef = partitions_def(partitioning)

    @dg.schedule(
        name=schedule_name(spec.name, feed.name),
        target=[names.asset_key(spec.name, "landing", feed.name)],
        cron_schedule=entry.cron,
        execution_timezone=entry.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(entry.description or f"Ingests {feed.name} on '{entry.cron}' ({entry.timezone}).")
        + " Runs the last day that is over (UTC).",
    )
    def _close_day(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        keys = pdef.get_partition_keys(current_time=context.scheduled_execution_time)
        key = keys[-1] if keys else None
        if key is None:
            return dg.SkipReason(f"{feed.name} has no partition before {context.scheduled_execution_time}")
        return dg.RunRequest(run_key=f"{schedule_name(spec.name, feed.name)}:{key}", partition_key=key)

    return _close_day


def ingestion_triggers(spec: DomainSpec) -> tuple[list[dg.SensorDefinition], list[dg.ScheduleDefinition]]:
    """A file sensor for every feed and a schedule for every feed its ``schedules:`` name."""
    schedules = load_schedules(spec)
    sensors = [feed_sensor(spec, feed) for feed in spec.feeds]
    crons = [s for feed in spec.feeds if (s := feed_schedule(spec, feed, schedules)) is not None]
    return sensors, crons
