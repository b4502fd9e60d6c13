"""``mesh new-domain <name>``: a new domain that loads, passes ``mesh check`` and publishes, in one step.

It writes everything README "Adding a domain" lists, as a working example to edit:

- ``domains/<name>/``: the DomainComponent's ``defs.yaml`` (one feed, ``events``, and one product,
  ``daily_totals``), the location module and ``dg.toml`` (:class:`DomainScaffolder`'s files);
- ``dbt_projects/<name>/``: a staging model over the feed and the gold model of the product, with
  the generated dbt model contract (``mesh contracts sync-dbt``);
- ``quality/contracts/<name>/daily_totals.yaml`` (ODCS v3.1.0, every column described) and the
  product's descriptor (``mesh products sync``);
- its entries in ``workspace.yaml``, the dg workspace of ``pyproject.toml`` and ``docker/`` (each copied
  from the entries of :data:`TEMPLATE_DOMAIN`, so they follow whatever those files say today);
- a sample file in its landing folder, from the feed's declaration (``generate.declared``).

Nothing is written unless every target is free; a name that is taken or unsafe is refused first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from mesh_orchestrator.components.domain import SCAFFOLD_DEFINITIONS, SCAFFOLD_DG_TOML
from mesh_orchestrator.core.contracts import (
    Contract,
    ContractColumn,
    ContractInput,
    OutputPort,
    Sla,
    contract_path,
)
from mesh_orchestrator.core.odcs import dump
from mesh_orchestrator.core.paths import REPO_ROOT
from mesh_orchestrator.core.spec import DOMAINS_DIR, SPEC_FILE, discover_domains, load_domain_spec
from mesh_orchestrator.devtools.generate.base import Context
from mesh_orchestrator.devtools.generate.declared import generate_declared
from mesh_orchestrator.governance.descriptors import sync_descriptors
from mesh_orchestrator.transformation.dbt_contracts import sync_products_yaml

#: The domain whose entries in workspace.yaml, pyproject.toml and docker/ a new domain copies.
TEMPLATE_DOMAIN = "finance"
FEED, PRODUCT = "events", "daily_totals"
RESERVED = {"mesh", "mesh_orchestrator", "ports", "bronze", "silver", "gold", "landing", "quarantine", "main"}
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")

DEFS = """\
# The {name} domain, scaffolded by `mesh new-domain {name}`: one feed and one product to start from.
# Edit the feeds and products (README "Adding a domain"); `mesh check --skip-run` says what is missing.
type: mesh_orchestrator.components.DomainComponent
attributes:
  name: {name}
  owner: {owner}
  description: The {name} domain's events, summed per day and category.
  dbt_project: dbt_projects/{name}

  feeds:
    {feed}:
      description: One row per business event, as the source system exports it.
      format: csv
      key: [event_id]
      columns:
        - {{name: event_id, type: VARCHAR, required: true}}
        - {{name: event_date, type: DATE, required: true}}
        - {{name: category, type: VARCHAR, required: true, allowed: [standard, express, other]}}
        - {{name: amount, type: "DECIMAL(18,2)", required: true}}
        - {{name: currency, type: VARCHAR, required: true, allowed: [EUR]}}

  products: [{product}]
  consumes: []
"""

DBT_PROJECT = """\
# dbt project of the {name} domain: bronze feeds -> silver -> gold products.
name: {name}
version: "1.0.0"
config-version: 2
profile: mesh  # ../profiles.yml, shared by every domain

model-paths: ["models"]
macro-paths: ["../_shared/macros"]  # one copy of the mesh-wide macros for every domain
test-paths: ["tests"]

clean-targets: ["target", "dbt_packages", "logs"]

models:
  {name}:
    silver:
      +schema: silver
      staging:
        +materialized: view
    gold:
      +schema: gold
      +materialized: table
      +contract:
        enforced: true
"""

SOURCES = """\
version: 2

sources:
  - name: bronze
    description: >
      The {name} domain's bronze tables, loaded by the platform: one table per feed of
      domains/{name}/defs.yaml, typed, de-duplicated on the feed key.
    schema: bronze
    tables:
      - name: {feed}
        description: One row per business event, as the source system exports it.
"""

STAGING = """\
-- stg_bronze__{feed}: the {feed} feed, one row per event_id.

with

