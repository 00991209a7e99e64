"""`compiled_for`: a transform's program as a numba dispatcher for the user's own numba code.

`g.compiled_for(*args)` returns a numba dispatcher that `@numba.njit` functions (and Python)
call with the function's own arguments (then, for vjp, jvp and hvp, the cotangent or the
directions) and that returns what a normal call of `g` returns. It is a small generated function
around the gradient program (`inspect.getsource(d.py_func)` shows it), which holds:

- the program as numba compiles it: loop code's own; for straight-line array code, which a normal
  call runs on NumPy first (tiering.py), the numba program the tier-up would build; under
  backend="python", the numba program too (compiled_for promises numba code);
- what the program takes besides the arguments, bound as of the call: the module-level numbers
  and arrays the function reads (numbers written into the code, arrays copied, and the copies
  kept for the life of the process, see _PINNED) and the values a functools.partial fixes;
- a normal call's conversions: float32 computed in float64 and the gradients cast back, the
  value as a float, one gradient or a tuple as `wrt` asks, aux built;
- a check, while numba compiles the caller, that the arguments are of the kinds it was made for.

What numba cannot compile is refused here, with the package's own error, never later while
numba types the user's function.
"""

from __future__ import annotations

import hashlib
import linecache
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np

from . import compile as compiler
from . import runtime_bounds as rb
from .argument_overlap import checked_pairs
from .errors import ADCompilerError, CompilationError, GradientInputError
from .ir import Const, Kind, Var
from .pytree import is_structured


@dataclass
class _Slot:
    """One parameter of the program: a parameter of the dispatcher or a value bound in it."""

    name: str
    kind: Kind
    value: Any
    role: str  # "open" (the dispatcher's), "direction" (the dispatcher's, copied), "bound"
    about: str = ""  # for bound values: what it is (the module-level SCALE, file:line)


def compiled_for(owner: Any, args: tuple, kwargs: dict, fixed: tuple[str, ...] = ()) -> Any:
    """The dispatcher of `owner` (a GradFunction, VJPFunction or forward transform) for
    arguments like `args`; `fixed` names the parameters a functools.partial fixes (bound)."""
    slots, kinds = _slots(owner, args, dict(kwargs), fixed)
    _refuse_numpy_semantics(owner, slots, kinds)
    types = _numba_types(owner, slots)
    _, source = _numba_program(owner, kinds)  # (loads the module the wrapper imports)
    wrapper = _Wrapper(owner, slots, _function_name(source), source)
    dispatcher = wrapper.load()
    try:  # now, so that what numba cannot compile is refused here
        dispatcher.compile(types)
    except Exception as exc:
        if not type(exc).__module__.startswith("numba"):
            raise
        raise CompilationError(_numba_failure(owner, str(exc), source)) from exc
    return dispatcher


def _slots(owner: Any, args: tuple, kwargs: dict, fixed: tuple) -> tuple[list[_Slot], tuple]:
    """The program's parameters with their kinds and values, in its order: f's arguments,
    the directions (jvp, hvp), the module-level values, the cotangent (vjp)."""
    mode = getattr(owner, "mode", None) if hasattr(owner, "_user") else None
    user = tuple(owner._user) if mode else tuple(owner.params)
    direction = kwargs.pop(owner.extra, None) if mode and owner._tangent_names else None
    cotangent = kwargs.pop("cotangent", None) if owner._cotangent else None
    values = owner._bind_user(args, kwargs) if mode else owner._bind(args, kwargs)
    for name, value in zip(user, values):
        _refuse_structured(owner, name, value, name in fixed)
    owner._primal()  # refuse unsupported code before looking at the arguments' kinds
    directions = owner._directions(direction, values) if mode and owner._tangent_names else []
    hidden = list(owner._live_values())
    kinds = owner._kinds(values + directions + hidden)
    slots = []
    for name, value, kind in zip(user, values, kinds):
        if name in fixed:
            slots.append(_Slot(name, kind, value, "bound", "fixed by the functools.partial"))
        else:
            slots.append(_Slot(name, kind, value, "open"))
    for name, value, kind in zip(owner.params[len(user) :], directions, kinds[len(user) :]):
        slots.append(_Slot(name, kind, value, "direction"))
    reads = {r.param: r for r in owner._live.passed} if owner._live is not None else {}
    for name, value, kind in zip(owner._hidden, hidden, kinds[len(owner.params) :]):
        slots.append(_Slot(name, kind, value, "bound", reads[name].describe()))
    if owner._cotangent:
        slots.append(_cotangent_slot(owner, cotangent, kinds, set(owner.params)))
    return slots, kinds


