; wslwatch's per-user Windows installer (no admin). Built on Linux by scripts/windows_installer.py,
; which stages the bundle (embeddable CPython + the Windows wheels unpacked) and passes:
;   VERSION, APP_ID, STAGE (the staged folder), OUTFILE, and FILES_NSH (the uninstall list).
; Silent: `setup.exe /S` (start at login included), `/D=C:\path` for another folder.
Unicode true
Target amd64-unicode
RequestExecutionLevel user
ManifestDPIAware true
SetCompressor /SOLID lzma

!include MUI2.nsh
!include LogicLib.nsh

!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\wslwatch"
!define PYTHON "$INSTDIR\python\python.exe"
!define PYTHONW "$INSTDIR\python\pythonw.exe"
!define SHORTCUT "$SMPROGRAMS\wslwatch.lnk"

Name "wslwatch ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\wslwatch"
BrandingText "wslwatch ${VERSION}"

!define MUI_ICON "${STAGE}\wslwatch.ico"
!define MUI_UNICON "${STAGE}\wslwatch.ico"
!define MUI_COMPONENTSPAGE_NODESC
!define MUI_FINISHPAGE_TEXT "wslwatch runs now: its icon is in the notification area, and /metrics is on http://127.0.0.1:9477/metrics."
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

; The Start-menu shortcut carries APP_ID (PKEY_AppUserModel_ID), the ID the running daemon sets
; on its process, so Windows attributes wslwatch's notifications to wslwatch and not to "Python".
!macro SetShortcutAppId LINK
  System::Call 'ole32::CoCreateInstance(g "{00021401-0000-0000-C000-000000000046}", p 0, i 1, g "{000214F9-0000-0000-C000-000000000046}", *p .r1) i .r0'
  ${If} $0 = 0
    System::Call '$1->0(g "{0000010b-0000-0000-C000-000000000046}", *p .r2)'  ; IPersistFile
    System::Call '$2->5(w "${LINK}", i 2)'  ; Load, STGM_READWRITE
    System::Call '$1->0(g "{886D8EEB-8CF2-4446-8D02-CDBA1DBDCF99}", *p .r3) i .r0'  ; IPropertyStore
    ${If} $0 = 0
      System::Call '*(&g16 "{9F4C2855-9F79-4B39-A8D0-E1D42DE1D5F3}", i 5) p .r4'  ; PKEY_AppUserModel_ID
      System::Call '*(&i2 31, &i2 0, &i2 0, &i2 0, w "${APP_ID}", p 0) p .r5'  ; PROPVARIANT VT_LPWSTR
      System::Call '$3->6(p r4, p r5)'  ; SetValue
      System::Call '$3->7()'  ; Commit
      System::Call '$2->6(w "${LINK}", i 1)'  ; Save
      System::Call '$3->2()'
      System::Free $4
      System::Free $5
    ${EndIf}
    System::Call '$2->2()'
    System::Call '$1->2()'
  ${EndIf}
!macroend

Section "wslwatch" SecMain
  SectionIn RO
  SetShellVarContext current
  SetOutPath "$INSTDIR"
  File /r "${STAGE}\*"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortCut "${SHORTCUT}" "${PYTHONW}" "-m wslwatch run" "$INSTDIR\wslwatch.ico" 0 SW_SHOWNORMAL "" "wslwatch: WSL2 and GPU memory monitor"
  System::Call 'ole32::CoInitialize(p 0)'
  !insertmacro SetShortcutAppId "${SHORTCUT}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "wslwatch"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "the wslwatch developers"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\wslwatch.ico"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

; The same HKCU Run value as `wslwatch install`, written by it.
Section "Start at login" SecAutostart
  nsExec::ExecToLog '"${PYTHON}" -m wslwatch install'
SectionEnd

; The tray icon shows at the end of the install: the daemon starts now, windowless.
Section "-Start wslwatch now"
  Exec '"${PYTHONW}" -m wslwatch run'
SectionEnd

Section "Uninstall"
  SetShellVarContext current
  nsExec::ExecToLog '"${PYTHON}" -m wslwatch stop'
  nsExec::ExecToLog '"${PYTHON}" -m wslwatch uninstall'
  Delete "${SHORTCUT}"
  !include "${FILES_NSH}"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
SectionEnd
