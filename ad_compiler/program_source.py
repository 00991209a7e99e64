"""A gradient program's source text, from the normalized primal program and its argument kinds.

The passes run in order: kind inference and the refusals that need kinds, store forwarding,
differentiation, the optimizer's clean-up, code generation. Which programs run on NumPy first
instead of numba (`numpy_first`) is decided here too, from the differentiated program.
"""

from __future__ import annotations

from .activity import Aliases, check_aliasing, forward_stores
from .adjoint import differentiate
from .argument_overlap import changed_arguments, check_apart
from .bounds import add_checks, numpy_checks
from .codegen import generate
from .fusion import fuse_elementwise
from .inplace import check_augmented
from .ir import Assign, Function, Kind, Loop, Var, walk
from .kinds import infer_kinds
from .loop_carry import carry_neighbours
from .loop_invariant import hoist_invariant_reads
from .loop_stores import recompute_loop_stores
from .nonnegative import unsigned_indices
from .optimize import optimize
from .subscripts import expand_ellipsis


def build_source(
    primal: Function,
    kinds: dict[str, Kind],
    wrt: tuple[str, ...],
    with_value: bool,
    backend: str,
    header: str,
    optimized: bool = True,
    cotangent: bool = False,
    numpy_for_arrays: bool = True,
    checkpoint: bool = False,
    changed: dict | None = None,
) -> str:
    """The gradient program of `primal` as Python source. `optimized=False` leaves out the
    store forwarding, the clean-up passes of optimize.py and codegen's folding of temporaries:
    the most literal translation, to compare the optimized program against. `changed`: the
    arguments the function changes in place (argument_overlap.py), when `primal` is not the
    function's own program (forward mode's tangent program)."""
    table = infer_kinds(primal, kinds)
    primal = expand_ellipsis(primal, table)
    check_augmented(primal, table)
    check_aliasing(primal, Aliases(primal, table))
    changed = changed_arguments(primal, table) if changed is None else changed
    if optimized:
        primal = forward_stores(primal, table)
        primal = recompute_loop_stores(primal, table)
    notes = [] if checkpoint else None
    gradient = differentiate(primal, table, wrt, with_value, cotangent, notes)
    gradient = add_checks(gradient, table, backend, optimized)
    gradient = check_apart(gradient, table, changed, primal.name)
    if checkpoint:
        header += "\ncheckpoint=True: outermost loops are reversed from checkpoints of their\n"
        header += "carried values, every ceil(sqrt(n)) iterations (checkpoint.py).\n"
        header += "".join(f"  {note}\n" for note in notes)
    if optimized:
        gradient = optimize(gradient, table)
        gradient = carry_neighbours(gradient, table)
    else:
        header += "\nUnoptimized (optimize=False): every temporary on its own line.\n"
    if backend == "numba" and numpy_for_arrays and numpy_first(gradient, table):
        backend = "python"
        gradient = numpy_checks(gradient)
        header += (
            "\nArray code: it runs on NumPy's own compiled loops first, without compiling;\n"
            "called often, it moves to numba if numba runs it faster (tiering.py).\n"
        )
    elif backend == "numba" and optimized and numpy_first(gradient, table):
        # array code compiled by numba (tier-up, compiled_for); loops over scalars already
        # work element by element, and small arrays inside them gain nothing from fusing
        gradient = fuse_elementwise(gradient, table)
    if backend == "numba" and optimized:
        gradient = hoist_invariant_reads(gradient, table)
        gradient = unsigned_indices(gradient, table)
    return generate(gradient, table, backend, header, fold=optimized).source


def is_vectorized(fn: Function, kinds) -> bool:
    """Whole-array code without loops: NumPy runs it as fast as numba would, without the
    seconds numba takes to compile array code."""
    statements = list(walk(fn.body))
    if any(isinstance(s, Loop) for s in statements):
        return False
    return any(
        isinstance(s, Assign)
        and s.target
        and kinds.of(Var(s.target)).is_array
        and s.op not in ("copy", "zeros_like", "tape_alloc")
        for s in statements
    )


def numpy_first(fn: Function, kinds) -> bool:
    """Code NumPy runs well from the first call: straight-line array code, and loops whose
    bodies mostly compute whole arrays (an RNN step, an integrator step), where numba's
    compilation takes seconds to tens of seconds. Loops over scalars go to numba at once."""
    if is_vectorized(fn, kinds):
        return True
    arrays = scalars = 0
    for loop in walk(fn.body):
        if not isinstance(loop, Loop):
            continue
        for s in walk(loop.body):
            if isinstance(s, Assign) and s.target and not s.op.startswith(_BOOKKEEPING):
                if kinds.of(Var(s.target)).is_array:
                    arrays += 1
                else:
                    scalars += 1
    return arrays > 0 and arrays >= scalars


_BOOKKEEPING = ("tape_", "list_", "copy", "zeros_like")
