"""Registries: the TPMAP target-household list and the informal-labour registry, imported as
dated snapshots keyed by person_ref, and asked "was this person on it on that day?"."""

from reporting.registries.files import RegistryFileError
from reporting.registries.loader import ImportResult, import_registry
from reporting.registries.lookup import RegistryStatus, registry_import_at, registry_imports, registry_status_at
from reporting.registries.models import REGISTRY_TABLES, RegistryImport, RegistryKind, RegistryMember

__all__ = [
    "REGISTRY_TABLES",
    "ImportResult",
    "RegistryFileError",
    "RegistryImport",
    "RegistryKind",
    "RegistryMember",
    "RegistryStatus",
    "import_registry",
    "registry_import_at",
    "registry_imports",
    "registry_status_at",
]
