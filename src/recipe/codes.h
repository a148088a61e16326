/* The registry of `modsim validate`'s diagnostic codes: each code's severity,
 * a one-line summary and the paragraph that explains it. README.md's code
 * tables and paragraphs (Recipes: Diagnostics) are checked against it
 * (tests/recipe/test_codes.c), and `modsim validate --explain CODE` prints it. */
#ifndef MS_CODES_H
#define MS_CODES_H

#include <stddef.h>

#include "../util/status.h"

typedef struct ms_code_info {
    const char *code;     /* "E-AWQ-ORDER" */
    ms_severity severity; /* what the validator reports it as */
    const char *summary;  /* one line, as README's table has it */
    const char *text;     /* the explaining paragraph (related codes share one) */
} ms_code_info;

size_t ms_code_count(void);
/* Entry `i` in README order (errors, then warnings); NULL past the end. */
const ms_code_info *ms_code_at(size_t i);
/* The entry of `code` (exact spelling), or NULL. */
const ms_code_info *ms_code_find(const char *code);
/* The registered code nearest to `code` by edit distance, case ignored, or
 * NULL when none is close: for "did you mean". */
const char *ms_code_nearest(const char *code);

#endif