source as (

    select * from {{{{ source('bronze', '{feed}') }}}}

),

renamed as (

    select
        event_id,
        event_date,
        category,
        amount,
        currency

    from source

)

select * from renamed
"""

GOLD = """\
-- {product}: data product, events summed per day and category (contract {name}.{product}).

with

events as (

    select * from {{{{ ref('stg_bronze__{feed}') }}}}

),

final as (

    select
        cast(event_date as date) as event_date,
        cast(category as varchar) as category,
        cast(count(*) as bigint) as events,
        cast(sum(amount) as decimal(18, 2)) as amount,
        cast(currency as varchar) as currency

    from events
    group by event_date, category, currency

)

select * from final
"""


def contract(name: str, owner: str) -> Contract:
    """The data contract of the new domain's product."""
    return Contract(
        id=f"{name}.{PRODUCT}",
        version="1.0.0",
        status="active",
        domain=name,
        product=PRODUCT,
        owner=owner,
        description="One row per event date, category and currency: the number of events and their total.",
        model=PRODUCT,
        primary_key=("event_date", "category", "currency"),
        columns=(
            ContractColumn("event_date", "DATE", required=True, description="Day the events happened."),
            ContractColumn(
                "category",
                "VARCHAR",
                required=True,
                allowed_values=("standard", "express", "other"),
                description="Category of the events, as the source system records it.",
            ),
            ContractColumn("events", "BIGINT", required=True, minimum=1, description="Number of events."),
            ContractColumn(
                "amount",
                "DECIMAL(18,2)",
                required=True,
                currency="currency",
                description="Sum of the events' amounts, in currency.",
            ),
            ContractColumn(
                "currency",
                "VARCHAR",
                required=True,
                allowed_values=("EUR",),
                description="ISO 4217 code of amount.",
            ),
        ),
        consumers=(),
        min_rows=1,
        path=contract_path(name, PRODUCT),
        purpose=f"Give the {name} team and its consumers daily totals of its events.",
        output_port=OutputPort(f"{name}.{PRODUCT}"),
        sla=Sla(freshness=timedelta(hours=26), retention=timedelta(days=400)),
        inputs=(ContractInput("feed", FEED),),
    )


