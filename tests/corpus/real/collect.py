"""How tests/corpus/real was collected (run once by hand; kept to document each file's origin).

Sources were unpacked first (see README.md in each origin folder for versions and licences):
  pip download --no-deps --no-binary :all: icalendar==7.3.2 recurring-ical-events==3.8.2 \
      khal==0.14.1 python-dateutil==4.0.0 mail-parser==4.8.0 caldav==3.6.0  (tar xzf into SDISTS)
  npm pack ical.js@2.2.1 (unused: the npm tarball ships no samples; samples come from GitHub)
  GitHub snapshots (MIRRORS): mikel/mail, mailgun/flanker, kewisch/ical.js, py-vobject/vobject,
  markov2/perl5-Mail-Box, read with `git show HEAD:<path>`.
Files over 1 MB are skipped; names are kept, with a supported extension appended where needed.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent
SDISTS = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/cdl/x")
MIRRORS = Path(sys.argv[2] if len(sys.argv) > 2 else "/work/.mirror")
STDLIB = Path("/root/.pyenv/versions/3.11.7/lib/python3.11")
MAX_BYTES = 1 << 20
_seen: dict[str, Path] = {}


def put(data: bytes, dest: Path) -> None:
    if len(data) > MAX_BYTES:
        print("skip (too big)", dest)
        return
    # the loader skips bytes it has ingested under another name, so a copy would test nothing
    digest = hashlib.sha256(data).hexdigest()
    if digest in _seen:
        print("skip (same bytes as", _seen[digest], ")", dest)
        return
    _seen[digest] = dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)


def copy_tree(src: Path, origin: str, pattern: str, ext: str | None = None) -> None:
    for f in sorted(src.rglob(pattern)):
        if f.is_file():
            rel = f.relative_to(src)
            name = rel.name + ext if ext and not rel.name.endswith(ext) else rel.name
            put(f.read_bytes(), OUT / origin / rel.parent / name)


def copy_git(repo: str, origin: str, prefix: str, keep, ext: str | None = None) -> None:
    git = MIRRORS / repo.replace("/", "+") / "repo"
    names = subprocess.run(
        ["git", "--git-dir", str(git), "ls-tree", "-r", "--name-only", "HEAD", prefix or "."],
        check=True, capture_output=True, text=True,
    ).stdout.split("\n")
    for path in filter(None, names):
        if not keep(path):
            continue
        shown = subprocess.run(
            ["git", "--git-dir", str(git), "show", f"HEAD:{path}"], check=False,
            capture_output=True,
        )
        if shown.returncode:  # the snapshot lists its largest files without their bytes
            print("skip (absent from the snapshot)", path)
            continue
        data = shown.stdout
        rel = Path(path).relative_to(prefix or ".")
        name = rel.name + ext if ext and not rel.name.endswith(ext) else rel.name
        put(data, OUT / origin / rel.parent / name)


def main() -> None:
    copy_tree(STDLIB / "test/test_email/data", "cpython-test_email", "msg_*.txt", ".eml")
    copy_git("mikel/mail", "ruby-mail", "spec/fixtures/emails", lambda p: p.endswith(".eml"))
    copy_git("mailgun/flanker", "flanker", "tests/fixtures/messages",
             lambda p: p.endswith(".eml") or "/dkim/email." in p, ".eml")
    copy_git("markov2/perl5-Mail-Box", "perl-mail-box", "t/folders",
             lambda p: p.endswith(("mbox.src", "mbox.win")), ".mbox")
    copy_tree(SDISTS / "icalendar-7.3.2/src/icalendar/tests", "icalendar", "*.ics")
    copy_tree(SDISTS / "recurring_ical_events-3.8.2/recurring_ical_events/test/calendars",
              "recurring-ical-events", "*.ics")
    copy_tree(SDISTS / "khal-0.14.1/tests/ics", "khal", "*.ics")
    copy_tree(SDISTS / "python_dateutil-4.0.0/docs/samples", "python-dateutil", "*.ics")
    copy_git("kewisch/ical.js", "ical.js", "", lambda p: p.endswith(".ics")
             and p.startswith(("samples/", "test/parser/")))
    copy_git("py-vobject/vobject", "vobject", "test_files", lambda p: p.endswith(".ics"))
    for name in ("debian.csv", "ubuntu.csv"):
        put(Path("/usr/share/distro-info", name).read_bytes(), OUT / "distro-info-data" / name)
    for sdist, files in {
        "mail_parser-4.8.0": ["README.md"],
        "caldav-3.6.0": ["README.md", "CHANGELOG.md", "tests/README.md"],
        "recurring_ical_events-3.8.2": ["docs/changelog.md", "docs/reference/api.md",
                                        "docs/user-guide/index.md"],
        "icalevents-0.3.1": ["README.md"],
    }.items():
        origin = sdist.rsplit("-", 1)[0].replace("_", "-")
        for f in files:
            src = SDISTS / sdist / f
            if src.is_file():
                put(src.read_bytes(), OUT / origin / "docs" / f)
    write_readmes()


ORIGINS = {  # origin folder: (where from, licence, renames)
    "cpython-test_email": (
        "CPython 3.11.7, `Lib/test/test_email/data/msg_*.txt` (as installed by pyenv)",
        "PSF-2.0 (Python Software Foundation License)", "`msg_*.txt` renamed `msg_*.txt.eml`"),
    "ruby-mail": (
        ("GitHub mikel/mail (Ruby `mail` gem) at commit d645d7b5b7d03218b0bc8971ef041c991a63f5f7,"
        " `spec/fixtures/emails/**/*.eml`"), "MIT", "none (subfolders kept)"),
    "flanker": (
        ("GitHub mailgun/flanker at commit c7f70738dbb39eda2861b03917b63ec9fa828f5d, "
        "`tests/fixtures/messages/**/*.eml` and `tests/fixtures/messages/dkim/email.NN`"),
        "Apache-2.0", ("`dkim/email.NN` renamed `dkim/email.NN.eml`; skipped: `big.eml` (absent "
        "from the snapshot), `enclosed-endless.eml` and `torture.eml` (over 1 MB)")),
    "perl-mail-box": (
        ("GitHub markov2/perl5-Mail-Box (CPAN Mail::Box) at commit "
        "81668f69a5e941908c5cfce21a7388ec6a3c5619, `t/folders/mbox.src` (LF) and "
        "`t/folders/mbox.win` (CRLF)"),
        "Perl 5 licence (Artistic-1.0-Perl OR GPL-1.0-or-later)",
        "`mbox.src` and `mbox.win` renamed `mbox.src.mbox`, `mbox.win.mbox`"),
    "icalendar": (
        "PyPI sdist icalendar 7.3.2, `src/icalendar/tests/**/*.ics`", "BSD-2-Clause",
        "none (subfolders kept; several are fuzzer finds and deliberately broken calendars)"),
    "recurring-ical-events": (
        ("PyPI sdist recurring-ical-events 3.8.2, `recurring_ical_events/test/calendars/*.ics`; "
        "`docs/` holds `docs/changelog.md`, `docs/reference/api.md`, `docs/user-guide/index.md`"
        " of the same sdist"), "LGPL-3.0-or-later", "none"),
    "khal": ("PyPI sdist khal 0.14.1, `tests/ics/*.ics`", "MIT", "none"),
    "python-dateutil": (
        "PyPI sdist python-dateutil 4.0.0, `docs/samples/*.ics`", "BSD-3-Clause", "none"),
    "ical.js": (
        ("GitHub kewisch/ical.js at commit 926193a28ed90deeabe34d6be178d7d2a53ae6e3 (npm ical.js "
        "2.2.1), `samples/**/*.ics` and `test/parser/*.ics`"), "MPL-2.0", "none"),
    "vobject": (
        ("GitHub py-vobject/vobject at commit 680ed60eed72d42fe2cbed62ca767320e433a8b4, "
        "`test_files/*.ics`"), "Apache-2.0", "none"),
    "distro-info-data": (
        ("Debian package distro-info-data 0.58+deb12u6, `/usr/share/distro-info/debian.csv` and "
        "`ubuntu.csv`"), "ISC", "none"),
    "mail-parser": (
        "PyPI sdist mail-parser 4.8.0, `README.md` (as `docs/README.md`)", "Apache-2.0", "none"),
    "caldav": (
        "PyPI sdist caldav 3.6.0, `README.md`, `CHANGELOG.md`, `tests/README.md` (under `docs/`)",
        "GPL-3.0-or-later OR Apache-2.0", "none"),
    "icalevents": (
        "PyPI sdist icalevents 0.3.1, `README.md` (as `docs/README.md`)", "MIT", "none"),
}


def write_readmes() -> None:
    """One README.md per origin folder: where its files come from, their licence, the list."""
    for origin, (src, licence, renames) in ORIGINS.items():
        folder = OUT / origin
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                       if p.is_file() and p != folder / "README.md")
        (folder / "README.md").write_text(
            f"# {origin}\n\nFiles written by another project, kept byte for byte as a real-world "
            "test corpus for AIOS ingest (see ../README.md).\n\n"
            f"- Origin: {src}\n- Licence: {licence}; redistribution permitted, copyright stays "
            "with the original authors (see that project's LICENSE)\n"
            f"- Renames: {renames}; byte-identical copies of a file already collected are skipped"
            f"\n\n## Files ({len(files)})\n\n" + "".join(f"- `{f}`\n" for f in files),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
