"""Write ad_compiler/rules/derivative_table.py: the plans (derivative_plans.py) of the local
gradients most programs need, derived with SymPy once here instead of in every process.

    python tools/derivative_table.py && ruff format ad_compiler/rules/derivative_table.py

tests/test_issue15_build.py checks that the file holds what SymPy derives today.
"""

from __future__ import annotations

import math
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent.parent
TARGET = HERE / "ad_compiler" / "rules" / "derivative_table.py"

# Constant arguments worth having: an int in any operand of a binary operation (2 * x, x - 1),
# and the common powers (x ** 2, x ** 0.5, 2 ** x).
_INTS = (0, 1, 2, -1)
_POWERS = (2, 3, 4, -1, -2, 0.5, -0.5, 1.5)


def table_keys() -> list[tuple]:
    from ad_compiler.rules.elementwise import ELEMENTWISE, _arity

    keys = []
    for op in sorted(ELEMENTWISE):
        n = _arity(op)
        distinct = tuple(range(n))
        keys += [(op, (None,) * n, wrt, distinct) for wrt in range(n)]
        if n != 2:
            continue
        keys.append((op, (None, None), 0, (0, 0)))  # x * x: one variable twice
        constants = _INTS + (_POWERS if op == "pow" else ())
        for c in dict.fromkeys(constants):
            keys.append((op, (None, c), 0, distinct))
            keys.append((op, (c, None), 1, distinct))
    return keys


def derive(key: tuple) -> tuple | None:
    """The plan SymPy gives for `key`, or None where it gives none (built on demand, as before)."""
    import sympy

    from ad_compiler.rules.derivative_plans import plan
    from ad_compiler.rules.elementwise import local_gradient

    try:
        return plan(sympy, local_gradient(*key))
    except Exception:
        return None


def _literal(value) -> str:
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, float) and not math.isfinite(value):
        return f'float("{value}")'
    return repr(value)


def main() -> None:
    sys.path.insert(0, str(HERE))
    entries = [(key, derive(key)) for key in table_keys()]
    lines = [
        '"""Local gradients derived by SymPy ahead of time (written by tools/derivative_table.py;',
        "do not edit): (op, constant arguments, argument, shared positions) -> plan, as",
        'derivative_plans.py describes."""',
        "",
        "DERIVATIVES: dict[tuple, tuple] = {",
    ]
    lines += [f"    {_literal(k)}: {_literal(p)}," for k, p in entries if p is not None]
    lines.append("}")
    TARGET.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{TARGET}: {sum(p is not None for _, p in entries)} of {len(entries)} derivatives")


if __name__ == "__main__":
    main()
