"""Policies as code: the mesh's global governance rules, evaluated over specs, contracts and dbt projects.

``quality/policies.yaml`` declares each policy (id, name, severity, description); this module holds
exactly one rule per id. Rules look at a :class:`Landscape` and yield :class:`Violation` objects
that say what is wrong and how to fix it. ``mesh check`` reports every violation of the whole mesh
(:meth:`Landscape.load`). A domain's code location enforces, when it loads, what it can answer from
its own spec, dbt project and contracts and the contracts of the products it consumes
(:meth:`Landscape.for_domain`); the meta-orchestrator location judges every valid domain and leaves
out the hand-offs of a domain with an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import Field, field_validator

from mesh_orchestrator.core import names
from mesh_orchestrator.core.contracts import CONTRACTS_DIR, Contract, contract_path, load_contract
from mesh_orchestrator.core.errors import IdentifierError, PolicyViolationError, SpecError
from mesh_orchestrator.core.models import SpecModel, problem, validate
from mesh_orchestrator.core.paths import REPO_ROOT, shown
from mesh_orchestrator.core.spec import DomainSpec, ProductRef, load_all_specs
from mesh_orchestrator.core.sql import identifier
from mesh_orchestrator.governance.descriptors import descriptor_path, render
from mesh_orchestrator.quality.extra_expectations import load_extra_expectations

POLICIES_FILE = REPO_ROOT / "quality" / "policies.yaml"

#: Names that hold money: they must be DECIMAL with a currency (GOV-006).
MONEY_NAME = re.compile(
    r"(^|_)(amount|price|cost|pay|revenue|balance|debits?|credits?|tax|contributions|value)$"
)
#: Direct reads of files or databases in dbt SQL: other domains are read through ports only (GOV-004).
DIRECT_READ = re.compile(
    r"\b(read_parquet|read_csv(_auto)?|read_json(_auto)?|parquet_scan|iceberg_scan|attach)\s*\(|\battach\s+'|\.duckdb\b",
    re.IGNORECASE,
)


class Policy(SpecModel):
    """One declared policy of ``quality/policies.yaml``."""

    id: str = Field(description="the policy's id, GOV-NNN")
    name: str = Field(description="the policy's snake_case name")
    severity: Literal["error", "warning"] = Field(description="error (stops a location) or warning")
    description: str = Field(description="what the policy asks of a domain, in a sentence or two")

    @field_validator("description")
    @classmethod
    def _one_line(cls, description: str) -> str:
        return " ".join(description.split())


SEVERITIES: tuple[str, ...] = get_args(Policy.model_fields["severity"].annotation)


class PoliciesFile(SpecModel):
    """``quality/policies.yaml``: every policy once."""

    policies: list[Policy] = Field(description="the declared policies")

    @field_validator("policies")
    @classmethod
    def _each_once(cls, policies: list[Policy]) -> list[Policy]:
        ids = [p.id for p in policies]
        for i, policy_id in enumerate(ids):
            if policy_id in ids[:i]:
                raise problem(f"{policy_id} is declared twice", i, "id")
        return policies


@dataclass(frozen=True)
class Violation:
    policy: Policy
    domain: str
    subject: str
    message: str
    path: Path | None = None

    @property
    def is_error(self) -> bool:
        return self.policy.severity == "error"

    def __str__(self) -> str:
        where = f" [{self.path}]" if self.path else ""
        policy = f"{self.policy.id} {self.policy.name} ({self.policy.severity})"
        return f"{policy}: {self.subject}: {self.message}{where}"


@dataclass
class Landscape:
    """What the policies judge: the domain specs, their contracts and (when loaded) the asset graph."""

    specs: dict[str, DomainSpec]
    contracts: dict[ProductRef, Contract]
    contract_errors: dict[ProductRef, SpecError] = field(default_factory=dict)
    contract_files: list[Path] = field(default_factory=list)
    #: asset key -> keys it depends on, of every loaded code location (None: not loaded).
    asset_deps: dict[str, set[str]] | None = None
    #: hand-off asset key -> {check name: blocking} (None: not loaded).
    handoff_checks: dict[str, dict[str, bool]] | None = None
    today: date = field(default_factory=date.today)

    @classmethod
    def load(cls, specs: dict[str, DomainSpec] | None = None) -> Landscape:
        """The whole mesh: every spec (default: all, the first invalid one raises) and its contracts."""
        specs = specs if specs is not None else load_all_specs()
        refs = [ProductRef(spec.name, product) for spec in specs.values() for product in spec.products]
        contracts, errors = _load_contracts(refs)
        files = sorted(CONTRACTS_DIR.glob("*/*.yaml"))
        return cls(specs, contracts, errors, files)

    @classmethod
    def for_domain(cls, spec: DomainSpec) -> Landscape:
        """What one domain's code location can judge on its own: its spec and contracts, and the
        contracts of the products it consumes (for their grants). No other domain's spec is read,
        and an invalid contract of another domain is recorded, out of this domain's scope."""
        own = [ProductRef(spec.name, product) for product in spec.products]
        contracts, errors = _load_contracts([*own, *spec.consumes])
        files = sorted((CONTRACTS_DIR / spec.name).glob("*.yaml"))
        return cls({spec.name: spec}, contracts, errors, files)


