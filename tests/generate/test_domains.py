"""The five domains' sample data fit together: shared keys, balanced books, exact money."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from mesh_orchestrator.devtools.generate import GenerationReport, catalogue, generate
from tests.generate.helpers import (
    CENT,
    SEED,
    SOURCES,
    SPECS,
    dbt_net,
    is_valid,
    parsed_rows,
    records,
    supplier_files,
    supplier_invoices,
)

PERIOD_START, PERIOD_END = date(2026, 1, 1), date(2026, 3, 31)
Root = tuple[Path, GenerationReport]


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _by(rows: list[dict[str, Any]], *key: str) -> dict[Any, dict[str, Any]]:
    return {tuple(r[k] for k in key) if len(key) > 1 else r[key[0]]: r for r in rows}


# hr ---------------------------------------------------------------------------------------------


def test_departments_are_the_ones_finance_posts_to(clean: Root) -> None:
    departments = records(clean[0], "hr", "departments")
    assert [(d["department_id"], d["department_name"]) for d in departments] == [
        ("DEP-SAL", "Sales"),
        ("DEP-OPS", "Operations"),
        ("DEP-PRC", "Procurement"),
        ("DEP-FIN", "Finance"),
        ("DEP-HR", "People"),
        ("DEP-IT", "Technology"),
        ("DEP-MKT", "Marketing"),
    ]
    assert all(d["cost_centre"].startswith("CC-") for d in departments)


def test_employees_look_real(clean: Root) -> None:
    employees = records(clean[0], "hr", "employees")
    departments = {d["department_id"] for d in records(clean[0], "hr", "departments")}
    sizes = Counter(e["department_id"] for e in employees)
    assert set(sizes) == departments  # everyone in a known department, every department staffed
    assert {d for d, _ in sizes.most_common(2)} == {"DEP-SAL", "DEP-OPS"}
    assert (
        len({e["email"] for e in employees}) == len({e["national_id"] for e in employees}) == len(employees)
    )
    for e in employees:
        number = int(e["employee_id"][2:])
        assert e["email"].endswith(f".{number}@example.com") and e["email"] == e["email"].lower()
        assert len(e["national_id"]) == 12 and e["national_id"][3:].isdigit()
        assert len(e["bank_account"]) == 22 and e["bank_account"].startswith("DE")
        birth, hire = _day(e["birth_date"]), _day(e["hire_date"])
        assert birth + timedelta(days=18 * 365) < hire <= PERIOD_END
        if e["termination_date"]:
            assert date(2026, 2, 1) <= _day(e["termination_date"]) <= PERIOD_END
            assert _day(e["termination_date"]) > hire
    assert any(_day(e["hire_date"]) >= PERIOD_START for e in employees)
    assert any(e["termination_date"] for e in employees)


def test_payroll_identities(clean: Root) -> None:
    employees = _by(records(clean[0], "hr", "employees"), "employee_id")
    payslips = records(clean[0], "hr", "payroll_runs")
    months = {"2026-01-01": "2026-02-05", "2026-02-01": "2026-03-05", "2026-03-01": "2026-04-05"}
    for p in payslips:
        employee = employees[p["employee_id"]]
        gross, tax, net = (Decimal(p[k]) for k in ("gross_pay", "employee_tax", "net_pay"))
        assert net == gross - tax, p
        assert gross == (Decimal(employee["annual_salary"]) / 12).quantize(CENT, ROUND_HALF_UP)
        rates = ("0.18", "0.22", "0.26", "0.29", "0.32")  # by salary band
        assert tax in {(gross * Decimal(r)).quantize(CENT, ROUND_HALF_UP) for r in rates}
        assert Decimal(p["employer_contributions"]) == (gross * Decimal("0.21")).quantize(CENT, ROUND_HALF_UP)
        assert all(len(p[k].split(".")[1]) == 2 for k in ("gross_pay", "employee_tax", "net_pay"))
        assert p["department_id"] == employee["department_id"]
        assert months[p["pay_period"]] == p["pay_date"] and p["currency"] == "EUR"
    # One payslip per employee employed in the month, no more.
    for period in months:
        start = _day(period)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        employed = {
            e["employee_id"]
            for e in employees.values()
            if _day(e["hire_date"]) <= end
            and (not e["termination_date"] or _day(e["termination_date"]) >= start)
        }
        assert {p["employee_id"] for p in payslips if p["pay_period"] == period} == employed


def test_timecards_and_rewards(clean: Root) -> None:
    employees = _by(records(clean[0], "hr", "employees"), "employee_id")
    cards = records(clean[0], "hr", "timecards")
    for c in cards:
        day, hours = _day(c["work_date"]), Decimal(c["hours_worked"])
        assert day.weekday() < 5 and PERIOD_START <= day <= PERIOD_END
        assert Decimal(0) <= hours <= Decimal(10)
        assert (hours == 0) == (c["absence_type"] != "none"), c
        employee = employees[c["employee_id"]]
        assert _day(employee["hire_date"]) <= day
        assert not employee["termination_date"] or day <= _day(employee["termination_date"])
    assert set(Counter(c["absence_type"] for c in cards)) == {"none", "sick", "vacation", "unpaid"}
    rewards = records(clean[0], "hr", "rewards")
    assert rewards
    for r in rewards:
        assert r["employee_id"] in employees and PERIOD_START <= _day(r["award_date"]) <= PERIOD_END
        assert Decimal(50) <= Decimal(r["amount"]) <= Decimal(2000)
        if r["award_type"] == "sales_bonus":
            assert employees[r["employee_id"]]["department_id"] == "DEP-SAL"


# procurement ------------------------------------------------------------------------------------


def test_suppliers(clean: Root) -> None:
    assert [tuple(s.values()) for s in records(clean[0], "procurement", "suppliers")] == [
        ("SUP-001", "Nordwerk GmbH", "DE", "EUR", "30"),
        ("SUP-002", "Atlas Industrial Supply", "US", "USD", "45"),
        ("SUP-003", "Brightline Components Ltd", "GB", "GBP", "30"),
        ("SUP-004", "Fjord Metall AB", "SE", "SEK", "60"),
    ]


def test_purchase_orders_buy_catalogue_items_at_cost(clean: Root) -> None:
    items = _by(records(clean[0], "inventory", "items"), "sku")
    suppliers = _by(records(clean[0], "procurement", "suppliers"), "supplier_id")
    rate = {"EUR": Decimal(1), "USD": Decimal("1.08"), "GBP": Decimal("0.85"), "SEK": Decimal("11.5")}
    lines = records(clean[0], "procurement", "purchase_orders")
    per_po: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        per_po[line["po_number"]].append(line)
        cost = Decimal(items[line["sku"]]["unit_cost"])
        assert Decimal(line["unit_price"]) == (cost * rate[line["currency"]]).quantize(CENT, ROUND_HALF_UP)
        assert line["currency"] == suppliers[line["supplier_id"]]["currency"]
        assert PERIOD_START <= _day(line["order_date"]) <= PERIOD_END
    for po, rows in per_po.items():
        assert 1 <= len(rows) <= 5 and [int(r["line_number"]) for r in rows] == list(range(1, len(rows) + 1))
        assert len({r["sku"] for r in rows}) == len(rows), po
        assert len({(r["supplier_id"], r["order_date"]) for r in rows}) == 1


def test_goods_receipts_match_orders(clean: Root) -> None:
    orders = _by(records(clean[0], "procurement", "purchase_orders"), "po_number", "line_number")
    warehouses = {w["warehouse_id"] for w in records(clean[0], "inventory", "warehouses")}
    received: Counter[tuple[str, str]] = Counter()
    for r in records(clean[0], "procurement", "goods_receipts"):
        order = orders[r["po_number"], r["line_number"]]
        assert r["warehouse_id"] in warehouses
        delay = (_day(r["received_date"]) - _day(order["order_date"])).days
        assert delay >= 2 and _day(r["received_date"]) <= PERIOD_END
        received[r["po_number"], r["line_number"]] += int(r["quantity_received"])
    assert all(received[k] <= int(orders[k]["quantity"]) for k in received)
    assert any(received[k] < int(orders[k]["quantity"]) for k in received)  # partly delivered
    assert len(received) < len(orders)  # some lines not delivered (yet)


def test_supplier_invoices_bill_what_was_received(clean: Root) -> None:
    invoices = supplier_invoices(clean[0])
    assert {i["supplier_id"] for i in invoices} == {"SUP-001", "SUP-002", "SUP-003", "SUP-004"}
    keys = Counter((i["supplier_id"], i["invoice_number"], i["line_number"]) for i in invoices)
    assert max(keys.values()) == 1
    orders = records(clean[0], "procurement", "purchase_orders")
    by_sku = _by(orders, "po_number", "sku")
    suppliers = _by(records(clean[0], "procurement", "suppliers"), "supplier_id")
    received: Counter[tuple[str, str]] = Counter()
    last_receipt: dict[str, date] = {}
    for r in records(clean[0], "procurement", "goods_receipts"):
        received[r["po_number"], r["line_number"]] += int(r["quantity_received"])
        last_receipt[r["po_number"]] = max(
            last_receipt.get(r["po_number"], PERIOD_START), _day(r["received_date"])
        )
    per_invoice: dict[str, set[str]] = defaultdict(set)
    prefixes = {"SUP-001": "NW-", "SUP-002": "AT-", "SUP-003": "BL-", "SUP-004": "FJ-"}
    for i in invoices:
        order = by_sku[i["po_number"], i["sku"]]  # every invoiced PO and SKU was ordered
        supplier = suppliers[i["supplier_id"]]
        assert order["supplier_id"] == i["supplier_id"] and i["currency"] == supplier["currency"]
        assert i["invoice_number"].startswith(prefixes[i["supplier_id"]]) and len(i["invoice_number"]) <= 10
        assert i["unit_price"] == Decimal(order["unit_price"])
        assert i["line_amount"] == i["quantity"] * i["unit_price"]
        assert i["quantity"] == received[order["po_number"], order["line_number"]] > 0
        assert (
            last_receipt[i["po_number"]] <= i["invoice_date"] <= last_receipt[i["po_number"]] + timedelta(5)
        )
        assert i["invoice_date"] <= PERIOD_END
        assert i["due_date"] == i["invoice_date"] + timedelta(days=int(supplier["payment_terms_days"]))
        per_invoice[i["invoice_number"]].add(i["po_number"])
    assert all(len(pos) == 1 for pos in per_invoice.values())  # one invoice per purchase order
    assert len({next(iter(p)) for p in per_invoice.values()}) == len(per_invoice)


def test_supplier_invoice_layout(clean: Root) -> None:
    """Each sender's exact shape: fixed-width lines of 86, XML and JSON that parse, German CSV."""
    root, report = clean
    counted = 0
    for source in SOURCES:
        paths = supplier_files(root, source)
        assert paths, source
        for path in paths:
            data = path.read_bytes()
            assert data.endswith(b"\n") and b"\r" not in data
            text = data.decode("utf-8")
            if source == "fjord":
                assert path.suffix == ".txt"
                assert {len(line) for line in text.split("\n")[:-1]} == {86}
                counted += len(text.split("\n")) - 1
            elif source == "brightline":
                assert path.suffix == ".xml"
                assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>') and "<!DOCTYPE" not in text
                counted += len(ElementTree.fromstring(data).findall("Invoice/InvoiceLine"))
            elif source == "atlas":
                assert path.suffix == ".json"
                document = json.loads(text)
                assert list(document) == ["supplier", "invoices"]
                for invoice in document["invoices"]:
                    assert list(invoice) == [
                        "invoiceId",
                        "issuedOn",
                        "dueOn",
                        "customerPo",
                        "currencyCode",
                        "lines",
                    ]
                    for line in invoice["lines"]:
                        assert isinstance(line["unitPrice"], str) and isinstance(line["extendedPrice"], str)
                        counted += 1
            else:
                assert path.suffix == ".csv"
                header = text.split("\n", 1)[0].split(";")
                fields = SPECS["procurement"]["supplier_invoices"]["sources"]["nordwerk"]["fields"]
                assert header == list(fields.values())
                counted += text.count("\n") - 1
    assert counted == report.feeds[("procurement", "supplier_invoices")].rows == len(supplier_invoices(root))
    assert any(
        "." in line.split(";")[-1]
        for path in supplier_files(root, "nordwerk")
        for line in path.read_text().splitlines()[1:]
    )  # thousands separators appear


