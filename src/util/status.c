#include "status.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

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

ms_status ms_diag_set(ms_diag *diag, ms_status status, const char *code, const char *file, int line,
                      int col, const char *fmt, ...)
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

const char *ms_severity_name(ms_severity severity)
{
    static const char *const severities[] = {"error", "warning", "note"};
    return (unsigned)severity < 3 ? severities[severity] : "error";
}

void ms_diag_print(const ms_diag *diag, FILE *out)
{
    if (diag->file[0])
        fprintf(out, "%s:", diag->file);
    if (diag->line > 0)
        fprintf(out, "%d:%d:", diag->line, diag->col);
    fprintf(out, "%s%s", (diag->file[0] || diag->line > 0) ? " " : "",
            ms_severity_name(diag->severity));
    if (diag->code[0])
        fprintf(out, " %s", diag->code);
    fprintf(out, ": %s\n", diag->message);
    if (diag->hint[0])
        fprintf(out, "  hint: %s\n", diag->hint);
}

void ms_diag_list_init(ms_diag_list *list)
{
    memset(list, 0, sizeof *list);
}

void ms_diag_list_free(ms_diag_list *list)
{
    free(list->items);
    ms_diag_list_init(list);
}

static bool past_cap(ms_diag_list *list, ms_severity severity)
{
    if (list->count < MS_DIAG_LIST_MAX)
        return false;
    list->dropped[(unsigned)severity < 3 ? severity : MS_SEV_ERROR]++;
    return true;
}

ms_status ms_diag_list_add(ms_diag_list *list, const ms_diag *diag)
{
    if (past_cap(list, diag->severity))
        return MS_OK;
    if (!ms_array_reserve(&list->items, &list->cap, list->count, sizeof *list->items))
        return MS_ERR_NOMEM;
    list->items[list->count++] = *diag;
    return MS_OK;
}

ms_diag *ms_diag_list_addv(ms_diag_list *list, ms_severity severity, const char *code,
                           const char *file, int line, int col, const char *fmt, va_list ap)
{
    if (past_cap(list, severity))
        return &list->overflow; /* not formatted; the caller may still set its hint */
    ms_diag d;
    ms_diag_set(&d, MS_ERR_INVALID, code, file, line, col, "%s", "");
    d.severity = severity;
    vsnprintf(d.message, sizeof d.message, fmt, ap);
    if (ms_diag_list_add(list, &d) != MS_OK)
        return NULL;
    return &list->items[list->count - 1];
}

ms_status ms_diag_list_move(ms_diag_list *to, ms_diag_list *from)
{
    ms_status st = MS_OK;
    for (size_t i = 0; i < from->count && st == MS_OK; i++)
        st = ms_diag_list_add(to, &from->items[i]);
    for (size_t i = 0; i < 3; i++)
        to->dropped[i] += from->dropped[i];
    ms_diag_list_free(from);
    return st;
}

static int diag_order(const ms_diag *a, const ms_diag *b)
{
    int c = strcmp(a->file, b->file);
    if (c)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return 0;
}

static bool diag_same(const ms_diag *a, const ms_diag *b)
{
    return !diag_order(a, b) && a->severity == b->severity && !strcmp(a->code, b->code) &&
           !strcmp(a->message, b->message);
}

/* Stable merge sort: equal positions keep report order. */
static void merge_sort(ms_diag *a, ms_diag *tmp, size_t n)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(a, tmp, h);
    merge_sort(a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = diag_order(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

void ms_diag_list_sort(ms_diag_list *list)
{
    ms_diag *tmp = malloc((list->count ? list->count : 1) * sizeof *tmp);
    if (tmp) /* without memory the list stays in report order, which is still usable */
        merge_sort(list->items, tmp, list->count);
    free(tmp);
    size_t n = 0;
    for (size_t i = 0; i < list->count; i++) {
        bool repeat = false;
        for (size_t j = n; j-- > 0 && !diag_order(&list->items[j], &list->items[i]);)
            repeat = repeat || diag_same(&list->items[j], &list->items[i]);
        if (!repeat)
            list->items[n++] = list->items[i];
    }
    list->count = n;
}

size_t ms_diag_list_count(const ms_diag_list *list, ms_severity severity)
{
    size_t n = (unsigned)severity < 3 ? list->dropped[severity] : 0;
    for (size_t i = 0; i < list->count; i++)
        n += list->items[i].severity == severity;
    return n;
}

size_t ms_diag_list_dropped(const ms_diag_list *list)
{
    return list->dropped[0] + list->dropped[1] + list->dropped[2];
}
