#!/usr/bin/env python3
"""Sign Ossian.app, put it in a DMG, and notarize it: the macOS release, run on a Mac.

    python3 installers/build.py                # first: dist/Ossian.app
    python3 installers/macos/build_dmg.py      # then: dist/Ossian-<version>-macos-<arch>.dmg

Each step that needs a secret skips itself, saying so, when the secret is absent, so the same command
works on a developer's Mac, on a fork's CI and on the release CI:

- signing, when MACOS_SIGNING_IDENTITY names a "Developer ID Application: ..." identity in the keychain:
  every Mach-O file inside the bundle, innermost first, then the bundle, all with the hardened runtime
  and a secure timestamp (notarization refuses anything less), the app with entitlements.plist; then
  the DMG. Without it the app keeps PyInstaller's ad-hoc signature: it runs, but Gatekeeper makes the
  user right-click > Open (or allow it in System Settings > Privacy & Security) the first time;
- notarization, when the identity is there and either APPLE_NOTARY_PROFILE (a `notarytool
  store-credentials` keychain profile) or APPLE_ID + APPLE_TEAM_ID + APPLE_APP_PASSWORD (an app-specific
  password) are set: `notarytool submit --wait`, then `stapler staple`, so the DMG opens offline.

Needs macOS (codesign, hdiutil, ditto, xcrun); standard library only. Not run on the Linux development
machines: see docs/packaging.md for what was verified where.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ENTITLEMENTS = HERE / "entitlements.plist"
MACHO_MAGICS = {b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
                b"\xca\xfe\xba\xbe"}


def say(text: str) -> None:
    print(f"[dmg] {text}", file=sys.stderr, flush=True)


def run(cmd: list[str | Path], secret: str | None = None) -> None:
    printable = " ".join(str(c) for c in cmd)
    say("$ " + (printable.replace(secret, "***") if secret else printable))
    if subprocess.run([str(c) for c in cmd]).returncode != 0:
        raise SystemExit(f"[dmg] failed: {printable.replace(secret, '***') if secret else printable}")


def app_version() -> str:
    text = (ROOT / "app" / "__init__.py").read_text(encoding="utf-8")
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def macho_files(bundle: Path) -> list[Path]:
    found = []
    for dirpath, _dirs, names in os.walk(bundle):
        for name in names:
            path = Path(dirpath, name)
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as handle:
                if handle.read(4) in MACHO_MAGICS:
                    found.append(path)
    # innermost first: a signature covers what it contains, so the contents are signed before it
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def sign_app(bundle: Path, identity: str) -> None:
    main_executable = bundle / "Contents" / "MacOS" / "ossian"
    common = ["codesign", "--force", "--timestamp", "--options", "runtime", "--sign", identity]
    for path in macho_files(bundle):
        if path != main_executable:
            run([*common, path])
    run([*common, "--entitlements", ENTITLEMENTS, main_executable])
    run([*common, "--entitlements", ENTITLEMENTS, bundle])
    run(["codesign", "--verify", "--deep", "--strict", "--verbose=2", bundle])


def make_dmg(bundle: Path, dmg: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stage = Path(tmp) / "Ossian"
        stage.mkdir()
        # ditto keeps what a DMG must keep: symlinks inside the bundle, extended attributes, signatures
        run(["ditto", bundle, stage / bundle.name])
        (stage / "Applications").symlink_to("/Applications")  # drag-to-install target
        dmg.unlink(missing_ok=True)
        run(["hdiutil", "create", "-volname", "Ossian", "-srcfolder", stage, "-fs", "HFS+",
             "-format", "UDZO", "-ov", dmg])


def notarize(dmg: Path) -> bool:
    profile = os.environ.get("APPLE_NOTARY_PROFILE")
    apple_id, team = os.environ.get("APPLE_ID"), os.environ.get("APPLE_TEAM_ID")
    password = os.environ.get("APPLE_APP_PASSWORD")
    if profile:
        run(["xcrun", "notarytool", "submit", dmg, "--keychain-profile", profile, "--wait"])
    elif apple_id and team and password:
        run(["xcrun", "notarytool", "submit", dmg, "--apple-id", apple_id, "--team-id", team,
             "--password", password, "--wait"], secret=password)
    else:
        say("notarization skipped: set APPLE_NOTARY_PROFILE, or APPLE_ID + APPLE_TEAM_ID + "
            "APPLE_APP_PASSWORD")
        return False
    run(["xcrun", "stapler", "staple", dmg])
    return True


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Sign, package and notarize dist/Ossian.app as a DMG.")
    parser.add_argument("--app", type=Path, default=ROOT / "dist" / "Ossian.app")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    if sys.platform != "darwin" or shutil.which("hdiutil") is None:
        raise SystemExit("[dmg] this runs on macOS only (codesign, hdiutil)")
    if not (args.app / "Contents" / "MacOS" / "ossian").is_file():
        raise SystemExit(f"[dmg] no app at {args.app}: run python3 installers/build.py first")

    identity = os.environ.get("MACOS_SIGNING_IDENTITY", "").strip()
    if identity:
        sign_app(args.app, identity)
    else:
        say("signing skipped: MACOS_SIGNING_IDENTITY is not set; the app keeps its ad-hoc signature")
    dmg = args.out / f"Ossian-{app_version()}-macos-{platform.machine()}.dmg"
    args.out.mkdir(parents=True, exist_ok=True)
    make_dmg(args.app, dmg)
    if identity:
        run(["codesign", "--force", "--timestamp", "--sign", identity, dmg])
        if notarize(dmg):
            run(["spctl", "--assess", "--type", "open", "--context", "context:primary-signature", "-v", dmg])
    else:
        say("notarization skipped: it needs a Developer ID signature")
    say(f"built {dmg} ({dmg.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