def test_supplier_payments_never_exceed_invoices(clean: Root) -> None:
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    due: dict[tuple[str, str], date] = {}
    currency: dict[str, str] = {}
    for i in supplier_invoices(clean[0]):
        key = (i["supplier_id"], i["invoice_number"])
        totals[key] += i["line_amount"]
        due[key] = i["due_date"]
        currency[i["supplier_id"]] = i["currency"]
    paid: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for p in records(clean[0], "procurement", "supplier_payments"):
        key = (p["supplier_id"], p["invoice_number"])
        assert key in totals and p["currency"] == currency[p["supplier_id"]]
        assert due[key] <= _day(p["paid_date"]) <= PERIOD_END
        paid[key] += Decimal(p["amount"])
    assert paid and all(paid[k] <= totals[k] for k in paid)
    assert any(paid[k] < totals[k] for k in paid)  # partly paid
    assert any(paid[k] == totals[k] for k in paid)
    assert any(k not in paid for k in totals if due[k] <= PERIOD_END)  # due, not paid


# sales ------------------------------------------------------------------------------------------


def _invoice_totals(root: Path) -> dict[str, Decimal]:
    """Invoice totals as the sales dbt project computes them (int_order_lines_priced)."""
    prices = {r["sku"]: Decimal(r["list_price"]) for r in records(root, "inventory", "items")}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for feed in ("distributor_orders", "web_order_events"):
        for r in records(root, "sales", feed):
            pct = r["discount_pct"]
            discount = Decimal(str(pct)) if pct not in (None, "") else None
            totals[r["order_id"]] += dbt_net(int(r["quantity"]), prices[r["sku"]], discount)
    return totals


