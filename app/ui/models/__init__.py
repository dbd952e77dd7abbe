"""The model screens: the welcome page, the model library dialog, and the download rows they share.

- `WelcomePage(workspace, theme)`: first-run view; this computer, the recommended model with a big
  Download button, import, the other catalog models with their fit. Signals `loadRequested(str)`,
  `modelsChanged()`; slots `set_theme(theme)`, `refresh()`.
- `ModelLibraryDialog(workspace, theme)`: installed models (Load, Show in folder, Remove), the catalog
  with downloads, import, the Hugging Face token. Same signals and slots.
- `DownloadRow`: one model and its download (progress, Pause/Resume/Cancel, Retry, Load), driven by a
  `DownloadSwitchboard`, which connects rows to the workspace's `DownloadManager` through a
  `DownloadFeed` (the manager's thread callbacks, coalesced, on the main thread).
- `models_stylesheet(theme)`: the look, from the theme palette.

What is shown is worded in `presenting` (no Qt); decisions stay in `app.models` and `app.planner`.
"""

from app.ui.models.download_row import DownloadRow
from app.ui.models.feed import DownloadFeed
from app.ui.models.library_dialog import ModelLibraryDialog
from app.ui.models.style import models_stylesheet
from app.ui.models.switchboard import DownloadSwitchboard
from app.ui.models.welcome import WelcomePage

__all__ = [
    "DownloadFeed",
    "DownloadRow",
    "DownloadSwitchboard",
    "ModelLibraryDialog",
    "WelcomePage",
    "models_stylesheet",
]
