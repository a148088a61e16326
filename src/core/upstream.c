#include "upstream.h"

#include <string.h>

static const char *const names[MS_UPSTREAM_COUNT] = {"0.12", "0.13"};

const char *ms_upstream_name(ms_upstream profile)
{
    return (unsigned)profile < MS_UPSTREAM_COUNT ? names[profile] : "unknown";
}

bool ms_upstream_parse(const char *text, ms_upstream *out)
{
    for (int i = 0; i < MS_UPSTREAM_COUNT; i++)
        if (text && !strcmp(text, names[i])) {
            *out = (ms_upstream)i;
            return true;
        }
    return false;
}