def test_customer_payments_settle_invoices(clean: Root) -> None:
    root, _ = clean
    totals = _invoice_totals(root)
    channels = {e["order_id"]: e["channel"] for e in records(root, "sales", "web_order_events")}
    dates = {r["order_id"]: _day(r["order_date"]) for r in records(root, "sales", "distributor_orders")}
    times = {}
    for e in records(root, "sales", "web_order_events"):
        at = datetime.fromisoformat(e["event_time"].replace("Z", ""))
        times[e["order_id"]] = max(times.get(e["order_id"], at), at)
    payments = records(root, "sales", "customer_payments")
    paid: dict[str, Decimal] = defaultdict(Decimal)
    parts: Counter[str] = Counter()
    for p in payments:
        invoice, at = p["invoice_id"], datetime.fromisoformat(p["paid_at"])
        assert invoice in totals and at.date() <= PERIOD_END
        assert len(p["paid_at"]) == 19 and p["amount"].split(".")[1].__len__() == 2
        paid[invoice] += Decimal(p["amount"])
        parts[invoice] += 1
        if invoice.startswith("DO-"):
            assert p["method"] == "bank_transfer" and 20 <= (at.date() - dates[invoice]).days <= 45 + 21
        elif channels[invoice] == "marketplace":
            assert p["method"] == "marketplace_payout" and 7 <= (at.date() - times[invoice].date()).days <= 14
        else:
            assert p["method"] == "card" and timedelta(0) < at - times[invoice] < timedelta(minutes=1)
    assert all(paid[i] <= totals[i] for i in paid)  # never more than the dbt invoice total
    web = [i for i in totals if i.startswith("WO-") and channels[i] != "marketplace"]
    assert sum(paid[i] == totals[i] for i in web) >= len(web) - 5  # cards pay in full at once
    assert any(n == 2 for n in parts.values()) and any(paid[i] < totals[i] for i in paid)
    assert any(i not in paid for i in totals if i.startswith("DO-"))  # still receivable
    assert [p["payment_id"] for p in payments] == sorted(p["payment_id"] for p in payments)


