/* Target matching as compressed_tensors.utils.match: exact module name,
 * class name anywhere in the MRO, or "re:" + a Python regex applied with
 * re.match (anchored at the start only). Python regexes are translated to
 * POSIX extended ones; what POSIX cannot express is refused, never guessed. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

typedef struct buf {
    char *p;
    size_t len, cap;
    bool oom;
} buf;

static void put(buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 64) + n;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* A literal character: ERE specials escaped, as POSIX defines for them; a
 * lone '}' is put in brackets, where it is unambiguous. */
static void putc_lit(buf *b, char c)
{
    char s[3] = {'\\', c, 0};
    if (c == '}')
        put(b, "[}]");
    else
        put(b, strchr(".[()*+?{|^$\\", c) ? s : s + 1);
}

static bool shorthand(char c, const char **ere)
{
    switch (c) {
    case 'd':
        *ere = "[0-9]";
        return true;
    case 'D':
        *ere = "[^0-9]";
        return true;
    case 'w':
        *ere = "[[:alnum:]_]";
        return true;
    case 'W':
        *ere = "[^[:alnum:]_]";
        return true;
    case 's':
        *ere = "[[:space:]]";
        return true;
    case 'S':
        *ere = "[^[:space:]]";
        return true;
    default:
        return false;
    }
}

/* The character a Python escape of a non-class letter stands for, or 0. */
static char escaped_char(char c)
{
    switch (c) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    case 'f':
        return '\f';
    case 'v':
        return '\v';
    default:
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? 0 : c;
    }
}

/* A character class [...] starting after '['; returns the position after ']'
 * or NULL with `why` set. Ranges are expanded into a set of bytes so that the
 * POSIX form can order ']' '^' '-' where they are literal. */
static const char *bracket(const char *p, buf *b, const char **why)
{
    bool set[128] = {false}, neg = false, alnum = false, space = false, digit = false;
    if (*p == '^')
        neg = true, p++;
    bool first = true;
    while (*p && (*p != ']' || first)) {
        first = false;
        int lo;
        if (*p == '\\') {
            const char *cls;
            if (p[1] && shorthand(p[1], &cls)) {
                if (p[1] == 'd')
                    digit = true;
                else if (p[1] == 'w')
                    alnum = true;
                else if (p[1] == 's')
                    space = true;
                else {
                    *why = "negated classes (\\D \\W \\S) inside [...] are not supported";
                    return NULL;
                }
                p += 2;
                continue;
            }
            lo = p[1] ? escaped_char(p[1]) : 0;
            if (!lo) {
                *why = "unsupported escape inside [...]";
                return NULL;
            }
            p += 2;
        } else {
            lo = (unsigned char)*p++;
        }
        int hi = lo;
        if (*p == '-' && p[1] && p[1] != ']') {
            if (p[1] == '\\') {
                hi = p[2] ? escaped_char(p[2]) : 0;
                p += 3;
            } else {
                hi = (unsigned char)p[1];
                p += 2;
            }
            if (!hi || hi < lo) {
                *why = "bad range inside [...]";
                return NULL;
            }
        }
        if (lo >= 128 || hi >= 128) {
            *why = "non-ASCII characters inside [...] are not supported";
            return NULL;
        }
        for (int c = lo; c <= hi; c++)
            set[c] = true;
    }
    if (*p != ']') {
        *why = "unterminated [...]";
        return NULL;
    }
    put(b, neg ? "[^" : "[");
    if (set[']'])
        put(b, "]");
    for (int c = 1; c < 128; c++)
        if (set[c] && !strchr("]^-[", c)) {
            char s[2] = {(char)c, 0};
            put(b, s);
        }
    put(b, digit ? "0-9" : "");
    put(b, alnum ? "[:alnum:]_" : "");
    put(b, space ? "[:space:]" : "");
    put(b, set['['] ? "[" : "");
    put(b, set['^'] ? "^" : "");
    put(b, set['-'] ? "-" : "");
    put(b, "]");
    return p + 1;
}

/* A Python quantifier {m}, {m,}, {,n}, {m,n}: copies it (POSIX form) and
 * returns the position after '}', or NULL when the brace is a literal. */
