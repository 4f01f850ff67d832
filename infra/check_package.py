#!/usr/bin/env python3
"""Checks the Lambda zips `make package` built, as infra/template.yaml deploys them.

For every function in the template: its CodeUri names a zip that exists; the zip holds exactly one entry,
`bootstrap`, executable; that entry is a 64-bit little-endian ELF for AArch64 (the template's
`Architectures: [arm64]`, runtime provided.al2023); and it is at most 12 MB (the size target in
docs/benchmarks.md). Prints one line per zip; exits 1 naming every zip that breaks a rule.

Usage: check_package.py [TEMPLATE]   (default: infra/template.yaml beside this file)
"""

import pathlib
import re
import stat
import sys
import zipfile

MAX_BYTES = 12_000_000
ELF_MAGIC = b"\x7fELF"
ELFCLASS64 = 2
ELFDATA2LSB = 1
EM_AARCH64 = 183
ET_EXEC, ET_DYN = 2, 3


def problems_of(path: pathlib.Path) -> tuple[list[str], str]:
    """The rules the zip at `path` breaks, and a summary of what it holds."""
    if not path.is_file():
        return [f"{path} does not exist (run `make package`)"], ""
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
        names = [e.filename for e in entries]
        if names != ["bootstrap"]:
            return [f"{path} must hold exactly one entry, bootstrap; it holds {names}"], ""
        entry = entries[0]
        body = archive.read(entry)
    problems = []
    mode = entry.external_attr >> 16
    if not mode & stat.S_IXUSR:
        problems.append(f"{path}: bootstrap is not executable (mode {oct(mode)})")
    header = body[:20]
    if header[:4] != ELF_MAGIC:
        problems.append(f"{path}: bootstrap is not an ELF file")
    else:
        if header[4] != ELFCLASS64 or header[5] != ELFDATA2LSB:
            problems.append(f"{path}: bootstrap is not a 64-bit little-endian ELF")
        machine = int.from_bytes(header[18:20], "little")
        if machine != EM_AARCH64:
            problems.append(f"{path}: bootstrap is built for ELF machine {machine}, not AArch64 ({EM_AARCH64})")
        kind = int.from_bytes(header[16:18], "little")
        if kind not in (ET_EXEC, ET_DYN):
            problems.append(f"{path}: bootstrap is not an executable (ELF type {kind})")
    if len(body) > MAX_BYTES:
        problems.append(f"{path}: bootstrap is {len(body) / 1e6:.2f} MB, above {MAX_BYTES / 1e6:.0f} MB")
    summary = f"{len(body) / 1e6:.2f} MB bootstrap, zip {path.stat().st_size / 1e6:.2f} MB"
    return problems, summary


def main() -> int:
    template = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).with_name("template.yaml")
    uris = re.findall(r"^\s*CodeUri:\s*(\S+)\s*$", template.read_text(), re.MULTILINE)
    if not uris:
        print(f"{template}: no CodeUri found", file=sys.stderr)
        return 1
    failed = []
    for uri in uris:
        path = (template.parent / uri).resolve()
        problems, summary = problems_of(path)
        if problems:
            failed.extend(problems)
            print(f"FAIL {uri}", file=sys.stderr)
        else:
            print(f"ok   {uri}: {summary}")
    for problem in failed:
        print(problem, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
