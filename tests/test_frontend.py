"""The browser front end: js/src (ES modules) bundled by esbuild into js/dist/widget.js, which the
wheel ships so users need no Node.js. Checks that the shipped bundle is the build of the sources,
that the sources share nothing through globals, and that per-model work (store, acks) runs
once per model in node, without a DOM."""

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parent.parent / "js"
BUNDLE = JS / "dist" / "widget.js"
SOURCES = sorted((JS / "src").glob("*.js"))


def build_command(outfile: Path) -> list[str]:
    """package.json's build script, the one source of truth for the options, writing to ``outfile``."""
    argv = shlex.split(json.loads((JS / "package.json").read_text())["scripts"]["build"])
    assert argv[0] == "esbuild" and any(a.startswith("--outfile=") for a in argv), argv
    return [str(JS / "node_modules" / ".bin" / "esbuild"),
            *(f"--outfile={outfile}" if a.startswith("--outfile=") else a for a in argv[1:])]  # fmt: skip


def test_shipped_bundle_is_the_build_of_the_sources(tmp_path):
    if not (JS / "node_modules" / ".bin" / "esbuild").exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed, so the pinned esbuild cannot be installed to rebuild js/dist")
        subprocess.run(["npm", "ci", "--prefix", str(JS)], check=True, capture_output=True)
    out = tmp_path / "widget.js"
    # cwd=js as under `npm run build`: esbuild names each module's path relative to it in the bundle.
    subprocess.run(build_command(out), cwd=JS, check=True)
    assert out.read_bytes() == BUNDLE.read_bytes(), "js/dist/widget.js is stale: run `npm run build --prefix js`"


def code_of(source: str) -> str:
    """The source without comments and plain string literals, so names in prose don't count."""
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    source = re.sub(r"(^|\s)//.*", r"\1", source, flags=re.M)
    return re.sub(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'", '""', source)


def imports_of(code: str) -> dict[str, str]:
    """``{name: module file}`` for each ``import { a, b } from "./x.js"``."""
    found = {}
    for names, module in re.findall(r"import\s*\{([^}]*)\}\s*from\s*\"(\./[\w.]+)\"", code):
        found.update((n.strip(), module[2:]) for n in names.split(",") if n.strip())
    return found


def test_sources_share_names_only_through_imports():
    raw = {path.name: path.read_text() for path in SOURCES}
    # esm modules: the literals were blanked out by code_of, so read the module paths first.
    imports = {name: imports_of(re.sub(r"(^|\s)//.*", r"\1", text, flags=re.M)) for name, text in raw.items()}
    code = {name: code_of(text) for name, text in raw.items()}
    exported = {name: set(re.findall(r"export\s+(?:function|class|const|let)\s+(\w+)", c)) for name, c in code.items()}
    shared = set().union(*exported.values())
    assert {"h", "svgNode", "sparkline", "FrameStore", "Filmstrip", "controls", "layout"} <= shared
    for name, text in code.items():
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("import"))
        declared = set(re.findall(r"(?:function|class|const|let|var)\s+(\w+)", body))
        for ident in sorted(shared - declared):
            if re.search(rf"(?<![\w.$]){ident}(?![\w$:])", body):
                assert ident in imports[name], f"js/src/{name} uses {ident} without importing it"
        for ident, module in imports[name].items():
            assert module in exported, f"js/src/{name} imports {ident} from missing ./{module}"
            assert ident in exported[module], f"js/src/{name} imports {ident}, which ./{module} does not export"
    assert "window." not in code["model.js"] and "document" not in code["model.js"], "initialize must run without a DOM"


NODE_SMOKE = """
const { default: widget } = await import(process.env.BUNDLE_URL);
const handlers = new Map(), sent = [];
const attrs = { run_id: 3, runs: [] };
const model = {
  get: (key) => attrs[key],
  send: (msg) => sent.push(msg),
  on: (name, fn) => (handlers.get(name) ?? handlers.set(name, new Set()).get(name)).add(fn),
  off: (name, fn) => handlers.get(name)?.delete(fn),
};
const deliver = (msg, buffers) => [...(handlers.get("msg:custom") ?? [])].forEach((fn) => fn(msg, buffers));
const meta = (run, step) => ({ run, step, total: 2, guidance: 7.5, cfg: true, duration: 0.01, t: null });
const cleanup = widget.initialize({ model });
deliver({ type: "frames", frames: [meta(3, 0)] }, [new Uint8Array([137, 80])]);
deliver({ type: "frames", frames: [meta(3, 1)] }, [new Uint8Array([137, 80])]);
deliver({ type: "history", run: -1, frames: [meta(-1, 0)] }, [new Uint8Array([137, 80])]);
const before = handlers.get("msg:custom").size;
cleanup();
deliver({ type: "frames", frames: [meta(3, 2)] }, [new Uint8Array([137, 80])]);
console.log(JSON.stringify({ sent, before, after: handlers.get("msg:custom").size }));
"""


def test_initialize_acks_each_frames_message_once_without_a_dom():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    env = {"BUNDLE_URL": BUNDLE.as_uri(), "PATH": str(Path(node).parent)}
    done = subprocess.run([node, "--input-type=module", "-e", NODE_SMOKE], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["before"] == 1 and result["after"] == 0, "initialize adds one handler and its cleanup removes it"
    acks = [msg for msg in result["sent"] if msg["type"] == "ack"]
    assert acks == [{"type": "ack", "run": 3}] * 2, result["sent"]
    # A page opened mid-run asks for the steps it missed, once; history replies are not acked.
    assert [msg["type"] for msg in result["sent"]] == ["sync", "ack", "ack"], result["sent"]
