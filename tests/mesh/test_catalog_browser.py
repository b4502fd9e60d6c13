"""``mesh catalog`` on a whole mesh run, looked at in a real headless browser (Debian's chromium,
driven by Playwright): the index's statuses, and a product page's four W's and an H with the real
version, snapshot, inputs, gate results and run links."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mesh_orchestrator.core.paths import REPO_ROOT
from tests.mesh.conftest import copy_data, mesh, port

#: Debian's chromium (or one on PATH); Playwright drives it, it never downloads a browser of its own.
CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
#: As the machine's own browser check starts it: no sandbox as root, no calls home on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI = "http://dagster.test:3000"
REJECTED = ("hr", "rewards")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        missing = f"no chromium at {CHROMIUM} or on PATH"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(
                f"{missing}; CI must run the browser tests: .ci/run installs `apt-get install -y chromium`"
            )
        pytest.skip(f"{missing}: install it with `sudo apt-get install -y chromium` to run the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _reject_a_batch(data: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Stage hr.rewards' current rows twice (every key duplicated) and run its hand-off, which fails
    its gate: the catalogue must show it. Returns the rejected snapshot id."""
    import dagster as dg
    import duckdb

    from mesh_orchestrator.core.contracts import load_contract
    from mesh_orchestrator.ports.handoff import build_handoff_asset
    from mesh_orchestrator.ports.tables import parquet_relation, require_current, stage, version_paths

    monkeypatch.setenv("MESH_DATA_DIR", str(data))
    monkeypatch.setenv("DAGSTER_HOME", str(data / "dagster_home"))
    contract = load_contract(*REJECTED)
    relation = parquet_relation(version_paths(require_current(*REJECTED)))
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE twice AS SELECT * FROM {relation} UNION ALL SELECT * FROM {relation}")
        staged = stage(contract, con, "twice", "test-run-that-doubled-the-rows")
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize([build_handoff_asset(contract)], instance=instance, raise_on_error=False)
    assert not result.success
    return staged.snapshot_id


