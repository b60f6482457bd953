"""``.ci/install-tools`` asks apt for each missing tool on its own and never for one the machine has.

CI's own machine already has Chromium and npm, so the fresh paths run here against a stub
``apt-get`` that records its arguments, on a PATH that holds only the stubs: a machine with
nothing, with Node.js and npm only (not Debian's: asking for Debian's ``nodejs npm`` next to
them fails with "held broken packages"), with Chromium only, and with both.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "install-tools"
BASH = shutil.which("bash")


def stub(path: Path, body: str) -> None:
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)


def installed(tmp_path: Path, chromium: bool, node: bool, npm: bool) -> list[str]:
    """The packages the script asks apt to install on such a machine (apt itself is a stub)."""
    bin_dir, log = tmp_path / "bin", tmp_path / "apt.log"
    bin_dir.mkdir()
    log.touch()
    stub(bin_dir / "apt-get", f'echo "$*" >> {log}')
    for tool, present in (("node", node), ("npm", npm)):
        if present:
            stub(bin_dir / tool, "echo 20.0.0")
    browser = tmp_path / "chromium"
    if chromium:
        stub(browser, "exit 0")
    env = {"PATH": str(bin_dir), "CHROMIUM": str(browser), "HOME": str(tmp_path)}
    subprocess.run([BASH, str(SCRIPT)], env=env, check=True, capture_output=True, text=True)
    calls = log.read_text().splitlines()
    installs = [call.split() for call in calls if call.split()[:1] == ["install"]]
    assert len(installs) <= 1 and (calls[:1] == ["update -qq"]) == bool(installs), calls
    return [word for word in installs[0] if not word.startswith("-")][1:] if installs else []


@pytest.mark.parametrize(
    "chromium, node, expected",
    [
        (False, False, ["chromium", "nodejs", "npm"]),
        (False, True, ["chromium"]),  # the machine's own Node.js and npm are kept
        (True, False, ["nodejs", "npm"]),
        (True, True, []),
    ],
    ids=["nothing", "npm-only", "chromium-only", "both"],
)
def test_install_step_asks_apt_only_for_what_is_missing(tmp_path, chromium, node, expected):
    assert installed(tmp_path, chromium, node=node, npm=node) == expected


def test_a_node_without_npm_gets_debian_npm_alone(tmp_path):
    assert installed(tmp_path, chromium=True, node=True, npm=False) == ["npm"]


def test_ci_runs_the_install_step():
    run = (SCRIPT.parent / "run").read_text()
    assert "bash .ci/install-tools" in run and "apt-get" not in run
