"""One base exception for the mesh, with subclasses whose message says what to fix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class MeshError(Exception):
    """Base of every error the mesh raises on purpose."""


class SpecError(MeshError):
    """A domain spec or data contract is invalid; names the file and the field."""

    def __init__(self, path: Path | str, field: str, problem: str) -> None:
        self.path = str(path)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.path}: field '{field}': {problem}")


class IdentifierError(MeshError):
    """A name from a spec or contract is not a safe SQL identifier."""

    def __init__(self, name: str, where: str) -> None:
        self.name = name
        self.where = where
        super().__init__(
            f"{where}: {name!r} is not a valid identifier; use snake_case "
            "(lowercase letters, digits and underscores, starting with a letter)"
        )


class AuditFailedError(MeshError):
    """A hand-off's Great Expectations audit failed; nothing was published."""

    def __init__(self, product_id: str, failures: list[str], staged_at: Path | str) -> None:
        self.product_id = product_id
        self.failures = failures
        self.staged_at = staged_at
        listed = "; ".join(failures)
        super().__init__(
            f"audit of {product_id} failed, nothing published (consumers keep the previous "
            f"version); failing expectations: {listed}; staged batch kept at {staged_at}"
        )


class PersonalDataFoundError(MeshError):
    """A hand-off's personal-data scan matched columns not classified pii; nothing was published."""

    def __init__(
        self, product_id: str, findings: list[str], contract: Path | str, staged_at: Path | str
    ) -> None:
        self.product_id = product_id
        self.findings = findings
        self.staged_at = staged_at
        listed = "; ".join(findings)
        super().__init__(
            f"personal-data scan of {product_id} failed, nothing published (consumers keep the previous "
            f"version); personal data in columns not classified pii: {listed}; to fix, classify the column "
            f"as pii in {contract} and mask it with the mask_pii macro, or drop it from the product; "
            f"staged batch kept at {staged_at}"
        )


class PortNotPublishedError(MeshError):
    """A product's output port has no published version yet."""

    def __init__(self, domain: str, product: str, port: Path | str) -> None:
        super().__init__(
            f"{domain}.{product} has no published version (Iceberg table {port} of catalog mesh); "
            "run `mesh run` "
            "(or materialise its hand-off asset) first"
        )


class LandingError(MeshError):
    """A landing file could not be read at all (not a row problem: those are quarantined)."""


class DataFolderBusyError(MeshError):
    """Another ``mesh`` command holds the data folder (or the Dagster instance being created)."""

    def __init__(self, what: str, holder: str, waited: float) -> None:
        self.what = what
        self.holder = holder
        self.waited = waited
        after = f" after waiting {waited:.0f}s" if waited else ""
        super().__init__(
            f"{what} is in use by {holder}; stopped{after}. Wait for it to end, or stop it (a run it "
            "leaves unfinished is recovered by the next command), or set MESH_DATA_FOLDER_WAIT_SECONDS "
            "to wait longer (unset: wait as long as it takes)"
        )


class MaskingKeyError(MeshError):
    """A domain's masking key is missing or too short."""


class BaseRevisionError(MeshError):
    """The base revision cannot be read with git."""


class PolicyViolationError(MeshError):
    """Error-severity policy violations: the code location does not load until they are fixed."""

    def __init__(self, where: str, violations: Sequence[object]) -> None:
        self.violations = violations
        listed = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"{where}: {len(violations)} policy violation(s):\n{listed}")


class UsageError(MeshError):
    """The command's arguments name something that does not exist; nothing was run."""


class NotRegularFileError(LandingError):
    """A listed file is not (or no longer) a regular file inside the feed's folder."""

    def __init__(self, label: str, what: str) -> None:
        self.label = label
        self.what = what
        super().__init__(f"{label}: {what}; landing reads only regular files inside the landing folder")


class VersionNotFoundError(MeshError):
    """A version (or a time) asked for has no published snapshot (never, or expired)."""


class PublishConflictError(MeshError):
    """``main`` moved since the audited snapshot was staged: it cannot be fast-forwarded."""


class ProductSchemaError(MeshError):
    """A gold table does not have its contract's columns and types, so it cannot be staged."""


class LegacyPortsError(MeshError):
    """The data folder holds ports in the layout before Iceberg (``current.parquet``)."""


class NothingStagedError(MeshError):
    """A hand-off ran before its provider's run staged a batch."""


class CatalogError(MeshError):
    """The ``mesh`` catalog cannot be opened or a table in it is not what the contract says."""


class DatabaseLockedError(MeshError):
    """Another process holds the domain's DuckDB file."""


class ToolNotFoundError(MeshError):
    """An executable the mesh runs (dbt, dagster) is neither beside the interpreter nor on PATH."""

    def __init__(self, name: str, beside: Path, package: str) -> None:
        self.name = name
        super().__init__(
            f"{name!r} is neither in {beside} nor on PATH: install {package} "
            "into this environment (`make install` installs the locked one into .venv)"
        )
