"""The code follows the project's ruff rules (pyproject.toml), so style never drifts between chapters."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_is_clean():
    ruff = Path(sys.executable).parent / "ruff"
    args = [str(ruff), "check", "--output-format", "concise", "code", "tests", "tools", "benchmarks"]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
