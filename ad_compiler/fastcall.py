"""The fast path of a gradient's call.

`GradFunction.__call__` binds the arguments, keys a dispatch table on their types (and arrays'
dimensions and dtypes), then calls the compiled program: about a microsecond of Python around a
scalar kernel that itself takes a few hundred nanoseconds. Once a signature has been built and
validated, `install` gives the gradient a `__call__` generated for the signatures seen so far:
a chain of `type(a) is float` / `a.ndim == 1 and a.dtype is float64` tests in front of the
kernel calls. Anything else (keywords, missing or extra arguments, other types, an int where a
float is differentiated) takes the general path, which validates and raises as before.

Python looks `__call__` up on the type, so the instance is moved to a subclass of its own
holding the generated method (see `fast_class`); `uninstall` moves it back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .shaping import may_share

MISSING = object()  # default of the generated parameters: "not passed"
MOST_SIGNATURES = 4  # tests per call grow with each; beyond this, the general path serves


def install(
    function: Any,
    base: type,
    general: Any,
    post_aliases: dict,
    like: Any,
    read_hidden: Any = None,
    read_errors: tuple = (),
) -> None:
    """Give `function` (an instance of `base`) a generated `__call__` for the signatures in
    its dispatch table. `general` is the unspecialised call, `post_aliases` maps the shaping
    functions that need no arguments to how the generated code inlines them, `like(gradient,
    argument)` gives a gradient its argument's type. A function reading module-level values
    (live.py) passes `read_hidden`, an expression and the names it reads, written inline: their
    current values (None when a value compiled in changed, one of `read_errors` when one is
    gone: then the general path serves), passed to the program after the user's arguments."""
    signatures = [
        key
        for key in function._dispatch
        if _simple(key) and len(key) == function._nparams  # (another normalization's: not)
    ]
    signatures = signatures[-MOST_SIGNATURES:][::-1]  # the newest first
    if not signatures:
        uninstall(function, base)
        return
    names = [f"a{i}" for i in range(function._nparams)]
    user = names[: function._nuser] if read_hidden is not None else names
    namespace: dict[str, Any] = {
        "_M": MISSING,
        "_general": general,
        "_ndarray": np.ndarray,
        "_like": like,
        "_may": may_share,
        "_read_errors": read_errors,
    }
    lines = [
        # positional-only: a keyword named like them (a0=, self=) goes to the general path
        f"def __call__(self, {', '.join(n + '=_M' for n in user)}, /, *more, **named):",
        "    if not more and not named:",
    ]
    pad = " " * 8
    if read_hidden is not None:
        hidden = names[len(user) :]
        read, read_names = read_hidden
        namespace.update(read_names)
        lines += [
            "        try:",
            f"            _h = {read}",
            "        except _read_errors:",
            "            _h = None",
            "        if _h is not None:",  # (else the general path reads them and says why)
        ]
        pad = " " * 12
        if hidden:
            lines.append(f"{pad}({', '.join(hidden)},) = _h")
    for s, key in enumerate(signatures):
        kernel, post = function._dispatch[key]
        namespace[f"_post{s}"], namespace[f"_key{s}"] = post, key
        namespace[f"_kernel{s}"] = _entry_point(kernel, key) or kernel
        namespace[f"_owner{s}"] = kernel  # (keeps the machine code of an entry point alive)
        tests = " and ".join(
            _test(name, part, s, i, namespace) for i, (name, part) in enumerate(zip(names, key))
        )
        if _is_numba(kernel) and namespace[f"_kernel{s}"] is kernel:
            # numba's dispatcher takes an int past int64 silently (as uint64, or failing): the
            # general path computes those with Python's ints (an entry point raises instead)
            ints = [name for name, part in zip(names, key) if part is int]
            tests += "".join(f" and -_I <= {name} < _I" for name in ints)
            namespace["_I"] = 2**63
        call = f"_kernel{s}({', '.join(names)})"
        shaped = post_aliases.get(post)
        if shaped is not None:
            body = [f"return {shaped.format(call)}"]
        elif post == function._unpack:
            body = _shaping(function, key, names, call, s, namespace)
        else:
            body = [f"return _post{s}({call}, ({', '.join(names)},))"]
        lines += [f"{pad}if {tests}:", f"{pad}    try:"]
        lines += [f"{pad}        {line}" for line in body]
        lines += [
            f"{pad}    except Exception as exc:",
            f"{pad}        return self._failed(exc, _key{s}, ({', '.join(names)},))",
        ]
    passed = ", ".join(user)
    lines += [
        f"    passed = [a for a in ({passed},) if a is not _M]",
        "    return _general(self, *passed, *more, **named)",
    ]
    exec(compile("\n".join(lines), f"<fast call of {function.__name__}>", "exec"), namespace)
    function.__class__ = fast_class(base, namespace["__call__"])


# Python's own scalars, whose types the generated tests match exactly
_SCALARS = (float, int, bool)


def _entry_point(kernel: Any, key: tuple) -> Any:
    """The machine code numba's dispatcher calls for `key`, when every argument is a float,
    an int or a bool: the dispatcher's own typing of the arguments (about 0.1 us, as long as
    a scalar kernel) is repeated by the generated tests. Arrays keep the dispatcher: it also
    tells apart layouts and read-only arrays, which the tests do not. An int beyond int64
    raises OverflowError in the entry point (then the general path computes with Python's
    ints); numba's dispatcher would compile a uint64 program for one below 2**64 instead."""
    if not _is_numba(kernel) or not all(part in _SCALARS for part in key):
        return None
    from numba import typeof

    compiled = kernel.overloads.get(tuple(typeof(part()) for part in key))
    return None if compiled is None else compiled.entry_point


