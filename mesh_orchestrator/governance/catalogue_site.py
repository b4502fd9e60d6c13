"""The product catalogue as a static site: ``index.html`` and ``<domain>/<product>.html``.

Plain HTML and one stylesheet, no script and no server: the folder can be opened from disk, served
by ``mesh catalog --serve`` or uploaded as a CI artifact. Pages are Jinja2 templates
(``catalogue_templates/``) with autoescaping on, since every value shown comes from files and runs
that anyone in the mesh may write. The site is written to a new folder beside the target and moved
into place whole, so a reader never sees half a catalogue.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import jinja2

from mesh_orchestrator.core.names import MESH_LOCATION
from mesh_orchestrator.governance.catalogue import (
    FRESH,
    GATE_FAILED,
    GATES,
    NOT_PUBLISHED,
    STALE,
    Catalogue,
    ProductFacts,
    VersionFacts,
    age_text,
)
from mesh_orchestrator.ports.catalog import CATALOG_NAME

TEMPLATES = Path(__file__).with_name("catalogue_templates")
STYLESHEET = "catalogue.css"
STATUS_ORDER = (GATE_FAILED, STALE, NOT_PUBLISHED, FRESH)


def page_path(product_id: str) -> str:
    """A product page, relative to the site's root: ``<domain>/<product>.html``."""
    domain, product = product_id.split(".", 1)
    return f"{domain}/{product}.html"


# --- the lineage picture ------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    label: str
    detail: str
    kind: str  # feed | product | self | consumer
    href: str | None = None


@dataclass(frozen=True)
class Lineage:
    """An SVG picture of one version: its inputs on the left, the product, its consumers right."""

    width: int
    height: int
    boxes: tuple[Box, ...]
    edges: tuple[tuple[int, int, int, int], ...]  # (x1, y1, x2, y2) from a box's right to one's left


BOX_W, BOX_H, GAP, COLUMN = 250, 46, 14, 330


