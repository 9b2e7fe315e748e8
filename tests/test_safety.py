"""Files that are not workbooks, or are hostile, get one clear sentence and no parser sees them."""

from __future__ import annotations

import tracemalloc
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from planner.cli import cli
from planner.errors import UnreadableFile
from planner.safety import inspect_xlsx
from planner.validate import load

from .conftest import write_plain


def refused(path) -> str:
    with pytest.raises(UnreadableFile) as e:
        load(path)
    (p,) = e.value.problems
    return p.message


def test_defusedxml_guards_openpyxl():
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


def test_empty_csv_xls_truncated_and_encrypted(tmp_path):
    (tmp_path / "empty.xlsx").write_bytes(b"")
    assert "is empty" in refused(tmp_path / "empty.xlsx")
    (tmp_path / "data.csv").write_text("material,period,quantity\nNdPr,2026,10\n")
    assert "CSV" in refused(tmp_path / "data.csv")
    (tmp_path / "old.xls").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600)
    assert ".xls" in refused(tmp_path / "old.xls")
    (tmp_path / "locked.xlsx").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 64 + "EncryptedPackage".encode("utf-16-le"))
    assert "password" in refused(tmp_path / "locked.xlsx")
    good = write_plain(tmp_path / "good.xlsx", {"Materials": [{"material": "NdPr"}]})
    blob = good.read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(blob[: len(blob) // 2])
    assert "damaged" in refused(tmp_path / "cut.xlsx")
    assert "no such file" in refused(tmp_path / "missing.xlsx")


def test_zip_that_is_not_a_workbook(tmp_path):
    with zipfile.ZipFile(tmp_path / "photos.xlsx", "w") as z:
        z.writestr("a.txt", "hello")
    assert "not an Excel workbook" in refused(tmp_path / "photos.xlsx")


def test_zip_bomb_refused_before_decompression(tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            chunk = b"\0" * (1 << 20)
            for _ in range(2048):  # 2 GiB of zeros, a few MB on disk
                fh.write(chunk)
    assert bomb.stat().st_size < 5 << 20
    tracemalloc.start()
    message = refused(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "zip bomb" in message
    assert peak < 20 << 20  # refused from the directory, nothing inflated


def test_entity_bomb_refused(tmp_path):
    good = write_plain(tmp_path / "good.xlsx", {"Materials": [{"material": "NdPr"}]})
    evil = tmp_path / "laughs.xlsx"
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
           '<c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>')
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(evil, "w") as dst:
        for item in src.infolist():
            data = lol.encode() if item.filename == "xl/worksheets/sheet1.xml" else src.read(item)
            dst.writestr(item, data)
    assert "entity" in refused(evil)


def test_formula_without_cached_value_is_named(tmp_path, small_rows):
    path = write_plain(tmp_path / "f.xlsx", small_rows)
    wb = openpyxl.load_workbook(path)
    wb["Offers"]["C2"] = "=50+10"  # openpyxl saves formulas without a result
    wb.save(path)
    assert inspect_xlsx(path).formulas_without_value == {"Offers": [(2, "C")]}
    errors = load(path).errors
    assert [(p.sheet, p.row, p.column) for p in errors] == [("Offers", 2, "unit_cost")]
    assert "formula with no saved result" in errors[0].message


def test_cli_gives_one_sentence_and_exit_1(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n")
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "data.csv")])
    assert result.exit_code == 1
    assert "CSV" in result.output and "Traceback" not in result.output


def test_formula_in_notes_is_only_a_warning(tmp_path, small_rows):
    small_rows["Materials"][0]["notes"] = "see below"
    path = write_plain(tmp_path / "f.xlsx", small_rows)
    wb = openpyxl.load_workbook(path)
    wb["Materials"]["C2"] = "=1+1"  # Materials columns: material, name, notes
    wb.save(path)
    checked = load(path)
    assert checked.errors == []
    assert [(w.sheet, w.row, w.column) for w in checked.warnings if "formula" in w.message] == [("Materials", 2, "notes")]
