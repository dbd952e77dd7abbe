"""The settings dialog: the user-facing options of `app.settings`, edited and saved in one place.

Each control maps to one field of `Settings` (whose descriptions are the tooltips, so the schema stays
the one source of wording). Saving writes the file atomically through the workspace; the window then
applies what changed (theme, reasoning panes, the network switch) without a restart. A models folder
change applies at the next start, and the dialog says so.

Signals:
    settingsChanged(): the settings were saved.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.chat.workspace import Workspace
from app.errors import OssianError
from app.harmony import ReasoningEffort
from app.settings import Settings, option_docs
from app.ui.mcp_panel import McpToolsPanel
from app.ui.servers_panel import ApiSwitch, ServersPanel
from app.units import format_bytes

CONTEXT_CHOICES: tuple[tuple[str, int | None], ...] = (
    ("Automatic (the planner decides)", None),
    ("8K tokens", 8192), ("16K tokens", 16384), ("32K tokens", 32768),
    ("64K tokens", 65536), ("128K tokens (the most gpt-oss reads)", 131072),
)

if TYPE_CHECKING:
    from app.api.service import Serving  # starlette and uvicorn load only when the API starts


class PackInstall(QObject):
    """Downloads and installs a backend pack on a thread of its own; reports back through signals."""

    progressed = Signal(int, int)  # bytes received, total (0: unknown)
    finished = Signal(str)  # "" when installed, else what went wrong, in words

    def start(self, workspace: Workspace, name: str) -> None:
        def work() -> None:
            try:
                workspace.install_backend_pack(
                    name, lambda received, total: self.progressed.emit(received, total or 0))
            except OssianError as exc:  # a download, the network switched off, a pack that does not match
                self.finished.emit(str(exc))
            else:
                self.finished.emit("")

        threading.Thread(target=work, name="ossian-pack-install", daemon=True).start()


class SettingsDialog(QDialog):
    settingsChanged = Signal()
    useServerRequested = Signal(object)  # a ServerEntry, from the Servers panel

    def __init__(self, workspace: Workspace, parent: QWidget | None = None, *,
                 serving: Serving | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self.workspace = workspace
        settings = workspace.settings
        docs = option_docs()

        self.theme = QComboBox(self)
        for label, value in (("Follow the system", "system"), ("Light", "light"), ("Dark", "dark")):
            self.theme.addItem(label, value)
        self._select(self.theme, settings.theme)
        self.theme.setToolTip(docs["theme"])

        self.effort = QComboBox(self)
        for value in ReasoningEffort:
            self.effort.addItem(value.capitalize(), value)
        self._select(self.effort, settings.reasoning_effort)
        self.effort.setToolTip(docs["reasoning_effort"])

        self.context = QComboBox(self)
        for label, value in CONTEXT_CHOICES:
            self.context.addItem(label, value)
        if settings.context_tokens not in [value for _, value in CONTEXT_CHOICES]:
            self.context.addItem(f"{settings.context_tokens:,} tokens", settings.context_tokens)
        self._select(self.context, settings.context_tokens)
        self.context.setToolTip(docs["context_tokens"])

        self.gpu = QComboBox(self)
        self.gpu.addItem("Automatic (the planner decides)", None)
        machine = workspace.machine_if_read()
        for gpu in machine.gpus if machine is not None else ():
            note = " — software renderer, not used" if gpu.software else ""
            self.gpu.addItem(f"{gpu.description or gpu.name} ({gpu.name}, {format_bytes(gpu.memory_total)})"
                             f"{note}", gpu.name)
        if settings.gpu_device and self.gpu.findData(settings.gpu_device) < 0:
            self.gpu.addItem(f"{settings.gpu_device} (not found now)", settings.gpu_device)
        self._select(self.gpu, settings.gpu_device)
        self.gpu.setToolTip(docs["gpu_device"])

        # the CUDA pack, offered where an NVIDIA GPU runs through Vulkan (the installer leaves it out)
        self.cuda_button = QPushButton("Install the CUDA backend for NVIDIA (about 0.6 GB)…", self)
        self.cuda_button.setToolTip("Downloads ossian-cuda12 from this release, checks it against its "
                                    "published SHA-256 and its manifest, and installs it in the data folder.")
        self.cuda_button.clicked.connect(self._install_cuda)
        self.cuda_status = QLabel(self)
        self.cuda_status.setWordWrap(True)
        self.cuda_status.setObjectName("cudaStatus")
        self._cuda = PackInstall(self)
        self._cuda.progressed.connect(self._cuda_progress)
        self._cuda.finished.connect(self._cuda_finished)
        offered = machine is not None and machine.cuda_pack_offered
        self.cuda_button.setVisible(offered)
        self.cuda_status.setVisible(offered)
        if offered:
            self.cuda_status.setText("Your NVIDIA GPU runs through Vulkan; CUDA is usually faster.")

        self.show_reasoning = QCheckBox("Show the model's reasoning", self)
        self.show_reasoning.setChecked(settings.show_reasoning)
        self.show_reasoning.setToolTip(docs["show_reasoning"])

        self.ask_python = QCheckBox("Ask before running python code the model writes", self)
        self.ask_python.setChecked(settings.python_tool_approval == "ask")
        self.ask_python.setToolTip(docs["python_tool_approval"])

        self.offline = QCheckBox("Never use the network (not even for downloads)", self)
        self.offline.setChecked(settings.offline_only)
        self.offline.setToolTip(docs["offline_only"])

        self.endpoint = QLineEdit(settings.hf_endpoint or "", self)
        self.endpoint.setPlaceholderText("https://huggingface.co")
        self.endpoint.setToolTip(docs["hf_endpoint"])

        self.models_dir = QLineEdit(settings.models_dir or "", self)
        self.models_dir.setPlaceholderText(str(workspace.paths.models))
        self.models_dir.setToolTip(docs["models_dir"])
        browse = QPushButton("Choose…", self)
        browse.clicked.connect(self._choose_models_dir)
        models_row = QHBoxLayout()
        models_row.addWidget(self.models_dir, 1)
        models_row.addWidget(browse)

        self.servers = ServersPanel(workspace, self)
        self.servers.useRequested.connect(self.useServerRequested)
        self.api = ApiSwitch(settings.api_enabled, serving, self)
        self.tools = McpToolsPanel(workspace.mcp, self)  # saved as it is edited: the list is its own file

        self.error = QLabel(self)
        self.error.setObjectName("settingsError")
        self.error.setWordWrap(True)
        self.error.hide()

        form = QFormLayout()
        form.addRow("Appearance", self.theme)
        form.addRow("Reasoning effort for new chats", self.effort)
        form.addRow("Context window", self.context)
        form.addRow("GPU (at the next load)", self.gpu)
        if offered:
            form.addRow("", self.cuda_button)
            form.addRow("", self.cuda_status)
        form.addRow("", self.show_reasoning)
        form.addRow("", self.ask_python)
        form.addRow("", self.offline)
        form.addRow("Hugging Face Hub address", self.endpoint)
        form.addRow("Models folder (after a restart)", models_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self._save)
        buttons.rejected.connect(self.reject)
        # Three pages, so that the dialog fits a laptop's screen: the app, where the model runs, its tools.
        self.pages = QTabWidget(self)
        general = QWidget(self.pages)
        general_column = QVBoxLayout(general)
        general_column.addLayout(form)
        general_column.addStretch(1)
        elsewhere = QWidget(self.pages)
        elsewhere_column = QVBoxLayout(elsewhere)
        elsewhere_column.addWidget(self.servers)
        elsewhere_column.addWidget(self.api)
        elsewhere_column.addStretch(1)
        tools = QWidget(self.pages)
        tools_column = QVBoxLayout(tools)
        tools_column.addWidget(self.tools)
        tools_column.addStretch(1)
        self.pages.addTab(general, "General")
        self.pages.addTab(elsewhere, "Servers and API")
        self.pages.addTab(tools, "Tools")
        column = QVBoxLayout(self)
        column.addWidget(self.pages)
        column.addWidget(self.error)
        column.addWidget(buttons)

    def chosen(self) -> Settings:
        """The settings as the controls show them (unsaved)."""
        current = self.workspace.settings
        endpoint = self.endpoint.text().strip() or None
        models_dir = self.models_dir.text().strip() or None
        # Fields the dialog does not show (the last model, the server list, ...) are kept as they are.
        return replace(
            current, models_dir=models_dir, offline_only=self.offline.isChecked(), hf_endpoint=endpoint,
            reasoning_effort=self.effort.currentData(), context_tokens=self.context.currentData(),
            theme=self.theme.currentData(),
            python_tool_approval="ask" if self.ask_python.isChecked() else "always",
            show_reasoning=self.show_reasoning.isChecked(), gpu_device=self.gpu.currentData(),
            api_enabled=self.api.check.isChecked(), servers=list(current.servers), extra=dict(current.extra),
        )

    def _save(self) -> None:
        chosen = self.chosen()
        if chosen.hf_endpoint and not chosen.hf_endpoint.startswith(("https://", "http://")):
            self._fail("The Hub address must start with https:// (or http:// for a local mirror).")
            return
        previous = self.workspace.settings
        self.workspace.settings = chosen
        try:
            self.workspace.save_settings()
        except (OSError, ValueError) as exc:
            self.workspace.settings = previous
            self._fail(f"The settings could not be saved: {exc}")
            return
        self.settingsChanged.emit()
        self.accept()

    def _install_cuda(self) -> None:
        self.cuda_button.setEnabled(False)
        self.cuda_status.setText("Downloading…")
        self._cuda.start(self.workspace, "cuda12")

    def _cuda_progress(self, received: int, total: int) -> None:
        if total:
            self.cuda_status.setText(f"Downloading… {received / 1e6:,.0f} of {total / 1e6:,.0f} MB")

    def _cuda_finished(self, error: str) -> None:
        if error:
            self.cuda_status.setText(error)
            self.cuda_button.setEnabled(True)
        else:
            self.cuda_status.setText("The CUDA backend is installed and checked. Ossian uses it from "
                                     "its next start.")

    def _fail(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def _choose_models_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Models folder", self.models_dir.text()
                                                  or str(self.workspace.paths.models))
        if folder:
            self.models_dir.setText(folder)

    @staticmethod
    def _select(box: QComboBox, value: object) -> None:
        index = box.findData(value)
        if index >= 0:
            box.setCurrentIndex(index)
