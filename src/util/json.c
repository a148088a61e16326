#include "json.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the scanner expects next. */
typedef enum {
    EXPECT_VALUE,
    EXPECT_FIRST_ITEM, /* after '[': a value or ']' */
    EXPECT_ITEM_AFTER_COMMA,
    EXPECT_FIRST_KEY, /* after '{': a key or '}' */
    EXPECT_KEY,
    EXPECT_COLON,
    EXPECT_SEPARATOR /* after a value: ',' or the closing bracket, or the end */
} expect;

typedef struct scanner {
    const char *text;
    size_t len, pos;
    ms_json_error *err;
} scanner;

static bool fail(scanner *s, size_t at, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static bool fail(scanner *s, size_t at, const char *hint, const char *fmt, ...)
{
    s->err->offset = at;
    int n = snprintf(s->err->message, sizeof s->err->message, "JSON syntax: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err->message + n, sizeof s->err->message - (size_t)n, fmt, ap);
    va_end(ap);
    snprintf(s->err->hint, sizeof s->err->hint, "%s", hint);
    return false;
}

static const char *const HINT_LOADS =
    "a .json recipe is read with json.loads: quote strings and keys, or rename the file to .yaml";
static const char *const HINT_STRUCTURE =
    "json.loads stops here: check the commas, colons and brackets before this point";

/* json.loads skips only these between tokens */
static void skip_ws(scanner *s)
{
    while (s->pos < s->len && s->text[s->pos] && strchr(" \t\n\r", s->text[s->pos]))
        s->pos++;
}

static bool delimiter(char c)
{
    return isspace((unsigned char)c) || strchr(",:[]{}", c);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?; the length matched, 0 for none */
static size_t number_len(const char *p, size_t n)
{
    size_t i = 0;
    if (i < n && p[i] == '-')
        i++;
    if (i < n && p[i] == '0')
        i++;
    else if (i < n && p[i] >= '1' && p[i] <= '9')
        while (i < n && isdigit((unsigned char)p[i]))
            i++;
    else
        return 0;
    if (i + 1 < n && p[i] == '.' && isdigit((unsigned char)p[i + 1]))
        for (i++; i < n && isdigit((unsigned char)p[i]); i++)
            ;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        size_t j = i + 1;
        if (j < n && (p[j] == '+' || p[j] == '-'))
            j++;
        if (j < n && isdigit((unsigned char)p[j])) {
            while (j < n && isdigit((unsigned char)p[j]))
                j++;
            i = j;
        }
    }
    return i;
}

/* What YAML flow style allows and JSON does not, named; else `what` was
 * expected. A bare word where a value or key belongs needs quotes. */
static bool unexpected(scanner *s, const char *what, bool value_here)
{
    const char *p = s->text + s->pos;
    size_t left = s->len - s->pos;
    if (left >= 2 && p[0] == '/' && (p[1] == '/' || p[1] == '*'))
        return fail(s, s->pos,
                    "json.loads refuses comments: remove them, or rename the file to .yaml "
                    "and write them after '#'",
                    "comments are not JSON");
    if (left && p[0] == '\'')
        return fail(s, s->pos, "json.loads reads only double-quoted strings: write \"...\"",
                    "single-quoted strings are not JSON");
    size_t n = 0;
    while (n < left && !delimiter(p[n]) && p[n] != '"')
        n++;
    const char *hint = value_here ? HINT_LOADS : HINT_STRUCTURE;
    if (!left)
        return fail(s, s->pos, hint, "the text ends where %s is expected", what);
    if (n == 0)
        return fail(s, s->pos, hint, "%s is expected, not '%c'", what, p[0]);
    if (!value_here)
        return fail(s, s->pos, hint, "%s is expected, not '%.*s'", what, (int)(n > 60 ? 60 : n), p);
    return fail(s, s->pos, HINT_LOADS, "'%.*s' must be quoted", (int)(n > 60 ? 60 : n), p);
}

static bool scan_string(scanner *s)
{
    size_t start = s->pos++;
    while (s->pos < s->len) {
        unsigned char c = (unsigned char)s->text[s->pos];
        if (c == '"') {
            s->pos++;
            return true;
        }
        if (c < 0x20)
            return fail(s, s->pos, "write it as an escape (\\n, \\t) inside the quotes",
                        "control character 0x%02x inside a string", c);
        if (c == '\\') {
            char e = s->pos + 1 < s->len ? s->text[s->pos + 1] : '\0';
            bool ok = e && strchr("\"\\/bfnrt", e);
            if (e == 'u') {
                ok = s->pos + 5 < s->len;
                for (size_t k = 2; ok && k < 6; k++)
                    ok = isxdigit((unsigned char)s->text[s->pos + k]);
                s->pos += ok ? 4 : 0;
            }
            if (!ok)
                return fail(s, s->pos, "JSON escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
                            "invalid escape in a string");
            s->pos += 2;
            continue;
        }
        s->pos++;
    }
    return fail(s, start, "close the string with '\"'", "unterminated string");
}

/* A literal or a number: true, false, null, NaN, Infinity, -Infinity, 1.5e3 */
static bool scan_word(scanner *s)
{
    static const char *const literals[] = {"true", "false", "null", "NaN", "Infinity", "-Infinity"};
    const char *p = s->text + s->pos;
    size_t left = s->len - s->pos, n = 0;
    while (n < left && !delimiter(p[n]) && p[n] != '"')
        n++;
    for (size_t i = 0; i < sizeof literals / sizeof literals[0]; i++) {
        if (strlen(literals[i]) == n && !strncmp(p, literals[i], n)) {
            s->pos += n;
            return true;
        }
    }
    size_t num = number_len(p, n);
    if (num == n && n > 0) {
        s->pos += n;
        return true;
    }
    if (num > 0)
        return fail(s, s->pos,
                    "json.loads reads numbers as -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?; "
                    "quote it if it is a string",
                    "'%.*s' is not a JSON number", (int)(n > 60 ? 60 : n), p);
    return unexpected(s, "a value", true);
}

bool ms_json_check(const char *text, size_t len, int max_depth, ms_json_error *err)
{
    scanner s = {.text = text, .len = len, .err = err};
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        return fail(&s, 0, "save the file as UTF-8 without a byte order mark",
                    "json.loads refuses a UTF-8 byte order mark");
    char *stack = malloc((size_t)max_depth + 1);
    if (!stack)
        return true; /* unchecked: the parser that follows reports what it finds */
    int depth = 0;
    size_t last_comma = 0;
    expect state = EXPECT_VALUE;
    bool ok = true;
    for (;;) {
        skip_ws(&s);
        char c = s.pos < len ? text[s.pos] : '\0';
        bool end = s.pos >= len;
        if (state == EXPECT_FIRST_ITEM || state == EXPECT_ITEM_AFTER_COMMA) {
            if (!end && c == ']' && state == EXPECT_ITEM_AFTER_COMMA) {
                ok = fail(&s, last_comma, "json.loads refuses a comma before ']': remove it",
                          "trailing comma before ']'");
                break;
            }
            if (!end && c == ']') {
                depth--;
                s.pos++;
                state = EXPECT_SEPARATOR;
                continue;
            }
            state = EXPECT_VALUE;
        }
        if (state == EXPECT_FIRST_KEY && !end && c == '}') {
            depth--;
            s.pos++;
            state = EXPECT_SEPARATOR;
            continue;
        }
        if (state == EXPECT_VALUE) {
            if (!end && (c == '[' || c == '{')) {
                if (depth >= max_depth)
                    break; /* too deep to check: the parser refuses it */
                stack[depth++] = c;
                s.pos++;
                state = c == '[' ? EXPECT_FIRST_ITEM : EXPECT_FIRST_KEY;
            } else if (!end && c == '"') {
                if (!(ok = scan_string(&s)))
                    break;
                state = EXPECT_SEPARATOR;
            } else if (!end) {
                if (!(ok = scan_word(&s)))
                    break;
                state = EXPECT_SEPARATOR;
            } else {
                ok = unexpected(&s, "a value", true);
                break;
            }
        } else if (state == EXPECT_FIRST_KEY || state == EXPECT_KEY) {
            if (!end && c == '}') {
                ok = fail(&s, last_comma, "json.loads refuses a comma before '}': remove it",
                          "trailing comma before '}'");
                break;
            }
            if (end || c != '"') {
                ok = unexpected(&s, "a key in double quotes", true);
                break;
            }
            if (!(ok = scan_string(&s)))
                break;
            state = EXPECT_COLON;
        } else if (state == EXPECT_COLON) {
            if (end || c != ':') {
                ok = unexpected(&s, "':' after the key", false);
                break;
            }
            s.pos++;
            state = EXPECT_VALUE;
        } else if (depth == 0) {
            if (!end)
                ok = unexpected(&s, "the end of the text after the value", false);
            break;
        } else {
            char close = stack[depth - 1] == '{' ? '}' : ']';
            if (!end && c == ',') {
                last_comma = s.pos++;
                state = stack[depth - 1] == '{' ? EXPECT_KEY : EXPECT_ITEM_AFTER_COMMA;
            } else if (!end && c == close) {
                depth--;
                s.pos++;
            } else {
                char what[32];
                snprintf(what, sizeof what, "',' or '%c'", close);
                ok = unexpected(&s, what, false);
                break;
            }
        }
    }
    free(stack);
    return ok;
}

void ms_json_put_string(ms_json_put_fn put, void *user, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(user, "\"", 1);
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p != '"' && *p != '\\' && *p >= 0x20)
            continue;
        if ((const char *)p > run)
            put(user, run, (size_t)((const char *)p - run));
        if (*p < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            put(user, esc, 6);
        } else {
            char esc[2] = {'\\', (char)*p};
            put(user, esc, 2);
        }
        run = (const char *)p + 1;
    }
    if (*run)
        put(user, run, strlen(run));
    put(user, "\"", 1);
}

static void put_file(void *user, const char *bytes, size_t len)
{
    fwrite(bytes, 1, len, user);
}

void ms_json_fput_string(FILE *out, const char *s)
{
    ms_json_put_string(put_file, out, s);
}
