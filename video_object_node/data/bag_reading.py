"""
Reading rosbag2 folders (sqlite3 or mcap) with ``rosbags``, the recordings a robot cut off included.

Every reader of the package (replay, ``video-object-dataset from-bag``) opens bags here, so they agree on what a
bag is: a folder with ``metadata.yaml``, whatever its name (``ros2 bag record -o run.bag`` makes a folder named
``run.bag``; ``rosbags.highlevel.AnyReader`` would take that suffix for a ROS 1 bag).

A recording cut off mid-write (a robot that lost power: an mcap without its summary and footer, or a sqlite3
file whose last pages never reached the disk) is read as far as it goes: the mcap records are streamed from
the start up to the cut (every complete chunk), the sqlite3 rows up to the first damaged page. ``damage``
then says where the file stops and how many messages were recovered; an intact bag has ``damage`` None.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator


class BagError(RuntimeError):
    """The bag cannot be read at all (one line naming the file and the problem)."""


@dataclass(frozen=True)
class Topic:
    name: str
    msgtype: str
    count: int | None = None     # messages, when the bag's index says (a recovered bag's count is known only after)


@dataclass
class BagReader:
    """An opened bag: its ``topics`` and ``messages(names)`` -> (topic, msgtype, log time ns, CDR bytes)."""

    path: Path
    topics: dict = field(default_factory=dict)           # name -> Topic
    damage: str | None = None
    _reader: object = None
    _recover: object = None
    files: list = field(default_factory=list)

    def messages(self, names) -> Iterator[tuple[str, str, int, bytes]]:
        names = set(names)
        if self._reader is not None:
            conns = [c for c in self._reader.connections if c.topic in names]
            for conn, timestamp, raw in self._reader.messages(connections=conns):
                yield conn.topic, conn.msgtype, timestamp, raw
        else:
            yield from self._recover(self, names)

    def deserialize(self, raw: bytes, msgtype: str):
        """Return a message as rosbags reads it (no ROS install needed): the kilted type store."""
        return _typestore().deserialize_cdr(raw, msgtype)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> 'BagReader':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@lru_cache(maxsize=1)
def _typestore():
    from rosbags.typesys import Stores, get_typestore
    return get_typestore(Stores.ROS2_KILTED)


def open_bag(path: str | Path) -> BagReader:
    """Open a rosbag2 folder; a damaged one is opened for recovery (see the module doc)."""
    from rosbags.rosbag2 import Reader
    path = Path(path)
    if not path.exists():
        raise BagError(f'bag not found: {path}')
    if not (path / 'metadata.yaml').is_file():
        raise BagError(f'{path} is not a rosbag2 folder (no metadata.yaml)')
    try:
        reader = Reader(path)
        reader.open()
    except Exception as exc:  # noqa: BLE001 - rosbags raises its own error types
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return _recovering(path, first)
    topics = {c.topic: Topic(c.topic, c.msgtype, c.msgcount) for c in reader.connections}
    return BagReader(path, topics, None, reader)


def _storage_files(path: Path) -> list[Path]:
    files = sorted(path.glob('*.mcap')) + sorted(path.glob('*.db3'))
    if not files:
        raise BagError(f'{path}: no .mcap or .db3 file in the bag folder')
    return files


def _recovering(path: Path, why: str) -> BagReader:
    files = _storage_files(path)
    if files[0].suffix == '.mcap':
        topics = _mcap_topics(files)
        recover = _mcap_messages
    else:
        topics = _sqlite_topics(files)
        recover = _sqlite_messages
    if not topics:
        raise BagError(f'cannot open bag {path}: {why}; no topic could be recovered from it')
    return BagReader(path, topics, f'{why}: reading what the file holds', None, recover, files)


def _mcap_records(file: Path):
    """
    Stream the records of an mcap file, up to where reading stopped.

    Records of an mcap file streamed from its start (chunks opened), and at the end the byte offset where
    reading stopped and why (None when the file ended cleanly).
    """
    from mcap.exceptions import McapError
    from mcap.stream_reader import StreamReader
    with open(file, 'rb') as f:
        try:
            for record in StreamReader(f, skip_magic=False).records:
                yield record
        except (McapError, EOFError, ValueError, OSError) as exc:
            yield ('stop', f.tell(), type(exc).__name__)


def _mcap_topics(files: list[Path]) -> dict:
    from mcap.records import Channel, Schema
    schemas, topics = {}, {}
    for file in files:
        for record in _mcap_records(file):
            if isinstance(record, Schema):
                schemas[record.id] = record.name
            elif isinstance(record, Channel) and record.schema_id in schemas:
                topics[record.topic] = Topic(record.topic, schemas[record.schema_id])
    return topics


def _mcap_messages(reader: BagReader, names: set) -> Iterator:
    from mcap.records import Channel, Message, Schema
    count, stops = 0, []
    for file in reader.files:
        schemas, channels = {}, {}
        for record in _mcap_records(file):
            if isinstance(record, tuple):
                stops.append(f'{file.name} stops at byte {record[1]} of {file.stat().st_size}')
            elif isinstance(record, Schema):
                schemas[record.id] = record.name
            elif isinstance(record, Channel):
                channels[record.id] = (record.topic, schemas.get(record.schema_id, ''))
            elif isinstance(record, Message) and record.channel_id in channels:
                topic, msgtype = channels[record.channel_id]
                count += 1
                if topic in names:
                    yield topic, msgtype, record.log_time, record.data
    reader.damage = (f'{"; ".join(stops) or "the file has no summary"}: {count} messages recovered (the rest of the '
                     'recording is lost)')


def _readable_copy(file: Path, folder: Path) -> Path:
    """
    Return a copy of a cut-off sqlite3 file padded back to the size its header records.

    SQLite refuses a file shorter than that outright, while a padded one reads up to the first page that never reached
    the disk.
    """
    import shutil
    import struct
    header = file.read_bytes()[:100] if file.stat().st_size >= 100 else b''
    copy = folder / file.name
    shutil.copyfile(file, copy)
    if len(header) == 100 and header.startswith(b'SQLite format 3\x00'):
        page_size = struct.unpack('>H', header[16:18])[0]
        page_size = 65536 if page_size == 1 else page_size
        pages = struct.unpack('>I', header[28:32])[0]
        if pages * page_size > copy.stat().st_size:
            with open(copy, 'r+b') as f:
                f.truncate(pages * page_size)
    return copy


def _connect(file: Path):
    return sqlite3.connect(f'file:{file}?mode=ro', uri=True)


def _sqlite_topics(files: list[Path]) -> dict:
    import tempfile
    topics = {}
    with tempfile.TemporaryDirectory() as tmp:
        for file in files:
            try:
                db = _connect(_readable_copy(file, Path(tmp)))
                for name, msgtype in db.execute('SELECT name, type FROM topics'):
                    topics[name] = Topic(name, msgtype)
                db.close()
            except sqlite3.DatabaseError:
                continue
    return topics


def _sqlite_messages(reader: BagReader, names: set) -> Iterator:
    import tempfile
    count, stops = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for file in reader.files:
            try:
                db = _connect(_readable_copy(file, Path(tmp)))
                ids = {i: (name, msgtype) for i, name, msgtype in db.execute('SELECT id, name, type FROM topics')}
                rows = db.execute('SELECT topic_id, timestamp, data FROM messages ORDER BY id')
            except sqlite3.DatabaseError as exc:
                stops.append(f'{file.name} cannot be read ({exc})')
                continue
            while True:
                try:
                    row = rows.fetchone()
                except sqlite3.DatabaseError as exc:
                    stops.append(f'{file.name} is damaged after message {count} ({exc})')
                    break
                if row is None:
                    break
                topic, msgtype = ids.get(row[0], ('', ''))
                count += 1
                if topic in names:
                    yield topic, msgtype, row[1], bytes(row[2])
            db.close()
    reader.damage = f'{"; ".join(stops) or "the bag index is damaged"}: {count} messages recovered'
