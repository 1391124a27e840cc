"""The cost model meters DynamoDB by the published billing rules, and its monthly bill follows from the meter."""

from __future__ import annotations

import dataclasses

import pytest

from bench.cost_model import PRICES, TWCS, Assumptions, Meter, item_size, measure, monthly_cost


def test_item_size_follows_dynamodb_rules() -> None:
    # GIVEN the worked sizes of DynamoDB's documentation: names and values in UTF-8 bytes, numbers ~1 byte per 2 digits
    assert item_size({"PK": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "12345"}}) == 1 + 1 + 3
    assert item_size({"b": {"B": b"\x00" * 10}, "f": {"BOOL": True}}) == (1 + 10) + (1 + 1)
    assert item_size({"é": {"S": "é"}}) == 4


def test_writes_pay_per_started_kb_and_per_index_entry() -> None:
    meter = Meter()
    small = {"PK": {"S": "p"}, "SK": {"S": "s"}}
    big = {**small, "doc": {"S": "x" * 1500}}
    indexed = {**big, "GSI1PK": {"S": "a"}, "GSI1SK": {"S": "b"}}
    meter.write("put_item", None, small, applied=True)  # 1 KB, no index
    assert meter.wru["setup"] == 1
    meter.write("put_item", None, big, applied=True)  # 2 KB
    assert meter.wru["setup"] == 3
    meter.write("put_item", None, indexed, applied=True)  # 2 KB + 2 KB index entry
    assert meter.wru["setup"] == 7
    moved = {**indexed, "GSI1PK": {"S": "c"}}
    meter.write("update_item", indexed, moved, applied=True)  # 2 KB + index delete and put
    assert meter.wru["setup"] == 7 + 2 + 4
    meter.write("put_item", indexed, indexed, applied=False)  # a failed condition still costs the item
    assert meter.wru["setup"] == 13 + 2


def test_reads_pay_per_started_4kb_halved_when_eventually_consistent() -> None:
    meter = Meter()
    meter.read(0, consistent=True)
    meter.read(4097, consistent=True)
    meter.read(4097, consistent=False)
    assert meter.rru["setup"] == 1 + 2 + 1


@pytest.fixture(scope="module")
def measured():
    if not TWCS.exists():
        pytest.fail(f"{TWCS} missing: the shared fixtures must sit beside the repository")
    return measure(rows=100)


def test_measured_run_counts_complaints_and_units(measured) -> None:
    # GIVEN the real pipeline on the start of a real archive
    assert measured.complaints > 0 and measured.companies > 0
    # THEN a complaint costs at least its own write and index entries, and an idle aggregate still writes snapshots
    assert measured.ingest_wru / measured.complaints >= 2
    assert measured.aggregate_idle_wru > 0
    # AND the run that also recomputes the all-time window writes more than one that does not
    assert measured.aggregate_refresh_wru > measured.aggregate_idle_wru
    assert measured.stored_bytes > measured.complaints * 100


def test_monthly_cost_scales_with_volume(measured) -> None:
    base = {name: usd for name, _, usd in monthly_cost(measured)}
    double = dataclasses.replace(Assumptions(), complaints_per_month=2_000_000)
    doubled = {name: usd for name, _, usd in monthly_cost(measured, double)}
    assert doubled["DynamoDB storage"] == pytest.approx(2 * base["DynamoDB storage"])
    assert base["DynamoDB writes"] < doubled["DynamoDB writes"] < 2 * base["DynamoDB writes"]  # per-run part is fixed
    assert base["API Gateway (REST)"] == pytest.approx(PRICES["apigw_rest_requests_per_million"])