def lineage(product: ProductFacts, version: VersionFacts) -> Lineage:
    """The picture of what ``version`` was built from (feeds' bronze runs, consumed snapshots) and
    what is built from the product."""
    left: list[Box] = []
    for feed in version.feeds:
        bronze = f"{feed.rows:,} rows in bronze" if feed.rows is not None else "no bronze run recorded"
        left.append(Box(0, 0, f"feed {feed.name}", bronze, "feed"))
    for item in version.products:
        at = f"v{item.version} · snapshot {item.snapshot_id}" if item.version else "not recorded"
        left.append(Box(0, 0, item.product, at, "product", "../" + page_path(item.product)))
    right = [Box(0, 0, c, "consumer", "consumer", "../" + page_path(c)) for c in product.consumed_by]
    height = max(len(left), len(right), 1) * (BOX_H + GAP) + GAP

    def stack(boxes: list[Box], x: int) -> list[Box]:
        top = (height - len(boxes) * (BOX_H + GAP) + GAP) // 2
        return [
            Box(x, top + i * (BOX_H + GAP), b.label, b.detail, b.kind, b.href) for i, b in enumerate(boxes)
        ]

    placed_left = stack(left, GAP)
    middle = Box(
        GAP + COLUMN,
        (height - BOX_H) // 2,
        product.id,
        f"v{version.port.version} · snapshot {version.port.snapshot_id}",
        "self",
    )
    placed_right = stack(right, GAP + 2 * COLUMN)
    edges = [(b.x + BOX_W, b.y + BOX_H // 2, middle.x, middle.y + BOX_H // 2) for b in placed_left]
    edges += [(middle.x + BOX_W, middle.y + BOX_H // 2, b.x, b.y + BOX_H // 2) for b in placed_right]
    width = GAP + (3 if right else 2) * COLUMN - (COLUMN - BOX_W) + GAP
    return Lineage(width, height, (*placed_left, middle, *placed_right), tuple(edges))


# --- how to read a port -------------------------------------------------------------------------


def _jdbc(uri: str) -> str | None:
    """The JDBC URL of a SQLAlchemy URL (``sqlite:///…``, ``postgresql+psycopg://…``), user left out."""
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        return f"jdbc:sqlite:{parts.path}"
    if scheme in ("postgresql", "postgres"):
        host = parts.hostname or "localhost"
        return f"jdbc:postgresql://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"
    return None


def reading(properties: dict[str, str], table: str, snapshot_id: int | None) -> list[tuple[str, str, str]]:
    """(engine, note, code) for reading ``table`` at ``snapshot_id`` from DuckDB, pandas/polars,
    Spark and Trino, with the catalog's own (public) properties."""
    domain, product = table.split(".", 1)
    at = f"snapshot_id={snapshot_id}" if snapshot_id else ""
    version_as_of = f" VERSION AS OF {snapshot_id}" if snapshot_id else ""
    config = "\n".join(f"    {k}: {v}" for k, v in properties.items())
    pyiceberg = (
        "# .pyiceberg.yaml (or PYICEBERG_CATALOG__MESH__* variables; secrets are not shown here)\n"
        f"catalog:\n  {CATALOG_NAME}:\n{config}\n"
    )
    snippets = [
        (
            "DuckDB",
            "The mesh CLI lists the version's data files as a DuckDB table expression; or let pyiceberg "
            "plan the scan and hand it to DuckDB.",
            f'duckdb -c "SELECT count(*) FROM $(mesh port {domain} {product} --sql)"\n\n'
            "from pyiceberg.catalog import load_catalog\n"
            f'con = load_catalog("{CATALOG_NAME}").load_table("{table}").scan({at}).to_duckdb("{product}")\n'
            f'con.sql("SELECT count(*) FROM {product}")',
        ),
        (
            "pandas / polars",
            "Through pyiceberg, with the catalog configured as below.",
            pyiceberg + "\nfrom pyiceberg.catalog import load_catalog\n"
            f'table = load_catalog("{CATALOG_NAME}").load_table("{table}")\n'
            f"df = table.scan({at}).to_pandas()  # or .to_polars(), .to_arrow()",
        ),
    ]
    kind, uri, warehouse = (
        properties.get("type", ""),
        properties.get("uri", ""),
        properties.get("warehouse", ""),
    )
    jdbc = _jdbc(uri) if kind == "sql" else None
    if kind == "rest":
        spark_conf = [
            f"spark.sql.catalog.{CATALOG_NAME}.type=rest",
            f"spark.sql.catalog.{CATALOG_NAME}.uri={uri}",
        ]
        trino = ["iceberg.catalog.type=rest", f"iceberg.rest-catalog.uri={uri}"]
    elif jdbc:
        spark_conf = [
            f"spark.sql.catalog.{CATALOG_NAME}.type=jdbc",
            f"spark.sql.catalog.{CATALOG_NAME}.uri={jdbc}",
        ]
        trino = [
            "iceberg.catalog.type=jdbc",
            f"iceberg.jdbc-catalog.catalog-name={CATALOG_NAME}",
            f"iceberg.jdbc-catalog.connection-url={jdbc}",
            f"iceberg.jdbc-catalog.default-warehouse-dir={warehouse}",
        ]
    else:
        spark_conf, trino = [], []
    if spark_conf:
        conf = [f"spark.sql.catalog.{CATALOG_NAME}=org.apache.iceberg.spark.SparkCatalog", *spark_conf]
        if warehouse:
            conf.append(f"spark.sql.catalog.{CATALOG_NAME}.warehouse={warehouse}")
        snippets.append(
            (
                "Spark",
                "Iceberg's Spark runtime attaches the same catalog (pyiceberg's SQL catalog is Iceberg's "
                "JDBC catalog; add the database's JDBC driver and the credentials).",
                "spark-sql \\\n"
                + "".join(f"  --conf {c} \\\n" for c in conf)
                + f"  -e 'SELECT count(*) FROM {CATALOG_NAME}.{table}{version_as_of}'",
            )
        )
        note = "A Trino catalog file, etc/catalog/mesh.properties"
        if uri.startswith("sqlite"):
            note += " (Trino's JDBC catalog needs a server database: production's PostgreSQL catalog)"
        snippets.append(
            (
                "Trino",
                note + ".",
                "connector.name=iceberg\n"
                + "".join(f"{line}\n" for line in trino)
                + f"\nSELECT count(*) FROM {CATALOG_NAME}.{table}"
                + f" FOR VERSION AS OF {snapshot_id or '<snapshot id>'};",
            )
        )
    return snippets


# --- rendering ----------------------------------------------------------------------------------


def _when(moment: datetime | str | None) -> str:
    if moment is None:
        return "never"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _environment(cat: Catalogue) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt field fails the build, not the page
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["run_url"] = lambda run_id: f"{cat.ui_url}/runs/{quote(run_id)}" if run_id else ""
    env.filters["status_class"] = lambda status: "status-" + status.replace(" ", "-")
    env.filters["page"] = page_path
    env.filters["span"] = lambda span: "none" if span is None else age_text(span)
    env.filters["number"] = lambda n: "?" if n is None else f"{n:,}"
    env.globals.update(
        catalogue=cat,
        gates=GATES,
        catalog_name=CATALOG_NAME,
        mesh_location=MESH_LOCATION,
        stylesheet=STYLESHEET,
        box_w=BOX_W,
        box_h=BOX_H,
        lineage=lineage,
        reading=reading,
    )
    return env


def _grant_state(expires_on: date | None, today: date) -> str:
    if expires_on is None:
        return "no end date"
    days = (expires_on - today).days
    if days < 0:
        return f"expired {-days} day(s) ago"
    return f"expires in {days} day(s)"


def render_pages(cat: Catalogue) -> dict[str, str]:
    """Every page of the site, by path relative to its root."""
    env = _environment(cat)
    by_domain: dict[str, list[ProductFacts]] = {}
    for product in cat.products:
        by_domain.setdefault(product.contract.domain, []).append(product)
    counts = {s: sum(p.status == s for p in cat.products) for s in STATUS_ORDER}
    pages = {
        "index.html": env.get_template("index.html.j2").render(by_domain=by_domain, counts=counts, root="")
    }
    product_page = env.get_template("product.html.j2")
    today = cat.built_at.date()
    for product in cat.products:
        grants = [(c, _grant_state(c.expires_on, today)) for c in product.contract.consumers]
        pages[page_path(product.id)] = product_page.render(product=product, grants=grants, root="../")
    return pages


def write_site(cat: Catalogue, output: Path) -> Path:
    """Write the site to ``output`` (replaced whole); returns the path of its ``index.html``."""
    pages = render_pages(cat)  # everything renders before anything is written
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists() and not (output / "index.html").is_file() and any(output.iterdir()):
        from mesh_orchestrator.core.errors import UsageError

        raise UsageError(
            f"{output} is a folder that holds files but no catalogue (no index.html); "
            "name an empty or new folder, or a previous catalogue's, with --output"
        )
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    try:
        for relative, html in pages.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
        shutil.copyfile(TEMPLATES / STYLESHEET, staging / STYLESHEET)
        os.chmod(staging, 0o755)
        if output.exists():
            retired = output.with_name(f".{output.name}.old")
            shutil.rmtree(retired, ignore_errors=True)
            output.rename(retired)
            staging.rename(output)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return output / "index.html"
