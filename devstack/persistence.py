"""The moto child's state on disk: a snapshot plus a write-ahead journal of what changed.

Why this mechanism (measured; see ``benchmarks/devstack_restart.py``): moto's request recorder
replays every request ever made (reads included) through moto at start, so a restart costs as
much as the whole history - about 11 DynamoDB calls per task, ~8 ms each here. Snapshots alone
lose everything since the last one on a SIGKILL. So every request that changed state appends
the *resulting state* of what it touched (an item, a message, an object) to ``journal-<gen>``
before its response is sent, and a compaction rewrites everything alive as ``snapshot-<gen>``
once the journal grows past a threshold. A start replays the latest snapshot and the journals
after it: its cost is the size of the data, never the length of the history.

Records (one JSON object per line):
- ``def``: a call that defines a container (CreateTable, CreateQueue, CreateBucket, CORS, TTL,
  ...) with its arguments; replayed by calling the same backend method.
- ``ddb``: a DynamoDB item after a write (``i`` null once deleted).
- ``sqs``: a message's queue, body, attributes and receive count (``q`` null once deleted);
  restored visible (whoever had received it is gone), as after a visibility timeout.
- ``s3``: an object's metadata and tags; its bytes live in ``blobs/<sha256>``.

A record is the state *after* the change, read under the journal lock when it is written, so
the last record of an entity is always its latest state whatever the order requests finished
in. Each request's records are written with one ``write`` before moto answers: what a client
saw acknowledged survives a SIGKILL of the whole tree (the kernel has the bytes); a partial
last line (the request in flight at the kill) is dropped at the next start. No fsync by
default (``AION_DEV_FSYNC=1`` for one per write): an OS crash may lose the last seconds.

Only the dev stack's moto process imports this; Lambda code never does.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

log = logging.getLogger("devstack.persistence")

FORMAT = 1
# Past this many journal bytes a compaction rewrites the state as a snapshot, so a restart
# replays at most this much history on top of the data itself.
COMPACT_BYTES = 16 * 1024 * 1024
_SNAPSHOT = re.compile(r"^snapshot-(\d+)\.jsonl$")
_JOURNAL = re.compile(r"^journal-(\d+)\.jsonl$")
_BYTES_MARK = "__devstack_bytes__"
_BYTES_MARK_RAW = _BYTES_MARK.encode()
# A start that finds a long journal compacts it, a little later: not while the stack starts.
STARTUP_COMPACTION_DELAY_S = 5.0


class StateError(RuntimeError):
    """The state on disk cannot be used (written by an incompatible version, or corrupt)."""


# ------------------------------------------------------------------------------ value coding


def encode_value(value: Any) -> Any:
    """JSON-ready copy of a backend call's argument (bytes as base64); TypeError otherwise."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, bytes | bytearray):
        return {_BYTES_MARK: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_value(v) for v in value]
    raise TypeError(f"cannot persist a {type(value).__name__}")


def decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and _BYTES_MARK in value:
            return base64.b64decode(value[_BYTES_MARK])
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------------------------ touched entities


class _Touched(threading.local):
    """What the request running on this thread may have changed (filled by the hooks)."""

    def __init__(self) -> None:
        self.ddb: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.sqs: dict[str, tuple[str, str, str]] = {}
        self.s3: set[tuple[str, str, str, str]] = set()

    def clear(self) -> None:
        self.ddb.clear()
        self.sqs.clear()
        self.s3.clear()

    def __bool__(self) -> bool:
        return bool(self.ddb or self.sqs or self.s3)


_touched = _Touched()


def touch_ddb(backend: Any, table_name: str, key: dict[str, Any]) -> None:
    ident = json.dumps(key, sort_keys=True, default=repr)
    _touched.ddb[(backend.account_id, backend.region_name, table_name, ident)] = key


def touch_sqs(backend: Any, queue_name: str, message_id: str) -> None:
    _touched.sqs[message_id] = (backend.account_id, backend.region_name, queue_name)


def touch_s3(backend: Any, bucket: str, key: str) -> None:
    _touched.s3.add((backend.account_id, backend.region_name, bucket, key))


