"""``mesh contracts diff --base <rev>``: what changed in every contract since a git revision.

Each change is classified for the product's consumers. Breaking: a product or column removed (a
rename is a removal plus an addition), a type narrowed or changed, a column newly required,
uniqueness or a primary-key column dropped, allowed values narrowed, a range tightened, a pattern
added or changed, a consumer's grant withdrawn. Non-breaking: an optional column added, a type
widened, values allowed, descriptions. A breaking change needs a major version bump; the report
names the consumer domains and the assets downstream of the product's hand-off that it affects,
found by walking the consumers' dbt graphs and, through their own products, the whole mesh.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mesh_orchestrator.core import names
from mesh_orchestrator.core.contracts import CONTRACTS_DIR, Contract, ContractColumn, parse_contract
from mesh_orchestrator.core.errors import BaseRevisionError
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.spec import DomainSpec, ProductRef, load_all_specs
from mesh_orchestrator.transformation.manifest import Manifest

_INTEGERS = ("INTEGER", "BIGINT")  # narrow to wide
_DECIMAL = re.compile(r"^DECIMAL\((\d+),(\d+)\)$")


@dataclass(frozen=True)
class Change:
    product: ProductRef
    breaking: bool
    what: str


@dataclass
class ProductDiff:
    product: ProductRef
    base_version: str | None
    version: str | None
    changes: list[Change] = field(default_factory=list)
    affected_domains: list[str] = field(default_factory=list)
    affected_assets: list[str] = field(default_factory=list)

    @property
    def breaking(self) -> bool:
        return any(c.breaking for c in self.changes)

    @property
    def major_bumped(self) -> bool:
        if self.base_version is None or self.version is None:
            return True  # a new product, or one removed on purpose (reported as breaking anyway)
        return int(self.version.split(".")[0]) > int(self.base_version.split(".")[0])

    @property
    def unannounced(self) -> bool:
        """A breaking change without a major version bump: the diff fails."""
        return self.breaking and (self.version is None or not self.major_bumped)


def _widens(old: str, new: str) -> bool:
    if old == new:
        return True
    if old in _INTEGERS and new in _INTEGERS:
        return _INTEGERS.index(new) >= _INTEGERS.index(old)
    old_dec, new_dec = _DECIMAL.match(old), _DECIMAL.match(new)
    if old_dec and new_dec:
        (p1, s1), (p2, s2) = (map(int, old_dec.groups()), map(int, new_dec.groups()))
        return s2 >= s1 and p2 - s2 >= p1 - s1
    if old in _INTEGERS and new_dec:
        precision, scale = map(int, new_dec.groups())
        return precision - scale >= (10 if old == "INTEGER" else 19)
    return False


def _column_changes(ref: ProductRef, old: ContractColumn, new: ContractColumn) -> Iterable[Change]:
    name = old.name
    if old.type != new.type:
        widened = _widens(old.type, new.type)
        kind = "widened" if widened else "changed"
        yield Change(ref, not widened, f"column {name}: type {kind} {old.type} -> {new.type}")
    if new.required and not old.required:
        yield Change(ref, True, f"column {name}: now required")
    if old.required and not new.required:
        yield Change(ref, True, f"column {name}: no longer required (consumers may get nulls)")
    if old.unique and not new.unique:
        yield Change(ref, True, f"column {name}: uniqueness dropped")
    old_allowed, new_allowed = set(old.allowed_values or ()), set(new.allowed_values or ())
    if new.allowed_values and (not old.allowed_values or old_allowed - new_allowed):
        removed = sorted(old_allowed - new_allowed) if old.allowed_values else ["(any value)"]
        yield Change(ref, True, f"column {name}: allowed values narrowed, no longer {', '.join(removed)}")
    elif old.allowed_values and (not new.allowed_values or new_allowed - old_allowed):
        added = sorted(new_allowed - old_allowed) if new.allowed_values else ["any value"]
        yield Change(ref, False, f"column {name}: values allowed: {', '.join(added)}")
    if new.minimum is not None and (old.minimum is None or new.minimum > old.minimum):
        yield Change(ref, True, f"column {name}: minimum tightened {old.minimum} -> {new.minimum}")
    if new.maximum is not None and (old.maximum is None or new.maximum < old.maximum):
        yield Change(ref, True, f"column {name}: maximum tightened {old.maximum} -> {new.maximum}")
    if new.pattern and new.pattern != old.pattern:
        yield Change(ref, True, f"column {name}: pattern {old.pattern!r} -> {new.pattern!r}")
    if old.classification != new.classification:
        yield Change(
            ref, False, f"column {name}: classification {old.classification} -> {new.classification}"
        )
    if old.description != new.description:
        yield Change(ref, False, f"column {name}: description changed")


def compare(ref: ProductRef, old: Contract | None, new: Contract | None) -> list[Change]:
    """Every change from ``old`` to ``new`` (either may be None: product added or removed)."""
    if old is None and new is None:
        return []
    if old is None:
        return [Change(ref, False, "new product")]
    if new is None:
        return [Change(ref, True, "product removed (its contract is gone)")]
    changes: list[Change] = []
    old_columns = {c.name: c for c in old.columns}
    new_columns = {c.name: c for c in new.columns}
    removed = [n for n in old_columns if n not in new_columns]
    added = [n for n in new_columns if n not in old_columns]
    for name in removed:
        twin = next((a for a in added if new_columns[a].type == old_columns[name].type), None)
        hint = f" (renamed to {twin}?)" if twin else ""
        changes.append(Change(ref, True, f"column {name} removed{hint}"))
    for name in added:
        required = new_columns[name].required
        changes.append(Change(ref, required, f"column {name} added{' as required' if required else ''}"))
    for name in old_columns.keys() & new_columns.keys():
        changes += _column_changes(ref, old_columns[name], new_columns[name])
    if old.primary_key != new.primary_key:
        dropped = set(old.primary_key) - set(new.primary_key)
        changes.append(
            Change(
                ref,
                bool(dropped) or len(new.primary_key) > len(old.primary_key),
                f"primary key {list(old.primary_key)} -> {list(new.primary_key)}",
            )
        )
    revoked = {c.domain for c in old.consumers} - {c.domain for c in new.consumers}
    for domain in sorted(revoked):
        changes.append(Change(ref, True, f"grant to {domain} withdrawn"))
    for domain in sorted({c.domain for c in new.consumers} - {c.domain for c in old.consumers}):
        changes.append(Change(ref, False, f"granted to {domain}"))
    if old.description != new.description:
        changes.append(Change(ref, False, "description changed"))
    return sorted(changes, key=lambda c: (not c.breaking, c.what))


def _git(*args: str) -> str:
    result = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BaseRevisionError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def base_contracts(base: str) -> dict[ProductRef, Contract]:
    """The contracts as they were at git revision ``base``."""
    _git("rev-parse", "--verify", f"{base}^{{commit}}")
    folder = CONTRACTS_DIR.relative_to(REPO_ROOT).as_posix()
    contracts = {}
    for path in _git("ls-tree", "-r", "--name-only", base, "--", folder).splitlines():
        if not path.endswith((".yaml", ".yml")):
            continue
        data = yaml.safe_load(_git("show", f"{base}:{path}"))
        contract = parse_contract(data, Path(f"{base}:{path}"))
        contracts[ProductRef(contract.domain, contract.product)] = contract
    return contracts


def current_contracts() -> dict[ProductRef, Contract]:
    contracts = {}
    for path in sorted(CONTRACTS_DIR.glob("*/*.yaml")):
        contract = parse_contract(yaml.safe_load(path.read_text(encoding="utf-8")), path)
        contracts[ProductRef(contract.domain, contract.product)] = contract
    return contracts


def downstream(ref: ProductRef, specs: dict[str, DomainSpec]) -> tuple[list[str], list[str]]:
    """Consumer domains and asset keys downstream of ``ref``'s hand-off, across the whole mesh."""
    domains: set[str] = set()
    assets: set[str] = set()
    queue = [ref]
    seen: set[ProductRef] = set()
    while queue:
        product = queue.pop()
        if product in seen:
            continue
        seen.add(product)
        for consumer in (s for s in specs.values() if product in s.consumes):
            domains.add(consumer.name)
            manifest = Manifest.of(consumer)
            source = f"source.{consumer.name}.ports.{names.handoff_name(product.domain, product.product)}"
            for unique_id in sorted(manifest.downstream_models([source])):
                node = manifest.nodes[unique_id]
                layer, model = str(node["fqn"][1]), str(node["name"])
                assets.add(names.asset_key(consumer.name, layer, model).to_user_string())
                if layer == "gold" and model in consumer.products:
                    assets.add(names.handoff_key(consumer.name, model).to_user_string())
                    queue.append(ProductRef(consumer.name, model))
    return sorted(domains), sorted(assets)


