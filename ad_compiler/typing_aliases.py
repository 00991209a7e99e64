"""Type aliases of the public API, shared by its modules (for type checkers and readers)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ParamSpec, TypeAlias

# A parameter position or name, or several of them: what `wrt=` takes.
Wrt: TypeAlias = int | str | Sequence[int | str]

# The parameters of a differentiated function: its gradient function takes the same.
P = ParamSpec("P")