def uninstall(function: Any, base: type) -> None:
    if getattr(type(function), "fast_path", False):
        function.__class__ = base


def fast_class(base: type, call: Any) -> type:
    """A subclass of `base` whose only difference is the generated `__call__`."""
    return type(
        base.__name__,
        (base,),
        {
            "__call__": call,
            "fast_path": True,
            "__module__": base.__module__,
            "__qualname__": base.__qualname__,
        },
    )


def _simple(key: tuple) -> bool:
    return all(isinstance(part, type) or _array_part(part) for part in key)


def _array_part(part: Any) -> bool:
    return isinstance(part, tuple) and len(part) == 2 and isinstance(part[0], int)


def _test(name: str, part: Any, s: int, i: int, namespace: dict) -> str:
    if isinstance(part, type):
        namespace[f"_t{s}_{i}"] = part
        return f"type({name}) is _t{s}_{i}"
    ndim, char = part
    # dtype objects of native float64 (int64, ...) arrays are one shared object; an array
    # with an equal but distinct dtype object just takes the general path.
    namespace[f"_d{s}_{i}"] = np.dtype(char)
    return f"type({name}) is _ndarray and {name}.ndim == {ndim} and {name}.dtype is _d{s}_{i}"


def _shaping(function: Any, key: tuple, names: list, call: str, s: int, namespace: dict) -> list:
    """`GradFunction._unpack` written out for one signature: each gradient given its
    argument's type (a float for a float; an array of the argument's dtype and shape, which
    the compiled program's result usually already is: then it is returned as it is), and
    never memory of an argument or of another gradient (shaping.separate)."""
    wrt = function._positions
    outputs = [f"_g{j}" for j in range(len(wrt))]
    if function.with_value:
        outputs.insert(0, "_v")
    lines = [f"{', '.join(outputs)} = {call}"]  # one bare gradient, or a tuple
    fitted = []
    arguments = [names[i] for i, part in enumerate(key) if _array_part(part)]
    earlier: list[tuple[str, str]] = []  # the array gradients before, with their owners
    fresh = _numba_fresh(namespace) if _is_numba(namespace[f"_kernel{s}"]) else _numpy_fresh
    for j, p in enumerate(wrt):
        part, arg, grad = key[p], names[p], f"_g{j}"
        if part is float:
            fitted.append(f"float({grad})")
        elif _array_part(part):
            dtype = f"_d{s}_{p}"
            # (==: numba boxes its arrays with a float64 dtype of its own, an equal object)
            lines.append(
                f"if not (type({grad}) is _ndarray and {grad}.dtype == {dtype} "
                f"and {grad}.shape == {arg}.shape):"
            )
            lines.append(f"    {grad} = _like({grad}, {arg})")
            lines += _separated(grad, f"_o{j}", j, arguments, earlier, fresh)
            earlier.append((grad, f"_o{j}"))
            fitted.append(grad)
        else:
            fitted.append(f"_like({grad}, {arg})")
    grads = fitted[0] if function._single else f"({', '.join(fitted)},)"
    lines.append(f"return (float(_v), {grads})" if function.with_value else f"return {grads}")
    return lines


# Whether a gradient shares memory with an argument or an earlier gradient costs a
# np.may_share_memory for each pair (about 0.15 us): 30 pairs for four gradients and six
# arguments. A gradient whose memory was allocated by this very call shares none with an
# argument, and only its own allocation with another gradient, so the pairs are tested only
# when the gradient's owner is not known to be new. `_o{j}` names gradient j's allocation:
# None when unknown, a negative number for an array owning its memory (one of NumPy's, or a
# copy), else numba's address of the allocation (equal for views of one allocation).


def _numpy_fresh(grad: str, owner: str, j: int, identities: str) -> list:
    """A NumPy program's array that owns its memory (base None) and is not an argument or an
    earlier gradient returned as it is: allocated by this call."""
    return [f"if {grad}.base is None and {identities}:", f"    {owner} = {-1 - j}"]


def _numba_fresh(namespace: dict) -> Any:
    from numba.core.runtime import _nrt_python

    namespace["_MemInfo"] = _nrt_python._MemInfo

    def fresh(grad: str, owner: str, j: int, identities: str) -> list:
        """numba boxes an array it allocated with a MemInfo base whose parent is None (an
        array from an argument has the argument as parent; an argument returned as it is,
        which may itself come from numba, is the argument)."""
        return [
            f"_b = {grad}.base",
            f"if type(_b) is _MemInfo and _b.parent is None and {identities}:",
            f"    {owner} = _b.data",
        ]

    return fresh


def _separated(grad: str, owner: str, j: int, arguments: list, earlier: list, fresh) -> list:
    identities = " and ".join(f"{grad} is not {a}" for a in arguments + [g for g, _ in earlier])
    lines = fresh(grad, owner, j, identities or "True")
    # a new allocation: only an earlier gradient from the same one, or of unknown owner, may
    # share it
    pairs = [f"({o} is None and _may({grad}, {g}))" for g, o in earlier]
    if fresh is not _numpy_fresh:  # (NumPy's own arrays are told apart by identity above)
        pairs += [f"{owner} == {o}" for _, o in earlier]
    copy = [f"        {grad} = {grad}.copy()", f"        {owner} = {-1 - j}"]
    lines += [f"    if {' or '.join(pairs)}:", *copy] if pairs else []
    shares = " or ".join(f"_may({grad}, {other})" for other in arguments + [g for g, _ in earlier])
    lines += ["else:", f"    {owner} = None"]
    lines += [f"    if {shares}:", *copy] if shares else []
    return lines


def _is_numba(kernel: Any) -> bool:
    return type(kernel).__module__.startswith("numba")
