"""A throwaway virtualenv that stands for the project's ``.venv`` in Makefile tests.

`make` targets run ``$(VENV)/bin/aios``; the venv running the tests may have been built without
that console script (or from another checkout). This one is made by ``python -m venv`` (its
``bin/activate`` is the real script), sees this checkout and the running interpreter's
packages through a ``.pth`` file, and has the ``aios`` script pip writes for
``[project.scripts]``.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import ROOT


def scratch_venv(where: Path, name: str = "venv") -> Path:
    venv = where / name
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=60).stdout.strip()
    # This checkout first, then the packages of the interpreter running the tests.
    Path(purelib, "aios-checkout.pth").write_text(
        f"{ROOT}\n{sysconfig.get_paths()['purelib']}\n")
    script = venv / "bin" / "aios"
    script.write_text(f"#!{python}\nimport sys\nfrom aios_assets.cli import main\n"
                      "sys.exit(main())\n")
    script.chmod(0o755)
    return venv
