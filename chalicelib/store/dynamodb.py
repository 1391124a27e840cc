"""DynamoDB backend: one on-demand table, single-table design.

Key schema
----------
The table has ``PK`` (S, hash) and ``SK`` (S, range) and three global secondary indexes, all projecting
every attribute so that a listing never needs a second read per item:

* ``GSI1`` on ``GSI1PK``/``GSI1SK`` (S/S) and ``GSI2`` on ``GSI2PK``/``GSI2SK`` (S/S), overloaded per entity;
* ``BySeq`` on ``SEQPK`` (S, the company) / ``seq`` (N), present only on complaints.

==============  ==========================  ============================  =====================================
Entity          PK                          SK                            Indexes
==============  ==========================  ============================  =====================================
post            ``POST#{platform}#{id}``    ``POST``                      GSI1 ``THREAD#{platform}#{thread}`` /
                                                                          ``{ts}#{id}``; GSI2
                                                                          ``PARENT#{platform}#{in_reply_to}`` /
                                                                          ``{ts}#{id}``
account         ``ACCOUNT#{platform}#{id}`` ``ACCOUNT``
complaint       ``COMPLAINT#{platform}#{id}`` ``COMPLAINT``               GSI1 ``COMPLAINTS#{company}`` /
                                                                          ``{ts}#{platform}#{id}``; BySeq
                                                                          ``{company}`` / seq
change counter  ``COUNTER``                 ``complaint_seq``             attribute ``value`` (N, atomic ADD)
checkpoint      ``CHECKPOINT``              ``{company}#{source}``
horizon         ``HORIZON#{company}``       ``{platform}``
snapshot head   ``SNAPSHOT#{key}``          ``HEAD``                      (inline ``data`` when one chunk)
snapshot part   ``SNAPSHOT#{key}``          ``PART#{version}#{n:05d}``
subscription    ``SUB#{sub_id}``            ``SUB``                       GSI1 ``SUBEMAIL#{email}`` /
                                                                          ``{company}#{sub_id}``; GSI2 ``SUBS`` /
                                                                          ``{company}#{sub_id}``
alert sent      ``ALERT#{sub_id}``          ``{platform}#{post_id}``
suppression     ``SUPPRESSED#{email}``      ``SUPPRESSED``
event           ``EVENT#{kind}#{key}``      ``{ts}#{uuid}``               TTL attribute ``expires_at``
==============  ==========================  ============================  =====================================

``{ts}`` is a fixed-width UTC timestamp (``codec.ts_key``), so string order is time order; platform names
are prefix-free and ``#`` sorts below every character of an id, so ``{ts}#{platform}#{id}`` sorts exactly as
(created_at, platform, post_id) — the order SQLite uses.

Access patterns
---------------
* post / account / complaint by key — GetItem (consistent).
* posts of a thread — Query GSI1 ``THREAD#…``; replies to a post — Query GSI2 ``PARENT#…``.
* new post — conditional PutItem ``attribute_not_exists(PK)``; deletion — conditional UpdateItem.
* first reply — conditional UpdateItem whose condition is the earliest-wins rule (see ``_record_first``).
* a company's complaints by time — Query GSI1 ``COMPLAINTS#{company}`` with the sort key BETWEEN the range
  (or after the cursor), other filters as FilterExpression; GSIs are eventually consistent.
* complaints changed since seq N — Query BySeq ``{company}``, ``seq > N``; seq comes from the counter item.
* checkpoints — GetItem / Query ``CHECKPOINT`` (few items: one per company × source).
* horizons — conditional UpdateItem keeping the max / Query ``HORIZON#{company}``.
* snapshots — zlib bytes under 400 KB per item: parts written under a fresh version first, then the head
  switches to that version, then the old version's parts are deleted; readers see old or new, never a mix.
* subscriptions — GetItem; by address and company — Query GSI1; all/by company — Query GSI2 ``SUBS``
  (a small set), status as FilterExpression.
* alerts sent, suppressions — put-if-absent / GetItem; rate-limit events — PutItem, Query Select=COUNT.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.models import Account, Checkpoint, Complaint, Post, Reply, Subscription
from chalicelib.store import codec
from chalicelib.store.base import FIRST_REPLY, ComplaintFilter, Store, normalise_email
from chalicelib.store.cursor import ComplaintKey
from chalicelib.store.errors import StoreError, StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, dict[str, Any]]

_RETRYABLE = {
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "ResourceNotFoundException", "TransactionConflictException",
}
_SLOT_PREFIX = {FIRST_REPLY: "fr", "first_substantive_reply": "fs"}
EVENT_TTL = timedelta(days=31)
SNAPSHOT_CHUNK_BYTES = 350_000
BATCH_GET_KEYS = 100  # BatchGetItem's limit per request
BATCH_GET_ATTEMPTS = 6  # unprocessed keys (throttling) are retried with backoff, then the read fails


class _ConditionFailed(Exception):
    """A conditional write found the item in a state it must not overwrite (internal: callers see a bool)."""


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _key(pk: str, sk: str) -> Item:
    return {"PK": _s(pk), "SK": _s(sk)}


def _post_item(p: Post) -> Item:
    item = _key(f"POST#{p.platform}#{p.post_id}", "POST")
    item["doc"] = _s(codec.dumps(codec.post_doc(p)))
    item["deleted"] = {"BOOL": p.deleted}
    order = f"{codec.ts_key(p.created_at)}#{p.post_id}"
    if p.thread_id:
        item["GSI1PK"], item["GSI1SK"] = _s(f"THREAD#{p.platform}#{p.thread_id}"), _s(order)
    if p.in_reply_to_post_id:
        item["GSI2PK"], item["GSI2SK"] = _s(f"PARENT#{p.platform}#{p.in_reply_to_post_id}"), _s(order)
    return item


def _post(item: Item) -> Post:
    return codec.post_from(json.loads(item["doc"]["S"]), deleted=item["deleted"]["BOOL"])


def _complaint_sort_key(created_at: datetime, platform: str, post_id: str) -> str:
    return f"{codec.ts_key(created_at)}#{platform}#{post_id}"


def _complaint_item(c: Complaint, seq: int) -> Item:
    item = _key(f"COMPLAINT#{c.platform}#{c.post_id}", "COMPLAINT")
    item.update({
        "GSI1PK": _s(f"COMPLAINTS#{c.company}"),
        "GSI1SK": _s(_complaint_sort_key(c.created_at, c.platform, c.post_id)),
        "SEQPK": _s(c.company),
        "seq": _n(seq),
        "doc": _s(codec.dumps(codec.complaint_doc(c))),
        "platform": _s(c.platform),
        "tier": _s(str(c.tier)),
        "category": _s(str(c.category)),
        "deleted": {"BOOL": c.deleted},
    })
    for slot, prefix in _SLOT_PREFIX.items():
        reply = getattr(c, slot)
        if reply is not None:
            item[prefix] = _s(codec.dumps(codec.reply_doc(reply)))
            item[f"{prefix}_at"] = _s(codec.ts_key(reply.created_at))
            item[f"{prefix}_id"] = _s(reply.post_id)
    return item


def _complaint(item: Item) -> Complaint:
    def reply(prefix: str) -> Reply | None:
        return codec.reply_from(json.loads(item[prefix]["S"])) if prefix in item else None

    return codec.complaint_from(
        json.loads(item["doc"]["S"]), category=item["category"]["S"], deleted=item["deleted"]["BOOL"],
        first_reply=reply("fr"), first_substantive_reply=reply("fs"),
    )


def _subscription(item: Item) -> Subscription:
    return codec.subscription_from(json.loads(item["doc"]["S"]))


class DynamoDBStore(Store):
    """A :class:`Store` in one DynamoDB table.

    Parameters
    ----------
    client
        A low-level boto3 DynamoDB client (injected: tests pass one bound to moto, Lambda a reused one).
    table_name
        The table, as created by :func:`create_table` or ``infra/``.
    snapshot_chunk_bytes
        Largest binary attribute written per item; keeps every item under DynamoDB's 400 KB limit.
    """

    def __init__(
        self, client: DynamoDBClient | Any, table_name: str, *, snapshot_chunk_bytes: int = SNAPSHOT_CHUNK_BYTES
    ) -> None:
        self._client = client
        self.table_name = table_name
        self._chunk = snapshot_chunk_bytes

    # -- plumbing --------------------------------------------------------------------------------------------

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """Call the client, translating botocore failures into store errors."""
        kwargs.setdefault("TableName", self.table_name)
        if kwargs["TableName"] is None:  # batch operations name their tables inside RequestItems
            del kwargs["TableName"]
        try:
            return getattr(self._client, operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise _ConditionFailed(code) from exc
            if code in _RETRYABLE:
                raise StoreUnavailable(f"DynamoDB {operation} on {self.table_name!r}: {code}") from exc
            raise StoreError(f"DynamoDB {operation} on {self.table_name!r} failed: {code}: {exc}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"DynamoDB {operation} on {self.table_name!r}: {exc}") from exc

    def _get(self, pk: str, sk: str) -> Item | None:
        return self._call("get_item", Key=_key(pk, sk), ConsistentRead=True).get("Item")

    def _put_if_absent(self, item: Item) -> bool:
        try:
            self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(PK)")
        except _ConditionFailed:
            return False
        return True

    def _query(self, **kwargs: Any) -> Iterator[Item]:
        while True:
            page = self._call("query", **kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_get(self, keys: list[Item]) -> list[Item]:
        """Strongly consistent BatchGetItem of ``keys`` (distinct), retrying what DynamoDB leaves unprocessed."""
        found: list[Item] = []
        for start in range(0, len(keys), BATCH_GET_KEYS):
            pending: list[Item] = keys[start : start + BATCH_GET_KEYS]
            for attempt in range(BATCH_GET_ATTEMPTS):
                request = {self.table_name: {"Keys": pending, "ConsistentRead": True}}
                page = self._call("batch_get_item", TableName=None, RequestItems=request)
                found.extend(page.get("Responses", {}).get(self.table_name, []))
                pending = page.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            else:
                raise StoreUnavailable(f"DynamoDB batch_get_item on {self.table_name!r}: keys left unprocessed")
        return found

    def _next_seq(self) -> int:
        """Take the next change number from the atomic counter item."""
        updated = self._call(
            "update_item", Key=_key("COUNTER", "complaint_seq"), UpdateExpression="ADD #value :one",
            ExpressionAttributeNames={"#value": "value"}, ExpressionAttributeValues={":one": _n(1)},
            ReturnValues="UPDATED_NEW",
        )
        return int(updated["Attributes"]["value"]["N"])

    # -- posts and accounts ----------------------------------------------------------------------------------

    def _insert_posts(self, posts: list[Post]) -> int:
        return sum(self._put_if_absent(_post_item(p)) for p in posts)

    def _mark_posts_deleted(self, keys: list[tuple[str, str]]) -> int:
        changed = 0
        for platform, post_id in keys:
            try:
                self._call(
                    "update_item", Key=_key(f"POST#{platform}#{post_id}", "POST"),
                    UpdateExpression="SET #deleted = :true",
                    ConditionExpression="attribute_exists(PK) AND #deleted = :false",
                    ExpressionAttributeNames={"#deleted": "deleted"},
                    ExpressionAttributeValues={":true": {"BOOL": True}, ":false": {"BOOL": False}},
                )
                changed += 1
            except _ConditionFailed:
                pass
        return changed

    def _get_post(self, platform: str, post_id: str) -> Post | None:
        item = self._get(f"POST#{platform}#{post_id}", "POST")
        return None if item is None else _post(item)

    def _get_posts(self, platform: str, post_ids: list[str]) -> dict[str, Post]:
        posts = (_post(i) for i in self._batch_get([_key(f"POST#{platform}#{i}", "POST") for i in post_ids]))
        return {p.post_id: p for p in posts}

    def _index_posts(self, index: str, pk: str) -> list[Post]:
        items = self._query(
            IndexName=index, KeyConditionExpression=f"{index}PK = :pk", ExpressionAttributeValues={":pk": _s(pk)}
        )
        return [_post(i) for i in items]

    def _thread_posts(self, platform: str, thread_id: str) -> list[Post]:
        return self._index_posts("GSI1", f"THREAD#{platform}#{thread_id}")

    def _posts_replying_to(self, platform: str, post_id: str) -> list[Post]:
        return self._index_posts("GSI2", f"PARENT#{platform}#{post_id}")

    def _upsert_accounts(self, accounts: list[Account]) -> int:
        changed = 0
        for a in accounts:
            doc = _s(codec.dumps(codec.account_doc(a)))
            try:
                self._call(
                    "put_item", Item={**_key(f"ACCOUNT#{a.platform}#{a.account_id}", "ACCOUNT"), "doc": doc},
                    ConditionExpression="attribute_not_exists(PK) OR doc <> :doc",
                    ExpressionAttributeValues={":doc": doc},
                )
                changed += 1
            except _ConditionFailed:
                pass
        return changed

    def _get_account(self, platform: str, account_id: str) -> Account | None:
        item = self._get(f"ACCOUNT#{platform}#{account_id}", "ACCOUNT")
        return None if item is None else codec.account_from(json.loads(item["doc"]["S"]))

    # -- complaints ------------------------------------------------------------------------------------------

    def _insert_complaint(self, c: Complaint) -> bool:
        return self._put_if_absent(_complaint_item(c, self._next_seq()))

    def _get_complaint(self, platform: str, post_id: str) -> Complaint | None:
        item = self._get(f"COMPLAINT#{platform}#{post_id}", "COMPLAINT")
        return None if item is None else _complaint(item)

    def _get_complaints(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Complaint]:
        complaints = (_complaint(i) for i in self._batch_get([_key(f"COMPLAINT#{p}#{i}", "COMPLAINT") for p, i in keys]))
        return {c.key: c for c in complaints}

    def _update_complaint(self, platform: str, post_id: str, *, category: str | None, deleted: bool | None) -> bool:
        key = _key(f"COMPLAINT#{platform}#{post_id}", "COMPLAINT")
        current = self._get(key["PK"]["S"], "COMPLAINT")
        if current is None:
            return False
        wanted: dict[str, dict[str, Any]] = {}
        if category is not None and current["category"]["S"] != category:
            wanted["category"] = _s(category)
        if deleted is not None and current["deleted"]["BOOL"] != deleted:
            wanted["deleted"] = {"BOOL": deleted}
        if not wanted:  # checked first so that a no-op spends no sequence number
            return False
        names = {f"#{k}": k for k in wanted} | {"#seq": "seq"}
        values = {f":{k}": v for k, v in wanted.items()} | {":seq": _n(self._next_seq())}
        sets = ", ".join(f"#{k} = :{k}" for k in wanted)
        differs = " OR ".join(f"#{k} <> :{k}" for k in wanted)
        try:
            self._call(
                "update_item", Key=key, UpdateExpression=f"SET {sets}, #seq = :seq",
                ConditionExpression=f"attribute_exists(PK) AND ({differs})",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values,
            )
        except _ConditionFailed:
            return False
        return True

    def _record_first(self, platform: str, complaint_post_id: str, reply: Reply, slot: str) -> bool:
        prefix = _SLOT_PREFIX[slot]
        key = _key(f"COMPLAINT#{platform}#{complaint_post_id}", "COMPLAINT")
        at, reply_id = codec.ts_key(reply.created_at), reply.post_id
        current = self._get(key["PK"]["S"], "COMPLAINT")
        if current is None:
            return False
        if f"{prefix}_at" in current and (current[f"{prefix}_at"]["S"], current[f"{prefix}_id"]["S"]) <= (at, reply_id):
            return False  # read first so that hopeless writes spend no sequence number; the condition decides
        complaint_stored = "attribute_exists(PK)"  # otherwise pairing retries when the complaint arrives
        no_reply_yet = "attribute_not_exists(#at)"
        stored_reply_later = "#at > :at"
        same_time_larger_id = "(#at = :at AND #id > :id)"  # ties go to the smaller post id, deterministically
        try:
            self._call(
                "update_item", Key=key,
                UpdateExpression="SET #at = :at, #id = :id, #doc = :doc, #seq = :seq",
                ConditionExpression=(
                    f"{complaint_stored} AND ({no_reply_yet} OR {stored_reply_later} OR {same_time_larger_id})"
                ),
                ExpressionAttributeNames={"#at": f"{prefix}_at", "#id": f"{prefix}_id", "#doc": prefix, "#seq": "seq"},
                ExpressionAttributeValues={
                    ":at": _s(at), ":id": _s(reply_id), ":doc": _s(codec.dumps(codec.reply_doc(reply))),
                    ":seq": _n(self._next_seq()),
                },
            )
        except _ConditionFailed:
            return False
        return True

    def _query_complaints(
        self,
        company: str,
        *,
        since: datetime | None,
        until: datetime | None,
        after: ComplaintKey | None,
        filters: ComplaintFilter,
        limit: int,
    ) -> list[Complaint]:
        values: dict[str, Any] = {":pk": _s(f"COMPLAINTS#{company}")}
        # Every sort key is "{ts}#…", so the bare "{ts}" of since/until sorts just before that instant's items.
        lows = [codec.ts_key(since)] if since is not None else []
        after_key = None if after is None else _complaint_sort_key(*after)
        if after_key is not None:
            lows.append(after_key)  # inclusive here; the cursor item itself is skipped below
        key_condition = "GSI1PK = :pk"
        if lows and until is not None:
            key_condition += " AND GSI1SK BETWEEN :lo AND :hi"
        elif lows:
            key_condition += " AND GSI1SK >= :lo"
        elif until is not None:
            key_condition += " AND GSI1SK < :hi"
        if lows:
            values[":lo"] = _s(max(lows))
        if until is not None:
            values[":hi"] = _s(codec.ts_key(until))
        names: dict[str, str] = {}
        conditions = []
        for attr, value in (("platform", filters.platform), ("tier", filters.tier), ("category", filters.category)):
            if value is not None:
                names[f"#{attr}"] = attr
                values[f":{attr}"] = _s(value)
                conditions.append(f"#{attr} = :{attr}")
        if filters.answered is not None:
            conditions.append("attribute_exists(fr_at)" if filters.answered else "attribute_not_exists(fr_at)")
        query: dict[str, Any] = {
            "IndexName": "GSI1", "KeyConditionExpression": key_condition, "ExpressionAttributeValues": values,
            "Limit": max(limit, 25),
        }
        if conditions:
            query["FilterExpression"] = " AND ".join(conditions)
        if names:
            query["ExpressionAttributeNames"] = names
        found: list[Complaint] = []
        for item in self._query(**query):
            if item["GSI1SK"]["S"] == after_key:
                continue
            found.append(_complaint(item))
            if len(found) == limit:
                break
        return found

    def _changed_complaints(self, company: str, *, after: int, limit: int) -> list[tuple[int, Complaint]]:
        items = self._query(
            IndexName="BySeq", KeyConditionExpression="SEQPK = :company AND #seq > :after",
            ExpressionAttributeNames={"#seq": "seq"},
            ExpressionAttributeValues={":company": _s(company), ":after": _n(after)}, Limit=limit,
        )
        found = []
        for item in items:
            found.append((int(item["seq"]["N"]), _complaint(item)))
            if len(found) == limit:
                break
        return found

    # -- checkpoints, horizons and snapshots -----------------------------------------------------------------

    def _get_checkpoint(self, company: str, source: str) -> Checkpoint | None:
        item = self._get("CHECKPOINT", f"{company}#{source}")
        return None if item is None else codec.checkpoint_from(json.loads(item["doc"]["S"]))

    def _put_checkpoint(self, cp: Checkpoint) -> None:
        doc = _s(codec.dumps(codec.checkpoint_doc(cp)))
        self._call("put_item", Item={**_key("CHECKPOINT", f"{cp.company}#{cp.source}"), "doc": doc})

    def _list_checkpoints(self) -> list[Checkpoint]:
        items = self._query(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": _s("CHECKPOINT")}, ConsistentRead=True
        )
        return [codec.checkpoint_from(json.loads(i["doc"]["S"])) for i in items]

    def _raise_horizon(self, company: str, platform: str, observed_until: datetime) -> None:
        try:
            self._call(
                "update_item", Key=_key(f"HORIZON#{company}", platform), UpdateExpression="SET #until = :until",
                ConditionExpression="attribute_not_exists(#until) OR #until < :until",  # keep the max
                ExpressionAttributeNames={"#until": "observed_until"},
                ExpressionAttributeValues={":until": _s(codec.ts_key(observed_until))},
            )
        except _ConditionFailed:
            pass

    def _get_horizons(self, company: str) -> dict[str, datetime]:
        items = self._query(
            KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": _s(f"HORIZON#{company}")},
            ConsistentRead=True,
        )
        return {i["SK"]["S"]: codec.from_ts_key(i["observed_until"]["S"]) for i in items}

    def _put_snapshot(self, key: str, data: bytes, generated_at: datetime) -> None:
        pk, version = f"SNAPSHOT#{key}", uuid.uuid4().hex
        chunks = [data[i : i + self._chunk] for i in range(0, len(data), self._chunk)] or [b""]
        head = {**_key(pk, "HEAD"), "version": _s(version), "generated_at": _s(codec.ts_key(generated_at))}
        if len(chunks) == 1:
            head.update({"parts": _n(0), "data": {"B": chunks[0]}})
        else:
            head["parts"] = _n(len(chunks))
            for n, chunk in enumerate(chunks):
                self._call("put_item", Item={**_key(pk, f"PART#{version}#{n:05d}"), "data": {"B": chunk}})
        old = self._call("put_item", Item=head, ReturnValues="ALL_OLD").get("Attributes")
        if old:
            for n in range(int(old["parts"]["N"])):
                self._call("delete_item", Key=_key(pk, f"PART#{old['version']['S']}#{n:05d}"))

    def _get_snapshot(self, key: str) -> tuple[bytes, datetime] | None:
        pk = f"SNAPSHOT#{key}"
        for _attempt in range(3):  # a concurrent writer may delete the parts of the head just read
            head = self._get(pk, "HEAD")
            if head is None:
                return None
            generated_at = codec.from_ts_key(head["generated_at"]["S"])
            parts = int(head["parts"]["N"])
            if parts == 0:
                return bytes(head["data"]["B"]), generated_at
            items = list(self._query(
                KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)", ConsistentRead=True,
                ExpressionAttributeValues={":pk": _s(pk), ":prefix": _s(f"PART#{head['version']['S']}#")},
            ))
            if len(items) == parts:
                return b"".join(bytes(i["data"]["B"]) for i in items), generated_at
        raise StoreUnavailable(f"snapshot {key!r} kept changing while being read")

    # -- subscriptions ---------------------------------------------------------------------------------------

    def _put_subscription(self, sub: Subscription) -> None:
        order = f"{sub.company}#{sub.sub_id}"
        item = {
            **_key(f"SUB#{sub.sub_id}", "SUB"),
            "GSI1PK": _s(f"SUBEMAIL#{normalise_email(sub.email)}"), "GSI1SK": _s(order),
            "GSI2PK": _s("SUBS"), "GSI2SK": _s(order),
            "status": _s(sub.status), "doc": _s(codec.dumps(codec.subscription_doc(sub))),
        }
        self._call("put_item", Item=item)

    def _get_subscription(self, sub_id: str) -> Subscription | None:
        item = self._get(f"SUB#{sub_id}", "SUB")
        return None if item is None else _subscription(item)

    def _find_subscriptions(self, email_norm: str, company: str) -> list[Subscription]:
        items = self._query(
            IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk AND begins_with(GSI1SK, :company)",
            ExpressionAttributeValues={":pk": _s(f"SUBEMAIL#{email_norm}"), ":company": _s(f"{company}#")},
        )
        return [_subscription(i) for i in items]

    def _list_subscriptions(self, *, company: str | None, status: str | None) -> list[Subscription]:
        query: dict[str, Any] = {"IndexName": "GSI2", "KeyConditionExpression": "GSI2PK = :pk"}
        values = {":pk": _s("SUBS")}
        if company is not None:
            query["KeyConditionExpression"] += " AND begins_with(GSI2SK, :company)"
            values[":company"] = _s(f"{company}#")
        if status is not None:
            query["FilterExpression"] = "#status = :status"
            query["ExpressionAttributeNames"] = {"#status": "status"}
            values[":status"] = _s(status)
        return [_subscription(i) for i in self._query(**query, ExpressionAttributeValues=values)]

    def _mark_alerted(self, sub_id: str, platform: str, post_id: str, at: datetime) -> bool:
        return self._put_if_absent({**_key(f"ALERT#{sub_id}", f"{platform}#{post_id}"), "at": _s(codec.ts_key(at))})

    def _was_alerted(self, sub_id: str, platform: str, post_id: str) -> bool:
        return self._get(f"ALERT#{sub_id}", f"{platform}#{post_id}") is not None

    def _suppress(self, email_norm: str, reason: str, at: datetime | None) -> None:
        item = {**_key(f"SUPPRESSED#{email_norm}", "SUPPRESSED"), "reason": _s(reason)}
        if at is not None:
            item["at"] = _s(codec.ts_key(at))
        self._put_if_absent(item)

    def _is_suppressed(self, email_norm: str) -> bool:
        return self._get(f"SUPPRESSED#{email_norm}", "SUPPRESSED") is not None

    def _record_event(self, kind: str, key: str, at: datetime) -> None:
        expires = int((at + EVENT_TTL).timestamp())
        item = {**_key(f"EVENT#{kind}#{key}", f"{codec.ts_key(at)}#{uuid.uuid4().hex}"), "expires_at": _n(expires)}
        self._call("put_item", Item=item)

    def _count_events(self, kind: str, key: str, since: datetime) -> int:
        query: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND SK >= :since", "Select": "COUNT", "ConsistentRead": True,
            "ExpressionAttributeValues": {":pk": _s(f"EVENT#{kind}#{key}"), ":since": _s(codec.ts_key(since))},
        }
        total = 0
        while True:
            page = self._call("query", **query)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                return total
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def create_table(client: DynamoDBClient | Any, name: str) -> None:
    """Create the table with its indexes, on-demand, and wait until it is usable (tests and local setup).

    Production tables come from ``infra/`` (which also turns on point-in-time recovery); keep both in step.
    """
    strings = ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "SEQPK"]

    def index(name: str, hash_key: str, range_key: str) -> dict[str, Any]:
        return {
            "IndexName": name, "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"}, {"AttributeName": range_key, "KeyType": "RANGE"}],
        }

    try:
        client.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in strings]
            + [{"AttributeName": "seq", "AttributeType": "N"}],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                index("GSI1", "GSI1PK", "GSI1SK"), index("GSI2", "GSI2PK", "GSI2SK"), index("BySeq", "SEQPK", "seq"),
            ],
        )
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )
    except ClientError as exc:
        raise StoreError(f"cannot create DynamoDB table {name!r}: {exc}") from exc
