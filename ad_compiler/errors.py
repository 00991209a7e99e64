"""The exceptions ad_compiler raises. Every one derives from ADCompilerError."""

from __future__ import annotations


class ADCompilerError(Exception):
    """Base class of every error ad_compiler raises on purpose.

    >>> from ad_compiler import ADCompilerError, grad
    >>> def noisy(x):
    ...     print(x)
    ...     return x * x
    >>> try:
    ...     grad(noisy)(1.0)
    ... except ADCompilerError as error:
    ...     print(type(error).__name__)
    UnsupportedSyntaxError
    """


class UnsupportedSyntaxError(ADCompilerError, SyntaxError):
    """Code the compiler does not differentiate.

    It is also a SyntaxError with filename, lineno, offset and text filled in, so Python's
    traceback shows the user's line with a caret under the construct. The message names the
    file and line, the construct, and a rewrite.

    >>> from ad_compiler import grad
    >>> def guarded(x):
    ...     try:
    ...         y = x * x
    ...     except ValueError:
    ...         y = 0.0
    ...     return y
    >>> grad(guarded)(1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ad_compiler.errors.UnsupportedSyntaxError: ...:2: try/except cannot be differentiated; ...
    """

    def __init__(
        self,
        message: str,
        filename: str | None = None,
        lineno: int | None = None,
        offset: int | None = None,
        text: str | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.construct_message = message
        self.suggestion = suggestion
        full = message if not suggestion else f"{message}; {suggestion}"
        where = f"{filename}:{lineno}: " if filename and lineno else ""
        SyntaxError.__init__(self, where + full, (filename, lineno, offset, text))
        self.msg = where + full

    def __str__(self) -> str:
        # SyntaxError would append "(file, line N)" again; the message already starts with it.
        return self.msg


class NoGradientRuleError(UnsupportedSyntaxError):
    """A call to a function the compiler has no derivative rule for (custom_vjp adds one).

    >>> import numpy as np
    >>> from ad_compiler import grad
    >>> def rounded(x):
    ...     return np.sum(np.round(x) * x)
    >>> grad(rounded)(np.ones(2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ad_compiler.errors.NoGradientRuleError: <doctest ...>:2: no gradient rule for np.round; ...
    """


class GradientInputError(ADCompilerError, TypeError):
    """Bad arguments to a gradient function: count, wrt, or a non-float differentiated input.
    The message names the parameter, what was given and what to pass.

    >>> from ad_compiler import grad
    >>> def power(x, n):
    ...     return x**n
    >>> grad(power, wrt=("x", "n"))(2.0, 3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ad_compiler.errors.GradientInputError: power() ... n, which is the int 3: pass 3.0 ...
    >>> grad(power)(2.0)
    Traceback (most recent call last):
    ...
    ad_compiler.errors.GradientInputError: power(x, n): missing a required argument: 'n'
    """


class NonScalarOutputError(ADCompilerError, ValueError):
    """grad needs a function returning one float (jacobian and vjp take array results).

    >>> import numpy as np
    >>> from ad_compiler import grad
    >>> def double(x):
    ...     return x * 2.0
    >>> grad(double)(np.ones(2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ad_compiler.errors.NonScalarOutputError: double() returns an array; ...: use np.sum(...) ...
    """


class CompilationError(ADCompilerError):
    """The generated gradient could not be compiled (for example numba could not type it).
    The message says what numba reported; `backend="python"` runs the same generated code
    without numba, and `g.source` shows it.

    >>> from ad_compiler import ADCompilerError, CompilationError
    >>> issubclass(CompilationError, ADCompilerError)
    True
    """


class KindError(Exception):
    """Internal: a rule's kind inference got arguments it cannot take (indexing a float).
    Reported to the user as an UnsupportedSyntaxError at the statement's line."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


def raised_by_numba(exc: BaseException) -> bool:
    """numba's own error, or another raised while numba compiled (its np.linalg.norm of a 0-d
    array fails an assert while typing): what numba could not compile."""
    if type(exc).__module__.startswith("numba"):
        return True
    return raised_in(exc, "numba/core/typeinfer.py")


def raised_in(exc: BaseException, path: str) -> bool:
    """Whether a frame of the exception's traceback is in the file ending in `path`."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.replace("\\", "/").endswith(path):
            return True
        tb = tb.tb_next
    return False
