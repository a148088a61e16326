/* Diagnostic codes: one registry of every code modsim reports (code,
 * severity, where it comes from, a one-line summary and, for the recipe
 * codes, the paragraph README shows), and reporting a diagnostic by its code
 * so its severity is never written twice. `modsim validate --explain CODE`
 * prints an entry; tests/recipe/readme_codes.py holds README to the registry
 * and the sources to it (every code they use is registered). */
#ifndef MS_CODES_H
#define MS_CODES_H

#include <stddef.h>

#include "doc.h"
#include "status.h"

typedef struct ms_code_info {
    const char *code; /* "E-AWQ-ORDER" */
    ms_severity severity;
    const char *area;        /* "recipe", "scenario", "model", "kernel", "draft", ... */
    const char *summary;     /* one line, as README's table shows it (Markdown) */
    const char *explanation; /* README's paragraph (Markdown), or NULL */
} ms_code_info;

size_t ms_code_count(void);
const ms_code_info *ms_code_at(size_t i);
/* NULL when `code` is not registered (case matters). */
const ms_code_info *ms_code_find(const char *code);
/* The registered code nearest to `code`, ignoring case, for "did you mean". */
const char *ms_code_nearest(const char *code);

/* Where a check reports its diagnostics: the list, the file they name, and
 * MS_ERR_NOMEM once an append failed. */
typedef struct ms_report {
    ms_diag_list *out;
    const char *file;
    ms_status st;
    const char *last_code;         /* the last code looked up, and its entry: checks */
    const ms_code_info *last_info; /* report one code many times in a row */
} ms_report;

/* Appends diagnostic `code` at `at` (NULL: the file as a whole), with the
 * registry's severity; NULL (and r->st set) when out of memory. */
ms_diag *ms_report_at(ms_report *r, const char *code, const ms_node *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