@pytest.fixture(scope="module")
def site(clean_mesh: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    """The catalogue of a whole mesh run in which one later batch failed its gate: (data, site, the
    rejected snapshot)."""
    monkeypatch = pytest.MonkeyPatch()
    try:
        data = copy_data(clean_mesh[0], tmp_path_factory.mktemp("catalogue"))
        rejected = _reject_a_batch(data, monkeypatch)
    finally:
        monkeypatch.undo()
    folder = data.parent / "site"
    out = mesh(data, "catalog", "--output", str(folder), "--ui-url", UI).stdout
    assert f"catalogue of 13 products (12 fresh, 1 gate failed) written to {folder / 'index.html'}" in out
    return data, folder, rejected


def test_the_index_lists_every_product_with_its_status(site: tuple[Path, Path, int], browser: Any) -> None:
    _data, folder, _ = site
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto((folder / "index.html").as_uri())
    rows = page.locator("tr[data-product]")
    assert rows.count() == 13
    statuses = {
        rows.nth(i).get_attribute("data-product"): rows.nth(i).locator("[data-testid=status]").inner_text()
        for i in range(13)
    }
    assert statuses.pop(".".join(REJECTED)) == "gate failed"
    assert set(statuses.values()) == {"fresh"}
    assert page.locator("[data-testid=status-counts]").inner_text().split() == [
        "1",
        "gate",
        "failed",
        "0",
        "stale",
        "0",
        "not",
        "published",
        "12",
        "fresh",
    ]
    shot = folder.parent / "index.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    page.close()


def test_a_product_page_answers_the_four_ws_and_an_h(site: tuple[Path, Path, int], browser: Any) -> None:
    data, folder, _ = site
    invoices = port(data, "sales", "invoices")
    catalogue = port(data, "inventory", "item_catalogue")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto((folder / "index.html").as_uri())
    page.get_by_role("link", name="sales.invoices", exact=True).click()
    assert page.url.endswith("/sales/invoices.html")
    assert page.title() == "sales.invoices · mesh catalogue"

    what = page.locator("#what")
    assert what.locator("[data-testid=owner]").inner_text() == "team:sales"
    assert what.locator("[data-testid=contract-version]").inner_text() == invoices["contract_version"]
    customer = what.locator("tr[data-column=customer_id]").inner_text()
    assert "pii" in customer and "hmac_sha256" in customer  # classification and masking
    assert what.locator("tr[data-column] td:nth-child(5)").all_inner_texts().count("") == 0, (
        "every column described"
    )

    where = page.locator("#where")
    assert where.locator("[data-testid=table]").inner_text() == "sales.invoices"
    assert where.locator("[data-testid=snapshot]").inner_text() == str(invoices["snapshot_id"])
    assert where.locator("[data-engine]").evaluate_all("els => els.map(e => e.dataset.engine)") == [
        "DuckDB",
        "pandas / polars",
        "Spark",
        "Trino",
    ]
    assert "finance" in where.locator("[data-testid=grants]").inner_text()

    when = page.locator("#when")
    version = when.locator(f"tr[data-version='{invoices['version']}']")
    assert version.locator("[data-gate=contract_satisfied]").inner_text().startswith("passed")
    assert version.locator("[data-gate=no_personal_data]").inner_text() == "passed"
    assert f"{invoices['rows']:,}" in version.inner_text()
    wrote = version.locator("a.run").first
    assert wrote.get_attribute("href") == f"{UI}/runs/{invoices['run_id']}"
    audited = version.locator("a.run").nth(1).get_attribute("href")
    assert audited is not None and re.fullmatch(rf"{re.escape(UI)}/runs/[0-9a-f-]{{36}}", audited)

    with_what = page.locator("#with-what")
    assert with_what.locator("[data-testid=input-snapshot]").inner_text() == str(catalogue["snapshot_id"])
    picture = with_what.locator("svg.lineage").first
    assert picture.is_visible()
    nodes = picture.locator("[data-node]").evaluate_all("els => els.map(e => e.dataset.node)")
    assert {
        "feed distributor_orders",
        "feed web_order_events",
        "inventory.item_catalogue",
        "sales.invoices",
    } <= set(nodes)
    assert "finance.general_ledger" in nodes  # built from invoices

    how = page.locator("#how")
    assert how.locator("[data-testid=location]").inner_text() == "sales"
    assert how.locator("tr[data-model=invoices]").count() == 1
    assert "dagster" in how.locator("[data-testid=toolchain]").inner_text()

    shot = folder.parent / "invoices.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    page.close()


def test_a_rejected_batch_is_shown_and_the_current_version_kept(
    site: tuple[Path, Path, int], browser: Any
) -> None:
    data, folder, rejected = site
    current = port(data, *REJECTED)
    page = browser.new_page()
    page.goto((folder / "hr" / "rewards.html").as_uri())
    assert page.locator("h1 [data-testid=status]").inner_text() == "gate failed"
    assert f"failed on snapshot {rejected}" in page.locator("[data-testid=status-reason]").inner_text()
    row = page.locator(f"[data-testid=rejected] tr[data-snapshot='{rejected}']")
    assert row.locator("[data-gate=contract_satisfied]").inner_text().startswith("failed")
    assert "unique" in row.locator("ul.failures").inner_text()
    assert page.locator("[data-testid=snapshot]").inner_text() == str(current["snapshot_id"]), (
        "main did not move"
    )
    page.close()


def test_mesh_catalog_serve_serves_the_site_on_loopback(site: tuple[Path, Path, int], browser: Any) -> None:
    """Regression: a server started with SIGTERM ignored (a CI runner's background job) outlived
    its test; it now stops on SIGTERM whatever it inherited."""
    data, _folder, _ = site
    served = data.parent / "served"
    args = ["--output", str(served), "--serve", "--port", "0", "--ui-url", UI]
    env = {**os.environ, "MESH_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    command = [sys.executable, "-m", "mesh_orchestrator.cli.main", "catalog", *args]
    server = subprocess.Popen(  # SIGTERM ignored, then exec: the server inherits it ignored
        ["bash", "-c", 'trap "" TERM; exec "$@"', "bash", *command],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = None
        for line in server.stdout:
            match = re.match(r"serving (http://127\.0\.0\.1:\d+/)", line)
            if match:
                url = match.group(1)
                break
        assert url is not None, "mesh catalog --serve never said where it serves"
        page = browser.new_page()
        page.goto(url)
        assert page.locator("tr[data-product]").count() == 13
        page.get_by_role("link", name="hr.payroll_costs", exact=True).click()
        assert page.url == f"{url}hr/payroll_costs.html"
        assert page.locator("#when [data-gate=contract_satisfied]").first.inner_text().startswith("passed")
        page.close()
        server.terminate()
        assert server.wait(timeout=30) == 0, "SIGTERM stops the server, cleanly"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
