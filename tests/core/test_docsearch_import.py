"""Archive import: folders matched to contacts (name, company, phone), the dry run's
ambiguous and unmatched folders, a resumable apply, the Unsorted inbox. Both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.config import CoreConfig
from core.contacts import service as contacts
from core.context import Actor, Ctx
from core.documents import importer
from core.documents.models import Document
from core.jobs.models import BackgroundJob
from tests.fakes import documents as fx


@pytest.fixture
def config(tmp_path: Path) -> CoreConfig:
    return CoreConfig(documents_dir=str(tmp_path / "store"), documents_max_bytes=64 * 1024)


@pytest.fixture
async def people(ctx: Ctx, system: Actor) -> dict[str, int]:
    vector = await contacts.create_contact(
        ctx, actor=system, name="Иван Петров", company_name="ООО «Вектор»"
    )
    sidorov = await contacts.create_contact(
        ctx, actor=system, name="Сидоров Пётр", phones=["+7 916 123-45-67"]
    )
    twin1 = await contacts.create_contact(ctx, actor=system, name="Анна Смирнова")
    twin2 = await contacts.create_contact(ctx, actor=system, name="Смирнова Анна")
    return {"vector": vector.id, "sidorov": sidorov.id, "twin1": twin1.id, "twin2": twin2.id}


def make_archive(root: Path) -> Path:
    files = {
        "Клиенты/Вектор ООО/Договор поставки.pdf": fx.pdf(["Договор поставки"]),
        "Клиенты/Вектор ООО/2025/счёт.docx": fx.docx(["Счёт на оплату"]),
        "Клиенты/петр сидоров/акт.xlsx": fx.xlsx([["Акт"]]),
        "Разное/89161234567 скан договора.txt": "договор".encode(),
        "Клиенты/Анна Смирнова/письмо.eml": fx.eml("Привет", "Текст"),
        "Клиенты/Неизвестный/прайс.csv": "товар;цена\n".encode(),
        "readme.txt": b"the archive",
        "Клиенты/Вектор ООО/.DS_Store": b"\x00\x00",
        "Клиенты/Вектор ООО/огромный.pdf": fx.pdf(["x" * 50] * 40) + b" " * 70_000,
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


async def test_dry_run_says_where_each_folder_goes(
    ctx: Ctx, people: dict[str, int], tmp_path: Path
) -> None:
    root = make_archive(tmp_path / "archive")
    plan = await importer.plan(ctx, root)
    folders = plan.folders()
    assert folders["Клиенты/Вектор ООО"] == ("Иван Петров (ООО «Вектор»)", 3)
    assert folders["Клиенты/петр сидоров"] == ("Сидоров Пётр", 1)
    # A phone anywhere in a name matches by number.
    assert folders["Разное/89161234567 скан договора.txt"] == ("Сидоров Пётр", 1)
    assert folders["Клиенты/Анна Смирнова"] == (
        "ambiguous: Анна Смирнова; Смирнова Анна",
        1,
    )
    assert folders["Клиенты"] == ("no match", 1)
    assert folders["."] == ("no match", 1)
    assert (len(plan.files), len(plan.matched), len(plan.ambiguous), len(plan.unmatched)) == (
        8,
        5,
        1,
        2,
    )
    assert await ctx.session.scalar(select(func.count(Document.id))) == 0


async def test_apply_is_resumable_and_unsorted_takes_the_rest(
    ctx: Ctx, system: Actor, people: dict[str, int], tmp_path: Path
) -> None:
    root = make_archive(tmp_path / "archive")
    plan = await importer.plan(ctx, root)

    class Killed(Exception):
        pass

    def die_after_three(progress: importer.Progress) -> None:
        if progress.done == 3:
            raise Killed

    with pytest.raises(Killed):
        await importer.apply(ctx, system, plan, on_progress=die_after_three)
    first = await ctx.session.scalar(select(func.count(Document.id)))
    assert first is not None and 0 < first <= 3

    seen: list[int] = []
    done = await importer.apply(
        ctx,
        system,
        await importer.plan(ctx, root),
        unsorted=True,
        on_progress=lambda p: seen.append(p.done),
    )
    assert seen == list(range(1, 9))
    assert done.already == first
    assert done.stored + done.already == 4  # the five matched, less the one too large
    assert done.unsorted == 2 and done.skipped == 1
    assert done.refused == [
        ("Клиенты/Вектор ООО/огромный.pdf", "larger than DOCUMENTS_MAX_MB (64 KB)")
    ]
    rows = (await ctx.session.execute(select(Document.file_name, Document.contact_id))).all()
    assert sorted(rows, key=lambda r: r[0]) == sorted(
        [
            ("Договор поставки.pdf", people["vector"]),
            ("счёт.docx", people["vector"]),
            ("акт.xlsx", people["sidorov"]),
            ("89161234567 скан договора.txt", people["sidorov"]),
            ("прайс.csv", None),
            ("readme.txt", None),
        ],
        key=lambda r: r[0],
    )
    # Every stored file waits for its text extraction.
    assert await ctx.session.scalar(select(func.count(BackgroundJob.id))) == 6

    again = await importer.apply(ctx, system, await importer.plan(ctx, root), unsorted=True)
    assert (again.stored, again.unsorted, again.already) == (0, 0, 6)
    assert await ctx.session.scalar(select(func.count(Document.id))) == 6


def test_name_keys_ignore_case_order_punctuation_and_legal_forms() -> None:
    assert importer.name_key("ООО «Вектор»") == importer.name_key("вектор ооо")
    assert importer.name_key("Пётр Сидоров") == importer.name_key("сидоров_петр")
    assert importer.phones_in("Иванов +7 (916) 123-45-67 договоры") == ["+79161234567"]
    assert importer.phones_in("Счёт 2025-11-30 № 12345") == []
