#include "args.h"

#include <string.h>

bool ms_args_option(int argc, char **argv, int *i, const char *name, const char **value,
                    const char *who, FILE *err)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) || (a[n] && a[n] != '='))
        return false;
    *value = a[n] == '=' ? (a[n + 1] ? a + n + 1 : NULL) : *i + 1 < argc ? argv[++*i] : NULL;
    if (!*value)
        fprintf(err, "%s: %s needs a value\n", who, name);
    return true;
}
