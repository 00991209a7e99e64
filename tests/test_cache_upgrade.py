"""A cached module is named by its text and by the compiler that wrote it: numba keys its machine
code by the module's text alone, so an upgraded runtime (a fixed numba overload) must not meet
machine code compiled against the old one."""

from ad_compiler import compile as compiler

SOURCE = "def f_grad(x):\n    return 2.0 * x\n"


def test_another_compiler_writes_another_module(monkeypatch, tmp_path):
    monkeypatch.setenv("AD_COMPILER_CACHE_DIR", str(tmp_path))
    path = compiler.write_module(SOURCE)
    assert compiler.read_verified(path) == SOURCE
    monkeypatch.setattr(compiler, "compiler_fingerprint", lambda: "an upgraded compiler")
    upgraded = compiler.module_path(SOURCE)
    assert upgraded != path
    assert compiler.read_verified(path) is None  # the old module is not taken for the new one
    assert compiler.load(SOURCE, "f_grad")(1.5) == 3.0
    assert upgraded.exists()
