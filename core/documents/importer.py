"""Bring an existing archive in: a folder tree whose client folders are named after clients.

1. Plan (the dry run): every file under DIR is matched to a contact by the nearest part of
   its path that names one — the file name, then its folder, then the folders above: a
   phone anywhere in it (matched by number), else the contact's name or company name (case,
   ё/е, punctuation, word order and legal forms such as ООО/ИП ignored). A part naming two
   or more contacts makes the file ambiguous (the candidates are listed); no part naming
   anyone leaves it unmatched. The plan groups files by the folder that decided.
2. Apply: each file is stored through core.documents.service with an import key made of
   its path under DIR and its content hash, one commit per file: a run killed halfway and
   started again finds the files already stored and adds no copy (`already`). Unmatched
   files go to the "Unsorted" inbox (no contact) when asked, else they are left out.
   A file refused (too large, empty, unreadable) is counted with its reason; the run goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from core.contacts.models import Company, Contact, ContactPhone
from core.context import Actor, Ctx
from core.documents import service, words
from core.errors import DomainError
from core.phones import try_normalize

SKIPPED_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_PHONE = re.compile(r"(?<![\d])(?:\+?\d[\d ()\-]{8,18}\d)(?![\d])")
LEGAL_FORMS = frozenset(
    {"ооо", "оао", "зао", "пао", "ао", "ип", "нко", "ано", "llc", "ltd", "inc", "gmbh", "ooo"}
)


def name_key(text: str) -> frozenset[str]:
    """A name as a set of words: case, ё, punctuation, order and legal forms ignored."""
    return frozenset(w for w in words.tokens(text) if w not in LEGAL_FORMS)


def phones_in(text: str) -> list[str]:
    """E.164 numbers written anywhere in a name ("Петров +7 916 123-45-67", "79161234567")."""
    found: list[str] = []
    for match in _PHONE.finditer(text):
        phone = try_normalize(match.group(0))
        if phone is not None and phone.e164 is not None and phone.e164 not in found:
            found.append(phone.e164)
    return found


@dataclass
class Directory:
    """Who the archive's names can mean: contacts by phone and by name words."""

    by_phone: dict[str, set[int]] = field(default_factory=dict)
    by_name: dict[frozenset[str], set[int]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    def match(self, part: str) -> set[int]:
        ids: set[int] = set()
        for e164 in phones_in(part):
            ids |= self.by_phone.get(e164, set())
        if ids:
            return ids
        key = name_key(Path(part).stem if "." in part else part)
        return set(self.by_name.get(key, set())) if key else set()


async def load_directory(ctx: Ctx) -> Directory:
    directory = Directory()
    rows = await ctx.session.execute(
        select(Contact.id, Contact.name, Company.name)
        .outerjoin(Company, Company.id == Contact.company_id)
        .where(Contact.deleted_at.is_(None))
    )
    for contact_id, name, company in rows:
        directory.names[contact_id] = name if not company else f"{name} ({company})"
        for text in (name, company):
            key = name_key(text or "")
            if key:
                directory.by_name.setdefault(key, set()).add(contact_id)
    phones = await ctx.session.execute(
        select(ContactPhone.e164, ContactPhone.contact_id)
        .join(Contact, Contact.id == ContactPhone.contact_id)
        .where(ContactPhone.is_live.is_(True), Contact.deleted_at.is_(None))
    )
    for e164, contact_id in phones:
        directory.by_phone.setdefault(e164, set()).add(contact_id)
    return directory


@dataclass(frozen=True)
class PlannedFile:
    path: Path  # relative to the archive's root
    size: int
    contact_id: int | None
    decided_by: str | None  # the relative path of the part that matched (or was ambiguous)
    candidates: tuple[int, ...] = ()  # when ambiguous


@dataclass
class Plan:
    root: Path
    files: list[PlannedFile]
    names: dict[int, str]

    @property
    def matched(self) -> list[PlannedFile]:
        return [f for f in self.files if f.contact_id is not None]

    @property
    def ambiguous(self) -> list[PlannedFile]:
        return [f for f in self.files if f.candidates]

    @property
    def unmatched(self) -> list[PlannedFile]:
        return [f for f in self.files if f.contact_id is None and not f.candidates]

    def folders(self) -> dict[str, tuple[str, int]]:
        """Each deciding folder (or file) → (what it went to, number of files)."""
        out: dict[str, tuple[str, int]] = {}
        for planned in self.files:
            if planned.contact_id is not None:
                target = self.names.get(planned.contact_id, f"#{planned.contact_id}")
                key = planned.decided_by or str(planned.path)
            elif planned.candidates:
                target = "ambiguous: " + "; ".join(
                    self.names.get(c, f"#{c}") for c in planned.candidates
                )
                key = planned.decided_by or str(planned.path)
            else:
                target = "no match"
                key = str(planned.path.parts[0]) if len(planned.path.parts) > 1 else "."
            went, count = out.get(key, (target, 0))
            out[key] = (went, count + 1)
        return out


def walk(root: Path) -> Iterator[Path]:
    """The archive's regular files, in a stable order (symlinks and hidden files skipped)."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder) / name
            if name.startswith(".") or name.lower() in SKIPPED_NAMES or path.is_symlink():
                continue
            if path.is_file():
                yield path


def plan_file(directory: Directory, root: Path, path: Path) -> PlannedFile:
    relative = path.relative_to(root)
    parts = relative.parts
    size = path.stat().st_size
    # The file name first, then its folders from the nearest up.
    for depth in range(len(parts), 0, -1):
        part = parts[depth - 1]
        ids = directory.match(part)
        decided = str(Path(*parts[:depth]))
        if len(ids) == 1:
            return PlannedFile(relative, size, next(iter(ids)), decided)
        if len(ids) > 1:
            return PlannedFile(relative, size, None, decided, tuple(sorted(ids)))
    return PlannedFile(relative, size, None, None)


async def plan(ctx: Ctx, root: Path) -> Plan:
    """The dry run: which file goes to which contact, which are ambiguous or unmatched."""
    directory = await load_directory(ctx)
    files = await asyncio.to_thread(_plan_files, directory, root)
    return Plan(root, files, directory.names)


def _plan_files(directory: Directory, root: Path) -> list[PlannedFile]:
    if not root.is_dir():
        raise DomainError(f"{root} is not a folder", code="import-not-a-folder")
    return [plan_file(directory, root, path) for path in walk(root)]


@dataclass
class Progress:
    total: int
    done: int = 0
    stored: int = 0
    already: int = 0  # stored by an earlier run (resumed) or the same file twice
    unsorted: int = 0
    skipped: int = 0  # unmatched or ambiguous, left out
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    bytes_read: int = 0


def import_key(relative: Path, sha256: str) -> str:
    path_hash = hashlib.sha256(relative.as_posix().encode("utf-8")).hexdigest()
    return f"import:{path_hash}:{sha256}"


async def apply(
    ctx: Ctx,
    actor: Actor,
    planned: Plan,
    *,
    unsorted: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    max_bytes: int | None = None,
) -> Progress:
    """Store every matched file (and the unmatched in "Unsorted" when asked); resumable."""
    progress = Progress(total=len(planned.files))
    limit = max_bytes or ctx.config.documents_max_bytes
    for item in planned.files:
        contact_id = item.contact_id
        if contact_id is None and (item.candidates or not unsorted):
            progress.skipped += 1
        else:
            await _store_one(ctx, actor, planned.root, item, progress, limit)
        progress.done += 1
        if on_progress is not None:
            on_progress(progress)
    return progress


async def _store_one(
    ctx: Ctx, actor: Actor, root: Path, item: PlannedFile, progress: Progress, limit: int
) -> None:
    path = root / item.path
    if item.size > limit:
        progress.refused.append((str(item.path), f"larger than DOCUMENTS_MAX_MB ({_size(limit)})"))
        return
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        progress.refused.append((str(item.path), f"cannot read: {error.strerror}"))
        return
    progress.bytes_read += len(data)
    key = import_key(item.path, hashlib.sha256(data).hexdigest())
    try:
        outcome = await service.store(
            ctx,
            actor=actor,
            name=item.path.name,
            source="import",
            data=data,
            contact_id=item.contact_id,
            import_key=key,
        )
    except DomainError as error:
        await ctx.session.rollback()
        if error.code == "document-duplicate":
            progress.already += 1
            return
        progress.refused.append((str(item.path), str(error)))
        return
    if outcome.replayed:
        progress.already += 1
    elif item.contact_id is None:
        progress.unsorted += 1
    else:
        progress.stored += 1


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{limit / 1024:g} KB"
