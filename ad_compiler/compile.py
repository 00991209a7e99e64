"""From generated source to a callable: a content-hashed module file in a private cache directory.

numba's `cache=True` needs a real file (it refuses functions made by exec), so every generated
module is written once, atomically, under a name that is the hash of its text (and of the
compiler that wrote it), then imported. A second process finds the file and numba's own cache
next to it, and skips compilation. A file whose text no longer matches its name (a corrupt or
truncated write) is rewritten, never run.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import stat
import sys
import tempfile
import threading
from pathlib import Path

from .errors import ADCompilerError

_LOCK = threading.Lock()


def cache_path() -> Path:
    """Where the cache directory is (AD_COMPILER_CACHE_DIR, else $XDG_CACHE_HOME/ad_compiler,
    else ~/.cache/ad_compiler), without creating it."""
    configured = os.environ.get("AD_COMPILER_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ad_compiler"


def cache_dir() -> Path:
    """The cache directory (see cache_path), created if needed, private to the user."""
    path = cache_path()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise ADCompilerError(
            f"the cache directory {path} belongs to another user; set "
            "AD_COMPILER_CACHE_DIR to a directory of your own"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        os.chmod(path, 0o700)  # others could plant code here: make it private
    return path


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@functools.cache
def compiler_fingerprint() -> str:
    """A hash of the compiler's own source, runtime included. It is part of every cached
    module's name: numba's cache is keyed by the module's text alone, so machine code compiled
    against an older runtime (a fixed overload, say) would otherwise be reused after an
    upgrade.

    Reading and hashing the source takes about 10 ms of a process's start-up: the hash is kept
    in the cache directory with the files' sizes and modification times (as Python's bytecode
    cache checks its sources), and read from there while they are unchanged."""
    root = Path(__file__).parent
    files = sorted(root.rglob("*.py"))
    stamps = [[str(p), *_stamp(p)] for p in files]
    record = cache_path() / "compiler_fingerprint.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        kept = json.loads(record.read_text(encoding="utf-8"))
        if kept["files"] == stamps and len(kept["digest"]) == 32:
            return kept["digest"]
    fingerprint = digest("\n".join(p.read_text(encoding="utf-8") for p in files))
    if [[str(p), *_stamp(p)] for p in files] == stamps:  # (not edited while being read)
        with contextlib.suppress(OSError):
            write_text_atomically(
                cache_dir() / record.name, json.dumps({"files": stamps, "digest": fingerprint})
            )
    return fingerprint


def _stamp(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_mtime_ns, info.st_size]


def _module_digest(source: str) -> str:
    return digest(compiler_fingerprint() + "\n" + source)


def write_text_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".py")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def module_path(source: str) -> Path:
    return cache_dir() / f"adc_{_module_digest(source)}.py"


def write_module(source: str) -> Path:
    """The module file holding `source`, written (or rewritten, if damaged) as needed."""
    path = module_path(source)
    if not path.exists() or read_verified(path) != source:
        write_text_atomically(path, source)
    return path


def read_verified(path: Path) -> str | None:
    """The text of a cached module if it matches the hash in its name, else None."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    expected = path.stem.removeprefix("adc_")
    return text if _module_digest(text) == expected else None


def load(source: str, function_name: str, fresh: bool = False):
    """Import the module holding `source` and return its function.

    The module runs the text that was just verified against its hash (not whatever the file or
    a .pyc holds by the time an importer would read it again). `fresh` imports it anew, after
    `forget_compiled` removed numba's cached machine code for it.
    """
    with _LOCK:
        path = write_module(source)
        name = f"ad_compiler_generated.{path.stem}"
        module = None if fresh else sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # numba's cache looks modules up by name
            try:
                exec(compile(source, str(path), "exec"), module.__dict__)
            except BaseException:
                del sys.modules[name]
                raise
        return getattr(module, function_name)


def function_name(source: str) -> str:
    """The name of the function a generated module defines."""
    for line in source.splitlines():
        if line.startswith("def "):
            return line[4 : line.index("(")]
    raise ADCompilerError("generated module defines no function")


def forget_compiled(source: str) -> None:
    """Delete numba's cache files for the module holding `source` (when they are damaged)."""
    path = module_path(source)
    for cached in (path.parent / "__pycache__").glob(f"{path.stem}.*"):
        with contextlib.suppress(OSError):
            cached.unlink()


def remember(key: str, source: str) -> None:
    """Record that the program for `key` (a hash of its inputs) is `source`."""
    path = cache_dir() / f"key_{key}.txt"
    write_text_atomically(path, _module_digest(source))


def recall(key: str) -> str | None:
    """The source earlier built for `key`, if its module file is intact."""
    path = cache_dir() / f"key_{key}.txt"
    try:
        module_digest = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if len(module_digest) != 32 or any(c not in "0123456789abcdef" for c in module_digest):
        return None  # a damaged index entry: build again
    return read_verified(cache_dir() / f"adc_{module_digest}.py")
