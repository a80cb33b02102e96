"""A Python workload for the AppArmor VM tests: the tempfile module's ways of making
temporary files (an O_TMPFILE file, mkstemp and mkdtemp names) and a small test module run
the way pytest runs one (import, collect test functions, call them), writing a report in
the directory given as the first argument."""

import importlib.util
import os
import shutil
import sys
import tempfile

out = sys.argv[1]
with tempfile.TemporaryFile() as f:  # O_TMPFILE where the filesystem has it
    f.write(b"unnamed")
    f.seek(0)
    assert f.read() == b"unnamed"
with tempfile.NamedTemporaryFile(suffix=".txt") as f:
    f.write(b"named")
    f.flush()
tmpdir = tempfile.mkdtemp(prefix="pytest-")
module = os.path.join(tmpdir, "test_sample.py")
with open(module, "w") as f:
    f.write("def test_add():\n    assert 1 + 1 == 2\n\ndef test_upper():\n    assert 'a'.upper() == 'A'\n")
spec = importlib.util.spec_from_file_location("test_sample", module)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
passed = 0
for name in sorted(dir(mod)):
    if name.startswith("test_"):
        getattr(mod, name)()
        passed += 1
shutil.rmtree(tmpdir)  # with the __pycache__ the import wrote, as pytest's tmp_path
with open(os.path.join(out, "report.txt"), "w") as f:
    f.write(f"{passed} passed\n")
