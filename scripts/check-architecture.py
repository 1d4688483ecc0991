#!/usr/bin/env python3
"""Checks the layering ARCHITECTURE.md describes; exits 1 on a violation.

1. Crates depend downward only: each workspace crate's normal dependencies on other workspace
   crates are within what ARCHITECTURE.md's layer diagram allows, and the testkit is never a
   normal dependency.
2. No import cycle between the files of a crate: a file's imports (`use crate::…`,
   `use super::…`, `use self::…` and inline `crate::…` paths) are resolved to the file that
   defines the item, following re-exports, and the graph of files must be acyclic.

    python3 scripts/check-architecture.py
"""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Which workspace crates each crate may depend on (normal dependencies).
ALLOWED = {
    "envcrypt": set(),
    "envcrypt-aws": {"envcrypt"},
    "envcrypt-pkcs11": {"envcrypt"},
    "envcrypt-conformance": {"envcrypt"},
    "envcrypt-s3": {"envcrypt", "envcrypt-aws"},
    "envcrypt-server": {"envcrypt", "envcrypt-pkcs11"},
    "envcrypt-testkit": {"envcrypt", "envcrypt-aws", "envcrypt-s3"},
    "envcrypt-cli": {
        "envcrypt",
        "envcrypt-aws",
        "envcrypt-pkcs11",
        "envcrypt-s3",
        "envcrypt-conformance",
        "envcrypt-server",
    },
}


def check_crates():
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    packages = json.loads(out)["packages"]
    members = {p["name"] for p in packages}
    problems = []
    for package in packages:
        name = package["name"]
        if name not in ALLOWED:
            problems.append(f"{name}: not in scripts/check-architecture.py's layer table (ARCHITECTURE.md)")
            continue
        for dep in package["dependencies"]:
            if dep["name"] not in members or dep["kind"] == "dev":
                continue
            if dep["name"] not in ALLOWED[name]:
                problems.append(f"{name} depends on {dep['name']}, which is not below it")
    return problems, packages


ITEM = re.compile(
    r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:unsafe\s+)?(?:async\s+)?"
    r"(?:fn|struct|enum|trait|type|const|static|mod|union|macro_rules!)\s+([A-Za-z_][A-Za-z0-9_]*)"
)
USE = re.compile(r"^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", re.M | re.S)
INLINE = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def module_files(src):
    """Module path (tuple) -> file, for one crate's source directory."""
    files = {}
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] in ("lib", "main") and len(parts) == 1:
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        files[tuple(parts)] = path
    return files


def strip_comments(text):
    # Unit tests sit at the end of a file, in `mod tests`, whose `super` is the file itself.
    text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return "\n".join(line.split("//")[0] if "//" in line and '"' not in line else line for line in text.splitlines())


def expand(tree):
    """`a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]]."""
    tree = re.sub(r"\s+as\s+", "=>", tree)
    tree = re.sub(r"\s+", "", tree)
    if "{" not in tree:
        return [tree.split("::")]
    head, rest = tree.split("{", 1)
    inner = rest[: rest.rfind("}")]
    items, depth, start = [], 0, 0
    for i, c in enumerate(inner):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            items.append(inner[start:i])
            start = i + 1
    items.append(inner[start:])
    prefix = [p for p in head.split("::") if p]
    return [prefix + sub for item in items if item for sub in expand(item)]


class Crate:
    def __init__(self, src):
        self.files = module_files(src)
        self.texts = {m: strip_comments(p.read_text()) for m, p in self.files.items()}
        self.defined = {m: self.items(t) for m, t in self.texts.items()}
        self.imports = {m: self.uses(m, t) for m, t in self.texts.items()}

    @staticmethod
    def items(text):
        return {m.group(1) for line in text.splitlines() if (m := ITEM.match(line))}

    def absolute(self, module, path):
        """A path as written in `module` -> an absolute module path plus item names, or None
        for a path into another crate."""
        if not path:
            return None
        head, rest = path[0], list(path[1:])
        if head == "crate":
            return rest
        if head == "self":
            return list(module) + rest
        if head == "super":
            base = list(module)
            while head == "super":
                if not base:
                    return None
                base = base[:-1]
                if not rest:
                    return base
                head, rest = rest[0], rest[1:]
            return base + [head] + rest
        # A bare path: a child module or an item of this module (uniform paths), else a crate.
        if tuple(module) + (head,) in self.files or head in self.defined.get(tuple(module), set()):
            return list(module) + [head] + rest
        return None

    def uses(self, module, text):
        """(name -> absolute path) for every `use` of `module`."""
        table = {}
        for match in USE.finditer(text):
            for path in expand(match.group(2)):
                name, _, alias = path[-1].partition("=>")
                full = self.absolute(module, path[:-1] + [name])
                if full is not None and name not in ("*", "self"):
                    table[alias or name] = (full, bool(match.group(1)))
        return table

    def resolve(self, path, seen=()):
        """The file-module that defines what an absolute path names."""
        path = [p for p in path if p not in ("self", "*")]
        for cut in range(len(path), -1, -1):
            module = tuple(path[:cut])
            if module in self.files:
                rest = path[cut:]
                if not rest:
                    return module
                name = rest[0]
                if name in self.defined[module]:
                    return module
                if name in self.imports[module] and (module, name) not in seen:
                    target, _ = self.imports[module][name]
                    return self.resolve(list(target) + rest[1:], seen + ((module, name),))
                return module
        return None

    def edges(self):
        graph = {m: set() for m in self.files}
        for module, text in self.texts.items():
            targets = []
            for match in USE.finditer(text):
                if match.group(1):  # a re-export is a facade, not a dependency of this file
                    continue
                for path in expand(match.group(2)):
                    full = self.absolute(module, path[:-1] + [path[-1].partition("=>")[0]])
                    if full is not None:
                        targets.append(full)
            for match in INLINE.finditer(text):
                full = self.absolute(module, [match.group(1)] + match.group(2).split("::")[1:])
                if full is not None:
                    targets.append(full)
            # Paths through a child module without `self::` (`decrypt::read_header(…)`).
            children = [m[-1] for m in self.files if len(m) == len(module) + 1 and m[: len(module)] == module]
            body = USE.sub("", text)
            for child in children:
                for match in re.finditer(rf"(?<![:\w]){child}((?:::[A-Za-z_][A-Za-z0-9_]*)+)", body):
                    targets.append(list(module) + [child] + match.group(1).split("::")[1:])
            for full in targets:
                target = self.resolve(full)
                if target is not None and target != module:
                    graph[module].add(target)
        return graph


def cycles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(component)

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def main():
    problems, packages = check_crates()
    for package in packages:
        for target in package["targets"]:
            if not set(target["kind"]) & {"lib", "bin"}:
                continue
            src = Path(target["src_path"]).parent
            crate = Crate(src)
            graph = crate.edges()
            for component in cycles(graph):
                names = []
                for module in sorted(component):
                    deps = sorted("::".join(t) or "crate" for t in graph[module] if t in component)
                    names.append(f"{crate.files[module].relative_to(ROOT)} -> {', '.join(deps)}")
                problems.append(f"{package['name']} ({target['name']}): import cycle:\n    " + "\n    ".join(names))
    for problem in problems:
        print(f"check-architecture: {problem}")
    if problems:
        return 1
    print(f"check-architecture: {len(packages)} crates layered, no import cycle between files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
