"""Type aliases of the public API, shared by its modules (for type checkers and readers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

# A parameter position or name, or several of them: what `wrt=` takes.
Wrt: TypeAlias = int | str | Sequence[int | str]