def test_customer_payments_with_faults_match_the_priced_lines(dirty: Root) -> None:
    """Lines a fault gave an unknown SKU are not invoiced, so they are not paid either: what bronze
    keeps of a dirty run still reconciles to the cent."""
    root, _ = dirty
    cat = catalogue(SEED, 1)
    prices = {
        f"SKU-{n:05d}": Decimal(int(c)) * CENT for n, c in zip(cat.numbers, cat.list_price_cents, strict=True)
    }
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for feed, key in (("distributor_orders", "order_id"), ("web_order_events", "event_id")):
        kept = {}
        for r in parsed_rows(root, "sales", feed):
            if is_valid(r, "sales", feed):
                kept[r[key], r["line_number"]] = r  # exact duplicates collapse
        for r in kept.values():
            if r["sku"] in prices:  # unknown SKUs are quarantined downstream, never invoiced
                pct = Decimal(str(r["discount_pct"])) if r["discount_pct"] not in (None, "") else None
                totals[r["order_id"]] += dbt_net(int(r["quantity"]), prices[r["sku"]], pct)
    payments = {
        r["payment_id"]: r
        for r in parsed_rows(root, "sales", "customer_payments")
        if is_valid(r, "sales", "customer_payments")
    }
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for p in payments.values():
        paid[p["invoice_id"]] += Decimal(p["amount"])
    strangers = {i for i in paid if i not in totals}
    assert strangers and all(i.startswith("DO-99") for i in strangers)
    assert all(paid[i] <= totals[i] for i in paid if i not in strangers)
    cards = {p["invoice_id"] for p in payments.values() if p["method"] == "card"} - strangers
    assert cards and all(paid[i] == totals[i] for i in cards)