# ------------------------------------------------------------------------------ the journal


@dataclass
class LoadReport:
    snapshot_records: int = 0
    journal_records: int = 0
    journal_bytes: int = 0
    dropped_partial: bool = False
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


class Journal:
    """Snapshot + journal files under ``root``; one writer (the moto child) at a time."""

    def __init__(
        self,
        root: Path,
        *,
        ddb_lock: Any = None,
        compact_bytes: int = COMPACT_BYTES,
        fsync: bool = False,
    ) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.compact_bytes = compact_bytes
        self.fsync = fsync
        self.lock = threading.RLock()
        # DynamoDB state is read under the moto child's DynamoDB lock (always taken first).
        self._ddb_lock = ddb_lock if ddb_lock is not None else contextlib.nullcontext()
        self._definitions: list[dict[str, Any]] = []
        self._fd: int | None = None
        self._gen = 0
        self._journal_bytes = 0
        self._compact_wanted = threading.Event()
        self._compactor: threading.Thread | None = None
        self._closing = False
        self.active = False  # False while loading: replayed calls are not journaled again
        self.compactions = 0

    # ------------------------------------------------------------------ paths

    def _snapshot_path(self, gen: int) -> Path:
        return self.root / f"snapshot-{gen}.jsonl"

    def _journal_path(self, gen: int) -> Path:
        return self.root / f"journal-{gen}.jsonl"

    def _generations(self, pattern: re.Pattern[str]) -> list[int]:
        found = []
        for path in self.root.iterdir():
            match = pattern.match(path.name)
            if match:
                found.append(int(match.group(1)))
        return sorted(found)

    # ------------------------------------------------------------------ load

    def load(self) -> LoadReport:
        """Replay the latest snapshot and the journals after it into moto's backends."""
        started = time.monotonic()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.blobs.mkdir(mode=0o700, exist_ok=True)
        report = LoadReport()
        replay = _Replayer(self)
        snapshots = self._generations(_SNAPSHOT)
        base = snapshots[-1] if snapshots else 0
        if snapshots:
            report.snapshot_records = self._replay_file(
                self._snapshot_path(base), replay, tolerate_partial=False, report=report
            )
        journals = [g for g in self._generations(_JOURNAL) if g >= base]
        for gen in journals:
            path = self._journal_path(gen)
            report.journal_bytes += path.stat().st_size
            report.journal_records += self._replay_file(
                path, replay, tolerate_partial=gen == journals[-1], report=report
            )
        _touched.clear()
        self._gen = journals[-1] if journals else base
        # Older generations are fully contained in the snapshot we loaded.
        for gen in self._generations(_SNAPSHOT):
            if gen < base:
                self._snapshot_path(gen).unlink(missing_ok=True)
        for gen in self._generations(_JOURNAL):
            if gen < base:
                self._journal_path(gen).unlink(missing_ok=True)
        for stale in [*self.root.glob("*.tmp"), *self.blobs.glob("*.tmp")]:
            stale.unlink(missing_ok=True)  # half-written by a process that was killed
        self._open_journal(self._gen)
        report.counts = replay.counts
        report.seconds = time.monotonic() - started
        self.active = True
        if self._journal_bytes > self.compact_bytes // 2:
            timer = threading.Timer(STARTUP_COMPACTION_DELAY_S, self._compact_wanted.set)
            timer.daemon = True
            timer.start()
        self._compactor = threading.Thread(target=self._compact_loop, name="compact", daemon=True)
        self._compactor.start()
        return report

    def _replay_file(
        self, path: Path, replay: _Replayer, *, tolerate_partial: bool, report: LoadReport
    ) -> int:
        count = 0
        good_bytes = 0
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                complete = raw.endswith(b"\n")
                try:
                    record = json.loads(raw) if complete else None
                except ValueError:
                    record = None
                if record is None:
                    rest = handle.read()
                    if tolerate_partial and not rest.strip():
                        # The last write of a killed process: a request never acknowledged.
                        log.warning("dropped an incomplete last record of %s", path.name)
                        report.dropped_partial = True
                        with path.open("r+b") as fix:
                            fix.truncate(good_bytes)
                        break
                    raise StateError(
                        f"{path} is corrupt at line {number}; `make dev-reset` starts afresh"
                    )
                good_bytes += len(raw)
                if record.get("t") == "header":
                    if record.get("format") != FORMAT:
                        raise StateError(
                            f"{path} was written by another dev stack version (format "
                            f"{record.get('format')}, this one reads {FORMAT}); "
                            "`make dev-reset` starts afresh"
                        )
                    continue
                replay.apply(record, has_bytes=_BYTES_MARK_RAW in raw)
                count += 1
        return count

    # ------------------------------------------------------------------ write

    def _open_journal(self, gen: int) -> None:
        path = self._journal_path(gen)
        fresh = not path.exists() or path.stat().st_size == 0
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if fresh:
            os.write(fd, (_dumps({"t": "header", "format": FORMAT}) + "\n").encode())
        self._fd = fd
        self._journal_bytes = os.fstat(fd).st_size

    def _append(self, records: list[dict[str, Any]]) -> None:
        """One write for a request's records (caller holds ``self.lock``)."""
        if not records or self._fd is None:
            return
        data = "".join(_dumps(r) + "\n" for r in records).encode()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self.fsync:
            os.fsync(self._fd)
        self._journal_bytes += len(data)
        if self._journal_bytes > self.compact_bytes:
            self._compact_wanted.set()

    def record_definition(
        self, service: str, backend: Any, method: str, args: Any, kw: Any
    ) -> None:
        """Journal a container-defining call that just succeeded (caller holds ``self.lock``)."""
        if not self.active:
            return
        try:
            record = {
                "t": "def",
                "s": service,
                "a": backend.account_id,
                "r": backend.region_name,
                "m": method,
                "args": encode_value(list(args)),
                "kw": encode_value(kw),
            }
        except TypeError as exc:
            log.warning("%s.%s is not kept across restarts: %s", service, method, exc)
            return
        self._definitions.append(record)
        self._append([record])

    def flush_touched(self) -> None:
        """Write the current state of everything this thread's request touched."""
        if not _touched:
            return
        try:
            if not self.active:
                return
            lock = self._ddb_lock if _touched.ddb else contextlib.nullcontext()
            with lock, self.lock:
                records = [_ddb_record(*ident, key) for ident, key in _touched.ddb.items()]
                records += [_sqs_record(mid, *where) for mid, where in _touched.sqs.items()]
                records += [self._s3_record(*ident) for ident in _touched.s3]
                self._append([r for r in records if r is not None])
        except Exception:
            # The client gets a 500 for this request: what it changed may not be kept.
            log.exception("could not journal a request's changes")
            raise
        finally:
            _touched.clear()

    def write_blob(self, data: bytes) -> str:
        """Store ``data`` once under its SHA-256 (caller holds ``self.lock``)."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.blobs / digest
        if path.exists():
            os.utime(path)
            return digest
        tmp = path.with_suffix(".tmp")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(data)
            if self.fsync:
                out.flush()
                os.fsync(out.fileno())
        os.replace(tmp, path)
        return digest

    def _s3_record(self, account: str, region: str, bucket: str, key: str) -> dict[str, Any]:
        from moto.s3.models import FakeKey, s3_backends

        record: dict[str, Any] = {"t": "s3", "a": account, "r": region, "b": bucket, "k": key}
        backend = s3_backends[account][region]
        found = backend.buckets.get(bucket)
        current = found.keys.get(key) if found is not None else None
        record["o"] = self._s3_state(backend, current) if isinstance(current, FakeKey) else None
        return record

    def _s3_state(self, backend: Any, obj: Any) -> dict[str, Any]:
        return {
            "blob": self.write_blob(obj.value),
            "meta": dict(obj._metadata),
            "etag": obj._etag,
            "lm": obj.last_modified.isoformat(),
            "sc": obj._storage_class,
            "tags": backend.tagger.list_tags_for_resource(obj.arn).get("Tags", []),
        }

    # ------------------------------------------------------------------ compaction

    def request_compaction(self) -> None:
        self._compact_wanted.set()

    def _compact_loop(self) -> None:
        while True:
            self._compact_wanted.wait()
            self._compact_wanted.clear()
            if self._closing:
                return
            try:
                self.compact()
            except Exception:
                log.exception("compacting the dev stack state failed (the journal is intact)")

    def compact(self) -> None:
        """Everything alive -> ``snapshot-<gen+1>``; the journal starts again empty.

        Stop-the-world: DynamoDB and every journal write wait (well under a second for
        thousands of items). A crash at any point leaves a loadable state: the new snapshot
        only counts once renamed, and until then the old snapshot and journals are kept.
        """
        started = time.monotonic()
        with self._ddb_lock, self.lock:
            gen = self._gen + 1
            tmp = self._snapshot_path(gen).with_suffix(".tmp")
            referenced: set[str] = set()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "w", encoding="utf-8") as out:
                out.write(_dumps({"t": "header", "format": FORMAT}) + "\n")
                for record in self._definitions:
                    out.write(_dumps(record) + "\n")
                for record in self._dump_state():
                    if record["t"] == "s3" and record["o"]:
                        referenced.add(record["o"]["blob"])
                    out.write(_dumps(record) + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self._snapshot_path(gen))
            if self._fd is not None:
                os.close(self._fd)
            old = self._gen
            self._gen = gen
            self._open_journal(gen)
            for stale in (self._snapshot_path(old), self._journal_path(old)):
                stale.unlink(missing_ok=True)
            for blob in self.blobs.iterdir():
                if blob.name not in referenced:
                    blob.unlink(missing_ok=True)
            self.compactions += 1
        log.debug("compacted the state in %.2f s", time.monotonic() - started)

    def _dump_state(self) -> Iterator[dict[str, Any]]:
        from moto.dynamodb.models import dynamodb_backends
        from moto.s3.models import FakeKey, s3_backends
        from moto.sqs.models import sqs_backends

        for account, region, backend in _backends(dynamodb_backends):
            for table in list(backend.tables.values()):
                for item in _table_items(table):
                    yield {
                        "t": "ddb",
                        "a": account,
                        "r": region,
                        "tb": table.name,
                        "k": None,
                        "i": encode_value(item.to_json()["Attributes"]),
                    }
        for account, region, backend in _backends(sqs_backends):
            for queue in list(backend.queues.values()):
                for message in _copied(partial(_listed_messages, queue)):
                    yield _message_record(message, account, region, queue.name)
        for account, region, backend in _backends(s3_backends):
            for bucket in list(backend.buckets.values()):
                for name in _copied(partial(_listed_keys, bucket)):
                    current = bucket.keys.get(name)
                    if isinstance(current, FakeKey):
                        yield {
                            "t": "s3",
                            "a": account,
                            "r": region,
                            "b": bucket.name,
                            "k": name,
                            "o": self._s3_state(backend, current),
                        }

    def close(self) -> None:
        self._closing = True
        self._compact_wanted.set()
        with self.lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self.active = False


def _same(value: Any) -> Any:
    return value


def _listed_messages(queue: Any) -> list[Any]:
    return list(queue._messages)


def _listed_keys(bucket: Any) -> list[str]:
    return list(dict.keys(bucket.keys))


def _copied(read: Callable[[], list[Any]]) -> list[Any]:
    """A copy of a container other threads may be changing (retried if it changed mid-copy)."""
    for _ in range(100):
        try:
            return read()
        except RuntimeError:
            continue
    return read()


def _backends(backend_dict: Any) -> Iterator[tuple[str, str, Any]]:
    for account, regions in list(backend_dict.items()):
        for region, backend in list(regions.items()):
            yield account, region, backend


def _table_items(table: Any) -> list[Any]:
    if table.range_key_attr is None:
        return list(table.items.values())
    return [item for partition in table.items.values() for item in partition.values()]


# ------------------------------------------------------------------------------ state records


def _ddb_record(
    account: str, region: str, table_name: str, _ident: str, key: dict[str, Any]
) -> dict[str, Any] | None:
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = dynamodb_backends[account][region].tables.get(table_name)
    if table is None:
        return None  # deleted meanwhile: its DeleteTable record says so
    try:
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    except (KeyError, TypeError):
        return None
    if range_value is not None:
        item = table.items.get(hash_value, {}).get(range_value)
    else:
        item = table.items.get(hash_value)
    return {
        "t": "ddb",
        "a": account,
        "r": region,
        "tb": table_name,
        "k": encode_value(key),
        "i": encode_value(item.to_json()["Attributes"]) if item is not None else None,
    }


def _message_record(message: Any, account: str, region: str, queue: str) -> dict[str, Any]:
    return {
        "t": "sqs",
        "a": account,
        "r": region,
        "id": message.id,
        "q": queue,
        "m": {
            "body": message.body,
            "attrs": encode_value(message.message_attributes),
            "sys": encode_value(message.system_attributes),
            "sent": message.sent_timestamp,
            "count": message.approximate_receive_count,
            "first": message.approximate_first_receive_timestamp,
            "dedup": message.deduplication_id,
            "group": message.group_id,
            "seq": message.sequence_number,
        },
    }


def _sqs_record(message_id: str, account: str, region: str, queue_name: str) -> dict[str, Any]:
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[account][region]
    queue = backend.queues.get(queue_name)
    candidates = [queue, queue.dead_letter_queue] if queue is not None else []
    for candidate in candidates:
        if candidate is None:
            continue
        for message in _copied(partial(_listed_messages, candidate)):
            if message.id == message_id:
                return _message_record(message, account, region, candidate.name)
    return {"t": "sqs", "a": account, "r": region, "id": message_id, "q": None}


# ------------------------------------------------------------------------------ replay


class _Replayer:
    """Applies records to moto's backends, in file order."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.counts: dict[str, int] = {}
        self._message_queue: dict[str, tuple[Any, str]] = {}
        self._warned: set[str] = set()
        self._backends: dict[tuple[str, str, str], Any] = {}

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    def backend(self, service: str, account: str, region: str) -> Any:
        key = (service, account, region)
        found = self._backends.get(key)
        if found is None:
            from moto.dynamodb.models import dynamodb_backends
            from moto.s3.models import s3_backends
            from moto.sqs.models import sqs_backends

            backends: dict[str, Any] = {
                "dynamodb": dynamodb_backends,
                "sqs": sqs_backends,
                "s3": s3_backends,
            }
            found = self._backends[key] = backends[service][account][region]
        return found

    def apply(self, record: dict[str, Any], *, has_bytes: bool = True) -> None:
        kind = str(record.get("t", ""))
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind == "def":
            self._definition(record)
        elif kind == "ddb":
            self._item(record, has_bytes)
        elif kind == "sqs":
            self._message(record)
        elif kind == "s3":
            self._object(record)
        else:
            raise StateError(f"unknown state record {kind!r}")

    def _definition(self, record: dict[str, Any]) -> None:
        backend = self.backend(record["s"], record["a"], record["r"])
        try:
            getattr(backend, record["m"])(
                *decode_value(record["args"]), **decode_value(record["kw"])
            )
        except Exception as exc:
            self._warn_once(
                f"def:{record['m']}:{exc}",
                "replaying %s.%s failed: %s",
                record["s"],
                record["m"],
                exc,
            )
        self.journal._definitions.append(record)

    def _item(self, record: dict[str, Any], has_bytes: bool) -> None:
        from moto.dynamodb.models.dynamo_type import DynamoType, Item

        table = self.backend("dynamodb", record["a"], record["r"]).tables.get(record["tb"])
        if table is None:
            self._warn_once(f"table:{record['tb']}", "no table %s for its items", record["tb"])
            return
        decode = decode_value if has_bytes else _same
        attrs = decode(record["i"])
        key = decode(record["k"]) if attrs is None else attrs
        try:
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        except KeyError:
            self._warn_once(
                f"schema:{table.name}", "items of %s no longer match its keys", table.name
            )
            return
        if attrs is None:
            if range_value is not None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items.pop(hash_value, None)
            return
        item = Item(hash_value, range_value, attrs)
        if range_value is not None:
            table.items[hash_value][range_value] = item
        else:
            table.items[hash_value] = item

    def _message(self, record: dict[str, Any]) -> None:
        from moto.sqs.models import Message

        mid = record["id"]
        previous = self._message_queue.pop(mid, None)
        if previous is not None:
            queue, _ = previous
            queue._messages = [m for m in queue._messages if m.id != mid]
        if record["q"] is None:
            return
        queue = self.backend("sqs", record["a"], record["r"]).queues.get(record["q"])
        if queue is None:
            self._warn_once(f"queue:{record['q']}", "no queue %s for its messages", record["q"])
            return
        state = record["m"]
        message = Message(mid, state["body"], decode_value(state["sys"]) or None)
        message.message_attributes = decode_value(state["attrs"]) or {}
        message.sent_timestamp = state["sent"]
        message.approximate_receive_count = state["count"]
        message.approximate_first_receive_timestamp = state["first"]
        message.deduplication_id = state["dedup"]
        message.group_id = state["group"]
        message.sequence_number = state["seq"]
        queue._messages.append(message)
        self._message_queue[mid] = (queue, record["q"])

    def _object(self, record: dict[str, Any]) -> None:
        from moto.utilities.utils import LowercaseDict

        backend = self.backend("s3", record["a"], record["r"])
        bucket = backend.buckets.get(record["b"])
        if bucket is None:
            self._warn_once(f"bucket:{record['b']}", "no bucket %s for its objects", record["b"])
            return
        state = record["o"]
        if state is None:
            if record["k"] in bucket.keys:
                bucket.keys.pop(record["k"])
            return
        blob = self.journal.blobs / state["blob"]
        try:
            value = blob.read_bytes()
        except OSError:
            self._warn_once(f"blob:{state['blob']}", "object %s lost its bytes", record["k"])
            return
        obj = backend.put_object(
            record["b"],
            record["k"],
            value,
            storage=state["sc"],
            etag=state["etag"],
            disable_notification=True,
        )
        metadata = LowercaseDict()
        metadata.update(state["meta"])
        obj._metadata = metadata
        obj.last_modified = datetime.datetime.fromisoformat(state["lm"])
        backend.tagger.delete_all_tags_for_resource(obj.arn)
        if state["tags"]:
            backend.tagger.tag_resource(obj.arn, state["tags"])


