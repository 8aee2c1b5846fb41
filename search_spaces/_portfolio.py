"""Portfolios: configurations a new study evaluates right after its references.

A portfolio is learned offline from benchmark runs (``benchmarks/portfolio.py``) by greedy
coverage (:func:`greedy_portfolio`: each dataset's member picked by validation, as a study
would, on rank-normalised test scores, until a member adds less than the noise), the zero-shot
portfolio idea of AutoGluon and TabRepo, here for augmentation and fine-tuning
configurations. It is data: a YAML file,

.. code-block:: yaml

    name: default
    base: paper                     # the configuration the values are set over
    candidates:                     # name -> parameter values
      mix1-lr3e-4: {synthetic_ratio: 1.0, learning_rate: 3.0e-4}
      ft-lr3e-4: {synthetic_ratio: 0.0, learning_rate: 3.0e-4}
    configs: [mix1-lr3e-4]          # the portfolio, in trial order (default: every candidate)
    leave_one_dataset_out:          # what was chosen without each learning dataset
      car: [ft-lr3e-4]

Shipped portfolios are in ``search_spaces/portfolios/`` (:func:`list_portfolios`); a user
passes a name or a path. :meth:`Portfolio.without` gives the portfolio learned without a
dataset (recognised by name or by data fingerprint), so that a benchmark never claims a
portfolio's benefit on a dataset it was learned on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from search_spaces._errors import SearchSpaceError

__all__ = [
    "Portfolio",
    "greedy_portfolio",
    "list_portfolios",
    "load_portfolio",
    "write_portfolio",
]

PORTFOLIO_SUFFIXES = (".yaml", ".yml")

_logger = logging.getLogger("causalmix")


@dataclass(frozen=True)
class Portfolio:
    """A named list of configurations, each a set of values over a base configuration.

    Attributes:
        name: The portfolio's name.
        candidates: Every configuration it may use, by name (parameter -> value).
        configs: The portfolio: candidate names, in trial order.
        base: The space (name) whose fixed configuration the values are set over.
        leave_one_dataset_out: Dataset -> the names chosen without that dataset.
        source: Where it was loaded from, for messages.
        document: The whole file (its learning record included), as read.
    """

    name: str
    candidates: dict[str, dict[str, Any]]
    configs: tuple[str, ...]
    base: str = "paper"
    leave_one_dataset_out: dict[str, tuple[str, ...]] = field(default_factory=dict)
    source: str = ""
    document: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        from search_spaces._registry import check_config

        where = self.source or f"portfolio {self.name!r}"
        for name, values in self.candidates.items():
            if not isinstance(values, Mapping):
                raise SearchSpaceError(
                    f"{where}: candidate {name!r} must map parameters to values, but got "
                    f"{values!r}."
                )
            try:
                check_config(values)
            except SearchSpaceError as e:
                raise SearchSpaceError(f"{where}: candidate {name!r}: {e}") from None
        lists = {"configs": self.configs, **self.leave_one_dataset_out}
        for key, names in lists.items():
            unknown = [n for n in names if n not in self.candidates]
            if unknown:
                raise SearchSpaceError(
                    f"{where}: {key} names unknown candidates {unknown!r}; candidates: "
                    f"{', '.join(self.candidates) or 'none'}."
                )

    def without(self, dataset: str, fingerprint: str | None = None) -> Portfolio:
        """The portfolio learned without ``dataset`` (itself if it was not learned on it).

        A learning dataset is recognised by its name or, under another name, by its data
        fingerprint (``learned_with.fingerprints``, :func:`tuner.dataset_fingerprint` of the
        table as loaded, compared on their first 16 hex digits); a match under another name
        is logged as a warning, and so is a name the portfolio cannot check because it records
        no fingerprints.

        Args:
            dataset: The dataset's name.
            fingerprint: Its data fingerprint, if known.
        """
        fingerprints = self.fingerprints
        learned_on = dataset if dataset in self.leave_one_dataset_out else None
        if learned_on is None and fingerprint is not None:
            same = [d for d, f in fingerprints.items() if f[:16] == fingerprint[:16]]
            learned_on = next((d for d in same if d in self.leave_one_dataset_out), None)
            if learned_on is not None:
                _logger.warning(
                    "The dataset %r has the data of the learning dataset %r of the portfolio %r "
                    "(fingerprint %s): it gets the portfolio learned without %r.",
                    dataset, learned_on, self.name, fingerprint[:16], learned_on,
                )  # fmt: skip
        if learned_on is None:
            if self.leave_one_dataset_out and not fingerprints:
                _logger.warning(
                    "The portfolio %r records no data fingerprints, so it cannot tell whether "
                    "%r is one of its learning datasets under another name; it gets the whole "
                    "portfolio.", self.name, dataset,
                )  # fmt: skip
            return self
        return Portfolio(
            name=f"{self.name} without {learned_on}",
            candidates=self.candidates,
            configs=self.leave_one_dataset_out[learned_on],
            base=self.base,
            source=self.source,
            document=self.document,
        )

    @property
    def fingerprints(self) -> dict[str, str]:
        """Learning dataset -> its data fingerprint (``learned_with.fingerprints``; empty when
        the file does not record them)."""
        learned = self.document.get("learned_with")
        found = learned.get("fingerprints") if isinstance(learned, Mapping) else None
        if not isinstance(found, Mapping):
            return {}
        return {str(d): str(f) for d, f in found.items() if isinstance(f, str)}

    @property
    def weights_sha256(self) -> str | None:
        """SHA-256 of the TabFM weights it was learned with (``learned_with.weights_sha256``),
        or ``None`` when its file does not record them."""
        learned = self.document.get("learned_with")
        value = learned.get("weights_sha256") if isinstance(learned, Mapping) else None
        return value if isinstance(value, str) else None

    def full_configs(self) -> list[tuple[str, dict[str, Any]]]:
        """``(name, full flat config)`` of each configuration of the portfolio, in order."""
        from search_spaces._loading import load_space
        from search_spaces._registry import check_config

        base = load_space(self.base).fixed_config()
        return [(name, check_config({**base, **self.candidates[name]})) for name in self.configs]


def list_portfolios() -> list[str]:
    """Names of the portfolios shipped with the package, sorted."""
    from search_spaces._loading import shipped_names

    return shipped_names("portfolios")


def load_portfolio(name_or_path: str | os.PathLike[str]) -> Portfolio:
    """Load and validate a portfolio: a shipped name (:func:`list_portfolios`) or a YAML path.

    Raises:
        SearchSpaceError: For an unknown name, a missing or unreadable file, or an invalid
            portfolio (naming the candidate, the parameter and the value).
    """
    import yaml

    from search_spaces._loading import load_yaml, read_file, read_shipped

    text = os.fspath(name_or_path)
    path = Path(text)
    if not path.suffix and len(path.parts) == 1:
        otherwise = "a path to a .yaml file, or 'none'"
        content = read_shipped("portfolios", text, "portfolio", "portfolios", otherwise)
        source = f"shipped portfolio {text!r}"
    elif path.suffix.lower() not in PORTFOLIO_SUFFIXES:
        raise SearchSpaceError(
            f"A portfolio file must end in .yaml or .yml, but got {text!r}; shipped "
            f"portfolios: {', '.join(list_portfolios())}."
        )
    else:
        content = read_file(path, text, "portfolio file")
        source = f"portfolio file {text!r}"
    try:
        document = load_yaml(content)
    except yaml.YAMLError as e:
        message = " ".join(str(e).split())
        raise SearchSpaceError(f"The {source} is not valid YAML: {message}.") from None
    return _from_document(document, source, default_name=path.stem)


def _from_document(document: Any, source: str, *, default_name: str) -> Portfolio:
    if not isinstance(document, dict) or not isinstance(document.get("candidates"), dict):
        raise SearchSpaceError(
            f"The {source} must be a mapping with `candidates: {{name: {{parameter: value}}}}`."
        )
    candidates = {str(k): v for k, v in document["candidates"].items()}
    configs = document.get("configs", list(candidates))
    held_out = document.get("leave_one_dataset_out") or {}
    if not _is_name_list(configs) or not isinstance(held_out, dict):
        raise SearchSpaceError(
            f"The {source}: `configs` must be a list of candidate names and "
            "`leave_one_dataset_out` a mapping of dataset -> names."
        )
    for dataset, names in held_out.items():
        if not _is_name_list(names):
            raise SearchSpaceError(
                f"The {source}: leave_one_dataset_out[{dataset!r}] must be a list of names, "
                f"but got {names!r}."
            )
    base = document.get("base", "paper")
    from search_spaces._loading import load_space

    if not load_space(base).is_fixed:
        raise SearchSpaceError(
            f"The {source}: `base` must be a space that samples nothing, but got {base!r}."
        )
    return Portfolio(
        name=str(document.get("name", default_name)),
        candidates=candidates,
        configs=tuple(configs),
        base=base,
        leave_one_dataset_out={str(d): tuple(n) for d, n in held_out.items()},
        source=source,
        document=document,
    )


def _is_name_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def write_portfolio(document: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Validate ``document`` as a portfolio and write it as YAML to ``path``."""
    import yaml

    _from_document(dict(document), f"portfolio for {os.fspath(path)!r}", default_name="")
    text = yaml.safe_dump(dict(document), sort_keys=False, width=100)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")


