"""The models room: the catalog, the local library, downloads from the Hugging Face Hub, local imports.

Only `app.models.hub` imports huggingface_hub, and only when the user starts a download or a search;
nothing here touches the network at import, at start-up or while listing. Public surface (pinned by
tests/models/test_public_api.py):

- catalog: `load_catalog() -> Catalog` (`.entries`, `.get(id)`), `CatalogEntry`;
- advice: `assess_fit(entry, machine) -> Fit`, `recommend(entries, machine)`, with the planner's `Machine`
  (`app.planner.detect_machine()`);
- library: `Library(models_dir)` (`.list()`, `.get(id)`, `.find(name)`, `.remove(id)`), `InstalledModel`;
- import: `import_model(path, library, copy=False)`;
- models other apps downloaded: `scan_found()` (the Hugging Face cache, LM Studio, Ollama) ->
  `FoundModel`s, usable or with a reason; `import_found(found, library)` records one where it is;
  `store_locations()` the folders looked in, `STORE_NAMES`; `removal_warning(source)` what that app
  may delete;
- downloads: `DownloadManager(models_dir, access)` (`.start(request)`, `.resume/.pause/.cancel(id)`,
  `.downloads()`, `.add_listener(fn)`, `.shutdown()`), `Download`, `DownloadRequest`,
  `DownloadProgress`, `DownloadState`;
- the Hub: `HubAccess(settings, tokens)` (`.policy()`, `.search(query)`), `network_policy(settings)`,
  `TokenStore` (`.set(token) -> TokenSaveResult`, `.get()`, `.clear()`);
- errors: `ModelsError` and its kinds (below `app.errors.OssianError`).

Sizes, speeds and times are worded by `app.units`.
"""

from app.models.access import HubAccess
from app.models.catalog import Catalog, CatalogEntry, load_catalog
from app.models.download import Download, DownloadManager, DownloadProgress, DownloadState
from app.models.download_plan import DownloadRequest
from app.models.errors import (
    CatalogError,
    FileSelectionError,
    HubAccessDenied,
    HubNotFound,
    HubUnreachable,
    IntegrityError,
    ModelsError,
    NetworkDisabled,
    NotEnoughDisk,
    NotUsable,
    TokenError,
    UnknownModel,
)
from app.models.fit import Fit, assess_fit, recommend
from app.models.found import scan_found
from app.models.found_verdict import FoundModel
from app.models.importer import import_found, import_model
from app.models.library import InstalledModel, Library
from app.models.policy import NetworkPolicy, network_policy
from app.models.stores import STORE_NAMES, Store, removal_warning, store_locations
from app.models.tokens import TokenSaveResult, TokenStore

__all__ = [
    "STORE_NAMES",
    "Catalog",
    "CatalogEntry",
    "CatalogError",
    "Download",
    "DownloadManager",
    "DownloadProgress",
    "DownloadRequest",
    "DownloadState",
    "FileSelectionError",
    "Fit",
    "FoundModel",
    "HubAccess",
    "HubAccessDenied",
    "HubNotFound",
    "HubUnreachable",
    "InstalledModel",
    "IntegrityError",
    "Library",
    "ModelsError",
    "NetworkDisabled",
    "NetworkPolicy",
    "NotEnoughDisk",
    "NotUsable",
    "Store",
    "TokenError",
    "TokenSaveResult",
    "TokenStore",
    "UnknownModel",
    "assess_fit",
    "import_found",
    "import_model",
    "load_catalog",
    "network_policy",
    "recommend",
    "removal_warning",
    "scan_found",
    "store_locations",
]