def diff_contracts(base: str) -> list[ProductDiff]:
    """Every product whose contract differs from ``base``, with what its changes affect."""
    old, new = base_contracts(base), current_contracts()
    specs = load_all_specs()
    diffs = []
    for ref in sorted(old.keys() | new.keys(), key=str):
        changes = compare(ref, old.get(ref), new.get(ref))
        if not changes:
            continue
        before, after = old.get(ref), new.get(ref)
        diff = ProductDiff(ref, before.version if before else None, after.version if after else None, changes)
        if diff.breaking:
            diff.affected_domains, diff.affected_assets = downstream(ref, specs)
        diffs.append(diff)
    return diffs


def format_diff(diffs: list[ProductDiff], base: str) -> str:
    if not diffs:
        return f"No contract changed since {base}."
    lines = [f"Contract changes since {base}:"]
    for diff in diffs:
        versions = f"{diff.base_version or '-'} -> {diff.version or '-'}"
        verdict = "BREAKING" if diff.breaking else "compatible"
        lines.append(f"\n{diff.product} ({versions}): {verdict}")
        lines += [f"  {'!' if c.breaking else '-'} {c.what}" for c in diff.changes]
        if diff.breaking:
            lines.append(f"  consumers affected: {', '.join(diff.affected_domains) or 'none'}")
            for asset in diff.affected_assets:
                lines.append(f"    {asset}")
        if diff.unannounced:
            major = int((diff.base_version or "0").split(".")[0]) + 1
            lines.append(
                f"  FAIL: a breaking change needs a major version bump: set version to {major}.0.0 "
                "in the contract and tell the consumers"
            )
    failed = sum(d.unannounced for d in diffs)
    lines.append(
        f"\n{failed} unannounced breaking change(s)." if failed else "\nNo unannounced breaking change."
    )
    return "\n".join(lines)
