"""``mesh run`` over the hostile-file corpus dropped into the sample mesh: the run completes, every
bad file is named in its output, nothing outside the landing folders is read and no wrong value
reaches a published product."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.mesh.conftest import copy_data, mesh, port_sql

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "hostile"


def _port(data: Path, domain: str, product: str) -> str:
    return port_sql(data, domain, product)


@pytest.mark.long  # a whole run, over two minutes; tests/platform/test_hostile_corpus.py in the default run
def test_hostile_files_are_named_and_stopped(clean_mesh: tuple[Path, str], tmp_path: Path) -> None:
    data = copy_data(clean_mesh[0], tmp_path)
    landing = data / "landing"
    shutil.copytree(CORPUS, landing, dirs_exist_ok=True)
    (landing / "README.md").unlink()
    secret = tmp_path / "passwd"
    secret.write_text("order_id\nroot:x:0:0:root:/root:/bin/bash\n")
    orders = landing / "sales" / "distributor_orders"
    (orders / "passwd.csv").symlink_to(secret)
    os.mkfifo(orders / "pipe.csv")
    (orders / "notes.txt").write_text("call DIST-01 about the March batch\n")
    (landing / "procurement" / "supplier_invoices" / "stray.csv").write_text("x\n")

    result = mesh(data, "run", check=False)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "RESULT: all gates passed" in out

    not_read = out.split("files not read")[1].split("files landed as one unparseable record")[0]
    for line in (
        "sales/distributor_orders/passwd.csv: not a regular file: a symbolic link (never followed)",
        "sales/distributor_orders/pipe.csv: not a regular file: a FIFO (named pipe)",
        "sales/distributor_orders/notes.txt: wrong extension: the feed is csv: .csv",
        "procurement/supplier_invoices/stray.csv: no source declares the folder: ",
    ):
        assert line in not_read, not_read
    unparseable = out.split("files landed as one unparseable record")[1]
    for line in (
        "sales/distributor_orders/repeated_header.csv: BAD CSV HEADER: REPEATED COLUMN NAME 'quantity'",
        "sales/distributor_orders/empty_header_cell.csv: BAD CSV HEADER: EMPTY COLUMN NAME",
        "sales/distributor_orders/undecodable_header.csv: BAD CSV HEADER: INVALID UNICODE",
        "sales/distributor_orders/mixed_line_endings.csv: NOT READABLE AS CSV",
        "procurement/supplier_invoices/atlas/truncated_document.json: INVALID JSON DOCUMENT",
        "procurement/supplier_invoices/brightline/billion_laughs.xml: XML REFUSED",
    ):
        assert line in unparseable, unparseable

    with duckdb.connect(str(data / "warehouse" / "sales.duckdb"), read_only=True) as con:
        leaked = con.execute(
            "SELECT count(*) FROM landing.distributor_orders WHERE _record LIKE '%root:x%'"
        ).fetchall()
        assert leaked == [(0,)]
        whole = con.execute(
            "SELECT count(*) FROM quarantine.distributor_orders WHERE _source_file = 'repeated_header.csv' "
            "AND reason LIKE 'unparseable: BAD CSV HEADER%'"
        ).fetchall()
        assert whole == [(1,)]

    # The parsing rules (bronze's value_parsing): no 2.7 read as 3, no 1,234.56 read as 1.23.
    invoices = _port(data, "sales", "invoices")
    rows = duckdb.sql(
        f"SELECT quantity FROM {invoices} WHERE invoice_id = 'HX-9' AND line_number = 1"
    ).fetchall()
    assert rows == [], f"HX-9 line 1 (quantity 2.7) reached sales.invoices as {rows}"
    supplier = _port(data, "procurement", "supplier_invoices")
    lines = duckdb.sql(f"SELECT invoice_lines FROM {supplier} WHERE invoice_number = 'NW-900001'").fetchall()
    assert lines == [(1,)], "the line priced 1,234.56 by a decimal-comma sender is quarantined"