# ------------------------------------------------------------------------------ hooks


class PersistingApp:
    """WSGI wrapper: the state a request changed is journaled before its response leaves."""

    def __init__(self, app: Any, journal: Journal) -> None:
        self.app = app
        self.journal = journal

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        _touched.clear()
        try:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            self.journal.flush_touched()
        return [body]


_DEFINITIONS = {
    "dynamodb": (
        "create_table",
        "delete_table",
        "update_table",
        "update_time_to_live",
        "tag_resource",
        "untag_resource",
    ),
    "sqs": ("create_queue", "delete_queue", "set_queue_attributes", "tag_queue", "untag_queue"),
    "s3": (
        "create_bucket",
        "delete_bucket",
        "put_bucket_cors",
        "delete_bucket_cors",
        "put_bucket_lifecycle",
        "delete_bucket_lifecycle",
        "put_bucket_versioning",
        "put_bucket_tagging",
        "delete_bucket_tagging",
        "put_bucket_policy",
        "delete_bucket_policy",
        "put_bucket_encryption",
        "delete_bucket_encryption",
    ),
}


def install_hooks(journal: Journal) -> None:
    """Teach moto's backends to report what they change (call once, before loading)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.s3.models import S3Backend
    from moto.sqs.models import SQSBackend

    classes = {"dynamodb": DynamoDBBackend, "sqs": SQSBackend, "s3": S3Backend}
    for service, methods in _DEFINITIONS.items():
        cls = classes[service]
        for name in methods:
            if hasattr(cls, name):
                setattr(cls, name, _definition_hook(journal, service, name, getattr(cls, name)))
    _hook_dynamodb(DynamoDBBackend)
    _hook_sqs(SQSBackend)
    _hook_s3(S3Backend)


def _definition_hook(journal: Journal, service: str, name: str, original: Any) -> Any:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Held across the call: a definition and the data that follows it stay in order.
        with journal.lock:
            result = original(self, *args, **kwargs)
            journal.record_definition(service, self, name, args, kwargs)
        return result

    call.__wrapped__ = original  # type: ignore[attr-defined]
    return call


def _key_of(table: Any, attrs: dict[str, Any]) -> dict[str, Any] | None:
    try:
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
    except (KeyError, TypeError):
        return None
    return key


def _hook_dynamodb(cls: Any) -> None:
    original_put, original_update, original_delete = cls.put_item, cls.update_item, cls.delete_item

    def put_item(self: Any, table_name: str, item_attrs: dict[str, Any], *a: Any, **kw: Any) -> Any:
        table = self.tables.get(table_name)
        key = _key_of(table, item_attrs) if table is not None else None
        if key is not None:
            touch_ddb(self, table_name, key)
        return original_put(self, table_name, item_attrs, *a, **kw)

    def update_item(self: Any, table_name: str, key: dict[str, Any], *a: Any, **kw: Any) -> Any:
        if isinstance(key, dict):
            touch_ddb(self, table_name, key)
        return original_update(self, table_name, key, *a, **kw)

    def delete_item(self: Any, table_name: str, key: dict[str, Any], *a: Any, **kw: Any) -> Any:
        if isinstance(key, dict):
            touch_ddb(self, table_name, key)
        return original_delete(self, table_name, key, *a, **kw)

    cls.put_item, cls.update_item, cls.delete_item = put_item, update_item, delete_item


def _hook_sqs(cls: Any) -> None:
    original_send = cls.send_message
    original_receive = cls.receive_message
    original_delete = cls.delete_message
    original_purge = cls.purge_queue

    def send_message(self: Any, queue_name: str, *a: Any, **kw: Any) -> Any:
        message = original_send(self, queue_name, *a, **kw)
        touch_sqs(self, queue_name, message.id)
        return message

    def receive_message(self: Any, queue_name: str, *a: Any, **kw: Any) -> Any:
        queue = self.queues.get(queue_name)
        before = {m.id for m in _copied(lambda: list(queue._messages))} if queue else set()
        result = original_receive(self, queue_name, *a, **kw)
        for message in result:
            touch_sqs(self, queue_name, message.id)
        if queue is not None and queue.dead_letter_queue is not None:
            after = {m.id for m in _copied(lambda: list(queue._messages))}
            for moved in before - after:  # to the DLQ (or deleted meanwhile: recorded as such)
                touch_sqs(self, queue_name, moved)
        return result

    def delete_message(self: Any, queue_name: str, receipt_handle: str) -> Any:
        queue = self.queues.get(queue_name)
        if queue is not None:
            for message in _copied(lambda: list(queue._messages)):
                if message.had_receipt_handle(receipt_handle):
                    touch_sqs(self, queue_name, message.id)
        return original_delete(self, queue_name, receipt_handle)

    def purge_queue(self: Any, queue_name: str) -> Any:
        queue = self.queues.get(queue_name)
        if queue is not None:
            for message in _copied(lambda: list(queue._messages)):
                touch_sqs(self, queue_name, message.id)
        return original_purge(self, queue_name)

    cls.send_message, cls.receive_message = send_message, receive_message
    cls.delete_message, cls.purge_queue = delete_message, purge_queue


def _hook_s3(cls: Any) -> None:
    original_put = cls.put_object
    original_delete = cls.delete_object
    original_tagging = cls.put_object_tagging

    def put_object(self: Any, bucket_name: str, key_name: str, *a: Any, **kw: Any) -> Any:
        touch_s3(self, bucket_name, key_name)
        return original_put(self, bucket_name, key_name, *a, **kw)

    def delete_object(self: Any, bucket_name: str, key_name: str, *a: Any, **kw: Any) -> Any:
        touch_s3(self, bucket_name, key_name)
        return original_delete(self, bucket_name, key_name, *a, **kw)

    def put_object_tagging(self: Any, key: Any, *a: Any, **kw: Any) -> Any:
        if getattr(key, "bucket_name", None):
            touch_s3(self, key.bucket_name, key.name)
        return original_tagging(self, key, *a, **kw)

    cls.put_object, cls.delete_object = put_object, delete_object
    cls.put_object_tagging = put_object_tagging
