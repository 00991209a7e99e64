"""Rewrite `return`, `break` and `continue` so that code only leaves a block at its end.

After this pass (an AST-to-AST rewrite), a function body assigns its result to RESULT on every
path and ends there, and a loop body ends every iteration at its last statement; a loop that
had a `break` sets BREAK and stops after that iteration. The statements that followed an exit
move into the branch that does not exit, so no flag is needed except to end a loop:

    if c:                      if c:
        return a       ->          RESULT = a
    b = f(x)                   else:
    return b                       b = f(x)
                                   RESULT = b

A `return` inside a loop sets RESULT, RETURNED and BREAK; the code after the loop then runs
under `if not RETURNED`. When every return inside loops returns a tuple display of the same
length, its items go to RESULT_0, RESULT_1... instead (a tuple cannot be carried around a
loop), and RESULT becomes the tuple of them after the outermost loop.
"""

from __future__ import annotations

import ast
import copy

RESULT = "__result"
RETURNED = "__returned"
BREAK = "__break"
NO_BREAK = "__no_break"  # a loop with an `else:` was not left by break (_without_else)


def _name(ident: str, node: ast.AST, store: bool = False) -> ast.Name:
    ctx = ast.Store() if store else ast.Load()
    return ast.copy_location(ast.Name(id=ident, ctx=ctx), node)


def _assign(ident: str, value: ast.expr, node: ast.AST) -> ast.Assign:
    return ast.copy_location(ast.Assign(targets=[_name(ident, node, True)], value=value), node)


