"""Runs the Helix tests and prints `helix: N passed, M failed` (unittest's own summary has no
such line)."""

import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import unittest  # noqa: E402
from pathlib import Path  # noqa: E402

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))

names = sys.argv[1:] or ["test_languages_toml", "test_protocol"]
suite = unittest.defaultTestLoader.loadTestsFromNames(names)
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
skipped = len(result.skipped)
passed = result.testsRun - failed - skipped
print(f"helix: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(0 if failed == 0 and passed > 0 else 1)
