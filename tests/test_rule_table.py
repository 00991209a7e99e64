"""The README's list of supported functions is the rule table's (tools/rule_table.py)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_lists_exactly_the_rule_table():
    spec = importlib.util.spec_from_file_location("rule_table", ROOT / "tools" / "rule_table.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    block = tool.readme_block((ROOT / "README.md").read_text(encoding="utf-8"))
    assert block is not None, "README.md lost its rule-table markers"
    assert block == tool.table(), "run `python tools/rule_table.py --write` and review the diff"
