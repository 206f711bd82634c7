/* A stand-in wsl.exe that only records which file was started (built with mingw-w64, run under Wine).
 *
 * Each start appends its own full path and its arguments to `calls.log` beside it, and exits 0
 * printing nothing: to `wsl.exe --list --running --quiet` that means "no distro runs".
 * A second copy placed where a bare `wsl.exe` would be found first (the current directory)
 * shows whether a program ran Windows' own wsl.exe or whatever was lying there.
 */
#include <windows.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    char self[MAX_PATH], log[MAX_PATH + 16];
    DWORD length = GetModuleFileNameA(NULL, self, MAX_PATH);
    if (length == 0 || length >= MAX_PATH) return 1;
    strcpy(log, self);
    char *slash = strrchr(log, '\\');
    strcpy(slash ? slash + 1 : log, "calls.log");
    FILE *f = fopen(log, "a");
    if (!f) return 1;
    fputs(self, f);
    for (int i = 1; i < argc; i++) fprintf(f, " %s", argv[i]);
    fputs("\n", f);
    fclose(f);
    return 0;
}