def _numba_types(owner: Any, slots: list[_Slot]) -> tuple:
    """The numba types of the dispatcher's arguments; refuses values numba cannot take."""
    types = []
    for slot in slots:
        value = slot.value
        if slot.role != "bound" and isinstance(value, np.ndarray) and value.ndim == 0:
            raise GradientInputError(
                f"compiled_for: argument {slot.name} of {owner.__name__}() is a 0-d array; "
                f"pass a number ({slot.name}=float(...)), which numba code passes as a float"
            )
        try:
            numba_type = numba.typeof(value)
        except (ValueError, TypeError):
            numba_type = None
        # (numba types float16, but cannot compile arithmetic on it)
        if numba_type is None or str(getattr(numba_type, "dtype", numba_type)) == "float16":
            what = f"an array of {value.dtype}" if hasattr(value, "dtype") else type(value).__name__
            given = slot.about or f"argument {slot.name} of {owner.__name__}()"
            raise GradientInputError(
                f"compiled_for: {given} is {what}, which numba code cannot take: pass float64 "
                "or float32 (or integer) numbers and arrays"
            ) from None
        if slot.role != "bound":
            types.append(numba_type)
    return tuple(types)


def compiled_for_partial(inner: Any, fixed_args: tuple, fixed_keywords: dict, args, kwargs):
    """compiled_for of the transform of a functools.partial: the dispatcher takes the
    arguments the partial leaves open; the values it fixes are bound."""
    names = tuple(getattr(inner, "_user", inner.params))
    fixed = names[: len(fixed_args)] + tuple(k for k in fixed_keywords if k in names)
    return compiled_for(inner, (*fixed_args, *args), {**fixed_keywords, **kwargs}, fixed)


# -- the parts ---------------------------------------------------------------------------------


def _refuse_numpy_semantics(owner: Any, slots: list, kinds: tuple) -> None:
    """Integers other than int64 (arguments, or arrays the function makes) and arithmetic on
    single bools of bool arrays compute otherwise under numba: the normal call runs those on
    the NumPy program; a dispatcher cannot."""
    values = [slot.value for slot in slots]
    if owner._numpy_semantics(values, kinds[: len(values)]):
        raise GradientInputError(
            f"compiled_for: {owner.__name__} computes on integers other than int64 (uint8, "
            "int32, ...) or on single elements of a bool array, which numba computes as int64 "
            "(a uint8 difference does not wrap around as in NumPy); call the gradient itself "
            "(it runs these on NumPy), or work in int64 and float64"
        )


def _refuse_structured(owner: Any, name: str, value: Any, fixed: bool) -> None:
    if not is_structured(value):
        return
    given = f"the functools.partial fixes {name} to" if fixed else f"argument {name} is"
    raise GradientInputError(
        f"compiled_for: {given} a {type(value).__name__}; numba code passes numbers and "
        f"arrays, so the function compiled_for returns takes only those. Call the gradient "
        f"itself outside numba code for dicts, lists and tuples of arrays, or give "
        f"{owner.__name__}() one parameter per array"
    )


def _cotangent_slot(owner: Any, cotangent: Any, kinds: tuple, taken: set) -> _Slot:
    """vjp's last parameter: a float64 array (or float) shaped like f's output."""
    ndim = owner._output_kind(kinds).ndim
    if cotangent is not None:
        cotangent = owner._seed(cotangent, kinds)
        ndim = np.ndim(cotangent)
    elif ndim is None:
        raise GradientInputError(
            f"compiled_for of the vjp of {owner.__name__}(): pass cotangent=..., shaped like "
            "the output (its number of dimensions is known only from it)"
        )
    else:
        cotangent = np.zeros((1,) * ndim) if ndim else 0.0
    name = _fresh("cotangent", taken)
    return _Slot(name, Kind(ndim, "float"), cotangent, "direction")


