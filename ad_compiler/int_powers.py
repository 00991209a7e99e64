"""int ** int in numba code: CPython's value, or an error, never numba's wrapped int64.

CPython's int ** int is a float for a negative exponent (2 ** -1 == 0.5) and a big int past
int64; numba's is an int64 either way (0, or wrapped around). numba's type cannot depend on the
exponent's sign, so each int power of a numba program is printed by what reads its result:

* read only by elementwise operations with a float result (`x * 2 ** n`): a float power,
  `2.0 ** n` or `float(k) ** n`, which is CPython's value up to rounding (the int would be
  converted to a float there anyway);
* read by anything else (an index, a range bound, int arithmetic), or an int array:
  `rt.int_power(k, n)`, which raises for a negative exponent, and past int64 for scalars,
  instead of wrapping (runtime_ints.py).

Programs run by NumPy (backend="python") keep `**`: their ints are Python's.
"""

from __future__ import annotations

from .ir import Assign, Const, Function, If, Var, walk
from .kinds import KindTable
from .rules import RULES

FLOAT_POWER = "float"
CHECKED_POWER = "checked"


def _whole(kind) -> bool:
    return kind.dtype in ("int", "bool")


def _safe_as_is(stmt: Assign) -> bool:
    """Powers numba computes right: exponent 0 or 1, or constants whose power fits int64."""
    base, exponent = stmt.args
    if isinstance(exponent, Const) and exponent.value in (0, 1):
        return True
    if isinstance(base, Const) and isinstance(exponent, Const) and 0 <= exponent.value < 64:
        return -(2**63) <= base.value**exponent.value < 2**63
    return False


def int_powers(fn: Function, kinds: KindTable) -> dict[str, str]:
    """How to print each int power whose result is named: FLOAT_POWER or CHECKED_POWER."""
    powers = {
        s.target: s
        for s in walk(fn.body)
        if isinstance(s, Assign)
        and s.op == "pow"
        and s.target
        and all(_whole(kinds.of(a)) for a in s.args)
        and not _safe_as_is(s)
    }
    if not powers:
        return {}
    float_only = {
        name
        for name, s in powers.items()
        if all(kinds.of(a).is_scalar for a in s.args) and kinds.of(Var(name)).dtype is not None
    }
    for s in walk(fn.body):
        if isinstance(s, Assign):
            if _float_result(s, kinds):
                continue
            float_only -= {a.name for a in s.args if isinstance(a, Var)}
        else:  # conditions, loop bounds, merged values
            operands = (s.cond,) if isinstance(s, If) else (s.start, s.stop, s.step, s.cond)
            operands += tuple(o for phi in s.phis for o in (phi.first, phi.second))
            float_only -= {o.name for o in operands if isinstance(o, Var)}
    outputs = fn.result if isinstance(fn.result, tuple) else (fn.result,)
    float_only -= {o.name for o in outputs if isinstance(o, Var)}
    return {name: FLOAT_POWER if name in float_only else CHECKED_POWER for name in powers}


def _float_result(s: Assign, kinds: KindTable) -> bool:
    """An elementwise operation with a float result: reading a float instead of an int there
    gives the same value (NumPy and Python convert the int)."""
    rule = RULES.get(s.op)
    return (
        rule is not None
        and rule.broadcasting
        and s.target is not None
        and kinds.of(Var(s.target)).dtype == "float"
    )


def power_template(how: str, stmt: Assign) -> str:
    if how == CHECKED_POWER:
        return "rt.int_power({0}, {1})"
    base = stmt.args[0]
    if isinstance(base, Const) and type(base.value) is int:
        return f"({float(base.value)!r}) ** {{1}}"  # (parentheses dropped when printed)
    return "float({0}) ** {1}"
