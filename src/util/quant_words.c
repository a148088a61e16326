#include "quant_words.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const strategy_names[MS_QSTRAT_COUNT] = {
    "tensor", "channel", "group", "block", "token", "tensor_group", "attn_head"};

const char *ms_qstrategy_name(ms_qstrategy strategy)
{
    return strategy < MS_QSTRAT_COUNT ? strategy_names[strategy] : "unknown";
}

static bool same(const char *a, const char *b, bool ignore_case)
{
    return ignore_case ? !strcasecmp(a, b) : !strcmp(a, b);
}

int ms_qstrategy_parse(const char *word, bool ignore_case)
{
    for (int i = 0; i < MS_QSTRAT_COUNT; i++)
        if (same(word, strategy_names[i], ignore_case))
            return i;
    return -1;
}

int ms_qactorder_parse(const char *word, bool ignore_case, const char **canonical)
{
    static const char *const words[] = {"group", "dynamic", "weight", "static"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (same(word, words[i], ignore_case)) {
            if (canonical)
                *canonical = words[i];
            return i < 2 ? MS_QACT_GROUP : MS_QACT_WEIGHT;
        }
    return -1;
}

/* A decimal integer in [1, max] filling [s, end); no sign, no spaces. */
static bool parse_count(const char *s, const char *end, size_t max, size_t *out)
{
    if (s == end || *s < '0' || *s > '9')
        return false;
    char *stop;
    errno = 0;
    unsigned long long v = strtoull(s, &stop, 10);
    if (stop != end || errno || v < 1 || v > max)
        return false;
    *out = (size_t)v;
    return true;
}

bool ms_nm_parse(const char *s, size_t max, size_t *n, size_t *m)
{
    const char *colon = strchr(s, ':');
    return colon && parse_count(s, colon, max, n) &&
           parse_count(colon + 1, colon + 1 + strlen(colon + 1), max, m) && *n <= *m;
}