static const char *braces(const char *p, buf *b)
{
    const char *q = p + 1;
    size_t m = strspn(q, "0123456789");
    const char *after_m = q + m;
    size_t n = 0;
    bool comma = *after_m == ',';
    if (comma)
        n = strspn(after_m + 1, "0123456789");
    const char *close = after_m + (comma ? 1 + n : 0);
    if (*close != '}' || (!m && !comma))
        return NULL;
    put(b, "{");
    if (!m)
        put(b, "0");
    char tmp[64];
    size_t len = (size_t)(close - q);
    if (len >= sizeof tmp)
        return NULL;
    memcpy(tmp, q, len);
    tmp[len] = 0;
    put(b, tmp);
    put(b, "}");
    return close + 1;
}

/* Translates `py` into an anchored POSIX ERE; NULL with `why` on failure. */
static char *py_to_ere(const char *py, const char **why)
{
    buf b = {0};
    put(&b, "^(");
    bool quantifiable = false, after_quant = false;
    for (const char *p = py; *p && !*why;) {
        bool quant = false;
        char c = *p;
        if (c == '\\') {
            const char *cls;
            char lit = p[1] ? escaped_char(p[1]) : 0;
            if (p[1] && shorthand(p[1], &cls))
                put(&b, cls);
            else if (lit)
                putc_lit(&b, lit);
            else
                *why = p[1] >= '0' && p[1] <= '9' ? "backreferences are not supported"
                       : p[1] ? "this escape (\\b \\A \\Z \\x...) is not supported"
                              : "the pattern ends with a lone backslash";
            p += p[1] ? 2 : 1;
        } else if (c == '[') {
            p = bracket(p + 1, &b, why);
        } else if (c == '(') {
            if (p[1] == '?' && p[2] == ':')
                p += 3;
            else if (p[1] == '?' && p[2] == 'P' && p[3] == '<' && strchr(p, '>'))
                p = strchr(p, '>') + 1;
            else if (p[1] == '?') {
                *why = "lookarounds, flags and other (?...) groups are not supported";
                break;
            } else
                p++;
            put(&b, "(");
            quantifiable = after_quant = false;
            continue;
        } else if (c == '*' || c == '+' || c == '?') {
            if (after_quant && c == '?') { /* lazy: same strings match at the start */
                p++;
                continue;
            }
            if (after_quant) {
                *why = "possessive quantifiers are not supported";
                break;
            }
            if (!quantifiable) {
                *why = "nothing to repeat";
                break;
            }
            char s[2] = {c, 0};
            put(&b, s);
            p++;
            quant = true;
        } else if (c == '{') {
            const char *next = quantifiable && !after_quant ? braces(p, &b) : NULL;
            if (next)
                p = next, quant = true;
            else
                putc_lit(&b, *p++);
        } else if (c == ')' || c == '|' || c == '^' || c == '$' || c == '.') {
            char s[2] = {c, 0};
            put(&b, s);
            p++;
        } else {
            putc_lit(&b, *p++);
        }
        if (!p)
            break;
        after_quant = quant;
        quantifiable = !quant && c != '|' && c != '^';
    }
    put(&b, ")");
    if (*why || b.oom) {
        if (b.oom && !*why)
            *why = "out of memory";
        free(b.p);
        return NULL;
    }
    return b.p;
}

typedef struct pattern {
    const char *text;
    bool is_re;
    regex_t re;
} pattern;

static ms_status compile(pattern *pt, const char *text, ms_diag *diag)
{
    pt->text = text;
    pt->is_re = !strncmp(text, "re:", 3);
    if (!pt->is_re)
        return MS_OK;
    const char *why = NULL;
    char *ere = py_to_ere(text + 3, &why);
    if (!ere) {
        ms_diag_set(diag, MS_ERR_INVALID, "E-TARGET", NULL, 0, 0, "target '%s': %s", text, why);
        ms_diag_hint(diag, "modsim supports Python regex syntax that POSIX can express: . [] () "
                           "| * + ? {m,n} ^ $ \\d \\w \\s and escaped characters");
        return MS_ERR_INVALID;
    }
    int rc = regcomp(&pt->re, ere, REG_EXTENDED | REG_NOSUB);
    free(ere);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &pt->re, msg, sizeof msg);
        pt->is_re = false;
        ms_diag_set(diag, MS_ERR_INVALID, "E-TARGET", NULL, 0, 0,
                    "target '%s' is not a valid regex: %s", text, msg);
        return MS_ERR_INVALID;
    }
    return MS_OK;
}

