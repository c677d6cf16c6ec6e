#!/usr/bin/env python3
"""House figures: how big each crate is and how its modules lean on each other.

For every crate directory (crates/*, src-tauri, xtask) it prints
  * the non-test Rust lines under src/ (physical lines of .rs files, without
    `#[cfg(test)]` items such as `mod tests { ... }` and without files that are
    only reachable through `#[cfg(test)] mod x;`) and their share of the total;
  * the files over 400 lines (whole file), flagged when their first 5 lines
    give a reason ("reason" or "long because");
  * the module import graph: for each file under src/, the sibling top-level
    modules it reaches through `crate::<module>` paths (including
    `use crate::{a, b::c}` groups, and `super::<module>` in top-level files),
    and the import cycles (strongly connected components of more than one
    module).

A report, not a test: standard library only, always exits 0.
Usage: python3 scripts/house-figures.py [workspace-root]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LONG_FILE = 400
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def blank_non_code(text: str) -> str:
    """`text` with comments, string and char literals replaced by spaces
    (newlines kept), so braces and paths can be scanned safely."""
    out = []
    i, n = 0, len(text)

    def blank(s: str) -> str:
        return "".join(c if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif (m := re.compile(r'b?r(#*)"').match(text, i)) and (
            i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")
        ):
            close = '"' + m.group(1)
            j = text.find(close, m.end())
            j = n if j < 0 else j + len(close)
            out.append(blank(text[i:j]))
            i = j
        elif c == '"' or (c == "b" and text.startswith('b"', i)):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(blank(text[i:j]))
            i = j
        elif c == "'":
            # A char literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            m = re.compile(r"'(\\(u\{[0-9A-Fa-f]+\}|x[0-9A-Fa-f]{2}|.)|[^\\'])'").match(
                text, i
            )
            if m:
                out.append(blank(m.group(0)))
                i = m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching_brace(code: str, start: int) -> int:
    """Index just past the brace that closes the `{` at `start`."""
    depth = 0
    for j in range(start, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            depth -= 1
            if depth == 0:
                return j + 1
    return len(code)


CFG_TEST = re.compile(r"#\[cfg\(test\)\]")
ATTRIBUTE = re.compile(r"\s*#\[[^\]]*\]")
OUTLINE_MOD = re.compile(r"\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;")


def test_items(code: str) -> tuple[list[tuple[int, int]], list[str]]:
    """The `#[cfg(test)]` items in blanked `code`: their (start, end) offsets,
    and the names of test-only modules declared as `mod name;`."""
    spans, outline = [], []
    for m in CFG_TEST.finditer(code):
        if spans and m.start() < spans[-1][1]:
            continue  # inside a test item already left out
        j = m.end()
        while a := ATTRIBUTE.match(code, j):
            j = a.end()
        if o := OUTLINE_MOD.match(code, j):
            outline.append(o.group(1))
            spans.append((m.start(), o.end()))
            continue
        semi, brace = code.find(";", j), code.find("{", j)
        if brace >= 0 and (semi < 0 or brace < semi):
            spans.append((m.start(), matching_brace(code, brace)))
        elif semi >= 0:
            spans.append((m.start(), semi + 1))
    return spans, outline


def without_spans(code: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        code = code[:start] + "".join(c for c in code[start:end] if c == "\n") + code[end:]
    return code


def lines_in(code: str, spans: list[tuple[int, int]]) -> int:
    """Physical lines of `code` not wholly inside one of `spans`."""
    total = code.count("\n") + (0 if code.endswith("\n") or not code else 1)
    removed = 0
    for start, end in spans:
        first = code.rfind("\n", 0, start) + 1  # the line the item starts on
        if code[first:start].strip():  # something else on that line: keep it
            first = code.find("\n", start) + 1
        last_nl = code.find("\n", end)
        last_nl = len(code) if last_nl < 0 else last_nl
        if code[end:last_nl].strip():  # something after it on the last line
            last_nl = code.rfind("\n", 0, end)
        if last_nl > first:
            removed += code.count("\n", first, last_nl) + 1
    return max(total - removed, 0)


def crate_dirs(root: Path) -> list[Path]:
    dirs = sorted(p for p in (root / "crates").glob("*") if (p / "Cargo.toml").is_file())
    dirs += [root / d for d in ("src-tauri", "xtask") if (root / d / "Cargo.toml").is_file()]
    return dirs


def module_of(rel: Path) -> str:
    """The top-level module a file under src/ belongs to ("crate" for roots)."""
    parts = rel.parts
    if parts[0] == "bin":  # src/bin/x.rs or src/bin/x/main.rs is a root
        parts = parts[2:] if len(parts) > 2 else ()
        if not parts or parts == ("main.rs",):
            return "crate"
        rel = Path(*parts)
    if len(parts) == 1:
        stem = rel.stem
        return "crate" if stem in ("lib", "main") else stem
    return parts[0]


def crate_root_of(rel: Path, has_lib: bool) -> str:
    """Which crate inside the package a file belongs to: the library, the
    main binary, or a src/bin/ binary."""
    if rel.parts[0] == "bin":
        return "bin/" + (rel.parts[1] if len(rel.parts) > 2 else rel.stem)
    if rel == Path("main.rs") and has_lib:
        return "main.rs"
    return "lib.rs" if has_lib else "main.rs"


USE_GROUP = re.compile(r"\b(crate|super)\s*::\s*\{")
CRATE_PATH = re.compile(r"\bcrate\s*::\s*([A-Za-z_][A-Za-z0-9_]*)")
SUPER_PATH = re.compile(r"\bsuper\s*::\s*([A-Za-z_][A-Za-z0-9_]*)")


def referenced_names(code: str, top_level_file: bool) -> set[str]:
    """First path segments after `crate::` (and `super::` in top-level files)."""
    names = set(CRATE_PATH.findall(code))
    for m in USE_GROUP.finditer(code):
        if m.group(1) == "super" and not top_level_file:
            continue
        body = code[m.end() - 1 : matching_brace(code, m.end() - 1)][1:-1]
        depth, item = 0, []
        for c in body + ",":
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            if c == "," and depth == 0:
                if ident := IDENT.match("".join(item).strip()):
                    names.add(ident.group(0))
                item = []
            else:
                item.append(c)
    if top_level_file:
        names |= set(SUPER_PATH.findall(code))
    return names


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


class Crate:
    def __init__(self, root: Path, directory: Path):
        self.name = directory.relative_to(root).as_posix()
        self.src = directory / "src"
        self.lines = 0
        self.long_files: list[tuple[str, int, int, bool]] = []
        # crate root (lib.rs / main.rs / bin/x) -> file -> imported modules
        self.imports: dict[str, dict[str, set[str]]] = {}
        self.test_files: list[str] = []
        self.scan()

    def scan(self) -> None:
        if not self.src.is_dir():
            return
        files = sorted(
            p
            for p in self.src.rglob("*.rs")
            if not {"tests", "benches"} & set(p.relative_to(self.src).parts[:-1])
        )
        has_lib = (self.src / "lib.rs").is_file()
        parsed = {}
        test_only: set[Path] = set()
        for path in files:
            text = path.read_text(encoding="utf-8", errors="replace")
            code = blank_non_code(text)
            spans, outline = test_items(code)
            parsed[path] = (text, code, spans)
            # `#[cfg(test)] mod x;` in a.rs / a/mod.rs / lib.rs lives in a/x.rs or a/x/mod.rs.
            rel = path.relative_to(self.src)
            if path.name in ("lib.rs", "main.rs", "mod.rs"):
                base = path.parent
            else:
                base = path.with_suffix("")
            for name in outline:
                test_only |= {base / f"{name}.rs", base / name / "mod.rs"}
        # Everything under a test-only module directory is test-only too.
        test_dirs = {p.parent for p in test_only if p.name == "mod.rs"} | {
            p.with_suffix("") for p in test_only
        }
        modules_by_root: dict[str, set[str]] = {}
        for path in files:
            rel = path.relative_to(self.src)
            if path in test_only or any(d in path.parents for d in test_dirs):
                self.test_files.append(rel.as_posix())
                continue
            text, code, spans = parsed[path]
            lines = lines_in(text, spans)
            self.lines += lines
            total = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
            if total > LONG_FILE:
                head = "\n".join(text.splitlines()[:5]).lower()
                reasoned = "reason" in head or "long because" in head
                self.long_files.append((rel.as_posix(), total, lines, reasoned))
            crate_root = crate_root_of(rel, has_lib)
            modules_by_root.setdefault(crate_root, set()).add(module_of(rel))
            top_level = len(rel.parts) == 1 or rel.parts[0] == "bin" and len(rel.parts) == 2
            names = referenced_names(without_spans(code, spans), top_level)
            self.imports.setdefault(crate_root, {})[rel.as_posix()] = names
        # Keep only names that are sibling top-level modules of the same crate,
        # not the file's own module.
        for crate_root, by_file in self.imports.items():
            modules = modules_by_root.get(crate_root, set()) - {"crate"}
            for file, names in by_file.items():
                own = module_of(Path(file))
                by_file[file] = {n for n in names if n in modules and n != own}

    def graph(self, crate_root: str) -> dict[str, set[str]]:
        edges: dict[str, set[str]] = {}
        for file, names in self.imports.get(crate_root, {}).items():
            edges.setdefault(module_of(Path(file)), set()).update(names)
        return edges


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    crates = [Crate(root, d) for d in crate_dirs(root)]
    total = sum(c.lines for c in crates) or 1

    print(f"House figures for {root}")
    print("non-test Rust lines under src/ (physical lines, #[cfg(test)] items and test-only files left out)")
    print()
    width = max((len(c.name) for c in crates), default=10)
    print(f"  {'crate':<{width}}  {'lines':>7}  {'share':>6}")
    for c in sorted(crates, key=lambda c: -c.lines):
        print(f"  {c.name:<{width}}  {c.lines:>7}  {100 * c.lines / total:>5.1f}%")
    print(f"  {'total':<{width}}  {total:>7}  100.0%")
    print()

    print(f"files over {LONG_FILE} lines (whole file; non-test lines in brackets; "
          "'reason' = first 5 lines say why it is long)")
    any_long = False
    for c in crates:
        for file, lines, non_test, reasoned in sorted(c.long_files, key=lambda f: -f[1]):
            any_long = True
            flag = "reason given" if reasoned else "NO REASON in first 5 lines"
            print(f"  {c.name}/src/{file}: {lines} ({non_test})  {flag}")
    if not any_long:
        print("  none")
    print()

    print("module imports inside each crate (crate::<module> paths; cycles = SCCs of >1 module)")
    all_cycles = []
    for c in crates:
        print(f"  {c.name}")
        if c.test_files:
            print(f"    test-only files left out: {', '.join(c.test_files)}")
        for crate_root in sorted(c.imports):
            by_file = c.imports[crate_root]
            if len(c.imports) > 1:
                print(f"    [{crate_root}]")
            for file in sorted(by_file):
                names = by_file[file]
                print(f"    {file}: {', '.join(sorted(names)) if names else '-'}")
            found = cycles(c.graph(crate_root))
            for component in found:
                all_cycles.append((c.name, crate_root, component))
                print(f"    CYCLE: {' <-> '.join(component)}")
        if not any(cycles(c.graph(r)) for r in c.imports):
            print("    no import cycles")
    print()
    print(f"import cycles in the workspace: {len(all_cycles)}")
    for name, crate_root, component in all_cycles:
        print(f"  {name} [{crate_root}]: {' <-> '.join(component)}")
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # a report never fails the caller
        print(f"house-figures: {error!r}", file=sys.stderr)
    sys.exit(0)
