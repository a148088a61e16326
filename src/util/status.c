#include "status.h"

#include <stdarg.h>
#include <string.h>

static const char *const status_texts[] = {
#define MS_STATUS_TEXT(name, text) text,
    MS_STATUS_LIST(MS_STATUS_TEXT)
#undef MS_STATUS_TEXT
};

const char *ms_status_str(ms_status status)
{
    if ((size_t)status >= sizeof status_texts / sizeof status_texts[0])
        return "unknown status";
    return status_texts[status];
}

void ms_diag_clear(ms_diag *diag)
{
    memset(diag, 0, sizeof *diag);
}

ms_status ms_diag_set(ms_diag *diag, ms_status status, const char *code, const char *file,
                      int line, int col, const char *fmt, ...)
{
    if (!diag)
        return status;
    ms_diag_clear(diag);
    diag->severity = MS_SEV_ERROR;
    snprintf(diag->code, sizeof diag->code, "%s", code ? code : "");
    snprintf(diag->file, sizeof diag->file, "%s", file ? file : "");
    diag->line = line;
    diag->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->message, sizeof diag->message, fmt, ap);
    va_end(ap);
    return status;
}

void ms_diag_hint(ms_diag *diag, const char *fmt, ...)
{
    if (!diag)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(diag->hint, sizeof diag->hint, fmt, ap);
    va_end(ap);
}

void ms_diag_print(const ms_diag *diag, FILE *out)
{
    static const char *const severities[] = {"error", "warning", "note"};
    if (diag->file[0])
        fprintf(out, "%s:", diag->file);
    if (diag->line > 0)
        fprintf(out, "%d:%d:", diag->line, diag->col);
    fprintf(out, "%s%s", (diag->file[0] || diag->line > 0) ? " " : "", severities[diag->severity]);
    if (diag->code[0])
        fprintf(out, " %s", diag->code);
    fprintf(out, ": %s\n", diag->message);
    if (diag->hint[0])
        fprintf(out, "  hint: %s\n", diag->hint);
}