static bool match_name(const pattern *pt, const char *name)
{
    return pt->is_re ? regexec(&pt->re, name, 0, NULL, 0) == 0 : !strcmp(pt->text, name);
}

static bool is_match(const pattern *pt, const ms_module *mod)
{
    return match_name(pt, mod->name) || ms_module_is_a(mod, pt->text);
}

static void free_patterns(pattern *pts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pts[i].is_re)
            regfree(&pts[i].re);
    free(pts);
}

/* Warns about the first target that matched nothing, explaining the
 * parameter-name case that llm-compressor recipes often contain. */
static void warn_unmatched(const ms_model *model, const pattern *pts, const size_t *hits, size_t n,
                           ms_diag *diag)
{
    size_t unmatched = 0, first = 0;
    for (size_t t = n; t-- > 0;)
        if (!hits[t])
            unmatched++, first = t;
    if (!unmatched || !diag)
        return;
    const char *param = NULL;
    char name[128];
    for (size_t i = 0; i < ms_model_module_count(model) && !param; i++) {
        const ms_module *mod = ms_model_module(model, i);
        snprintf(name, sizeof name, "%s.weight", mod->name);
        if (mod->weight && match_name(&pts[first], name))
            param = name;
    }
    if (param)
        ms_diag_set(diag, MS_OK, "W-TARGET-UNMATCHED", NULL, 0, 0,
                    "target '%s' matches no module: it matches parameter names such as '%s', "
                    "and targets match module names",
                    pts[first].text, param);
    else
        ms_diag_set(diag, MS_OK, "W-TARGET-UNMATCHED", NULL, 0, 0,
                    "target '%s' matches no module%s", pts[first].text,
                    unmatched > 1 ? " (nor do other targets)" : "");
    if (param)
        ms_diag_hint(diag, "upstream selects nothing with it either; drop the '.weight' part, "
                           "e.g. 're:.*self_attn.q_proj$'");
    else
        ms_diag_hint(diag, "targets are module names (model.layers.0.mlp.up_proj), class names "
                           "(Linear, LlamaDecoderLayer) or re:<regex>");
    diag->severity = MS_SEV_WARNING;
}

ms_status ms_model_match(const ms_model *model, const char *const *targets, size_t n_targets,
                         const char *const *ignore, size_t n_ignore, ms_match *out, ms_diag *diag)
{
    memset(out, 0, sizeof *out);
    size_t n = n_targets + n_ignore, count = ms_model_module_count(model);
    pattern *pts = calloc(n ? n : 1, sizeof *pts);
    out->modules = malloc((count ? count : 1) * sizeof *out->modules);
    out->target_hits = calloc(n_targets ? n_targets : 1, sizeof *out->target_hits);
    if (!pts || !out->modules || !out->target_hits) {
        free(pts);
        ms_match_free(out);
        return ms_diag_set(diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
    }
    ms_status st = MS_OK;
    size_t compiled = 0;
    for (; compiled < n && st == MS_OK; compiled++)
        st = compile(&pts[compiled],
                     compiled < n_targets ? targets[compiled] : ignore[compiled - n_targets], diag);
    if (st != MS_OK) {
        free_patterns(pts, compiled);
        ms_match_free(out);
        return st;
    }
    for (size_t i = 0; i < count; i++) {
        const ms_module *mod = ms_model_module(model, i);
        bool hit = false, ignored = false;
        for (size_t t = 0; t < n_targets; t++)
            if (is_match(&pts[t], mod))
                hit = true, out->target_hits[t]++;
        for (size_t t = n_targets; hit && t < n && !ignored; t++)
            ignored = is_match(&pts[t], mod);
        if (hit && !ignored)
            out->modules[out->count++] = i;
    }
    if (diag)
        ms_diag_clear(diag);
    warn_unmatched(model, pts, out->target_hits, n_targets, diag);
    free_patterns(pts, n);
    return MS_OK;
}

void ms_match_free(ms_match *match)
{
    free(match->modules);
    free(match->target_hits);
    match->modules = match->target_hits = NULL;
    match->count = 0;
}