def check_name(name: str) -> None:
    """Refuse a name that is unsafe, reserved or taken, saying why."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r}: a domain name is snake_case, 2 to 31 characters, starting with a letter")
    if name in RESERVED:
        raise ValueError(f"{name!r} is reserved by the mesh; choose another name")
    if name in discover_domains():
        raise ValueError(f"domain {name!r} exists already ({DOMAINS_DIR / name / SPEC_FILE})")
    taken = [
        p
        for p in (DOMAINS_DIR / name, REPO_ROOT / "dbt_projects" / name, contract_path(name, PRODUCT).parent)
        if p.exists()
    ]
    if taken:
        raise ValueError(f"{taken[0]} exists already; remove it or choose another name")


def _renamer(template: str, name: str) -> Callable[[str], str]:
    """Replace ``template`` as a word in each spelling: ``FINANCE`` -> ``NAME``, ``code-finance``
    -> ``code-<name with hyphens>`` (Kubernetes names), any other -> ``name``."""
    word = re.compile(rf"(?<![A-Za-z0-9]){template}(?![A-Za-z0-9])", re.IGNORECASE)

    def spelled(match: re.Match[str]) -> str:
        text, line, at = match.group(0), match.string, match.start()
        if text.isupper():
            return name.upper()
        hyphenated = (at > 0 and line[at - 1] == "-") or line[match.end() : match.end() + 1] == "-"
        return name.replace("_", "-") if hyphenated else name

    return lambda text: word.sub(spelled, text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _entry(lines: list[str], at: int) -> tuple[int, int]:
    """The YAML entry around line ``at``: the list item it belongs to (or the line itself, under a
    mapping key) and the more indented lines under it."""
    start, level = at, _indent(lines[at])
    if not lines[at].lstrip().startswith("- "):
        for j in range(at - 1, -1, -1):
            if not lines[j].strip() or _indent(lines[j]) >= level:
                continue
            if lines[j].lstrip().startswith("- "):
                start = j
            break  # the nearest less indented line: the item's head, or a parent key
    end = start + 1
    while end < len(lines) and lines[end].strip() and _indent(lines[end]) > _indent(lines[start]):
        end += 1
    return start, max(end, at + 1)


def copy_entries(text: str, template: str, name: str, mode: str = "yaml") -> str:
    """``text`` with each entry that names ``template`` followed by a copy that names ``name``.

    ``mode``: ``yaml`` (an entry is a line or the list item around it, with what is indented under
    it), ``documents`` (a ``---``-separated document), ``paragraphs`` (lines between blank lines)
    or ``lines:<regex>`` (only lines matching the regular expression, one by one).
    """
    rename = _renamer(template, name)
    mentions = re.compile(rf"(?<![A-Za-z0-9]){template}(?![A-Za-z0-9])", re.IGNORECASE)
    if mode == "documents":
        documents = text.split("---\n")
        return "---\n".join(
            d for doc in documents for d in ([doc, rename(doc)] if mentions.search(doc) else [doc])
        )
    if mode == "paragraphs":
        paragraphs = text.split("\n\n")
        return "\n\n".join(
            p for par in paragraphs for p in ([par, rename(par)] if mentions.search(par) else [par])
        )
    lines = text.splitlines(keepends=True)
    if mode.startswith("lines:"):
        only = re.compile(mode.removeprefix("lines:"))
        wanted = [line for line in lines if mentions.search(line) and only.search(line)]
        return "".join(c for line in lines for c in ([line, rename(line)] if line in wanted else [line]))
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not mentions.search(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        start, end = _entry(lines, i)
        del out[len(out) - (i - start) :]  # the item's head lines, already passed
        entry = lines[start:end]
        out += entry + [rename(line) for line in entry]
        i = end
    return "".join(out)


#: Files that list every code location, and how their entries are delimited (see copy_entries).
LISTINGS = {
    "workspace.yaml": "yaml",
    "pyproject.toml": "yaml",
    "docker/workspace.yaml": "yaml",
    "docker/docker-compose.yml": "yaml",
    "docker/helm/values.yaml": "yaml",
    "docker/helm/pvcs.yaml": "documents",
    "docker/.env.example": "paragraphs",
    "README.md": "lines:^kubectl .* create secret generic mesh-pii-",  # the Helm section's secrets
}


def new_domain(
    name: str,
    owner: str | None = None,
    data_dir: Path | None = None,
    progress: Callable[[str], None] = print,
) -> list[Path]:
    """Scaffold domain ``name`` (see the module's docstring); the files written, in order."""
    check_name(name)
    owner = owner or f"team:{name}"
    folder = DOMAINS_DIR / name
    project = REPO_ROOT / "dbt_projects" / name
    files: dict[Path, str] = {
        folder / "__init__.py": "",
        folder / SPEC_FILE: DEFS.format(name=name, owner=owner, feed=FEED, product=PRODUCT),
        folder / "definitions.py": SCAFFOLD_DEFINITIONS.format(name=name),
        folder / "dg.toml": SCAFFOLD_DG_TOML.format(name=name),
        project / "dbt_project.yml": DBT_PROJECT.format(name=name),
        project / "models" / "silver" / "staging" / "_sources.yml": SOURCES.format(name=name, feed=FEED),
        project / "models" / "silver" / "staging" / f"stg_bronze__{FEED}.sql": STAGING.format(feed=FEED),
        project / "models" / "gold" / f"{PRODUCT}.sql": GOLD.format(name=name, feed=FEED, product=PRODUCT),
        project / "tests" / ".gitkeep": "",
        contract_path(name, PRODUCT): dump(contract(name, owner)),
    }
    listings = {
        REPO_ROOT / f: copy_entries((REPO_ROOT / f).read_text(encoding="utf-8"), TEMPLATE_DOMAIN, name, mode)
        for f, mode in LISTINGS.items()
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    spec = load_domain_spec(name)
    written = list(files)
    written.append(sync_products_yaml(spec).path)
    written += [result.path for result in sync_descriptors(spec)]
    for path, text in listings.items():
        path.write_text(text, encoding="utf-8")
        written.append(path)
    if data_dir is not None:
        for report in generate_declared(Context(data_dir, scale=1, seed=0), spec):
            progress(f"sample data: {report.line()}")
            written.append(data_dir / "landing" / name / report.feed)
    for path in written:
        progress(f"wrote {path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}")
    return written
