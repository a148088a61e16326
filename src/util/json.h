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

/* Where a JSON writer sends bytes, so buffered writers need no FILE. */
typedef void (*ms_json_put)(void *user, const char *bytes, size_t n);

/* Writes `s` as a JSON string, quotes included: `"` and `\` escaped, control
 * characters as \u00XX, everything else (UTF-8 included) as it is. */
void ms_json_put_string(ms_json_put put, void *user, const char *s);
void ms_json_fput_string(FILE *out, const char *s);

#endif