def _load_contracts(
    refs: Iterable[ProductRef],
) -> tuple[dict[ProductRef, Contract], dict[ProductRef, SpecError]]:
    contracts: dict[ProductRef, Contract] = {}
    errors: dict[ProductRef, SpecError] = {}
    for ref in refs:
        try:
            contracts[ref] = load_contract(ref.domain, ref.product)
        except SpecError as exc:
            errors[ref] = exc
    return contracts, errors


Rule = Callable[[Landscape, Policy, set[str]], Iterator[Violation]]
_RULES: dict[str, tuple[Rule, bool]] = {}


def rule(policy_id: str, reads_domain_files: bool = False) -> Callable[[Rule], Rule]:
    """Register the rule of ``policy_id``. ``reads_domain_files`` rules read a domain's files beyond
    its spec and contracts (its dbt project and manifest, its generated descriptors): a domain's own
    location and ``mesh check`` run them; the meta-orchestrator, which judges the landscape from
    specs and contracts alone, does not."""

    def register(fn: Rule) -> Rule:
        _RULES[policy_id] = (fn, reads_domain_files)
        return fn

    return register


@cache
def load_policies(path: Path = POLICIES_FILE) -> dict[str, Policy]:
    """The declared policies; every declared id needs a rule and every rule a declaration."""
    declared = validate(PoliciesFile, yaml.safe_load(path.read_text(encoding="utf-8")), path)
    policies = {policy.id: policy for policy in declared.policies}
    missing = sorted(set(_RULES) - set(policies))
    if missing:
        raise SpecError(path, "policies", f"{', '.join(missing)} implemented but not declared")
    unimplemented = sorted(set(policies) - set(_RULES))
    if unimplemented:
        raise SpecError(path, "policies", f"{', '.join(unimplemented)} declared but not implemented")
    return policies


def evaluate(
    landscape: Landscape, domains: Iterable[str] | None = None, include_domain_files: bool = True
) -> list[Violation]:
    """Every violation of the given domains (default all), errors first."""
    scope = set(domains) if domains is not None else set(landscape.specs)
    violations: list[Violation] = []
    for policy_id, policy in load_policies().items():
        check, reads_domain_files = _RULES[policy_id]
        if reads_domain_files and not include_domain_files:
            continue
        violations += [v for v in check(landscape, policy, scope) if v.domain in scope]
    return sorted(violations, key=lambda v: (not v.is_error, v.policy.id, v.subject))


def enforce(
    landscape: Landscape, where: str, domains: Iterable[str] | None = None, include_domain_files: bool = True
) -> list[Violation]:
    """Raise :class:`PolicyViolationError` on any error; return the warnings."""
    violations = evaluate(landscape, domains, include_domain_files)
    errors = [v for v in violations if v.is_error]
    if errors:
        raise PolicyViolationError(where, errors)
    return violations


def _products(landscape: Landscape, scope: set[str]) -> Iterator[tuple[DomainSpec, Contract]]:
    for spec in landscape.specs.values():
        if spec.name not in scope:
            continue
        for product in spec.products:
            contract = landscape.contracts.get(ProductRef(spec.name, product))
            if contract is not None:
                yield spec, contract


# --- the rules, one per policy ----------------------------------------------------------------


