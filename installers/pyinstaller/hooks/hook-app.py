"""PyInstaller hook for Ossian's own package: the modules PyInstaller cannot see being imported.

- `app.cli` imports the subcommands by name (`importlib.import_module`), and the child entry points
  (`--worker`, `--worker-probe`, `--python-sandbox`) are imported inside functions: collect every
  submodule so none goes missing. `app.resources` is data, shipped by the spec as `resources/`.
- The python tool's sandbox runs model-written code in this same frozen interpreter, which holds only
  the modules something imported at build time. A checkout's sandbox has the whole standard library,
  so ship the parts gpt-oss reaches for when it computes (`SANDBOX_MODULES`); numpy is in the bundle
  anyway (gguf needs it).
"""

from PyInstaller.utils.hooks import collect_submodules

# What the model's python usually imports: numbers, text, dates, data formats. Keep to the stdlib.
SANDBOX_MODULES = [
    "array", "base64", "bisect", "calendar", "cmath", "collections", "colorsys", "copy", "csv",
    "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions", "functools", "graphlib",
    "hashlib", "heapq", "html", "itertools", "json", "math", "numbers", "operator", "pprint", "random",
    "re", "secrets", "statistics", "string", "struct", "textwrap", "time", "typing", "unicodedata",
    "uuid", "zlib", "zoneinfo", "xml.etree.ElementTree", "xml.dom.minidom", "urllib.parse",
    "sqlite3", "gzip", "bz2", "lzma", "zipfile", "tarfile", "io", "pathlib", "tempfile", "shutil",
    "glob", "fnmatch", "timeit", "ipaddress", "email", "locale", "gettext", "codecs", "binascii",
]

hiddenimports = collect_submodules("app", filter=lambda name: not name.startswith("app.resources"))
hiddenimports += SANDBOX_MODULES
