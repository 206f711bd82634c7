/* Starts a Windows command line the way Explorer starts a Run value or a shortcut (built with
 * mingw-w64, run under Wine): the command line verbatim, so Windows' own rules split it (quoting
 * included); no console and no standard handles (DETACHED_PROCESS, nothing inherited), so a
 * pythonw child sees sys.stdout and sys.stderr as None. Waits for it; exits with its exit status.
 *
 * The command line comes in the environment variable START_COMMAND_LINE (removed before the start),
 * so no layer in between re-quotes it.
 */
#include <windows.h>
#include <stdio.h>

int main(void) {
    static wchar_t line[32768];
    if (!GetEnvironmentVariableW(L"START_COMMAND_LINE", line, sizeof line / sizeof *line)) {
        fprintf(stderr, "explorer_start: set START_COMMAND_LINE to the command line to start\n");
        return 126;
    }
    SetEnvironmentVariableW(L"START_COMMAND_LINE", NULL);
    STARTUPINFOW startup = {.cb = sizeof startup};
    PROCESS_INFORMATION process;
    if (!CreateProcessW(NULL, line, NULL, NULL, FALSE, DETACHED_PROCESS, NULL, NULL, &startup, &process)) {
        fprintf(stderr, "explorer_start: CreateProcess failed: error %lu\n", GetLastError());
        return 127;
    }
    WaitForSingleObject(process.hProcess, INFINITE);
    DWORD status = 1;
    GetExitCodeProcess(process.hProcess, &status);
    return (int)status;
}
