"""`ad-compiler cache info` and `ad-compiler cache clear`: where compiled code lives, how much
of it there is, and removing it.

Only the files ad_compiler itself writes are counted and removed (compile.py): the generated
modules `adc_<hash>.py`, the index `key_<hash>.txt`, numba's machine code for those modules in
`__pycache__/adc_<hash>.*`, and temporary files of interrupted writes `.tmp-*`. Anything else
in the directory (AD_COMPILER_CACHE_DIR may name a directory that holds other files) is left
alone. Everything removed is rebuilt on demand: clearing costs compile time, nothing else.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .compile import cache_path

# (what, glob pattern relative to the cache directory)
KINDS = (
    ("generated modules", "adc_*.py"),
    ("numba machine code", "__pycache__/adc_*"),
    ("index entries", "key_*.txt"),
    ("tier-up choices", "tier_*.json"),
    ("compiler fingerprint", "compiler_fingerprint.json"),
    ("unfinished writes", ".tmp-*"),
)


@dataclass
class CacheContents:
    directory: Path
    files: dict[str, list[Path]] = field(default_factory=dict)  # by kind

    @property
    def count(self) -> int:
        return sum(len(paths) for paths in self.files.values())

    @property
    def size(self) -> int:
        return sum(_size(p) for paths in self.files.values() for p in paths)


def contents() -> CacheContents:
    """The cache directory and ad_compiler's files in it (none if it does not exist)."""
    directory = cache_path()
    found = CacheContents(directory)
    for what, pattern in KINDS:
        found.files[what] = sorted(p for p in directory.glob(pattern) if p.is_file())
    return found


def clear() -> CacheContents:
    """Remove ad_compiler's files from the cache directory; what was there."""
    found = contents()
    for paths in found.files.values():
        for path in paths:
            with contextlib.suppress(FileNotFoundError):  # another process removed it
                path.unlink()
    with contextlib.suppress(OSError):  # only if nothing else is in it
        (found.directory / "__pycache__").rmdir()
    return found


def describe(found: CacheContents) -> str:
    """The report `cache info` prints."""
    source = (
        "AD_COMPILER_CACHE_DIR"
        if os.environ.get("AD_COMPILER_CACHE_DIR")
        else "the default; set AD_COMPILER_CACHE_DIR to move it"
    )
    lines = [f"cache directory: {found.directory} ({source})"]
    if not found.directory.exists():
        lines.append("  (does not exist yet: nothing has been compiled)")
    for what, paths in found.files.items():
        lines.append(f"  {what}: {len(paths)} files, {human(sum(map(_size, paths)))}")
    lines.append(f"total: {found.count} files, {human(found.size)}")
    return "\n".join(lines)


def human(size: int) -> str:
    """A byte count for people: 0 B, 512 B, 3.2 kB, 25.0 MB."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # removed meanwhile
        return 0
