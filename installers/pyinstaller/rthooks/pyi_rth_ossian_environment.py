"""Runtime hook: give programs the app starts the user's library path, not the bundle's.

On Linux PyInstaller's bootloader puts the bundle's `_internal/` first on LD_LIBRARY_PATH (keeping the
old value in LD_LIBRARY_PATH_ORIG) so the loader finds the bundled Qt, glib, OpenSSL... The dynamic
loader reads that variable once, when the process starts, so this process no longer needs it by the
time Python runs. Programs it starts do inherit it, though: a link opened with xdg-open would start the
user's browser against our older glib and fontconfig, and can crash it. Restore the user's value here.
The app's own children (`--worker` & co.) are this executable again, and its bootloader sets the bundle
path afresh for them.
"""

import os
import sys

if sys.platform.startswith(("linux", "freebsd", "openbsd", "sunos")):
    _original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if _original is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = _original
