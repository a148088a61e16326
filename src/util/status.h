/* Status codes and diagnostics shared by every module.
 *
 * Functions return an ms_status; the detail of a failure (where, which field,
 * the bad value, what would be valid) goes into an ms_diag the caller passes.
 * The library never prints: callers decide where diagnostics go. */
#ifndef MS_STATUS_H
#define MS_STATUS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#define MS_STATUS_LIST(X)                                                                          \
    X(MS_OK, "ok")                                                                                 \
    X(MS_ERR_NOMEM, "out of memory")                                                               \
    X(MS_ERR_IO, "cannot read or write a file")                                                    \
    X(MS_ERR_SYNTAX, "syntax error")                                                               \
    X(MS_ERR_INVALID, "invalid value")                                                             \
    X(MS_ERR_LIMIT, "input exceeds a limit")                                                       \
    X(MS_ERR_RAISED, "the lifecycle raised an error")

typedef enum {
#define MS_STATUS_ENUM(name, text) name,
    MS_STATUS_LIST(MS_STATUS_ENUM)
#undef MS_STATUS_ENUM
} ms_status;

/* Human-readable text of a status code. */
const char *ms_status_str(ms_status status);

typedef enum { MS_SEV_ERROR, MS_SEV_WARNING, MS_SEV_NOTE } ms_severity;

/* One problem found in an input, pointing at its source. */
typedef struct ms_diag {
    ms_severity severity;
    char code[32];     /* stable identifier, e.g. "E-YAML" or "W-END-NEG" */
    char file[512];    /* empty when the input had no file name */
    int line, col;     /* 1-based; 0 when unknown */
    char message[512]; /* what is wrong, naming the field and the bad value */
    char hint[512];    /* what would be valid; may be empty */
} ms_diag;

/* Clears a diagnostic to "no problem". */
void ms_diag_clear(ms_diag *diag);

/* Fills a diagnostic. `file` may be NULL. Returns `status` so callers can write
 * `return ms_diag_set(d, MS_ERR_INVALID, ...)`. */
ms_status ms_diag_set(ms_diag *diag, ms_status status, const char *code, const char *file, int line,
                      int col, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Sets the hint line of a diagnostic. */
void ms_diag_hint(ms_diag *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes "file:line:col: error CODE: message" and an indented hint line. */
void ms_diag_print(const ms_diag *diag, FILE *out);

/* "error", "warning" or "note". */
const char *ms_severity_name(ms_severity severity);

/* A growable list of diagnostics, for checks that report every problem. It
 * keeps the first MS_DIAG_LIST_MAX and only counts the rest, so that an input
 * with a million problems cannot exhaust memory. */
#define MS_DIAG_LIST_MAX 1000
typedef struct ms_diag_list {
    ms_diag *items;
    size_t count, cap;
    size_t dropped[3]; /* diagnostics past the cap, by severity */
    ms_diag overflow;  /* what ms_diag_list_addv fills past the cap, then forgets */
} ms_diag_list;

void ms_diag_list_init(ms_diag_list *list);
void ms_diag_list_free(ms_diag_list *list);
ms_status ms_diag_list_add(ms_diag_list *list, const ms_diag *diag);
/* Appends a new diagnostic at `line`:`col` of `file` with a formatted message
 * and returns it (so the caller can set its hint), or NULL when out of memory. */
ms_diag *ms_diag_list_addv(ms_diag_list *list, ms_severity severity, const char *code,
                           const char *file, int line, int col, const char *fmt, va_list ap);
/* Moves every item of `from` to the end of `to`; `from` is left empty. */
ms_status ms_diag_list_move(ms_diag_list *to, ms_diag_list *from);
/* Orders by file, line and column (stable) and drops exact repeats, which
 * arise when an alias shares a node between several places. */
void ms_diag_list_sort(ms_diag_list *list);
/* Diagnostics of `severity`, those past the cap included. */
size_t ms_diag_list_count(const ms_diag_list *list, ms_severity severity);
/* How many diagnostics were counted but not kept. */
size_t ms_diag_list_dropped(const ms_diag_list *list);

#endif
