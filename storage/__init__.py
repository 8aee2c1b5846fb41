"""Study storage (SQLite / PostgreSQL, or either through a gRPC storage proxy), artifact
storage and best-config export."""

from typing import TYPE_CHECKING

from storage._artifacts import check_artifact_name, open_artifact_store, upload_trial_artifact
from storage._bbc import (
    BBCResult,
    ConfirmResult,
    bbc_gain,
    confirm_gain,
    fold_auc,
    normalized_score,
    stratified_bootstrap_counts,
)
from storage._cache import RDBCache
from storage._connection import describe_connection_error, is_connection_error
from storage._errors import StorageError, StorageUnavailableError
from storage._export import (
    CONFIG_SUFFIXES,
    EXPORT_FORMAT_VERSION,
    SETTINGS_ATTR,
    export_best,
    read_config,
    select_study_trial,
    write_config,
)
from storage._lock import study_lock, try_study_lock
from storage._options import ENVIRONMENT_VARIABLES, StorageOptions
from storage._pictures import csv_preview, dag_png, edge_probability_png
from storage._predictions import (
    OOF_ATTR,
    StudyRows,
    has_zero_shot_oof,
    load_study_rows,
    save_study_rows,
    save_trial_oof,
    save_zero_shot_oof,
    trial_oof,
)
from storage._rdb import (
    create_storage,
    load_existing_study,
    storage_url_of,
    study_exists,
)
from storage._selection import (
    CONFIRMATION_ATTR,
    DEFAULT_N_BOOT,
    FOLD_SCORES_ATTR,
    FOLDS_ATTR,
    REFERENCE_ATTR,
    SELECTION_RULES,
    eligible_trials,
    select_trial,
)
from storage._stale import fail_stale_trials
from storage._url import DEFAULT_DATABASE, is_proxy_url, mask_url, resolve_storage_url

if TYPE_CHECKING:
    from storage._proxy import ProxyStorage, check_bindable, make_proxy_server
    from storage._retrying import RetryingRDBStorage, reconnects_of, retry_while_unavailable

__all__ = [
    "BBCResult",
    "ConfirmResult",
    "bbc_gain",
    "confirm_gain",
    "fold_auc",
    "normalized_score",
    "stratified_bootstrap_counts",
    "CONFIG_SUFFIXES",
    "CONFIRMATION_ATTR",
    "FOLD_SCORES_ATTR",
    "FOLDS_ATTR",
    "DEFAULT_N_BOOT",
    "SELECTION_RULES",
    "DEFAULT_DATABASE",
    "ENVIRONMENT_VARIABLES",
    "EXPORT_FORMAT_VERSION",
    "SETTINGS_ATTR",
    "REFERENCE_ATTR",
    "OOF_ATTR",
    "RDBCache",
    "StudyRows",
    "StorageError",
    "StorageUnavailableError",
    "StorageOptions",
    "check_artifact_name",
    "create_storage",
    "csv_preview",
    "describe_connection_error",
    "dag_png",
    "edge_probability_png",
    "export_best",
    "fail_stale_trials",
    "has_zero_shot_oof",
    "is_connection_error",
    "is_proxy_url",
    "ProxyStorage",
    "RetryingRDBStorage",
    "check_bindable",
    "make_proxy_server",
    "retry_while_unavailable",
    "reconnects_of",
    "load_existing_study",
    "load_study_rows",
    "mask_url",
    "open_artifact_store",
    "read_config",
    "resolve_storage_url",
    "save_study_rows",
    "save_trial_oof",
    "save_zero_shot_oof",
    "select_study_trial",
    "select_trial",
    "eligible_trials",
    "storage_url_of",
    "study_exists",
    "study_lock",
    "trial_oof",
    "try_study_lock",
    "upload_trial_artifact",
    "write_config",
]

# These import Optuna (and gRPC) on first use, not with the package: `causalmix --help` stays
# fast.
_LAZY = {
    "ProxyStorage": "storage._proxy",
    "check_bindable": "storage._proxy",
    "make_proxy_server": "storage._proxy",
    "RetryingRDBStorage": "storage._retrying",
    "retry_while_unavailable": "storage._retrying",
    "reconnects_of": "storage._retrying",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'storage' has no attribute {name!r}")
