"""Measure the classifiers against a labelled set: ``python -m chalicelib.domain.classify_eval [PATH]``.

Prints deflection precision and recall per language (replies), and category accuracy per language
(inbound posts), twice: with the language the row states, and with the language left for the classifier
to detect. Exits 1 if any language's deflection precision or recall is below ``--min`` (default 0.9) in
either mode, so the check can gate CI. This is the one module under ``domain/`` that reads a file: it is a
command, not measurement code, and nothing imports it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from chalicelib.domain.classify import classify_inbound, classify_reply, explain_reply
from chalicelib.domain.models import ReplyKind

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "tests" / "data" / "labelled_posts.jsonl"
MODES: tuple[str, ...] = ("stated", "detected")


@dataclass(frozen=True, slots=True)
class LanguageScore:
    """Deflection confusion counts and inbound accuracy for one language in one mode."""

    lang: str
    true_positive: int
    false_positive: int
    false_negative: int
    replies: int
    inbound: int
    inbound_correct: int

    @property
    def precision(self) -> float:
        predicted = self.true_positive + self.false_positive
        return self.true_positive / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        actual = self.true_positive + self.false_negative
        return self.true_positive / actual if actual else 0.0

    @property
    def inbound_accuracy(self) -> float | None:
        return self.inbound_correct / self.inbound if self.inbound else None


def load_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a JSONL file with ``lang``, ``text``, ``role`` (reply/inbound) and ``label``."""
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            missing = {"lang", "text", "role", "label"} - set(row)
            if missing or row["role"] not in ("reply", "inbound"):
                raise ValueError(f"{path}:{number}: needs lang, text, role in (reply, inbound), label; got {row}")
            rows.append(row)
    return rows


def score(rows: Iterable[dict[str, str]], *, detect: bool = False) -> tuple[list[LanguageScore], list[str]]:
    """Per-language scores (sorted by language) and a line per misclassified row."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    errors: list[str] = []
    for row in rows:
        lang = None if detect else row["lang"]
        c = counts[row["lang"]]
        if row["role"] == "reply":
            predicted = classify_reply(row["text"], lang)
            actual = ReplyKind(row["label"])
            c["replies"] += 1
            positive, expected = predicted == ReplyKind.DEFLECTION, actual == ReplyKind.DEFLECTION
            c["tp"] += positive and expected
            c["fp"] += positive and not expected
            c["fn"] += expected and not positive
            if predicted != actual:
                evidence = explain_reply(row["text"], lang)
                errors.append(
                    f"[{row['lang']}] reply expected {actual} got {predicted} "
                    f"(redirect {list(evidence.deflection)}, content {list(evidence.substantive)}): {row['text']}"
                )
        else:
            predicted_category = classify_inbound(row["text"], lang)
            c["inbound"] += 1
            c["inbound_ok"] += predicted_category == row["label"]
            if predicted_category != row["label"]:
                errors.append(
                    f"[{row['lang']}] inbound expected {row['label']} got {predicted_category}: {row['text']}"
                )
    scores = [
        LanguageScore(lang, c["tp"], c["fp"], c["fn"], c["replies"], c["inbound"], c["inbound_ok"])
        for lang, c in sorted(counts.items())
    ]
    return scores, errors


def format_table(mode: str, scores: Sequence[LanguageScore]) -> str:
    lines = [
        f"mode: language {mode}",
        f"{'lang':<5}{'replies':>8}{'precision':>11}{'recall':>8}{'TP':>5}{'FP':>4}{'FN':>4}"
        f"{'inbound':>9}{'accuracy':>10}",
    ]
    for s in scores:
        accuracy = "-" if s.inbound_accuracy is None else f"{s.inbound_accuracy:.2f}"
        lines.append(
            f"{s.lang:<5}{s.replies:>8}{s.precision:>11.2f}{s.recall:>8.2f}{s.true_positive:>5}"
            f"{s.false_positive:>4}{s.false_negative:>4}{s.inbound:>9}{accuracy:>10}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib.domain.classify_eval", description=__doc__.split("\n")[0]
    )
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH, help="labelled JSONL file")
    parser.add_argument("--min", type=float, default=0.9, help="lowest acceptable deflection precision/recall")
    parser.add_argument("--errors", action="store_true", help="list every misclassified row")
    args = parser.parse_args(argv)
    rows = load_rows(args.path)
    print(f"{args.path.name}: {len(rows)} rows")
    failing: list[str] = []
    for mode in MODES:
        scores, errors = score(rows, detect=mode == "detected")
        print()
        print(format_table(mode, scores))
        failing += [f"{mode}/{s.lang}" for s in scores if s.replies and min(s.precision, s.recall) < args.min]
        if args.errors and errors:
            print("\n".join(["misclassified:", *errors]))
    print()
    if failing:
        print(f"FAIL: deflection precision or recall below {args.min} for {', '.join(failing)}")
        return 1
    print(f"OK: deflection precision and recall >= {args.min} for every language")
    return 0


if __name__ == "__main__":
    sys.exit(main())