@rule("GOV-001")
def _product_has_valid_contract(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    for ref, error in sorted(landscape.contract_errors.items(), key=lambda item: str(item[0])):
        fix = (
            f"write {shown(contract_path(ref.domain, ref.product))}"
            if error.field == "<file>" and "no contract" in error.problem
            else f"fix field '{error.field}': {error.problem}"
        )
        yield Violation(policy, ref.domain, str(ref), fix, Path(error.path))
    for _spec, contract in _products(landscape, scope):
        try:
            load_extra_expectations(contract)
        except SpecError as exc:
            yield Violation(policy, contract.domain, contract.id, str(exc), Path(exc.path))


@rule("GOV-002")
def _contract_is_complete(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    for _spec, c in _products(landscape, scope):
        port = f"{c.domain}.{c.product}"
        problems = []
        if not c.purpose.strip():
            problems.append("add `description: {purpose: ...}` (why the product exists, for whom)")
        server = (
            "{server: mesh, type: custom, format: iceberg, catalog: mesh, "
            f"customProperties: [{{property: icebergTable, value: {port}}}]}}"
        )
        if c.output_port is None:
            problems.append(f"add the output port under servers: {server}")
        elif c.output_port.location != port or c.output_port.format != "iceberg":
            problems.append(
                f"the server mesh names {c.output_port.format} table {c.output_port.location}; "
                f"the mesh publishes to Iceberg table {port}: write {server}"
            )
        if c.sla.freshness is None or c.sla.retention is None:
            problems.append(
                "add `slaProperties: [{property: latency, value: 26, unit: h}, "
                "{property: retention, value: 400, unit: d}]` (freshness and retention)"
            )
        if c.status != "active":
            problems.append(f"status is {c.status!r}; a published product must be active (or remove it)")
        for i, consumer in enumerate(c.consumers):
            if consumer.granted_on is None:
                problems.append(
                    f"roles[{i}] ({consumer.domain}): add "
                    "`customProperties: [{property: grantedOn, value: <date>}]`"
                )
        for missing in problems:
            yield Violation(policy, c.domain, c.id, missing, c.path)


@rule("GOV-003")
def _consume_only_granted(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    for spec in landscape.specs.values():
        for ref in spec.consumes:
            contract = landscape.contracts.get(ref)
            if contract is None or contract.grants(spec.name, landscape.today):
                continue
            grant = next((g for g in contract.consumers if g.domain == spec.name), None)
            if grant is None:
                why = "does not grant it"
            elif grant.granted_on and landscape.today < grant.granted_on:
                why = f"grants it only from {grant.granted_on}"
            else:
                why = f"granted it until {grant.expires_on}, which has passed"
            yield Violation(
                policy,
                spec.name,
                f"{spec.name} consumes {ref}",
                f"the contract {why}; ask team {contract.owner} to add or renew "
                f"{{role: {spec.name}, access: read, description: <purpose>, customProperties: "
                f"[{{property: grantedOn, value: <date>}}]}} under roles, "
                f"or stop consuming it in {shown(spec.path)}",
                contract.path,
            )


def _dbt_sources(spec: DomainSpec) -> Iterator[tuple[Path, dict[str, Any], dict[str, Any]]]:
    for path in sorted((spec.dbt_project / "models").rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in data.get("sources") or []:
            for table in source.get("tables") or []:
                yield path, source, table


@rule("GOV-004")
def _consume_only_through_ports(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    for spec in (s for s in landscape.specs.values() if s.name in scope):
        for path, source, table in _dbt_sources(spec):
            if source.get("name") != "ports":
                continue
            name = str(table.get("name"))
            try:
                domain, product = names.parse_handoff_name(name)
            except ValueError:
                yield Violation(
                    policy, spec.name, f"ports.{name}", "port tables are named <domain>__<product>", path
                )
                continue
            ref = ProductRef(domain, product)
            if ref not in spec.consumes:
                yield Violation(
                    policy,
                    spec.name,
                    f"ports.{name}",
                    f"reads {ref} but {spec.path.name} does not declare it under consumes",
                    path,
                )
            meta = table.get("meta") or (table.get("config") or {}).get("meta") or {}
            rebound = [
                k
                for k in ("external_location", "identifier", "schema", "database")
                if k in meta or k in table
            ]
            if source.get("schema") != "ports" or source.get("database") or rebound:
                yield Violation(
                    policy,
                    spec.name,
                    f"ports.{name}",
                    "the `ports` source reads schema `ports` as it is "
                    "(`schema: ports`, no external_location, "
                    f"identifier, schema or database of its own): the platform binds ports.{name} to the "
                    f"snapshot of Iceberg table {ref} pinned when the run starts"
                    + (f" (found {', '.join(rebound)})" if rebound else ""),
                    path,
                )
        for folder in ("models", "tests", "macros", "snapshots"):
            for sql in sorted((spec.dbt_project / folder).rglob("*.sql")):
                match = DIRECT_READ.search(sql.read_text(encoding="utf-8"))
                if match:
                    yield Violation(
                        policy,
                        spec.name,
                        sql.name,
                        f"reads files or databases directly ({match.group(0).strip()!r}); read your feeds "
                        "through source('bronze', ...) and other domains through source('ports', ...)",
                        sql,
                    )
    if landscape.asset_deps is not None:
        for key, deps in sorted(landscape.asset_deps.items()):
            domain = key.split("/")[0]
            for dep in sorted(deps):
                dep_domain = dep.split("/")[0]
                if dep_domain not in (domain, names.MESH) and domain != names.MESH:
                    yield Violation(
                        policy,
                        domain,
                        key,
                        f"depends on {dep} of another domain; depend on its hand-off "
                        f"{names.MESH}/{names.HANDOFF}/<domain>__<product> (a `ports` dbt source)",
                    )


@rule("GOV-005")
def _personal_data_masked(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    for spec, c in _products(landscape, scope):
        sql_path = _model_sql(spec, c.model)
        sql = sql_path.read_text(encoding="utf-8") if sql_path else ""
        for col in c.columns:
            if col.classification != "pii":
                continue
            if col.masking != "hmac_sha256":
                yield Violation(
                    policy,
                    c.domain,
                    f"{c.id}.{col.name}",
                    "is classified pii but not masked: select it as "
                    f"`{{{{ mask_pii('{col.name}') }}}} as {col.name}` and declare `masking: hmac_sha256`, "
                    "or drop the column from the product",
                    c.path,
                )
            elif not re.search(rf"mask_pii\([^)]*\)\s*}}}}\s+as\s+{re.escape(col.name)}\b", sql):
                yield Violation(
                    policy,
                    c.domain,
                    f"{c.id}.{col.name}",
                    f"declares masking: hmac_sha256 but {c.model}.sql does not select "
                    f"`{{{{ mask_pii(...) }}}} as {col.name}`",
                    sql_path or c.path,
                )


def _model_sql(spec: DomainSpec, model: str) -> Path | None:
    return next(iter(sorted((spec.dbt_project / "models").rglob(f"{model}.sql"))), None)


@rule("GOV-006")
def _naming_and_types(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    for _spec, c in _products(landscape, scope):
        types = {col.name: col.type for col in c.columns}
        for col in c.columns:
            subject = f"{c.id}.{col.name}"
            if col.type == "TIMESTAMP":
                yield Violation(
                    policy, c.domain, subject, "timestamps are TIMESTAMPTZ (UTC), not naive TIMESTAMP", c.path
                )
            is_money = col.currency is not None or MONEY_NAME.search(col.name) is not None
            if not is_money:
                continue
            if not col.type.startswith("DECIMAL"):
                yield Violation(policy, c.domain, subject, f"money is DECIMAL(p,s), not {col.type}", c.path)
            if col.currency is None:
                yield Violation(
                    policy,
                    c.domain,
                    subject,
                    "looks like money: declare its currency, "
                    "`currency: <ISO code>` or `currency: <currency column>`",
                    c.path,
                )
            elif not re.fullmatch(r"[A-Z]{3}", col.currency) and types.get(col.currency) != "VARCHAR":
                yield Violation(
                    policy,
                    c.domain,
                    subject,
                    f"currency {col.currency!r} is neither an ISO 4217 code "
                    "nor a VARCHAR column of the product",
                    c.path,
                )


@rule("GOV-007")
def _handoffs_are_gated(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    from mesh_orchestrator.ports import handoff

    required = (handoff.CONTRACT_SATISFIED, handoff.NO_PERSONAL_DATA)
    checks = landscape.handoff_checks
    if checks is None:  # not loaded: judge the hand-offs the meta location would build
        checks = {}
        for _spec, c in _products(landscape, scope):
            asset = handoff.build_handoff_asset(c)
            checks[asset.key.to_user_string()] = {spec.name: spec.blocking for spec in asset.check_specs}
    for _spec, c in _products(landscape, scope):
        key = names.handoff_key(c.domain, c.product).to_user_string()
        found = checks.get(key)
        if found is None:
            yield Violation(policy, c.domain, c.id, f"no hand-off asset {key} publishes it", c.path)
            continue
        for name in required:
            if not found.get(name):
                yield Violation(
                    policy, c.domain, c.id, f"hand-off {key} lacks the blocking check {name}", c.path
                )


@rule("GOV-008")
def _identifiers_are_safe(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    for spec in (s for s in landscape.specs.values() if s.name in scope):
        named: list[tuple[str, str]] = [(spec.name, "domain name")]
        for feed in spec.feeds:
            named.append((feed.name, f"feed {feed.name}"))
            named += [(col.name, f"feed {feed.name} column") for col in feed.columns]
        named += [(p, "product") for p in spec.products]
        named += [(check.name, "check") for check in spec.checks]
        for name, where in named:
            try:
                identifier(name, where)
            except IdentifierError as exc:
                yield Violation(policy, spec.name, where, str(exc), spec.path)
    for _spec, c in _products(landscape, scope):
        for name, where in [(c.model, "physicalName"), *((k, "primary key") for k in c.primary_key)] + [
            (col.name, "column") for col in c.columns
        ]:
            try:
                identifier(name, where)
            except IdentifierError as exc:
                yield Violation(policy, c.domain, c.id, str(exc), c.path)


@rule("GOV-009", reads_domain_files=True)
def _dbt_contract_agrees(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    from mesh_orchestrator.transformation.dbt_contracts import (
        PRODUCTS_FILE,
        contract_drift,
        gold_contracts_enforced,
    )

    for spec in (s for s in landscape.specs.values() if s.name in scope and s.products):
        if not gold_contracts_enforced(spec):
            yield Violation(
                policy,
                spec.name,
                f"{spec.name} dbt project",
                "gold models must enforce their contracts: set `+contract: {enforced: true}` under "
                f"models.{spec.name}.gold",
                spec.dbt_project / "dbt_project.yml",
            )
        products_file = spec.dbt_project / PRODUCTS_FILE
        valid = [c for s, c in _products(landscape, {spec.name})]
        for product, difference in contract_drift(spec, valid):
            contract_file = contract_path(spec.name, product)
            yield Violation(
                policy,
                spec.name,
                f"{spec.name}.{product}",
                f"{shown(products_file)} and {shown(contract_file)} "
                f"disagree: {difference}; edit the contract, then run `mesh contracts sync-dbt`",
                products_file,
            )


@rule("GOV-010", reads_domain_files=True)
def _inputs_match_lineage(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    from mesh_orchestrator.transformation.manifest import Manifest, model_inputs

    parsed: dict[str, Manifest] = {}
    for spec, c in _products(landscape, scope):
        if spec.name not in parsed:
            parsed[spec.name] = Manifest.of(spec)
        actual = model_inputs(spec, c.model, parsed[spec.name])
        declared = {(i.kind, i.name) for i in c.inputs}
        for kind, name in sorted(actual - declared):
            yield Violation(
                policy,
                c.domain,
                c.id,
                f"built from {kind} {name}: add {{kind: {kind}, name: {name}}} to inputs",
                c.path,
            )
        for kind, name in sorted(declared - actual):
            yield Violation(
                policy,
                c.domain,
                c.id,
                f"declares input {kind} {name} but its dbt model does not use it",
                c.path,
            )


@rule("GOV-011")
def _contract_has_a_product(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    declared = {contract_path(s.name, p) for s in landscape.specs.values() for p in s.products}
    for path in landscape.contract_files:
        domain = path.parent.name
        if path not in declared and domain in scope:
            yield Violation(
                policy,
                domain,
                f"{domain}.{path.stem}",
                f"no domain declares this product; add it to the products of domains/{domain}/defs.yaml "
                "or delete the file",
                path,
            )


@rule("GOV-012")
def _columns_are_described(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    for _spec, c in _products(landscape, scope):
        for i, column in enumerate(c.columns):
            if not column.description.strip():
                yield Violation(
                    policy,
                    c.domain,
                    f"{c.id}.{column.name}",
                    f"schema[0].properties[{i}] ({column.name}): add `description:` (what the value means, "
                    "its unit and how it is derived)",
                    c.path,
                )


@rule("GOV-013", reads_domain_files=True)
def _descriptor_agrees(landscape: Landscape, policy: Policy, scope: set[str]) -> Iterator[Violation]:
    contracts = {str(ref): contract for ref, contract in landscape.contracts.items()}
    for spec, c in _products(landscape, scope):
        path = descriptor_path(spec.name, c.product)
        consumed = [i.name for i in c.inputs if i.kind == "product"]
        feeds = {f.name for f in spec.feeds}
        if any(name not in contracts for name in consumed) or any(
            i.name not in feeds for i in c.inputs if i.kind == "feed"
        ):
            continue  # an input is unknown: GOV-001, GOV-003 or GOV-010 names it
        want = render(spec, c, {name: contracts[name] for name in consumed})
        have = path.read_text(encoding="utf-8") if path.is_file() else None
        if have != want:
            state = "is missing" if have is None else "disagrees with the domain spec and contracts"
            yield Violation(policy, spec.name, c.id, f"{shown(path)} {state}: run `mesh products sync`", path)
