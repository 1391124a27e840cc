"""The word pre-filter of the classifiers decides exactly what running every lexicon pattern decides.

The reference below is the classifier as it was before the pre-filter: every pattern of a category, as one
alternation. It is compared with the shipped classifiers on every text the repository holds (recorded payloads,
archives, the labelled evaluation sets) and on generated texts built from lexicon words; and each pattern's
derived requirement is checked against strings generated from the pattern itself.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain import classify
from chalicelib.domain.classify import (
    CATEGORIES,
    LANGUAGES,
    UNIVERSAL,
    classify_inbound,
    classify_reply,
    normalise,
    pattern_requirement,
)
from chalicelib.domain.models import Category, ReplyKind

ROOT = Path(__file__).resolve().parents[2]
TEXT_SOURCES = (ROOT.parent / "shared" / "fixtures", ROOT / "tests" / "fixtures", ROOT / "tests" / "data")
LANG_CHOICES = (*LANGUAGES, None)


def reference_reply(text: str, lang: str | None = None) -> ReplyKind:
    norm = normalise(text)
    langs = classify._languages_for(lang, text, norm)
    masked = classify._matcher(langs, "masked")
    redirected = masked.search(norm) is not None
    if redirected:
        norm = masked.sub(" ", norm)
    if classify._matcher(langs, "substantive").search(norm):
        return ReplyKind.SUBSTANTIVE
    if redirected or classify._matcher(langs, "deflection").search(norm):
        return ReplyKind.DEFLECTION
    return ReplyKind.SUBSTANTIVE


def reference_inbound(text: str, lang: str | None = None) -> Category:
    norm = normalise(text)
    langs = classify._languages_for(lang, text, norm)
    if classify._matcher(langs, "spam").search(norm):
        return Category.SPAM
    complaints = sum(1 for _ in classify._matcher(langs, "complaint").finditer(norm))
    praise = sum(1 for _ in classify._matcher(langs, "praise").finditer(norm))
    if praise > complaints:
        return Category.PRAISE
    if complaints == 0 and classify._matcher(langs, "chatter").search(norm):
        return Category.CHATTER
    return Category.COMPLAINT


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _repository_texts() -> list[str]:
    texts: set[str] = set()
    for folder in TEXT_SOURCES:
        for path in sorted(folder.rglob("*")):
            if not path.is_file():
                continue
            raw = path.read_text(encoding="utf-8", errors="replace")
            if path.suffix == ".json":
                try:
                    texts.update(_strings(json.loads(raw)))
                except ValueError:
                    pass
            elif path.suffix == ".jsonl":
                for line in raw.splitlines():
                    try:
                        texts.update(_strings(json.loads(line)))
                    except ValueError:
                        continue
            elif path.suffix == ".csv":
                texts.update(cell for row in csv.reader(raw.splitlines()) for cell in row)
    return sorted(t for t in texts if len(t) >= 2 and re.search(r"[^\W\d_]", t))


def _lexicon_words() -> list[str]:
    words: set[str] = set()
    folder = ROOT / "chalicelib" / "domain" / "lexicon"
    for path in folder.glob("*.json"):
        raw = json.loads(path.read_text(encoding="utf-8"))
        for name in CATEGORIES:
            for pattern in raw.get(name, ()):
                words.update(re.findall(r"[^\W_]+", classify._fold(pattern)))
    return sorted(words)


REPO_TEXTS = _repository_texts()
WORDS = _lexicon_words()


def test_the_repository_holds_enough_texts_to_compare_on():
    # GIVEN every recorded, archived and labelled text  THEN there are thousands (the comparison means something)
    assert len(REPO_TEXTS) > 1000


@pytest.mark.parametrize("lang", LANG_CHOICES)
def test_prefilter_classifies_every_repository_text_as_all_patterns_do(lang):
    # GIVEN every text in fixtures and labelled sets  WHEN classified both ways  THEN the outcomes are identical
    mismatches = [
        t for t in REPO_TEXTS
        if classify_inbound(t, lang) is not reference_inbound(t, lang)
        or classify_reply(t, lang) is not reference_reply(t, lang)
    ]
    assert mismatches == []


def test_labelled_texts_with_their_languages_classify_as_all_patterns_do():
    rows = []
    for name in ("labelled_posts.jsonl", "labelled_posts_holdout.jsonl"):
        rows += [json.loads(line) for line in (ROOT / "tests" / "data" / name).read_text().splitlines() if line]
    assert rows
    for row in rows:
        assert classify_inbound(row["text"], row["lang"]) is reference_inbound(row["text"], row["lang"])
        assert classify_reply(row["text"], row["lang"]) is reference_reply(row["text"], row["lang"])


_word = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(WORDS).map(lambda w: w + "ed"),  # stems' continuations
    st.sampled_from(("zzurl", "zzemail", "@acme", "https://x.example/a", "a@b.example", "DM", "ä", "ß", "!!")),
    st.text(alphabet="abcdehlmorstuz019 ", max_size=6),
)
_text = st.lists(_word, max_size=14).flatmap(
    lambda ws: st.lists(st.sampled_from((" ", "  ", ", ", ". ", "'", "-", "\n")), min_size=len(ws), max_size=len(ws))
    .map(lambda seps: "".join(w + s for w, s in zip(ws, seps, strict=True)))
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_text, lang=st.sampled_from(LANG_CHOICES))
def test_prefilter_classifies_generated_lexicon_texts_as_all_patterns_do(text, lang):
    assert classify_inbound(text, lang) is reference_inbound(text, lang)
    assert classify_reply(text, lang) is reference_reply(text, lang)


ALL_PATTERNS = sorted({
    (lang, category, p) for lang in (*LANGUAGES, UNIVERSAL) for category in CATEGORIES
    for p in classify._lexicons()[lang][category]
})


def test_every_lexicon_pattern_has_a_required_word():
    # a pattern without one is always run (still exact), but then the lexicon entry is worth a second look
    assert [p for _, _, p in ALL_PATTERNS if pattern_requirement(p) is None] == []


def _matching_text(pattern: str):
    return st.from_regex(re.compile(pattern), fullmatch=True).filter(lambda s: re.fullmatch(r"[a-z0-9 ]*", s))


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_text_matching_a_pattern_always_contains_its_required_word(data):
    # GIVEN a string a pattern matches, inside other words  THEN the pre-filter names that pattern
    lang, category, pattern = data.draw(st.sampled_from(ALL_PATTERNS))
    inner = data.draw(_matching_text(pattern))
    before = data.draw(st.sampled_from(("", "hello ", "x1 ")))
    after = data.draw(st.sampled_from(("", " there", " 9z")))
    norm = before + inner + after
    langs = (lang,) if lang == UNIVERSAL else (lang, UNIVERSAL)
    single = re.compile(rf"(?<![a-z0-9])(?:{pattern})(?![a-z0-9])")
    if not single.search(norm):
        return
    pf = classify._prefilter(langs)
    position = classify._prefilter(langs).patterns[category].index(pattern)
    assert pf.of(pf.candidates(norm), category) >> position & 1


@pytest.mark.parametrize(
    ("regex", "expected"),
    [
        ("refund(?: (?:now))?", {("token", "refund")}),
        ("rimbors[a-z0-9]*", {("prefix", "rimbors")}),
        ("(a|b) thanks", {("token", "thanks")}),
        ("39 ?[0-9]{2}", {("prefix", "39")}),
        ("[a-z]+usi", {("substring", "usi")}),
        ("[a-z]+", None),
        ("(lol|a?(ha){2,}h?)", {("token", "lol"), ("substring", "ha")}),
    ],
)
def test_requirements_are_read_off_the_pattern(regex, expected):
    found = pattern_requirement(regex)
    assert (None if found is None else set(found)) == expected


_OLD_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_OLD_EMAIL = re.compile(r"(?<![\w@.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_OLD_HANDLE = re.compile(r"(?<![\w@])@[\w.]+(?:@[\w.-]+)?")


def reference_normalise(text: str) -> str:
    lowered = text.lower()
    if "http" in lowered or "www." in lowered:
        text = _OLD_URL.sub(" zzurl ", text)
    if "@" in text:
        text = _OLD_HANDLE.sub(" ", _OLD_EMAIL.sub(" zzemail ", text))
    return re.sub(r"[^a-z0-9]+", " ", classify._fold(text)).strip()


def test_normalise_of_every_repository_text_is_unchanged():
    assert [t for t in REPO_TEXTS if normalise(t) != reference_normalise(t)] == []


@settings(max_examples=1500, deadline=None)
@given(text=st.text(alphabet=st.sampled_from("a.b-+_@@@ é1:/wx.com"), max_size=30))
def test_normalise_of_handles_and_addresses_is_unchanged(text):
    assert normalise(text) == reference_normalise(text)
