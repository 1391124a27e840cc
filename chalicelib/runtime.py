"""Process-wide dependencies, built once on first use (chalice's lazy-getter pattern).

Import stays free of I/O and heavy imports; warm Lambda invocations reuse the store and registry; tests
swap any of them with :func:`override` and undo it with :func:`reset`.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.config import Settings
    from chalicelib.domain.models import Company
    from chalicelib.store.base import Store

_LOCK = threading.RLock()
_STATE: dict[str, Any] = {}
_HEAP_FROZEN: list[bool] = []


def freeze_startup_heap() -> None:
    """Leave what a cold process has loaded so far (modules, classes, the app) out of garbage collection.

    Those objects live as long as the process. Otherwise the modules a cold request imports allocate enough
    to set off a full collection that walks all of them: 20-40 ms of a first request on a 2-core machine
    with chalice and botocore loaded. ``gc.freeze`` is the standard library's answer; objects made later
    are collected as before. Only the first call freezes.
    """
    with _LOCK:
        if not _HEAP_FROZEN:
            _HEAP_FROZEN.append(True)
            gc.freeze()


#: What :func:`preload` imports: what the first request of nearly every route would otherwise import itself.
PRELOADED = (
    "chalicelib.config",
    "chalicelib.registry",
    "chalicelib.registry_overlay",
    "chalicelib.store",  # the backend-neutral part: models, codec, cursors
    "chalicelib.health",
)


def preload(env: Mapping[str, str] | None = None) -> None:
    """Import, at ``import app``, the modules nearly every request needs (:data:`PRELOADED`), and the SQLite
    backend when it is the configured store (never DynamoDB's, which would bring boto3: ~130 ms).

    Modules only: no file, store or network is touched, so importing the app stays free of I/O, and the first
    request is left with its own work (reading settings and the registry, opening the store). A cold start
    pays for these modules either way; paid here, they are loaded before the heap is frozen (see
    :func:`freeze_startup_heap`). Modules only some routes use (the /v1 views, HTML pages, e-mail, hashing)
    stay with their routes: with them ``import app`` would pass 1.4× a hello-world app's (BENCHMARKS.md).
    """
    from importlib import import_module

    for name in PRELOADED:
        import_module(name)
    if ((os.environ if env is None else env).get("FAIR_REPLY_STORE") or "sqlite").strip().lower() == "sqlite":
        import_module("chalicelib.store.sqlite")


def settings() -> Settings:
    with _LOCK:
        if "settings" not in _STATE:
            from chalicelib.config import load_settings

            _STATE["settings"] = load_settings()
        return _STATE["settings"]


def registry() -> dict[str, Company]:
    """Tracked companies; raises RegistryError (and so refuses to serve) when the file is invalid."""
    with _LOCK:
        if "registry" not in _STATE:
            from chalicelib.registry import CACHE_FILE, load_registry

            current = settings()
            _STATE["registry"] = load_registry(current.companies_path, cache=current.data_dir / CACHE_FILE)
            _STATE["registry"].update(_extra_companies(_STATE["registry"]))
        return _STATE["registry"]


def _extra_companies(file_registry: dict[str, Company]) -> dict[str, Company]:
    """Companies an archive import discovered (``--all-companies``); the file wins on any clash."""
    from chalicelib.registry_overlay import discovered_companies

    return discovered_companies(store(), registry=file_registry)


def store() -> Store:
    with _LOCK:
        if "store" not in _STATE:
            from chalicelib.store import open_store

            _STATE["store"] = open_store(settings())
        return _STATE["store"]


def override(**values: Any) -> None:
    """Replace dependencies (``settings=``, ``registry=``, ``store=``) for tests and the local runner."""
    with _LOCK:
        _STATE.update(values)


def reset() -> None:
    with _LOCK:
        store_obj = _STATE.pop("store", None)
        _STATE.clear()
    if store_obj is not None and hasattr(store_obj, "close"):
        store_obj.close()