def greedy_portfolio(
    test: Mapping[str, Mapping[str, Sequence[float]]],
    valid: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    size: int,
    start: Sequence[str] = (),
    datasets: Sequence[str] | None = None,
    noise_z: float = 1.0,
) -> list[str]:
    """Choose up to ``size`` configurations by greedy coverage, the way a study would pick.

    A study evaluates every configuration of its portfolio and keeps the one that scores best
    on validation, not on test. So the value of a set of configurations on one (dataset, fold)
    is the *test* score of the member with the best *validation* score there, ties to the
    member chosen first. Test scores are rank-normalised within each (dataset, fold) over all
    configurations given (1: the best, 0: the worst, ties share their mean rank), so that one
    dataset's large swings (+8.6 % here, -4.3 % there) cannot outweigh the others; a set's
    value on a dataset is the mean over its folds.

    Starting from ``start`` (which a study evaluates anyway), it adds one at a time the
    candidate with the largest mean gain over datasets, and stops when that gain is not above
    ``noise_z`` standard errors of the mean (over datasets) of the per-dataset gains: a member
    that adds less than the noise is not added. With an empty ``start`` the first member is the
    one with the best mean value. Ties go to the candidate listed first: deterministic.

    Args:
        test: Configuration -> dataset -> per-fold test scores (higher is better), e.g. the
            normalized ROC-AUC; the same folds, in the same order, for every configuration.
        valid: The same shape: the per-fold validation scores the pick is made on.
        size: Configurations to add at most.
        start: Configurations already chosen (not returned, not candidates).
        datasets: The datasets to cover (default: every dataset of the first configuration).
        noise_z: Standard errors a member's mean gain must exceed (0: any positive gain).

    Returns:
        The added configuration names, in the order chosen.

    Raises:
        SearchSpaceError: For a missing score or fold, or a ``start`` name without scores.
    """
    import numpy as np
    from scipy.stats import rankdata

    if size < 0 or noise_z < 0:
        raise SearchSpaceError(
            f"`size >= 0` and `noise_z >= 0` must hold, but got size={size}, noise_z={noise_z}."
        )
    names = list(test)
    if not names:
        return []
    covered = list(datasets) if datasets is not None else list(test[names[0]])
    folds: dict[str, int] = {}
    for name in [*start, *names]:
        for table, what in ((test, "test"), (valid, "validation")):
            missing = [d for d in covered if d not in table.get(name, {})]
            if missing:
                raise SearchSpaceError(
                    f"Configuration {name!r} has no {what} score on {missing!r}."
                )
            for d in covered:
                count = folds.setdefault(d, len(test[names[0]][d]))
                if len(table[name][d]) != count:
                    raise SearchSpaceError(
                        f"Configuration {name!r} has {len(table[name][d])} {what} scores on "
                        f"{d!r}, but {names[0]!r} has {count}: the folds must be paired."
                    )
    everyone = list(dict.fromkeys([*start, *names]))
    # (dataset) -> configurations x folds: normalised test ranks, and validation scores.
    ranks, checks = {}, {}
    for d in covered:
        scores = np.array([test[name][d] for name in everyone], dtype=float)
        ranked = rankdata(scores, axis=0) - 1.0
        ranks[d] = ranked / max(len(everyone) - 1, 1)
        checks[d] = np.array([valid[name][d] for name in everyone], dtype=float)
    row = {name: i for i, name in enumerate(everyone)}

    def value(members: list[str]) -> np.ndarray:
        """Per dataset: the mean over folds of the validation-picked member's test rank."""
        rows = [row[m] for m in members]
        out = []
        for d in covered:
            picked = np.argmax(checks[d][rows], axis=0)  # the first of the best on ties
            out.append(float(np.mean(ranks[d][np.asarray(rows)[picked], np.arange(folds[d])])))
        return np.array(out)

    members = list(dict.fromkeys(start))
    first_added = len(members)
    current = value(members) if members else None
    for _ in range(size):
        options = [name for name in names if name not in members]
        if not options:
            break
        values = [value([*members, name]) for name in options]
        if current is None:
            best = max(range(len(options)), key=lambda i: float(values[i].mean()))
        else:
            gains = [v - current for v in values]
            best = max(range(len(options)), key=lambda i: float(gains[i].mean()))
            gain = gains[best]
            noise = float(gain.std(ddof=1) / np.sqrt(gain.size)) if gain.size > 1 else 0.0
            if not gain.mean() > noise_z * noise:
                break
        members.append(options[best])
        current = values[best]
    return members[first_added:]
