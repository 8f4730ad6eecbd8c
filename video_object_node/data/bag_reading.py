# Copyright 2026 video_object_node maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Reading rosbag2 folders (sqlite3 or mcap) with ``rosbags``, the recordings a robot cut off included.

Every reader of the package (replay, ``video-object-dataset from-bag``) opens bags here, so they agree on what a
bag is: a folder with ``metadata.yaml``, whatever its name (``ros2 bag record -o run.bag`` makes a folder named
``run.bag``; ``rosbags.highlevel.AnyReader`` would take that suffix for a ROS 1 bag).

A recording cut off mid-write (a robot that lost power: an mcap without its summary and footer, or a sqlite3
file whose last pages never reached the disk) is read as far as it goes: the mcap records are streamed from
the start up to the cut (every complete chunk, then every complete message of the chunk the cut fell in: an
uncompressed one read up to the cut, a zstd or lz4 one as far as its stream decodes), the sqlite3 rows up to the
first damaged page. ``damage``
then says where the file stops and how many messages were recovered; an intact bag has ``damage`` None.
"""
from __future__ import annotations

import io
import sqlite3
import struct
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
        """Return a message as rosbags reads it (no ROS install needed): ``typestore()``."""
        return typestore().deserialize_cdr(raw, msgtype)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> 'BagReader':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# The project's interface package: its messages, dependencies first (QueryResult holds QueryMatch).
MSG_PACKAGE = 'video_object_msgs'
MSG_NAMES = ('QueryMatch', 'ObjectLatents', 'FrameLatents', 'QueryResult')
_MSG_SOURCE = Path(__file__).resolve().parents[2] / MSG_PACKAGE / 'msg'


def message_folder() -> Path | None:
    """Return the folder of video_object_msgs' ``.msg`` files: installed (its share folder), else this repository's."""
    try:
        from ament_index_python.packages import get_package_share_directory
        folder = Path(get_package_share_directory(MSG_PACKAGE)) / 'msg'
        if folder.is_dir():
            return folder
    except (ImportError, LookupError, OSError):     # not installed, or no ament prefix in the environment
        pass
    return _MSG_SOURCE if _MSG_SOURCE.is_dir() else None


@lru_cache(maxsize=1)
def typestore():
    """Return rosbags' Kilted type store, with video_object_msgs registered where its definitions are found."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore
    store = get_typestore(Stores.ROS2_KILTED)
    folder = message_folder()
    if folder is not None:
        types = {}
        for name in MSG_NAMES:
            if (folder / f'{name}.msg').is_file():
                types.update(get_types_from_msg((folder / f'{name}.msg').read_text(), f'{MSG_PACKAGE}/msg/{name}'))
        store.register(types)
    return store


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


_MCAP_MAGIC_SIZE = 8
_OP_FOOTER, _OP_CHUNK = 0x02, 0x06
_CHUNK_HEADER = 8 + 8 + 8 + 4 + 4            # start, end, uncompressed size, crc, compression name length


def _complete_end(f, size: int) -> int:
    """Byte offset where the last complete top-level record of an mcap file ends (past the footer: the file's end)."""
    pos = _MCAP_MAGIC_SIZE
    while pos + 9 <= size:
        f.seek(pos)
        head = f.read(9)
        length = int.from_bytes(head[1:], 'little')
        if pos + 9 + length > size:
            break
        pos += 9 + length
        if head[0] == _OP_FOOTER:
            return min(size, pos + _MCAP_MAGIC_SIZE)
    return pos


class _Upto(io.RawIOBase):
    """A file read only up to ``end`` (the mcap reader then sees the cut as a clean end of its data)."""

    def __init__(self, f, end: int):
        self.f, self.end = f, end
        f.seek(0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = max(0, min(len(buffer), self.end - self.f.tell()))
        data = self.f.read(n)
        buffer[:len(data)] = data
        return len(data)


def _partial_chunk(content: bytes) -> list:
    """
    Recover the records of a chunk cut short: ``content`` is the chunk record's body up to the cut.

    An uncompressed chunk is read up to the last complete record; a compressed one (zstd, lz4) as far as its stream
    decodes. Schema, Channel and Message records are returned.
    """
    from mcap.data_stream import ReadDataStream
    from mcap.records import Channel, Message, Schema
    if len(content) < _CHUNK_HEADER:
        return []
    name_end = _CHUNK_HEADER + int.from_bytes(content[28:32], 'little')
    if len(content) < name_end + 8:
        return []
    compression, data = content[_CHUNK_HEADER:name_end].decode('utf-8', 'replace'), content[name_end + 8:]
    try:
        if compression == 'zstd':
            import zstandard
            data = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        elif compression == 'lz4':
            import lz4.frame
            data = lz4.frame.LZ4FrameDecompressor().decompress(data)
        elif compression:
            return []
    except Exception:          # noqa: BLE001 - a stream damaged before the cut: nothing more decodes
        return []
    out, pos = [], 0
    readers = {0x03: Schema.read, 0x04: Channel.read}
    while pos + 9 <= len(data):
        opcode, length = data[pos], int.from_bytes(data[pos + 1:pos + 9], 'little')
        if pos + 9 + length > len(data):
            break
        stream = ReadDataStream(io.BytesIO(data[pos + 9:pos + 9 + length]))
        if opcode == 0x05:
            out.append(Message.read(stream, length))
        elif opcode in readers:
            out.append(readers[opcode](stream))
        pos += 9 + length
    return out


def _mcap_records(file: Path):
    """
    Stream the records of an mcap file, up to where reading stopped.

    Records of an mcap file streamed from its start (chunks opened), then, when the file was cut inside a chunk, the
    complete records of that last chunk (``_partial_chunk``), and at the end ('stop', byte offset where the complete
    records end, why) unless the file ended cleanly.
    """
    from mcap.exceptions import McapError
    from mcap.records import Chunk
    from mcap.stream_reader import StreamReader, breakup_chunk
    size = file.stat().st_size
    with open(file, 'rb') as f:
        end = _complete_end(f, size)
        why = None
        try:
            for record in StreamReader(io.BufferedReader(_Upto(f, end)), emit_chunks=True).records:
                yield from (breakup_chunk(record) if isinstance(record, Chunk) else (record,))
        except (McapError, EOFError, ValueError, OSError, struct.error) as exc:
            why = type(exc).__name__
        if why is None:
            return
        recovered = []
        if end + 9 < size:
            f.seek(end)
            head = f.read(9)
            if head[0] == _OP_CHUNK:
                recovered = _partial_chunk(f.read())
        yield from recovered
        yield ('stop', end, f'{why}; {len(recovered)} records of the cut chunk read' if recovered else why)


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
                stops.append(f'{file.name} stops at byte {record[1]} of {file.stat().st_size} ({record[2]})')
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