def test_keys_agree_across_domains(clean: Root) -> None:
    root, _ = clean
    skus = {r["sku"] for r in records(root, "inventory", "items")}
    warehouses = {r["warehouse_id"] for r in records(root, "inventory", "warehouses")}
    departments = {r["department_id"] for r in records(root, "hr", "departments")}
    employees = {r["employee_id"] for r in records(root, "hr", "employees")}
    orders = records(root, "procurement", "purchase_orders")
    assert {r["sku"] for r in orders} <= skus
    assert {r["warehouse_id"] for r in records(root, "procurement", "goods_receipts")} <= warehouses
    assert {i["po_number"] for i in supplier_invoices(root)} <= {r["po_number"] for r in orders}
    assert {i["sku"] for i in supplier_invoices(root)} <= skus
    for feed in ("payroll_runs", "timecards", "rewards"):
        assert {r["employee_id"] for r in records(root, "hr", feed)} <= employees
    assert {r["department_id"] for r in records(root, "hr", "payroll_runs")} <= departments
    invoices = {
        r["order_id"] for f in ("distributor_orders", "web_order_events") for r in records(root, "sales", f)
    }
    assert {p["invoice_id"] for p in records(root, "sales", "customer_payments")} <= invoices
    for feed in ("opening_balances", "manual_journals"):
        assert {r["department_id"] for r in records(root, "finance", feed)} <= departments


# finance ----------------------------------------------------------------------------------------


def test_finance_reference_data(clean: Root) -> None:
    root, _ = clean
    chart = records(root, "finance", "chart_of_accounts")
    assert [a["account_id"] for a in chart] == [
        "1000", "1100", "1200", "1900", "2000", "2300", "2310", "2400", "3000", "3100", "3900",
        "4000", "5000", "5100", "6000", "6010", "6100", "6200", "7100",
    ]  # fmt: skip
    assert _by(chart, "account_id")["2310"] == {
        "account_id": "2310",
        "account_name": "Payroll taxes payable",
        "account_type": "liability",
        "statement_line": "Employee liabilities",
    }
    assert [tuple(p.values()) for p in records(root, "finance", "fiscal_periods")] == [
        ("2026-01-01", "2026-01-31", "closed"),
        ("2026-02-01", "2026-02-28", "closed"),
        ("2026-03-01", "2026-03-31", "open"),
    ]
    rates = records(root, "finance", "exchange_rates")
    assert {(r["currency"], r["rate_month"]) for r in rates} == {
        (c, f"2026-0{m}-01") for c in ("EUR", "USD", "GBP", "SEK") for m in (1, 2, 3)
    }
    around = {"EUR": Decimal(1), "USD": Decimal("0.92"), "GBP": Decimal("1.17"), "SEK": Decimal("0.087")}
    for r in rates:
        assert len(r["eur_per_unit"].split(".")[1]) == 6
        assert abs(Decimal(r["eur_per_unit"]) / around[r["currency"]] - 1) < Decimal("0.05")
    assert all(r["eur_per_unit"] == "1.000000" for r in rates if r["currency"] == "EUR")