def _numba_program(owner: Any, kinds: tuple[Kind, ...]) -> tuple[Callable, str]:
    """The program compiled by numba: the normal one when numba runs it; else (straight-line
    array code, or backend="python") the numba build of the same program."""
    if owner.backend == "numba":
        function, source = owner._build(kinds)
        if "@njit" in source:
            return function, source
    with owner._lock:
        return owner._compile(kinds, numpy=False, backend="numba")


def _function_name(source: str) -> str:
    return re.search(r"^def (\w+)\(", source, re.M).group(1)


def _fresh(name: str, taken: set) -> str:
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _literal(value: Any, kind: Kind) -> str:
    """A bound number as Python (and numba) source."""
    if kind.dtype == "bool":
        return repr(bool(value))
    if kind.dtype == "int":
        return repr(int(value))
    return _float_literal(value)


def _float_literal(value: Any) -> str:
    number = float(value)
    if number != number:
        return "np.nan"
    if number in (np.inf, -np.inf):
        return "np.inf" if number > 0 else "-np.inf"
    return repr(number)


def _defaults(owner: Any, slots: list[_Slot]) -> dict[str, str]:
    """The dispatcher's default values, by parameter: the function's own number defaults, for
    the parameters after the last one without (numba has no keyword-only parameters, so a
    keyword-only one becomes an ordinary one with its default)."""
    parameters = owner._signature.parameters
    defaults = {}
    for slot in reversed([s for s in slots if s.role != "bound"]):
        default = parameters[slot.name].default if slot.name in parameters else None
        if slot.role != "open" or not isinstance(default, _NUMBERS):
            break
        if isinstance(default, (bool, np.bool_)):
            defaults[slot.name] = repr(bool(default))
        elif isinstance(default, (int, np.integer)):
            defaults[slot.name] = repr(int(default))
        else:
            defaults[slot.name] = _float_literal(default)
    return defaults


_NUMBERS = (bool, int, float, np.bool_, np.integer, np.floating)


def _spec(kind: Kind, role: str) -> str:
    """How expect_kinds (runtime_call_numba.py) names a kind."""
    dtype = "real" if role == "direction" else kind.dtype
    return f"{kind.ndim}-d {dtype} array" if kind.ndim else dtype


