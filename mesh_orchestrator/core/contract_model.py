"""A product's data contract as the platform uses it: the parsed form of its ODCS document.

Everything derived from a contract (the hand-off's Great Expectations suite, the asset metadata, the
gold dbt model's contract, the diff, the policies) reads these types, never the YAML, so the file
format (``core.odcs``) can change without them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path


@dataclass(frozen=True)
class ContractColumn:
    name: str
    type: str
    required: bool = False
    unique: bool = False
    description: str = ""
    classification: str = "internal"
    allowed_values: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    masking: str | None = None
    #: Money columns: an ISO 4217 code or the name of the column holding the currency.
    currency: str | None = None


@dataclass(frozen=True)
class Consumer:
    domain: str
    purpose: str
    granted_on: date | None = None
    expires_on: date | None = None

    def active_on(self, day: date) -> bool:
        started = self.granted_on is None or self.granted_on <= day
        return started and (self.expires_on is None or day <= self.expires_on)


@dataclass(frozen=True)
class OutputPort:
    location: str  # the Iceberg table, <domain>.<product>
    format: str = "iceberg"


@dataclass(frozen=True)
class Sla:
    freshness: timedelta | None = None
    retention: timedelta | None = None


@dataclass(frozen=True)
class ContractInput:
    """What a product is built from: a feed of its domain or a product of another one."""

    kind: str  # feed | product
    name: str


@dataclass(frozen=True)
class Contract:
    id: str
    version: str
    status: str
    domain: str
    product: str
    owner: str
    description: str
    model: str
    primary_key: tuple[str, ...]
    columns: tuple[ContractColumn, ...]
    consumers: tuple[Consumer, ...]
    min_rows: int
    path: Path
    purpose: str = ""
    output_port: OutputPort | None = None
    sla: Sla = field(default_factory=Sla)
    inputs: tuple[ContractInput, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ContractColumn | None:
        return next((c for c in self.columns if c.name == name), None)

    def grants(self, domain: str, day: date | None = None) -> bool:
        """Whether ``domain`` may consume the product on ``day`` (default today)."""
        day = day or date.today()
        return any(c.domain == domain and c.active_on(day) for c in self.consumers)


#: The kinds of :class:`Rule`: what a contract says about its product's rows.
ROW_COUNT, NOT_NULL, UNIQUE, IN_SET, BETWEEN, MATCHES, UNIQUE_TOGETHER = (
    "row_count",
    "not_null",
    "unique",
    "in_set",
    "between",
    "matches",
    "unique_together",
)


@dataclass(frozen=True)
class Rule:
    """One rule a contract states about its product's rows. The hand-off's Great Expectations suite
    checks every rule; the dbt model contract tests those dbt has a test for (not null, unique,
    accepted values, the compound key), so both read the contract the same way."""

    kind: str
    columns: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None


def contract_rules(contract: Contract) -> list[Rule]:
    """The contract's rules: the row count, then each column's in schema order, then the key."""
    rules = [Rule(ROW_COUNT, minimum=contract.min_rows)]
    sole_key = contract.primary_key[0] if len(contract.primary_key) == 1 else None
    for col in contract.columns:
        on = (col.name,)
        if col.required:
            rules.append(Rule(NOT_NULL, on))
        if col.unique or col.name == sole_key:
            rules.append(Rule(UNIQUE, on))
        if col.allowed_values:
            rules.append(Rule(IN_SET, on, values=col.allowed_values))
        if col.minimum is not None or col.maximum is not None:
            rules.append(Rule(BETWEEN, on, minimum=col.minimum, maximum=col.maximum))
        if col.pattern:
            rules.append(Rule(MATCHES, on, pattern=col.pattern))
    if len(contract.primary_key) > 1:
        rules.append(Rule(UNIQUE_TOGETHER, contract.primary_key))
    return rules