def test_opening_balances_net_to_zero_per_department(clean: Root) -> None:
    root, _ = clean
    balances = records(root, "finance", "opening_balances")
    assert {b["account_id"] for b in balances} <= {"1000", "1200", "1900", "3000", "3100"}
    assert {b["balance_date"] for b in balances} == {"2026-01-01"}
    per_department: dict[str, Decimal] = defaultdict(Decimal)
    per_account: dict[str, Decimal] = defaultdict(Decimal)
    for b in balances:
        assert len(b["balance"].split(".")[1]) == 2
        per_department[b["department_id"]] += Decimal(b["balance"])
        per_account[b["account_id"]] += Decimal(b["balance"])
    assert set(per_department.values()) == {Decimal("0.00")}
    assert per_account["1900"] == 0 and per_account["1000"] >= 2_500_000 and per_account["1200"] > 0
    assert per_account["3000"] < 0 and per_account["3100"] < 0


def test_opening_inventory_is_the_opening_stock_at_cost(clean: Root) -> None:
    root, _ = clean
    cost = {r["sku"]: Decimal(r["unit_cost"]) for r in records(root, "inventory", "items")}
    stock = sum(
        int(m["quantity"]) * cost[m["sku"]]
        for m in records(root, "inventory", "stock_movements")
        if m["reference"] == "opening balance"
    )
    balances = _by(records(root, "finance", "opening_balances"), "account_id", "department_id")
    assert Decimal(balances["1200", "DEP-OPS"]["balance"]) == stock


def test_manual_journals_balance(clean: Root) -> None:
    root, _ = clean
    accounts = {a["account_id"] for a in records(root, "finance", "chart_of_accounts")}
    journals = records(root, "finance", "manual_journals")
    per_journal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in journals:
        per_journal[line["journal_id"]].append(line)
        debit, credit = Decimal(line["debit"]), Decimal(line["credit"])
        assert (debit == 0) != (credit == 0) and debit >= 0 and credit >= 0
        assert line["account_id"] in accounts and line["description"]
        assert PERIOD_START <= _day(line["entry_date"]) <= PERIOD_END
    assert len(per_journal) >= 6
    for journal, rows in per_journal.items():
        assert [int(r["line_number"]) for r in rows] == list(range(1, len(rows) + 1))
        assert len({r["entry_date"] for r in rows}) == 1
        net: dict[str, Decimal] = defaultdict(Decimal)
        for r in rows:
            net[r["department_id"]] += Decimal(r["debit"]) - Decimal(r["credit"])
        assert set(net.values()) == {Decimal("0.00")}, journal
    assert {_day(j[0]["entry_date"]).month for j in per_journal.values()} == {1, 2, 3}


def test_finance_grows_with_the_business(clean: Root, tmp_path: Path) -> None:
    generate(tmp_path, scale=3, seed=SEED, domains=["finance"])

    def balances(root: Path) -> dict[tuple[str, str], Decimal]:
        rows = records(root, "finance", "opening_balances")
        return {(b["account_id"], b["department_id"]): Decimal(b["balance"]) for b in rows}

    small, large = balances(clean[0]), balances(tmp_path)
    assert small.keys() == large.keys()
    assert large["1200", "DEP-OPS"] > 2 * small["1200", "DEP-OPS"]
    assert large["1000", "DEP-FIN"] >= small["1000", "DEP-FIN"]
    assert len(records(tmp_path, "finance", "manual_journals")) == len(
        records(clean[0], "finance", "manual_journals")
    )