def _const(value: object, node: ast.AST) -> ast.Constant:
    return ast.copy_location(ast.Constant(value=value), node)


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _has_return(node: ast.AST) -> bool:
    """A `return` anywhere inside (nested function definitions aside)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Return):
            return True
        if not isinstance(child, _SCOPES) and _has_return(child):
            return True
    return False


def _has_loop_exit(node: ast.AST) -> bool:
    """A break or continue inside that belongs to the loop around `node` (a nested loop's
    own are its own, except those in its `else:`)."""
    if isinstance(node, (ast.For, ast.While)):
        return any(_is_or_has_loop_exit(stmt) for stmt in node.orelse)
    return any(_is_or_has_loop_exit(child) for child in ast.iter_child_nodes(node))


def _is_or_has_loop_exit(node: ast.AST) -> bool:
    if isinstance(node, (ast.Break, ast.Continue)):
        return True
    return not isinstance(node, _SCOPES) and _has_loop_exit(node)


def _exits(stmt: ast.stmt, in_loop: bool) -> bool:
    """Whether `stmt` may leave the enclosing block early (return, or break/continue)."""
    return _has_return(stmt) or (in_loop and _has_loop_exit(stmt))


def always_exits(block: list[ast.stmt], loop_exits: bool) -> bool:
    """Whether every path through `block` ends in return (or break/continue in a loop)."""
    for stmt in block:
        if isinstance(stmt, ast.Return):
            return True
        if loop_exits and isinstance(stmt, (ast.Break, ast.Continue)):
            return True
        if (
            isinstance(stmt, ast.If)
            and always_exits(stmt.body, loop_exits)
            and always_exits(stmt.orelse, loop_exits)
        ):
            return True
        if _endless(stmt):
            return True  # `while True:` without a break of its own is left only by return
        if (
            isinstance(stmt, (ast.For, ast.While))
            and stmt.orelse
            and not any(_has_break(s) for s in stmt.body)
            and always_exits(stmt.orelse, loop_exits)
        ):
            return True  # the loop ends by a return inside it, or runs its `else:`, which exits
    return False


def _endless(stmt: ast.stmt) -> bool:
    """A `while True:` (any constant true test) that no break of its own ends."""
    return (
        isinstance(stmt, ast.While)
        and isinstance(stmt.test, ast.Constant)
        and bool(stmt.test.value)
        and not any(_has_break(s) for s in stmt.body)
    )


def _loop_returns(node: ast.AST, in_loop: bool = False) -> list[ast.Return]:
    """The returns inside loops (nested function definitions aside)."""
    found = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Return) and in_loop:
            found.append(child)
        elif not isinstance(child, _SCOPES):
            inner = in_loop or isinstance(child, (ast.For, ast.While))
            found += _loop_returns(child, inner)
    return found


def _tuple_width(returns: list[ast.Return]) -> int | None:
    """The common length of the returned tuples when every one returns a tuple display."""
    widths = {
        len(r.value.elts)
        for r in returns
        if isinstance(r.value, ast.Tuple)
        and not any(isinstance(e, ast.Starred) for e in r.value.elts)
    }
    if len(widths) == 1 and all(isinstance(r.value, ast.Tuple) for r in returns):
        return widths.pop()
    return None


def result_item(k: int) -> str:
    return f"{RESULT}_{k}"


class _Lowering:
    def __init__(self, width: int | None = None) -> None:
        self.has_loop_return = False
        self.else_clauses = 0  # loops with an `else:` so far (their flags' numbers)
        self.width = width  # returns inside loops give tuples of this length: split them

    def block(self, stmts: list[ast.stmt], in_loop: bool) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for i, stmt in enumerate(stmts):
            rest = stmts[i + 1 :]
            if isinstance(stmt, ast.Return):
                out += self._return(stmt, in_loop)
                return out
            if isinstance(stmt, ast.Break) and in_loop:
                out.append(_assign(BREAK, _const(True, stmt), stmt))
                return out
            if isinstance(stmt, ast.Continue) and in_loop:
                return out
            if isinstance(stmt, ast.If) and _exits(stmt, in_loop):
                body = stmt.body if always_exits(stmt.body, in_loop) else stmt.body + rest
                orelse = stmt.orelse if always_exits(stmt.orelse, in_loop) else stmt.orelse + rest
                new_if = ast.If(
                    test=stmt.test,
                    body=self.block(body, in_loop) or [],
                    orelse=self.block(orelse, in_loop) or [],
                )
                out.append(ast.copy_location(new_if, stmt))
                return out
            if isinstance(stmt, (ast.For, ast.While)) and stmt.orelse:
                out += self.block(self._without_else(stmt) + rest, in_loop)
                return out
            if isinstance(stmt, (ast.For, ast.While)):
                out.append(self._loop(stmt))
                if in_loop and _exits_loop(stmt):
                    # BREAK now says whether this inner loop broke; that must not end the
                    # enclosing loop too (a return inside it does, through the guard below).
                    out.append(_assign(BREAK, _const(False, stmt), stmt))
                if self._returns_inside(stmt):
                    # Leave this block too when the loop returned.
                    stop = [_assign(BREAK, _const(True, stmt), stmt)] if in_loop else []
                    if not in_loop and self.width is not None:
                        stop = [self._join_items(stmt)]
                        if not rest:  # an endless loop: left only by its returns
                            out += stop
                            return out
                    guard = ast.If(
                        test=_name(RETURNED, stmt),
                        body=stop or [ast.Pass()],
                        orelse=self.block(rest, in_loop),
                    )
                    out.append(ast.copy_location(guard, stmt))
                    return out
                continue
            out.append(self._nested(stmt, in_loop))
        return out

    def _return(self, stmt: ast.Return, in_loop: bool) -> list[ast.stmt]:
        value = stmt.value if stmt.value is not None else _const(None, stmt)
        out: list[ast.stmt] = [_assign(RESULT, value, stmt)]
        if in_loop and self.width is not None:
            out = [_assign(result_item(k), v, stmt) for k, v in enumerate(stmt.value.elts)]
        if in_loop:
            self.has_loop_return = True
            out.append(_assign(RETURNED, _const(True, stmt), stmt))
            out.append(_assign(BREAK, _const(True, stmt), stmt))
        return out

    def _join_items(self, node: ast.AST) -> ast.stmt:
        items = [_name(result_item(k), node) for k in range(self.width or 0)]
        return _assign(RESULT, ast.copy_location(ast.Tuple(elts=items, ctx=ast.Load()), node), node)

    def _returns_inside(self, loop: ast.stmt) -> bool:
        return _has_return(loop)

    def _loop(self, loop: ast.For | ast.While) -> ast.stmt:
        breaks = _exits_loop(loop)
        body = self.block(list(loop.body), in_loop=True)
        new = copy.copy(loop)
        if breaks:
            new.body = [_assign(BREAK, _const(False, loop), loop)] + body
        else:
            new.body = body or [ast.copy_location(ast.Pass(), loop)]
        new.lowered_break = breaks  # read by normalize: the loop stops when BREAK is set
        return new

    def _without_else(self, loop: ast.For | ast.While) -> list[ast.stmt]:
        """A loop's `else:` as an `if` after it on a flag its breaks clear, so that the
        clause's own return, break or continue are lowered as anywhere else in the block
        around the loop (where a break or continue belongs to the enclosing loop):

            for ...:                     NO_BREAK_k = True
                if c:                    for ...:
                    break        ->          if c:
            else:                                NO_BREAK_k = False
                E                                break
                                         if NO_BREAK_k:
                                             E
        """
        self.else_clauses += 1
        flag = f"{NO_BREAK}_{self.else_clauses}"
        new = copy.copy(loop)
        new.body, new.orelse = _flag_breaks(loop.body, flag), []
        if not any(_has_break(stmt) for stmt in loop.body):
            # never left by break: the clause runs whenever the loop ends (a return inside it
            # skips the clause with the rest of the block: lower_exits' guard)
            return [new, *loop.orelse]
        init = _assign(flag, _const(True, loop), loop)
        clause = ast.If(test=_name(flag, loop), body=loop.orelse, orelse=[])
        return [init, new, ast.copy_location(clause, loop)]

    def _nested(self, stmt: ast.stmt, in_loop: bool) -> ast.stmt:
        if isinstance(stmt, ast.If):
            new = copy.copy(stmt)
            new.body = self.block(stmt.body, in_loop)
            new.orelse = self.block(stmt.orelse, in_loop)
            return new
        return stmt


def _flag_breaks(stmts: list[ast.stmt], flag: str) -> list[ast.stmt]:
    """The statements with `flag = False` before each break of the loop they are the body
    of (not those of loops nested in it, except in a nested loop's own `else:`)."""
    out: list[ast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, ast.Break):
            out += [_assign(flag, _const(False, stmt), stmt), stmt]
            continue
        if isinstance(stmt, _SCOPES):
            out.append(stmt)
            continue
        new = copy.copy(stmt)
        loop = isinstance(stmt, (ast.For, ast.While))
        for field in ("orelse",) if loop else ("body", "orelse", "finalbody"):
            if isinstance(getattr(stmt, field, None), list):
                setattr(new, field, _flag_breaks(getattr(stmt, field), flag))
        out.append(new)
    return out


def _exits_loop(loop: ast.For | ast.While) -> bool:
    """Whether the loop may stop early: a break of its own, or a return anywhere inside."""
    return any(
        _has_break(stmt) or isinstance(stmt, ast.Return) or _has_return(stmt) for stmt in loop.body
    )


def _has_break(node: ast.AST) -> bool:
    """A break inside that belongs to the loop around `node` (a nested loop's own are its
    own, except those in its `else:`)."""
    if isinstance(node, ast.Break):
        return True
    if isinstance(node, _SCOPES):
        return False
    if isinstance(node, (ast.For, ast.While)):
        return any(_has_break(stmt) for stmt in node.orelse)
    return any(_has_break(child) for child in ast.iter_child_nodes(node))


def lower_exits(body: list[ast.stmt]) -> tuple[list[ast.stmt], list[str]]:
    """The function body rewritten to assign RESULT on every path.

    Returns the new body and, when a `return` happens inside a loop, the result names that
    need a value before the first loop (RESULT, or its items); the caller initialises them and
    RETURNED.
    """
    width = _tuple_width(_loop_returns(ast.Module(body=list(body), type_ignores=[])))
    lowering = _Lowering(width)
    lowered = lowering.block(list(body), in_loop=False)
    if not lowering.has_loop_return:
        return lowered, []
    if width is None:
        return lowered, [RESULT]
    return lowered, [result_item(k) for k in range(width)]