class _Wrapper:
    """The generated dispatcher around one program."""

    def __init__(self, owner: Any, slots: list[_Slot], program: str, program_source: str):
        self.owner = owner
        self.slots = slots
        self.program = program
        self.module = compiler.module_path(program_source).stem
        self.apart = checked_pairs(program_source)  # (argument_overlap.py)
        self.own_copies = self._bound_apart()
        self.pins = False  # whether arrays are bound by address (then never cached on disk)
        self.name = f"{program}_numba"
        # a parameter named like a name of the wrapper's own gets a trailing underscore
        taken = {"np", "njit", "rc", program, self.name}
        defaults = _defaults(owner, slots)
        self.local = {}
        for slot in slots:
            self.local[slot.name] = slot.name = _fresh(slot.name, taken)
        self.defaults = {self.local[name]: text for name, text in defaults.items()}
        self.source = self._generate()

    # -- the program's arguments

    def _argument(self, slot: _Slot) -> str:
        if slot.role == "direction":
            return f"rc.float64_copy({slot.name})"
        if slot.kind.dtype == "float" and not (slot.role == "bound" and slot.kind.ndim == 0):
            return f"rc.widened({slot.name})"
        return slot.name

    def _bind(self, slot: _Slot) -> str:
        """The line giving a bound value its parameter's name."""
        if isinstance(slot.value, np.ndarray) and slot.value.ndim:
            copy = _pinned(slot.value, self.slots.index(slot) in self.own_copies)
            self.pins = True
            dtype = f"np.{copy.dtype.name}" if copy.dtype != np.bool_ else "np.bool_"
            return (
                f"# a copy of {slot.about}\n"
                f"{slot.name} = rc.bound_array({copy.ctypes.data}, {copy.shape}, {dtype})"
            )
        return f"# {slot.about}\n{slot.name} = {_literal(slot.value, slot.kind)}"

    def _overlap_checks(self) -> list[str]:
        """The program refuses arguments that share memory when the function changes one of
        them in place (its `rt.check_apart(x, y, ...)` calls, argument_overlap.py). It sees
        a float32 argument only as its float64 copy, and a bound array only as the copy
        held here: those pairs are checked here, a bound array by where the original was
        when compiled_for was called (two bound ones then and there: `_bound_apart`)."""
        checks = []
        for x, y, message in self.apart:
            pair = [self.slots[x], self.slots[y]]
            opened = [slot for slot in pair if slot.role != "bound"]
            if len(opened) == 2:
                checks.append(f"rc.apart_if_widened({pair[0].name}, {pair[1].name}, {message!r})")
            elif len(opened) == 1:
                bound = [slot for slot in pair if slot.role == "bound"][0].value
                if isinstance(bound, np.ndarray) and bound.size:
                    low, high = (int(v) for v in rb.extent(bound))
                    checks.append(f"rc.apart_from({opened[0].name}, {low}, {high}, {message!r})")
        return checks

    def _bound_apart(self) -> set[int]:
        """Refuse two bound arrays that share memory in a pair the program checks (as a
        normal call would); the positions of the bound arrays of such pairs, which get copies
        of their own (equal arrays otherwise share one, which the program would refuse)."""
        own = set()
        for x, y, message in self.apart:
            a, b = self.slots[x].value, self.slots[y].value
            both = self.slots[x].role == self.slots[y].role == "bound"
            if both and isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
                if np.may_share_memory(a, b):
                    raise GradientInputError(message)
                own |= {x, y}
        return own

    # -- the results

    def _outputs(self, taken: set) -> tuple[list[str], str, str]:
        """The names the program's results get, the return expression, and what it returns
        in words."""
        owner = self.owner
        mode = getattr(owner, "mode", None) if hasattr(owner, "_user") else None
        if mode == "jvp":
            names = [_fresh("value", taken), _fresh("tangent", taken)]
            return names, f"rc.plain({names[0]}), rc.plain({names[1]})", "(value, tangent)"
        names = [_fresh("value", taken)] if owner.with_value else []
        grads = [_fresh(f"{p}_bar", taken) for p in owner.wrt]
        names += grads
        aux = None
        if owner.has_aux:
            template = owner._normalized.aux
            leaves = _aux_leaves(owner, template)
            aux_names = [_fresh("aux", taken) for _ in range(leaves)]
            names += aux_names
            aux = _aux_expression(template, iter(aux_names))
        if mode:  # hvp, grad2: forward.py's _unpack
            shaped = [f"rc.plain({g})" for g in grads]
        else:
            shaped = [f"rc.like({g}, {self.local[p]})" for g, p in zip(grads, owner.wrt)]
        noun = "Hessian-vector product" if mode == "hvp" else "gradient"
        words = f"the {noun}" if owner._single else f"a tuple of the {noun}s"
        result = shaped[0] if owner._single else _tuple(shaped)
        if owner._cotangent:  # vjp: f's value only checks the cotangent's shape
            return names, result, words
        if owner.with_value:
            value = f"rc.as_float({names[0]})"
            if aux is not None:
                return names, f"({value}, {aux}), {result}", f"((value, aux), {words})"
            return names, f"{value}, {result}", f"(value, {words})"
        if aux is not None:
            return names, f"{result}, {aux}", f"({words}, aux)"
        return names, result, words

    def _direction_checks(self) -> list[str]:
        """jvp's and hvp's check that each array direction has its argument's shape, as a
        normal call's (forward.py's _directions): numba would broadcast a (1,) one silently."""
        owner = self.owner
        if owner._cotangent or not getattr(owner, "_tangent_names", ()):
            return []
        by_name = {s.name: s for s in self.slots}
        lines = []
        for name, dot in zip(owner.tangent_wrt, owner._tangent_names):
            direction, argument = by_name[self.local[dot]], by_name[self.local[name]]
            if direction.kind.ndim:
                lines += [
                    f"if {direction.name}.shape != {argument.name}.shape:",
                    f'    raise rc.GradientInputError("{owner.extra}= for {name} does not have '
                    f'the shape of {name}")',
                ]
        return lines

    def _generate(self) -> str:
        owner, slots = self.owner, self.slots
        taken = {s.name for s in slots}
        opened = [s for s in slots if s.role != "bound"]
        bound = [s for s in slots if s.role == "bound"]
        names, returned, words = self._outputs(taken)
        spec = ", ".join(f"{s.name}: {_spec(s.kind, s.role)}" for s in opened)
        body = []
        if opened:
            arguments = ", ".join(s.name for s in opened) + ("," if len(opened) == 1 else "")
            check = f'({arguments}), "{spec}"'
            if len(check) < 80:
                body.append(f"rc.expect_kinds({check})")
            else:  # one literal string, over lines of the code
                body += ["rc.expect_kinds(", f"    ({arguments}),"]
                body += [f'    "{part}"' for part in _chunks(spec.split(", "), 80)]
                body.append(")")
        body += [line for s in bound for line in self._bind(s).splitlines()]
        body += self._direction_checks()
        body += self._overlap_checks()
        call = f"{self.program}({', '.join(self._argument(s) for s in slots)})"
        body.append(f"{', '.join(names)} = {call}")
        if owner._cotangent and slots[-1].kind.ndim:
            body += [
                f"if {names[0]}.shape != {slots[-1].name}.shape:",
                "    raise ValueError(rc.COTANGENT_SHAPE)",
            ]
        body.append(f"return {returned}")
        cache = "" if self.pins else "cache=True, "
        doc = self._docstring(opened, bound, words)
        lines = [
            f'"""{doc.splitlines()[0]}"""',
            "",
            *(["import numpy as np"] if self.pins else []),
            "from numba import njit",
            "",
            "from ad_compiler import runtime_call_numba as rc",
            f"from ad_compiler_generated.{self.module} import {self.program}",
            "",
            "",
            f'@njit({cache}error_model="numpy")',
            f"def {self.name}({self._parameters(opened)}):",
            f'    """{doc}    """',
            *[f"    {line}" for line in body],
        ]
        return "\n".join(lines) + "\n"

    def _parameters(self, opened: list[_Slot]) -> str:
        return ", ".join(
            f"{s.name}={self.defaults[s.name]}" if s.name in self.defaults else s.name
            for s in opened
        )

    def _docstring(self, opened: list[_Slot], bound: list[_Slot], words: str) -> str:
        parsed = self.owner._parsed
        lines = [
            f"{_what(self.owner)} ({parsed.filename}:{parsed.node.lineno}) for numba code,"
            " made by compiled_for.",
            "",
            f"Takes ({self._parameters(opened)}) and returns {words}, as a call does.",
            f"The program: {self.program}, in {self.module}.py.",
        ]
        if bound:
            lines += ["", "Bound when compiled_for made it (later changes are not seen):"]
            for s in bound:
                if isinstance(s.value, np.ndarray) and s.value.ndim:
                    lines.append(f"  {s.name}: a copy of {s.about}, shape {s.value.shape}")
                else:
                    lines.append(f"  {s.name} = {_literal(s.value, s.kind)}: {s.about}")
        return "".join(f"    {line}\n" if line else "\n" for line in lines).lstrip()

    def load(self) -> Any:
        if not self.pins:  # a cached module, like the program's
            return compiler.load(self.source, self.name)
        # Arrays bound by address: this process's only, never cached on disk.
        with _LOCK:
            dispatcher = _LOADED.get(self.source)
            if dispatcher is None:
                filename = f"<compiled_for {compiler.digest(self.source)}>"
                lines = self.source.splitlines(True)
                linecache.cache[filename] = (len(self.source), None, lines, filename)
                namespace = {"__name__": "ad_compiler_generated.compiled_for"}
                exec(compile(self.source, filename, "exec"), namespace)
                dispatcher = _LOADED[self.source] = namespace[self.name]
        return dispatcher


# Arrays bound by compiled_for, by dtype, shape and content: numba code holds them by address,
# and a numba function that calls the dispatcher does not keep it alive, so they are kept for the
# life of the process (one copy per content: compiled_for called again binds the same one).
_PINNED: dict[tuple, np.ndarray] = {}
_LOADED: dict[str, Any] = {}  # the dispatchers holding them, by source
_LOCK = threading.Lock()


def _pinned(value: np.ndarray, own: bool = False) -> np.ndarray:
    """A read-only copy kept for the life of the process: one per distinct content, or (own)
    one of its own."""
    contiguous = np.ascontiguousarray(value)
    key = (contiguous.dtype.str, contiguous.shape, hashlib.sha256(contiguous).hexdigest())
    if own:
        key += (object(),)  # (never found again)
    with _LOCK:
        pinned = _PINNED.get(key)
        if pinned is None:
            pinned = _PINNED[key] = np.array(contiguous, copy=True)
            pinned.flags.writeable = False
    return pinned


def _what(owner: Any) -> str:
    """ "grad of f()", "vjp of f()", ..."""
    return repr(owner).strip("<>").split(" wrt ")[0] + "()"


def _chunks(parts: list[str], width: int) -> list[str]:
    """ "a, b, c" as lines of about `width` characters, each but the last ending in ", "."""
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + len(part) + 2 > width:
            lines[-1] += ", "
            lines.append(part)
        else:
            lines[-1] += f", {part}"
    return lines


