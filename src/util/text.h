/* Small text helpers shared by modules that suggest corrections. */
#ifndef MS_TEXT_H
#define MS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Levenshtein distance; SIZE_MAX when either string is longer than 128 bytes. */
size_t ms_edit_distance(const char *a, const char *b);

/* Whether `s` ends with `suffix`. */
bool ms_ends_with(const char *s, const char *suffix);

#endif
