"""The frozen executable's script: the `ossian` command, children included (`--worker` and friends).

PyInstaller needs a script file; `app/__main__.py` would do, but PyInstaller puts a script's folder on
the import path, and `app/` there would make `cli`, `paths`, `settings`... importable as top-level
modules. A file of its own out here keeps the bundle's import names the same as a checkout's.
Every executable of the build (the console one and the windowed one) runs this, and `app.cli.main`
dispatches on argv, so a child started as `sys.executable --worker` serves as a worker.
"""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
