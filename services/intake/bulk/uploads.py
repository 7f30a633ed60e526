"""Receiving an uploaded sheet: the multipart body is parsed as it arrives and the file part is
written straight to disk, so neither a large sheet nor an oversized one is ever held in memory;
the size limit is enforced on the bytes actually received, not on a declared length."""

import asyncio
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request
from python_multipart import MultipartParser
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import parse_options_header

FILE_FIELD = "file"
_MAX_FILENAME = 200


class UploadRefused(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code, self.detail = status_code, detail


@dataclass(frozen=True, slots=True)
class StoredUpload:
    path: Path
    filename: str
    size: int
    sha256: str


class _FilePart:
    """Callbacks for python-multipart: keeps the `file` part's bytes, drops every other part."""

    def __init__(self) -> None:
        self.header_name = self.header_value = b""
        self.disposition = b""
        self.in_file = False
        self.found = False
        self.complete = False  # the closing boundary arrived: the file was not cut off
        self.filename = ""
        self.pending: list[bytes] = []

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": lambda data, start, end: self._add("header_name", data[start:end]),
            "on_header_value": lambda data, start, end: self._add("header_value", data[start:end]),
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_end": self.on_end,
        }

    def _add(self, attribute: str, data: bytes) -> None:
        setattr(self, attribute, getattr(self, attribute) + data)

    def on_part_begin(self) -> None:
        self.disposition, self.in_file = b"", False

    def on_header_end(self) -> None:
        if self.header_name.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_name = self.header_value = b""

    def on_headers_finished(self) -> None:
        _kind, options = parse_options_header(self.disposition)
        if options.get(b"name") == FILE_FIELD.encode() and not self.found:
            self.in_file = self.found = True
            raw = options.get(b"filename", b"sheet")
            self.filename = os.path.basename(raw.decode("utf-8", errors="replace").replace("\\", "/"))[:_MAX_FILENAME]

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.pending.append(data[start:end])

    def on_end(self) -> None:
        self.complete = True


async def receive_upload(request: Request, *, destination: Path, max_bytes: int) -> StoredUpload:
    """Write the `file` part of a multipart/form-data request to `destination`."""
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise UploadRefused(415, "Send the sheet as multipart/form-data with a part named 'file' "
                                 "(curl -F file=@sheet.csv ...).")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + 64 * 1024:  # room for the multipart framing
        raise UploadRefused(413, _too_large(max_bytes))
    part = _FilePart()
    parser = MultipartParser(params[b"boundary"], part.callbacks())
    digest, size = hashlib.sha256(), 0
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with destination.open("wb") as file:
            async for chunk in request.stream():
                parser.write(chunk)
                if part.pending:
                    data, part.pending = b"".join(part.pending), []
                    size += len(data)
                    if size > max_bytes:
                        raise UploadRefused(413, _too_large(max_bytes))
                    digest.update(data)
                    await asyncio.to_thread(file.write, data)
            parser.finalize()
        if not part.complete:
            raise UploadRefused(400, "The upload was cut off before its end; send it again.")
        if not part.found:
            raise UploadRefused(422, "No part named 'file' in the upload (curl -F file=@sheet.csv ...).")
        if size == 0:
            raise UploadRefused(422, "The uploaded file is empty. (ไฟล์ว่างเปล่า)")
    except MultipartParseError:
        destination.unlink(missing_ok=True)
        raise UploadRefused(400, "The multipart body is malformed.") from None
    except BaseException:
        destination.unlink(missing_ok=True)  # a refused or broken upload leaves nothing behind
        raise
    return StoredUpload(destination, part.filename or "sheet", size, digest.hexdigest())


def _too_large(max_bytes: int) -> str:
    return (f"The sheet is larger than {max_bytes // (1024 * 1024)} MiB; split it into smaller files. "
            f"(ไฟล์ใหญ่เกิน {max_bytes // (1024 * 1024)} MiB กรุณาแบ่งเป็นหลายไฟล์)")
