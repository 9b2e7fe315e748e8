"""Opening a file that claims to be a workbook, safely.

Before any spreadsheet parser touches a file we check, from the zip directory alone, that
it is an ``.xlsx`` archive whose contents would not inflate beyond sane bounds (a zip
bomb is refused before it is decompressed), then stream each XML part once, bounded,
refusing DTDs and entity declarations (an XML entity bomb never reaches a parser) and
noting formula cells that carry no cached value (a workbook saved by a program that
does not calculate). openpyxl parses through defusedxml as well.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import defusedxml.ElementTree as SafeET

from .errors import UnreadableFile

MAX_UNCOMPRESSED_BYTES = 1 << 30  # 1 GiB in all: far above any real planning workbook
MAX_PART_BYTES = 512 << 20
MAX_RATIO = 200  # real xlsx parts compress 5-30x; bombs compress 1000x and more
MAX_MEMBERS = 10_000
_CHUNK = 1 << 20

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CELL = re.compile(rb"<c\b([^>]*)>(.*?)</c>", re.S)
_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_CACHED = re.compile(rb"<v>[^<]|<is>")


@dataclass
class Inspection:
    """What the pre-scan learned about the archive."""

    sheet_parts: dict[str, str] = field(default_factory=dict)  # sheet name -> part name
    formulas_without_value: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # sheet -> [(row, column letter)]


def inspect_xlsx(path: Path) -> Inspection:
    """Check ``path`` is a safe .xlsx archive; raise :class:`UnreadableFile` otherwise."""
    path = Path(path)
    if not path.exists():
        raise UnreadableFile(path, "does not exist (no such file).")
    if path.is_dir():
        raise UnreadableFile(path, "is a folder, not a workbook.")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as e:
        raise UnreadableFile(path, f"cannot be read ({e.strerror}).") from None
    if not head:
        raise UnreadableFile(path, "is empty (0 bytes); expected an Excel workbook (.xlsx).")
    if head.startswith(OLE_MAGIC):
        if _ole_is_encrypted(path):
            raise UnreadableFile(path, "is password-protected; remove the password in Excel (File > Info > Protect Workbook) and save again.")
        raise UnreadableFile(path, "is an old Excel 97-2003 (.xls) file; open it in Excel or LibreOffice and save it as .xlsx.")
    if not head.startswith(b"PK"):
        kind = "a CSV or text file" if _looks_textual(head) else "not an Excel workbook"
        raise UnreadableFile(path, f"is {kind}; expected an Excel workbook (.xlsx).")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise UnreadableFile(path, "is damaged (the .xlsx archive is truncated or corrupt); save it again from Excel.") from None
    with zf:
        infos = zf.infolist()
        _check_sizes(path, infos)
        names = {i.filename for i in infos}
        if "xl/workbook.xml" not in names:
            raise UnreadableFile(path, "is a zip archive but not an Excel workbook (no xl/workbook.xml).")
        try:
            for info in infos:
                if info.filename.endswith((".xml", ".rels", ".vml")):
                    _scan_part(path, zf, info)
            inspection = Inspection(sheet_parts=_sheet_parts(zf))
            for sheet_name, part in inspection.sheet_parts.items():
                if part in names:
                    missing = _formulas_without_value(zf, part)
                    if missing:
                        inspection.formulas_without_value[sheet_name] = missing
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
            raise UnreadableFile(path, "is damaged (a part of the .xlsx archive cannot be decompressed); save it again from Excel.") from None
        except SafeET.ParseError:
            raise UnreadableFile(path, "is damaged (its workbook structure is not valid XML); save it again from Excel.") from None
    return inspection


def _check_sizes(path, infos) -> None:
    if len(infos) > MAX_MEMBERS:
        raise UnreadableFile(path, f"holds {len(infos)} parts, more than a workbook ever needs ({MAX_MEMBERS}); refused as unsafe.")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise UnreadableFile(path, f"would inflate to {total / 2**20:,.0f} MiB, beyond the {MAX_UNCOMPRESSED_BYTES >> 20:,} MiB a workbook may hold; refused as a possible zip bomb.")
    for i in infos:
        if i.file_size > MAX_PART_BYTES or (i.file_size > (1 << 20) and i.file_size > MAX_RATIO * max(i.compress_size, 1)):
            raise UnreadableFile(path, f"has a part ({i.filename}) that would inflate {i.file_size / max(i.compress_size, 1):,.0f}-fold to {i.file_size / 2**20:,.0f} MiB; refused as a possible zip bomb.")


def _scan_part(path, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Stream one XML part, bounded by its declared size, refusing DTDs and entities."""
    seen = 0
    tail = b""
    with zf.open(info) as fh:
        while chunk := fh.read(_CHUNK):
            seen += len(chunk)
            if seen > info.file_size:  # the directory lied about the size
                raise UnreadableFile(path, f"has a part ({info.filename}) larger than its archive entry says; refused as unsafe.")
            window = tail + chunk
            if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                raise UnreadableFile(path, f"contains an XML document type declaration ({info.filename}); workbooks never need one, so it is refused as unsafe (possible entity bomb).")
            tail = chunk[-16:]


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    wb = SafeET.fromstring(zf.read("xl/workbook.xml"))
    try:
        rels = SafeET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except KeyError:
        return {}
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_NS_PKG_REL}Relationship")}
    parts = {}
    for s in wb.iter(f"{_NS_MAIN}sheet"):
        target = targets.get(s.get(f"{_NS_REL}id"), "")
        if not target:
            continue
        part = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
        parts[s.get("name")] = part
    return parts


def _formulas_without_value(zf: zipfile.ZipFile, part: str) -> list[tuple[int, str]]:
    data = zf.read(part)
    if b"<f" not in data:
        return []
    found = []
    for m in _CELL.finditer(data):
        body = m.group(2)
        if (b"<f>" in body or b"<f " in body) and not _CACHED.search(body):
            ref = _REF.search(m.group(1))
            if ref:
                found.append((int(ref.group(2)), ref.group(1).decode()))
    return found


def _ole_is_encrypted(path: Path) -> bool:
    with open(path, "rb") as fh:
        blob = fh.read(1 << 16)
    return "EncryptedPackage".encode("utf-16-le") in blob or "EncryptionInfo".encode("utf-16-le") in blob


def _looks_textual(head: bytes) -> bool:
    return all(32 <= b < 127 or b in (9, 10, 13) for b in head) or head.startswith(b"\xef\xbb\xbf")
