/* A stand-in wsl.exe for Windows (built with mingw-w64, run under Wine): replays recorded outputs
 * and records how it was started.
 *
 * Its folder holds `wsl-standin\replies.txt`, one reply per line, tab-separated:
 *     ARGS <TAB> EXIT <TAB> MODE <TAB> FILE [<TAB> SLEEP_MS]
 * The first line whose ARGS (arguments joined by single spaces) equals the arguments given, or is
 * followed in them by a space, answers: after SLEEP_MS it writes FILE (relative to wsl-standin,
 * `-` for nothing) to stdout and exits with EXIT. MODE says how, as the real wsl.exe does:
 *     wsl    its own messages: UTF-16LE, or UTF-8 when WSL_UTF8 is exactly "1" (WSL 0.64 and later)
 *     utf16  UTF-16LE whatever WSL_UTF8 says (the inbox Windows 10 wsl.exe)
 *     raw    the bytes as they are (what a command run in the guest prints)
 * For `wsl` and `utf16` the file is UTF-8 text whose line ends become CRLF.
 *
 * Every start appends one line to `wsl-standin\calls.log`, tab-separated:
 *     WSL_UTF8 value (or `-` when unset) <TAB> 1 if it has a console window, else 0 <TAB> ARGS
 */
#include <windows.h>
#include <shellapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char folder[MAX_PATH * 3];

static char *utf8(const wchar_t *text) {
    int size = WideCharToMultiByte(CP_UTF8, 0, text, -1, NULL, 0, NULL, NULL);
    char *out = malloc(size);
    WideCharToMultiByte(CP_UTF8, 0, text, -1, out, size, NULL, NULL);
    return out;
}

static char *joined_args(void) {
    int argc;
    wchar_t **argv = CommandLineToArgvW(GetCommandLineW(), &argc);
    size_t size = 1;
    char **parts = malloc(sizeof(char *) * (argc + 1));
    for (int i = 1; i < argc; i++) {
        parts[i] = utf8(argv[i]);
        size += strlen(parts[i]) + 1;
    }
    char *out = calloc(size, 1);
    for (int i = 1; i < argc; i++) {
        if (i > 1) strcat(out, " ");
        strcat(out, parts[i]);
    }
    return out;
}

static char *read_file(const char *name, DWORD *length) {
    char path[sizeof folder + 256];
    snprintf(path, sizeof path, "%s%s", folder, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc(size + 1);
    *length = (DWORD)fread(data, 1, size, f);
    data[*length] = 0;
    fclose(f);
    return data;
}

static void append_line(const char *name, const char *line) {
    char path[sizeof folder + 256];
    snprintf(path, sizeof path, "%s%s", folder, name);
    HANDLE log = CreateFileA(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_ALWAYS,
                             FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD written;
    WriteFile(log, line, (DWORD)strlen(line), &written, NULL);
    CloseHandle(log);
}

static void write_out(const void *data, DWORD length) {
    DWORD written;
    WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), data, length, &written, NULL);
}

/* `text` (UTF-8, LF or CRLF line ends) with CRLF line ends, as UTF-16LE or UTF-8. */
static void write_text(const char *text, int as_utf16) {
    size_t n = strlen(text);
    char *crlf = malloc(n * 2 + 1), *p = crlf;
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) *p++ = '\r';
        *p++ = text[i];
    }
    *p = 0;
    if (!as_utf16) {
        write_out(crlf, (DWORD)(p - crlf));
        return;
    }
    int units = MultiByteToWideChar(CP_UTF8, 0, crlf, (int)(p - crlf), NULL, 0);
    wchar_t *wide = malloc(sizeof(wchar_t) * (units + 1));
    MultiByteToWideChar(CP_UTF8, 0, crlf, (int)(p - crlf), wide, units);
    write_out(wide, (DWORD)(units * sizeof(wchar_t)));
}

int main(void) {
    wchar_t exe[MAX_PATH];
    GetModuleFileNameW(NULL, exe, MAX_PATH);
    *(wcsrchr(exe, L'\\') + 1) = 0;
    char *exe_dir = utf8(exe);
    snprintf(folder, sizeof folder, "%swsl-standin\\", exe_dir);

    char *args = joined_args();
    char wsl_utf8[16] = "";
    DWORD got = GetEnvironmentVariableA("WSL_UTF8", wsl_utf8, sizeof wsl_utf8);
    const char *utf8_value = got == 0 ? "-" : got < sizeof wsl_utf8 ? wsl_utf8 : "(long)";
    char *line = malloc(strlen(args) + 64);
    sprintf(line, "%s\t%d\t%s\n", utf8_value, GetConsoleWindow() != NULL, args);
    append_line("calls.log", line);

    DWORD length;
    char *replies = read_file("replies.txt", &length);
    for (char *row = replies ? strtok(replies, "\r\n") : NULL; row; row = strtok(NULL, "\r\n")) {
        char *fields[5] = {0};
        int count = 0;
        for (char *cursor = row; cursor && count < 5; count++) {
            fields[count] = cursor;
            cursor = strchr(cursor, '\t');
            if (cursor) *cursor++ = 0;
        }
        size_t pattern = strlen(fields[0]);
        if (count < 4 || strncmp(args, fields[0], pattern) != 0 || (args[pattern] && args[pattern] != ' ')) continue;
        if (count == 5) Sleep((DWORD)atol(fields[4]));
        if (strcmp(fields[3], "-") != 0) {
            DWORD size;
            char *data = read_file(fields[3], &size);
            if (!data) return 101;
            if (strcmp(fields[2], "raw") == 0)
                write_out(data, size);
            else
                write_text(data, strcmp(fields[2], "utf16") == 0 || strcmp(wsl_utf8, "1") != 0);
        }
        return atoi(fields[1]);
    }
    const char *unknown = "stand-in wsl.exe: no recorded reply for these arguments\n";
    DWORD written;
    WriteFile(GetStdHandle(STD_ERROR_HANDLE), unknown, (DWORD)strlen(unknown), &written, NULL);
    return 1;
}
