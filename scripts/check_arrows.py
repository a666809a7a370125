#!/usr/bin/env python3
"""The arrows of the house (../shared/DESIGN.md section 2), checked where the compiler cannot.

The compiler enforces the arrows between modules: GILLabLock imports only CShims, so a
wrong-way use does not build. Inside the lab (Sources/GILLab) the folders form a chain, each
using only the folders listed before it:

    Support → Workloads → Modes → Multiprocessing → Runner → Scenarios → Analysis → Report

One module cannot stop a file in Modes from naming a type declared in Scenarios, so this script
does: it collects the names each folder declares (types at any depth, and top-level functions,
constants and variables), strips comments and string literals from every file, and reports each
use of a name declared only in a folder listed after the file's own. It also checks that the
three modules readers study import only what their arrows allow, and that GILLabLock names no
type of the other modules and no C kernel symbol, not even in a comment.

Exit status: 0 when every arrow points the right way, 1 otherwise (one line per wrong use).
Run by `make test`; `python3 scripts/check_arrows.py` from the repository root.
"""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(ROOT, "Sources", "GILLab")
FOLDERS = ["Support", "Workloads", "Modes", "Multiprocessing", "Runner", "Scenarios", "Analysis", "Report"]

# Which of our modules each module may import.
OUR_MODULES = {"CKernels", "CShims", "GILLabLock", "GILLabInterpreter", "GILLabKernels", "GILLab"}
ALLOWED_IMPORTS = {
    "GILLabLock": {"CShims"},
    "GILLabInterpreter": {"GILLabLock", "CShims"},
    "GILLabKernels": {"GILLabLock", "CKernels"},
    "GILLab": {"GILLabLock", "GILLabInterpreter", "GILLabKernels", "CKernels"},
}

TYPE_DECL = re.compile(r"\b(?:class|struct|enum|protocol|actor|typealias)\s+([A-Za-z_]\w*)")
TOP_DECL = re.compile(
    r"^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private|nonisolated\(unsafe\)|final)\s+)*"
    r"(?:func|let|var)\s+([A-Za-z_]\w*)", re.M)
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def strip(source):
    """The source without comments and string literals (contents only; interpolations go too)."""
    source = re.sub(r'"""[\s\S]*?"""', '""', source)
    source = re.sub(r"/\*[\s\S]*?\*/", " ", source)
    source = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', source)
    return re.sub(r"//[^\n]*", " ", source)


def swift_files(folder):
    for directory, _, names in os.walk(folder):
        for name in sorted(names):
            if name.endswith(".swift"):
                yield os.path.join(directory, name)


def declared(path):
    text = strip(open(path, encoding="utf-8").read())
    return set(TYPE_DECL.findall(text)) | set(TOP_DECL.findall(text))


def check_lab():
    names = {folder: set() for folder in FOLDERS}
    files = {folder: list(swift_files(os.path.join(LAB, folder))) for folder in FOLDERS}
    for folder in FOLDERS:
        for path in files[folder]:
            names[folder] |= declared(path)
    problems = []
    for rank, folder in enumerate(FOLDERS):
        allowed = set().union(*(names[f] for f in FOLDERS[: rank + 1]))
        later = {name: f for f in reversed(FOLDERS[rank + 1:]) for name in names[f] if name not in allowed}
        for path in files[folder]:
            text = strip(open(path, encoding="utf-8").read())
            seen = set()
            for number, line in enumerate(text.split("\n"), 1):
                for name in IDENTIFIER.findall(line):
                    if name in later and name not in seen:
                        seen.add(name)
                        problems.append(f"{os.path.relpath(path, ROOT)}:{number}: uses '{name}', declared in "
                                        f"{later[name]}/, which comes after {folder}/")
    stray = [p for p in swift_files(LAB) if os.path.dirname(p) != LAB
             and os.path.relpath(p, LAB).split(os.sep)[0] not in FOLDERS + ["GILLab.docc"]]
    problems += [f"{os.path.relpath(p, ROOT)}: not in one of the lab's folders ({', '.join(FOLDERS)})" for p in stray]
    return problems


def check_imports():
    problems = []
    for module, allowed in ALLOWED_IMPORTS.items():
        for path in swift_files(os.path.join(ROOT, "Sources", module)):
            for number, line in enumerate(open(path, encoding="utf-8"), 1):
                match = re.match(r"\s*(?:@_exported\s+|@testable\s+)?import\s+(\w+)", line)
                if match and match.group(1) in OUR_MODULES and match.group(1) not in allowed:
                    problems.append(f"{os.path.relpath(path, ROOT)}:{number}: {module} may not import {match.group(1)}")
    return problems


def check_lock_names():
    """GILLabLock names nothing of the other modules, not even in a comment: their types and
    top-level functions, and the C kernels' ck_ symbols."""
    others = set()
    for module in ["GILLabInterpreter", "GILLabKernels", "GILLab"]:
        for path in swift_files(os.path.join(ROOT, "Sources", module)):
            text = open(path, encoding="utf-8").read()
            # Top-level declarations only: nested names (Kind, Thread) are common words.
            others |= set(re.findall(r"^(?:public|package|open)\s+(?:final\s+)?(?:class|struct|enum|protocol|typealias)\s+(\w+)",
                                     text, re.M))
    problems = []
    for path in swift_files(os.path.join(ROOT, "Sources", "GILLabLock")):
        for number, line in enumerate(open(path, encoding="utf-8"), 1):
            names = set(IDENTIFIER.findall(line))
            bad = sorted((names & others) | {n for n in names if n.startswith("ck_") or n.startswith("CK_")})
            if bad:
                problems.append(f"{os.path.relpath(path, ROOT)}:{number}: names {', '.join(bad)} from another module")
    return problems


def main():
    problems = check_imports() + check_lock_names() + check_lab()
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_arrows: {len(problems)} wrong-way use(s); see ../shared/DESIGN.md section 2", file=sys.stderr)
        return 1
    print("check_arrows: every arrow points the right way")
    return 0


if __name__ == "__main__":
    sys.exit(main())
