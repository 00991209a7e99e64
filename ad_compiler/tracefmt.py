"""Presenting a Trace: the lecture's table, and the circuit as a Graphviz DOT graph."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from .ir import Const, Var

_SYMBOLS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "neg": "*(-1)",
    "pow": "**",
    "matmul": "@",
    "bitand": "&",
    "bitor": "|",
    "bitxor": "^",
    "getitem": "[ ]",
    "setitem": "[ ]=",
    "sum": "sum",
    "mean": "mean",
    "max": "max",
    "min": "min",
    "maximum": "max",
    "minimum": "min",
}


def number(v: Any) -> str:
    """Two decimals, like the slides; scientific notation for very small or large values."""
    v = float(v)
    if v == 0 or (0.01 <= abs(v) < 1e4):
        text = f"{v:.2f}"
        return "0.00" if text == "-0.00" else text
    return f"{v:.2e}"


def value_text(v: Any, full: bool = False) -> str:
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if np.ndim(v) == 0:
        return number(v)
    a = np.asarray(v)
    if full:
        return np.array2string(a, precision=4, separator=", ").replace("\n", " ")
    shape = "x".join(map(str, a.shape))
    if a.dtype.kind not in "fc":
        return f"{a.dtype.name}[{shape}]"
    if a.size == 0:
        return f"[{shape}] empty"
    return f"[{shape}] |{number(np.linalg.norm(a))}| {number(np.nanmin(a))}..{number(np.nanmax(a))}"


def _per_argument(trace, node, values: list, full: bool) -> str:
    """`name: value` for each input, named as in the node's text (not after the node that
    computed it, which may have another name: a loop variable, a branch's value); an input
    used twice (t * t) once, with its whole gradient."""
    merged: dict[str, Any] = {}
    for arg, v in zip(node.stmt.args, values):
        if v is None or isinstance(arg, Const):
            continue
        merged[arg.name] = merged[arg.name] + v if arg.name in merged else v
    return ", ".join(f"{name}: {value_text(v, full)}" for name, v in merged.items())


def _row(trace, node, full: bool, note: str = "") -> list[str]:
    return [
        str(node.line or ""),
        trace.node_text(node) + note,
        value_text(node.value, full),
        value_text(node.upstream, full),
        _per_argument(trace, node, node.local, full) if node.local else "",
        _per_argument(trace, node, node.passed, full) if node.passed else "",
        " ".join(trace.flags(node)),
    ]


def format_table(trace, full: bool = False, unfold: bool = False) -> str:
    """One row per node, in program order: line, node, forward value, upstream gradient
    arriving, local gradient of each input, gradient passed to each input, health flags.
    Nodes inside loops show their first iteration, unless `unfold`."""
    header = ["line", "node", "value", "upstream", "local", "passes on", "flags"]
    rows: list[list[str]] = []
    seen: dict[int, list] = {}
    for node in trace.nodes:
        if node.iteration and not unfold:
            group = seen.setdefault(id(node.stmt), [])
            group.append(node)
            if len(group) > 1:
                continue
        rows.append(node)
    lines = []
    for item in rows:
        note = ""
        if item.iteration and not unfold:
            group = seen[id(item.stmt)]
            flagged = sorted({f for n in group for f in trace.flags(n)})
            note = f"  [iteration 1 of {len(group)}]"
            row = _row(trace, item, full, note)
            row[6] = " ".join(flagged)
        else:
            if item.iteration:
                note = "  [iteration " + ".".join(str(i + 1) for i in item.iteration) + "]"
            row = _row(trace, item, full, note)
        lines.append(row)
    widths = [max(len(r[i]) for r in lines + [header]) for i in range(len(header))]
    out = [
        f"Trace of {trace.function.__name__}("
        + ", ".join(f"{p}={value_text(v)}" for p, v in trace.params.items())
        + ")"
    ]
    out.append(
        "forward values; then, backwards: upstream gradient x local gradient = gradient passed on"
    )
    out.append("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    out.append("  ".join("-" * w for w in widths))
    for row in lines:
        out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    out.append(f"result: {value_text(trace.value, full)}")
    for name, g in trace.grads.items():
        out.append(f"d result / d {name} = {value_text(g, full)}")
    return "\n".join(out)


def _label(trace, node) -> str:
    stmt = node.stmt
    symbol = _SYMBOLS.get(stmt.op, stmt.op)
    consts = [a.value for a in stmt.args if isinstance(a, Const)]
    if stmt.op == "div" and consts and isinstance(stmt.args[0], Const) and consts[0] == 1:
        return "1/x"
    if stmt.op in ("getitem", "setitem"):
        return trace.node_text(node).split(" = ", 1)[-1]
    if consts and stmt.op in ("add", "mul", "sub", "pow"):
        return f"{symbol}{consts[0]:g}"
    return symbol


def to_dot(trace) -> str:
    """The circuit as Graphviz DOT: a box per node, a wire per value, the forward value above
    each wire and the gradient flowing back below it (red), as on the lecture's slides."""
    lines = [
        "digraph circuit {",
        "  rankdir=LR; nodesep=0.5; ranksep=1.0;",
        '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=12];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    used_params = {
        s[1] for n in trace.nodes for s in n.sources if isinstance(s, tuple) and s[0] == "param"
    }
    for name in trace.params:
        if name in used_params:
            lines.append(f'  "p_{name}" [shape=plaintext, label="{html.escape(name)}"];')
    fan_out: dict[str, int] = {}
    wires = []
    for node in trace.nodes:
        lines.append(f'  "n{node.index}" [label="{html.escape(_label(trace, node))}"];')
        for source, v, passed, arg in zip(
            node.sources, node.values, node.passed or [None] * len(node.sources), node.stmt.args
        ):
            if isinstance(arg, Const) or (isinstance(source, tuple) and source[0] == "const"):
                continue
            tail = f"p_{source[1]}" if isinstance(source, tuple) else f"n{source}"
            fan_out[tail] = fan_out.get(tail, 0) + 1
            wires.append((tail, node.index, v, passed))
    for tail, head, v, passed in wires:
        if fan_out[tail] == 1:
            # The value above the wire, the gradient below it, as on the slides.
            attrs = f"taillabel={_edge_label(v, passed, gap=True)}, labelangle=0, labeldistance=3.5"
        else:
            attrs = f"label={_edge_label(v, passed)}"
        lines.append(f'  "{tail}" -> "n{head}" [{attrs}];')
    result = trace.program.result
    if isinstance(result, Var) and trace.nodes:
        last = trace._env[result.name][1]
        if isinstance(last, int):
            lines.append('  "out" [shape=plaintext, label="f"];')
            label = _edge_label(trace.value, 1.0, gap=True)
            lines.append(
                f'  "n{last}" -> "out" [taillabel={label}, labelangle=0, labeldistance=3.5];'
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _edge_label(value: Any, gradient: Any, gap: bool = False) -> str:
    top = html.escape(value_text(value))
    if gradient is None:
        return f"<{top}>"
    spacer = "<br/>" if gap else ""  # room for the wire between the two numbers
    return f'<{top}<br/>{spacer}<font color="red">{html.escape(value_text(gradient))}</font>>'