def _tuple(items: list[str]) -> str:
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def _aux_leaves(owner: Any, template: Any) -> int:
    """The aux values the program returns; refuses aux that numba code cannot build."""
    if isinstance(template, Var):
        return 1
    if isinstance(template, Const):
        if isinstance(template.value, (bool, int, float)):
            return 0
        what = type(template.value).__name__
    elif template[0] == "tuple":
        return sum(_aux_leaves(owner, item) for item in template[1])
    else:
        what = "list" if template[0] == "list" else template[1].__name__
    raise ADCompilerError(
        f"compiled_for: {owner.__name__}() returns (value, aux) where aux holds a {what}, which "
        "numba code cannot return as Python does; return aux as numbers, arrays and tuples of "
        "them, or call the gradient itself outside numba code"
    )


def _aux_expression(template: Any, names: Any) -> str:
    if isinstance(template, Var):
        return next(names)
    if isinstance(template, Const):
        return repr(template.value)
    return _tuple([_aux_expression(item, names) for item in template[1]])


def _numba_failure(owner: Any, message: str, program: str) -> str:
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in message.splitlines()]
    # the runtime's own refusal (an overload's "ad_compiler: ..." TypingError) says it best
    own = [line.split("ad_compiler: ", 1)[1] for line in lines if "Error: ad_compiler: " in line]
    if own:
        reason = own[0].strip()
    else:
        reason = next(
            (line.strip() for line in lines if line.strip() and not line.startswith("Failed in")),
            "numba failed",
        )
        call = next((line.strip() for line in lines if line.strip().startswith(">>>")), "")
        if call:
            reason += f" ({call[3:].strip()})"
    return (
        f"{_user_line(owner, message, program)}numba cannot compile the {_what(owner)} for "
        f"compiled_for: {reason}. Called normally, outside numba code, the gradient runs it; "
        "for numba code, write that line with operations numba compiles (.source_for(...) "
        "shows the generated program)"
    )


def _user_line(owner: Any, message: str, program: str) -> str:
    """`file:line: ` of the user's line numba names: behind a line of the generated program
    (its comment says which), or a line of the user's own (a custom_vjp function)."""
    # numba names files relative to the working directory when it can: compare absolute paths
    path = os.path.realpath(compiler.module_path(program))
    package = os.path.realpath(Path(__file__).parent) + os.sep
    cache = os.path.realpath(compiler.cache_dir()) + os.sep
    for match in re.finditer(r'File "([^"]+)", line (\d+)', message):
        filename, line = match.group(1), int(match.group(2))
        if not filename.startswith("<"):
            filename = os.path.realpath(filename)
        if filename == path:
            for text in reversed(program.splitlines()[:line]):
                comment = re.match(r"\s*# (?:reverse of )?line (\d+):", text)
                if comment:
                    return f"{owner._parsed.filename}:{comment.group(1)}: "
        elif not filename.startswith((package, cache, "<")):
            return f"{filename}:{line}: "
    return ""
