"""The exceptions ad_compiler raises. Every one derives from ADCompilerError."""

from __future__ import annotations


class ADCompilerError(Exception):
    """Base class of every error ad_compiler raises on purpose."""


class UnsupportedSyntaxError(ADCompilerError, SyntaxError):
    """Code the compiler does not differentiate.

    It is also a SyntaxError with filename, lineno, offset and text filled in, so Python's
    traceback shows the user's line with a caret under the construct.
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
    """A call to a function the compiler has no derivative rule for."""


class GradientInputError(ADCompilerError, TypeError):
    """Bad arguments to a gradient function: count, wrt, or a non-float differentiated input."""


class NonScalarOutputError(ADCompilerError, ValueError):
    """grad needs a function returning one float."""


class CompilationError(ADCompilerError):
    """The generated gradient could not be compiled (for example numba could not type it)."""


class KindError(Exception):
    """Internal: a rule's kind inference got arguments it cannot take (indexing a float).
    Reported to the user as an UnsupportedSyntaxError at the statement's line."""

    def __init__(self, message: str, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion
