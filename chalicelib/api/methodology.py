"""The /v1/methodology document: definitions, thresholds, windows, the estimator, and the method texts.

Chalice packages only ``app.py`` and ``chalicelib/``, so the texts in ``docs/`` are bundled into
``methodology.json`` beside this module, with the statistics' constants (windows, confidence level, bootstrap
settings): reading them from :mod:`chalicelib.domain.fairness` and :mod:`chalicelib.jobs.aggregate` on a
request would import the whole statistics package on a cold start for a few numbers. Regenerate it after
editing the docs or those constants with ``python -m chalicelib.api.methodology`` (a test fails while the
bundle is stale). Thresholds come from the running settings, so what is published is what is applied.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.config import Settings

DOCS: tuple[str, ...] = ("methodology.md", "methodology-classification.md")
BUNDLE = Path(__file__).with_name("methodology.json")

VERDICTS = {
    "favours_high_profile": "ordinary customers wait longer: log-rank p < 0.05 and the ratio's 95% interval is above 1",
    "favours_ordinary": "high-profile customers wait longer: log-rank p < 0.05 and the ratio's 95% interval is below 1",
    "no_evidence": "enough data, but no significant difference between the tiers",
    "insufficient_data": "fewer complaints than the minimum sample in the ordinary or the high-profile tier",
}


def constants() -> dict[str, Any]:
    """What the document says that the code, not the settings, decides (imports the statistics: build time only)."""
    from chalicelib.domain.fairness import ANSWERED_WITHIN_MINUTES, BOOTSTRAP_MAX_N, DEFAULT_ALPHA
    from chalicelib.jobs.aggregate import METHODOLOGY_VERSION, WINDOWS, AggregateOptions

    opts = AggregateOptions()
    return {
        "version": METHODOLOGY_VERSION,
        "confidence_level": 1 - DEFAULT_ALPHA,
        "windows": [{"window": w, "days": d} for w, d in WINDOWS.items()],
        "answered_within_minutes": list(ANSWERED_WITHIN_MINUTES),
        "estimator": {
            "time_to_first_reply": "Kaplan–Meier; unanswered complaints right-censored at the observation horizon",
            "median_interval": "Brookmeyer–Crowley from the exponential Greenwood (log-log) band",
            "ratio": "ordinary median / high-profile median",
            "ratio_interval": (
                f"percentile bootstrap, each tier resampled separately, up to {BOOTSTRAP_MAX_N} complaints in the two "
                "tiers together; above that the large-sample MOVER interval on the log scale from the two "
                "Brookmeyer–Crowley median intervals (Zou & Donner 2008)"
            ),
            "ratio_interval_methods": ["percentile_bootstrap", "mover_log_median"],
            "bootstrap_max_n": BOOTSTRAP_MAX_N,
            "bootstrap_replicates": opts.replicates,
            "bootstrap_seed": opts.seed,
            "test": "log-rank",
            "deflection_interval": "Newcombe hybrid score interval; two-proportion z-test",
        },
    }


def build_bundle(docs_dir: Path) -> dict[str, Any]:
    """The constants, and the doc texts that exist, by file name, in :data:`DOCS` order."""
    return {
        "constants": constants(),
        "documents": [
            {"name": name, "text": (docs_dir / name).read_text(encoding="utf-8")}
            for name in DOCS
            if (docs_dir / name).exists()
        ]
    }


def bundle_text(docs_dir: Path) -> str:
    """``methodology.json`` as :func:`main` writes it."""
    return json.dumps(build_bundle(docs_dir), ensure_ascii=False, indent=1) + "\n"


def load_bundle() -> dict[str, Any]:
    try:
        return json.loads(BUNDLE.read_text(encoding="utf-8"))
    except FileNotFoundError:  # a checkout without the bundle: the constants the slow way, no texts
        return {"constants": constants(), "documents": []}


def methodology_document(settings: Settings) -> dict[str, Any]:
    from chalicelib import __version__

    bundle = load_bundle()
    fixed = bundle["constants"]
    return {
        "version": fixed["version"],
        "app_version": __version__,
        "tiers": [
            {"tier": "ordinary", "min_followers": 0, "max_followers": settings.notable_followers - 1},
            {"tier": "notable", "min_followers": settings.notable_followers,
             "max_followers": settings.high_profile_followers - 1},
            {"tier": "high_profile", "min_followers": settings.high_profile_followers, "max_followers": None},
            {"tier": "unknown", "min_followers": None, "max_followers": None},
        ],
        "min_sample": settings.min_sample,
        "confidence_level": fixed["confidence_level"],
        "windows": fixed["windows"],
        "answered_within_minutes": fixed["answered_within_minutes"],
        "estimator": fixed["estimator"],
        "verdicts": [{"verdict": k, "meaning": v} for k, v in VERDICTS.items()],
        "documents": bundle["documents"],
    }


def main(argv: list[str] | None = None) -> int:
    """Rebuild ``methodology.json`` from ``docs/``."""
    from chalicelib.config import PROJECT_ROOT

    docs = Path(argv[0]) if argv else PROJECT_ROOT / "docs"
    BUNDLE.write_text(bundle_text(docs), encoding="utf-8")
    print(f"wrote {BUNDLE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
