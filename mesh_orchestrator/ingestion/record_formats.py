"""Readers for the document formats senders use: a JSON document, XML and fixed-width lines.

Each reader yields :class:`RawRecord` s: the sender's fields as received (text, untyped) or, for a
part that cannot be read, the reason. Mapping the fields onto the feed's columns happens in bronze,
so landing keeps exactly what arrived. A document that cannot be parsed at all (truncated JSON,
XML that is not well-formed, a DTD or entity declaration, which could expand without bound) yields
one record carrying the parser's message, so the file is accounted for and quarantined.

Readers take the open file (landing opens it safely, see ``feed_files.open_regular``), never a path.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO
from xml.parsers import expat

#: Whole-document formats are read into memory; bigger files should come as JSON Lines or CSV.
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
_PATH_STEP = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\[\])?$")


@dataclass(frozen=True)
class RawRecord:
    """One record of a file: its position (line or record number), fields, or why it is unreadable."""

    number: int
    fields: dict[str, Any] | None
    error: str | None = None
    text: str | None = None
    #: The error is the whole file's (the document cannot be read at all): the only record.
    whole_file: bool = False


def _too_big(handle: BinaryIO) -> RawRecord | None:
    size = os.fstat(handle.fileno()).st_size
    if size > MAX_DOCUMENT_BYTES:
        return RawRecord(
            1,
            None,
            f"FILE TOO LARGE: {size:,} bytes; documents up to {MAX_DOCUMENT_BYTES:,} are read",
            whole_file=True,
        )
    return None


def _scalars(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not isinstance(v, dict | list)}


def _walk(node: Any, steps: list[tuple[str, bool]], inherited: dict[str, Any]) -> Iterator[Any]:
    """Follow ``steps`` from ``node``; list elements pass their scalar fields down to their children."""
    if not steps:
        yield {**inherited, **node} if isinstance(node, dict) else node
        return
    (key, is_list), rest = steps[0], steps[1:]
    if not isinstance(node, dict) or key not in node:
        raise ValueError(f"no field {key!r} where the records path expects it")
    child = node[key]
    if not is_list:
        yield from _walk(child, rest, inherited)
        return
    if not isinstance(child, list):
        raise ValueError(f"{key!r} is not a list")
    for element in child:
        passed = {**inherited, **_scalars(element)} if rest and isinstance(element, dict) else inherited
        yield from _walk(element, rest, passed)


def read_json_document(handle: BinaryIO, records: str | None) -> Iterator[RawRecord]:
    """Records of a JSON document at ``records`` (``invoices[].lines[]``; default: a top-level list).

    Numbers keep their exact text (no float rounding); a record that is not an object is reported.
    """
    too_big = _too_big(handle)
    if too_big:
        yield too_big
        return
    handle.seek(0)
    try:
        document = json.loads(handle.read().decode("utf-8"), parse_float=str)
    except UnicodeDecodeError as exc:
        yield RawRecord(1, None, f"INVALID UNICODE: {exc.reason} at byte {exc.start}", whole_file=True)
        return
    except (json.JSONDecodeError, RecursionError) as exc:
        yield RawRecord(1, None, f"INVALID JSON DOCUMENT: {exc}", whole_file=True)
        return
    steps: list[tuple[str, bool]] = []
    for part in (records or "").split(".") if records else []:
        match = _PATH_STEP.match(part)
        if not match:
            yield RawRecord(
                1,
                None,
                f"BAD RECORDS PATH {records!r}: fix the source's records in the spec",
                whole_file=True,
            )
            return
        steps.append((match.group(1), bool(match.group(2))))
    if not steps:
        document = {"_": document}
        steps = [("_", True)]
    try:
        found = list(_walk(document, steps, {}))
    except ValueError as exc:
        yield RawRecord(1, None, f"UNEXPECTED JSON SHAPE: {exc}", whole_file=True)
        return
    for number, record in enumerate(found, start=1):
        if isinstance(record, dict):
            yield RawRecord(number, record)
        else:
            yield RawRecord(
                number, None, "NOT AN OBJECT: the record is not a JSON object", json.dumps(record)
            )


class _Forbidden(Exception):
    pass


def read_xml(handle: BinaryIO, record_element: str) -> Iterator[RawRecord]:
    """Every ``record_element`` of an XML file, streamed; fields are its attributes and leaf children.

    A record also gets the attributes and leaf children of its ancestors below the root that came
    before it (invoice header fields on each invoice line). DTDs and entities are refused.
    """
    too_big = _too_big(handle)
    if too_big:
        yield too_big
        return
    found: list[RawRecord] = []
    # Each open element: [tag, fields, text parts, has element children].
    stack: list[list[Any]] = []
    parser = expat.ParserCreate()

    def refuse(*_args: Any) -> None:
        raise _Forbidden("DTD or entity declarations are not accepted")

    def start(tag: str, attrs: dict[str, str]) -> None:
        if stack:
            stack[-1][3] = True
        stack.append([tag, dict(attrs), [], False])

    def end(tag: str) -> None:
        _tag, fields, text, has_children = stack.pop()
        if tag == record_element:
            merged: dict[str, Any] = {}
            for frame in stack[1:]:
                merged.update(frame[1])
            merged.update(fields)
            found.append(RawRecord(len(found) + 1, merged))
        elif not has_children and stack:
            stack[-1][1][tag] = "".join(text).strip()

    def data(text: str) -> None:
        if stack:
            stack[-1][2].append(text)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    handle.seek(0)
    try:
        parser.ParseFile(handle)
    except _Forbidden as exc:
        yield RawRecord(1, None, f"XML REFUSED: {exc}", whole_file=True)
        return
    except expat.ExpatError as exc:
        yield RawRecord(
            1,
            None,
            f"XML NOT WELL-FORMED: {expat.errors.messages[exc.code]} at line {exc.lineno}",
            whole_file=True,
        )
        return
    if not found:
        yield RawRecord(1, None, f"NO RECORDS: no <{record_element}> element in the file", whole_file=True)
        return
    yield from found


def read_fixed_width(handle: BinaryIO, layout: tuple[tuple[str, int], ...]) -> Iterator[RawRecord]:
    """Lines cut at the layout's widths and stripped; a line of the wrong length is reported."""
    width = sum(w for _, w in layout)
    handle.seek(0)
    for number, raw in enumerate(handle, start=1):
        line_bytes = raw.rstrip(b"\r\n")
        if not line_bytes.strip():
            continue
        try:
            line = line_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            text = line_bytes.decode("utf-8", errors="replace")
            yield RawRecord(number, None, f"INVALID UNICODE: {exc.reason} at byte {exc.start}", text)
            continue
        if len(line) != width:
            yield RawRecord(
                number, None, f"WRONG LINE LENGTH: {len(line)} characters, the layout needs {width}", line
            )
            continue
        fields: dict[str, Any] = {}
        position = 0
        for name, size in layout:
            fields[name] = line[position : position + size].strip()
            position += size
        yield RawRecord(number, fields)
