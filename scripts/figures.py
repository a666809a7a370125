#!/usr/bin/env python3
"""Re-measure every figure block in the README and the DocC articles, so that no stale figure survives.

A figure block is the output of one command, between two HTML comments:

    <!-- figure: gillab run --workload gemm --size 512 --threads 1,2 -->
    ...regenerated...
    <!-- /figure -->

`figure:` blocks get the output as a text code block, with the command on its first line;
`figure markdown:` blocks get it as is, under the command (for commands that print Markdown,
`--format markdown`).
Below the output goes one line naming the date and the machine. The command runs in bash from
the repository root, with the release build of gillab first on PATH (`make figures` builds it).
The same command in several blocks runs once, so its blocks agree.

    scripts/figures.py                     every block in README.md and Sources/GILLab/GILLab.docc/*.md
    scripts/figures.py README.md           the blocks of one file
    scripts/figures.py --only=TEXT         only the blocks whose command contains TEXT (a new figure)
    scripts/figures.py --list              the blocks and their commands; runs nothing
    scripts/figures.py --check             exit 1 if a block is malformed or has no date line; runs nothing

These are measurements: run them on a quiet machine, with no build or benchmark beside them.
A command that fails leaves its block as it was, and the script exits 1 at the end.
"""
import datetime
import glob
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = re.compile(r"<!-- figure(?P<markdown> markdown)?: (?P<command>.+?) -->\n(?P<body>.*?)<!-- /figure -->", re.S)
OPEN = re.compile(r"<!-- figure( markdown)?: ")
DATE_LINE = re.compile(r"^_Measured \d{4}-\d{2}-\d{2} on .+_$", re.M)


def default_files():
    return [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "Sources/GILLab/GILLab.docc/*.md")))


def blocks(text):
    return list(BLOCK.finditer(text))


def check(files):
    """Every opening marker has its closing one, and every block carries a date line."""
    problems = []
    for path in files:
        text = open(path, encoding="utf-8").read()
        found = blocks(text)
        if len(OPEN.findall(text)) != len(found):
            problems.append(f"{os.path.relpath(path, ROOT)}: {len(OPEN.findall(text))} opening markers, {len(found)} whole blocks")
        for match in found:
            line = text.count("\n", 0, match.start()) + 1
            if not DATE_LINE.search(match.group("body")):
                problems.append(f"{os.path.relpath(path, ROOT)}:{line}: `{match.group('command')}` has no date line; run make figures")
    return problems


def run(command, binary_dir):
    env = dict(os.environ, PATH=binary_dir + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def machine(binary_dir, wants_python):
    """One line: cores, CPU, OS, OpenBLAS, Swift (and CPython, where the command ran it)."""
    info = {}
    out = run("gillab info", binary_dir).stdout
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        info[key.strip()] = value.strip()
    os_name = "Linux"
    try:
        fields = dict(l.rstrip("\n").split("=", 1) for l in open("/etc/os-release") if "=" in l)
        os_name = fields.get("PRETTY_NAME", os_name).strip('"')
    except OSError:
        pass
    hypervisor = " (virtual machine)" if "hypervisor" in open("/proc/cpuinfo").read() else ""
    blas = info.get("openblas_config", "OpenBLAS").split()
    blas_version = " ".join(blas[:2]) if blas else "OpenBLAS"
    swift = subprocess.run(["swift", "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    swift = re.search(r"Swift version (\S+)", swift)
    parts = [f"{info.get('cores', '?')} cores, {info.get('cpu', '?')}{hypervisor}", os_name,
             f"{blas_version} {info.get('openblas_corename', '?')} kernels (OPENBLAS_CORETYPE {info.get('OPENBLAS_CORETYPE', '?')})",
             f"Swift {swift.group(1) if swift else '?'}"]
    if wants_python:
        python = subprocess.run(["python3", "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout.strip()
        parts.append(python.replace("Python", "CPython"))
    return ", ".join(parts)


def render(match, output, line):
    if match.group("markdown"):
        # The marker is invisible once rendered; the command is shown above the table.
        body = "`$ " + match.group("command") + "`\n\n" + output.rstrip("\n") + "\n\n"
    else:
        body = "```text\n$ " + match.group("command") + "\n" + output.rstrip("\n") + "\n```\n\n"
    return f"<!-- figure{match.group('markdown') or ''}: {match.group('command')} -->\n" + body + line + "\n<!-- /figure -->"


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    only = [a[len("--only="):] for a in argv if a.startswith("--only=")]
    flags = {a for a in argv if a.startswith("--") and not a.startswith("--only=")}
    unknown = flags - {"--list", "--check"}
    if unknown:
        sys.exit(f"figures.py: unknown option {sorted(unknown)[0]}; expected --list, --check or --only=TEXT")
    if any(not text for text in only):
        sys.exit("figures.py: --only= needs the text a command must contain")
    files = [os.path.abspath(a) for a in args] or default_files()
    for path in files:
        if not os.path.isfile(path):
            sys.exit(f"figures.py: no such file: {path}")
    if "--check" in flags:
        problems = check(files)
        for p in problems:
            print(p, file=sys.stderr)
        print(f"figures.py: {sum(len(blocks(open(p, encoding='utf-8').read())) for p in files)} figure blocks, "
              f"{len(problems)} problems", file=sys.stderr)
        return 1 if problems else 0
    if "--list" in flags:
        for path in files:
            for match in blocks(open(path, encoding="utf-8").read()):
                print(f"{os.path.relpath(path, ROOT)}: {match.group('command')}")
        return 0

    binary_dir = os.path.join(ROOT, ".build", "release")
    if not os.path.exists(os.path.join(binary_dir, "gillab")):
        sys.exit("figures.py: no release build; run `swift build -c release --product gillab` (make figures does)")
    commands = [m.group("command") for p in files for m in blocks(open(p, encoding="utf-8").read())
                if not only or any(text in m.group("command") for text in only)]
    outputs, failed = {}, []
    for index, command in enumerate(dict.fromkeys(commands), 1):
        start = time.monotonic()
        print(f"figures: [{index}/{len(set(commands))}] {command}", file=sys.stderr, flush=True)
        result = run(command, binary_dir)
        if result.returncode != 0:
            failed.append(command)
            print(f"figures: failed (exit {result.returncode}): {result.stderr.strip().splitlines()[-1:] or ''}", file=sys.stderr)
            continue
        today = datetime.date.today().isoformat()
        wants_python = "compare-cpython" in command or "python" in command
        line = f"_Measured {today} on {machine(binary_dir, wants_python)}; `make figures` re-runs it._"
        outputs[command] = (result.stdout, line)
        print(f"figures: {time.monotonic() - start:.1f} s", file=sys.stderr)
    for path in files:
        text = open(path, encoding="utf-8").read()
        def replace(match):
            got = outputs.get(match.group("command"))
            return render(match, *got) if got else match.group(0)
        new = BLOCK.sub(replace, text)
        if new != text:
            # A whole file or none: written beside, then renamed over.
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                f.write(new)
            os.replace(path + ".tmp", path)
            print(f"figures: rewrote {os.path.relpath(path, ROOT)}", file=sys.stderr)
    if failed:
        print(f"figures: {len(failed)} commands failed; their blocks are unchanged: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
