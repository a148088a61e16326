/* Strict JSON syntax, as Python's json.loads accepts it: what libyaml would
 * also read as YAML flow style (comments, single quotes, trailing commas,
 * unquoted words) is refused, so a .json recipe upstream cannot load is
 * refused too. NaN, Infinity and -Infinity are accepted, as json.loads does. */
#ifndef MS_JSON_H
#define MS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Why a text is not JSON: the byte offset of the problem, what it is and
 * what would be valid. */
typedef struct ms_json_error {
    size_t offset;
    char message[160];
    char hint[200];
} ms_json_error;

/* True when `text` is one JSON value surrounded by whitespace. Nesting deeper
 * than `max_depth` is not checked further (the caller's parser limits it). */
bool ms_json_check(const char *text, size_t len, int max_depth, ms_json_error *err);

/* Where a JSON writer sends its bytes: `len` bytes at `bytes`, not
 * NUL-terminated. Lets a buffered writer (the trace) use the same escaping. */
typedef void (*ms_json_put_fn)(void *user, const char *bytes, size_t len);

/* Writes `s` as a JSON string literal, quotes included: `"` and `\\` are
 * backslash-escaped, control characters become \u00XX, everything else
 * (UTF-8 included) is copied. Plain runs go to `put` in one call each. */
void ms_json_put_string(ms_json_put_fn put, void *user, const char *s);

/* ms_json_put_string into a stdio stream. */
void ms_json_fput_string(FILE *out, const char *s);

#endif
