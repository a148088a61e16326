/* Reading a command line as common CLIs do: an option's value follows it as
 * the next word or after `=` (`--format json`, `--format=json`), options and
 * file names mix in any order, and `--` ends the options. */
#ifndef MS_ARGS_H
#define MS_ARGS_H

#include <stdbool.h>
#include <stdio.h>

/* Whether argv[*i] is option `name` (which takes a value), as `NAME VALUE`
 * or `NAME=VALUE`. When it is, *i moves past it and *value is set: NULL
 * when no value follows `NAME` or `=` (a message saying so is printed to
 * `err`, prefixed with `who`). */
bool ms_args_option(int argc, char **argv, int *i, const char *name, const char **value,
                    const char *who, FILE *err);

#endif
