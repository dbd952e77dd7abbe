; Inno Setup 6 script: Ossian's Windows installer, made from the PyInstaller onedir build.
;
; Build, on Windows, from the repository root:
;     python installers\build.py
;     iscc /DAppVersion=0.1.0 installers\windows\ossian.iss
; -> dist\Ossian-0.1.0-windows-x64-setup.exe
;
; Signing (optional): define SignTool on the command line and name the tool after it, e.g.
;     iscc /DAppVersion=0.1.0 /DSign "/Sossiansign=signtool sign /fd sha256 /tr http://timestamp.digicert.com /td sha256 /f cert.pfx /p PASSWORD $f" installers\windows\ossian.iss
; Inno then signs the installer and its uninstaller; sign dist\Ossian\*.exe before running iscc (the
; release workflow does both, and skips both when its certificate secret is absent).
;
; GPUs: the build carries llama.cpp's backends as modules in _internal\ggml-backends\ (one
; ggml-cpu-<variant>.dll per x86-64 instruction set, ggml-vulkan.dll for AMD, Intel and NVIDIA GPUs),
; copied by the [Files] line below like the rest of the build. ggml-vulkan.dll needs vulkan-1.dll, which
; every current GPU driver installs into System32; without it the app runs on the CPU and says why.
; Nothing here installs a driver or the Vulkan runtime. CUDA is not in this installer (docs/packaging.md).
;
; Installs per user by default (no administrator prompt, into %LOCALAPPDATA%\Programs\Ossian); the
; first page offers an all-users install instead. Settings, conversations and models live in the
; user's AppData and are left in place on uninstall: models are gigabytes the user may want to keep.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z installers\windows\ossian.iss
#endif

#define AppName "Ossian"
#define Root "..\.."

[Setup]
; Never change AppId: it is how Windows recognises upgrades and the uninstaller of earlier versions.
AppId={{4ECFFCA9-C3BE-4AB6-AE81-B21604D1DE45}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=The Ossian developers
AppPublisherURL=https://github.com/ossian-app/ossian
AppSupportURL=https://github.com/ossian-app/ossian/issues
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
; The build is x64 only (llama.cpp and Qt as built by the release workflow).
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; Qt 6.11 supports Windows 10 and later.
MinVersion=10.0
LicenseFile={#Root}\LICENSE
SetupIconFile={#Root}\build\icons\ossian.ico
UninstallDisplayIcon={app}\ossian-gui.exe
UninstallDisplayName={#AppName}
OutputDir={#Root}\dist
OutputBaseFilename=Ossian-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; A running Ossian holds its DLLs open; let the installer ask to close it.
CloseApplications=yes
#ifdef Sign
SignTool=ossiansign
SignedUninstaller=yes
#endif

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole bundle: stale DLLs of an older Qt or llama.cpp must not linger.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#Root}\dist\Ossian\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
; ossian-gui.exe is the windowed executable (no console); ossian.exe is the command line.
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\ossian-gui.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\ossian-gui.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\ossian-gui.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
