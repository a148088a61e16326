#include "calib.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../model/safetensors.h"
#include "../util/doc.h"

/* JSON Lines of ids: text, so far larger than any calibration set needs. */
enum { MAX_IDS_BYTES = 1 << 30 };

static ms_status ids_alloc(size_t batch, size_t seq, const char *path, ms_tokens *out,
                           ms_diag *diag)
{
    out->ids = NULL;
    if (!batch || !seq)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-CALIB-TOKENS", path, 0, 0,
                           "%s holds no token ids (%zu sequences of %zu)", path, batch, seq);
    if (batch > SIZE_MAX / seq / sizeof *out->ids)
        return ms_diag_set(diag, MS_ERR_LIMIT, "E-CALIB-TOKENS", path, 0, 0,
                           "%zu sequences of %zu tokens do not fit in memory", batch, seq);
    out->ids = malloc(batch * seq * sizeof *out->ids);
    if (!out->ids)
        return MS_ERR_NOMEM;
    out->batch = batch;
    out->seq = seq;
    return MS_OK;
}

static ms_status out_of_vocab(ms_diag *diag, const char *path, int line, int col, const char *where,
                              long long id, size_t vocab)
{
    ms_diag_set(diag, MS_ERR_INVALID, "E-CALIB-TOKENS", path, line, col,
                "%stoken id %lld is outside the model's vocabulary", where, id);
    ms_diag_hint(diag,
                 "ids must be 0 to %zu (vocab_size %zu): tokenize with the model's own "
                 "tokenizer",
                 vocab - 1, vocab);
    return MS_ERR_INVALID;
}

/* ---- safetensors ---- */

static bool int_dtype(ms_st_dtype d)
{
    return d == MS_ST_U8 || d == MS_ST_I8 || d == MS_ST_I16 || d == MS_ST_U16 || d == MS_ST_I32 ||
           d == MS_ST_U32 || d == MS_ST_I64 || d == MS_ST_U64;
}

/* Element `i` of an integer tensor; unsigned 64-bit values past INT64_MAX
 * come back as -1, which no vocabulary holds. */
static long long int_at(const ms_st_tensor *t, size_t i)
{
    const unsigned char *p = (const unsigned char *)t->data + i * ms_st_dtype_size(t->dtype);
    uint64_t u = 0;
    size_t size = ms_st_dtype_size(t->dtype);
    for (size_t b = 0; b < size; b++)
        u |= (uint64_t)p[b] << (8 * b);
    switch (t->dtype) {
    case MS_ST_I8:
        return (int8_t)u;
    case MS_ST_I16:
        return (int16_t)u;
    case MS_ST_I32:
        return (int32_t)u;
    case MS_ST_I64:
        return (long long)(int64_t)u;
    case MS_ST_U64:
        return u > INT64_MAX ? -1 : (long long)u;
    default:
        return (long long)u;
    }
}

static ms_status read_safetensors(const char *path, size_t vocab, ms_tokens *out, ms_diag *diag)
{
    ms_st_file *f;
    ms_status st = ms_st_open(path, &f, diag);
    if (st != MS_OK)
        return st;
    const ms_st_tensor *t = ms_st_find(f, "input_ids");
    if (!t && ms_st_count(f) == 1)
        t = ms_st_at(f, 0);
    if (!t) {
        char names[256] = "";
        for (size_t i = 0; i < ms_st_count(f) && strlen(names) < sizeof names - 40; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s'%s'", i ? ", " : "",
                     ms_st_at(f, i)->name);
        ms_diag_set(diag, MS_ERR_INVALID, "E-CALIB-TOKENS", path, 0, 0,
                    "which tensor holds the token ids? the file has %zu (%s) and none is called "
                    "'input_ids'",
                    ms_st_count(f), ms_st_count(f) ? names : "none");
        ms_diag_hint(diag, "store the ids as one tensor, or name it input_ids");
        ms_st_close(f);
        return MS_ERR_INVALID;
    }
    if (!int_dtype(t->dtype) || t->ndim != 2) {
        char shape[96] = "";
        for (size_t d = 0; d < t->ndim; d++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%zu", d ? ", " : "",
                     t->shape[d]);
        ms_diag_set(diag, MS_ERR_INVALID, "E-CALIB-TOKENS", path, 0, 0,
                    "tensor '%s' is %s [%s]: token ids are an integer tensor [batch, seq]", t->name,
                    ms_st_dtype_name(t->dtype), shape);
        ms_diag_hint(diag, "use I64 or I32 (U8, I8, I16, U16, U32, U64 also read) with two "
                           "dimensions");
        ms_st_close(f);
        return MS_ERR_INVALID;
    }
    st = ids_alloc(t->shape[0], t->shape[1], path, out, diag);
    for (size_t i = 0; st == MS_OK && i < t->numel; i++) {
        long long id = int_at(t, i);
        if (id < 0 || (unsigned long long)id >= vocab) {
            char where[320];
            snprintf(where, sizeof where, "tensor '%s' [%zu, %zu]: ", t->name, i / t->shape[1],
                     i % t->shape[1]);
            st = out_of_vocab(diag, path, 0, 0, where, id, vocab);
        } else {
            out->ids[i] = (int32_t)id;
        }
    }
    ms_st_close(f);
    if (st != MS_OK)
        ms_tokens_free(out);
    return st;
}

/* ---- JSON Lines ---- */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    return p;
}

/* One line `[id, id, ...]`; appends the ids to `*ids` (grown as needed). */
static ms_status parse_line(const char *p, const char *end, const char *path, int line,
                            size_t vocab, int32_t **ids, size_t *n, size_t *cap, size_t *count,
                            ms_diag *diag)
{
    const char *start = p;
    *count = 0;
    p = skip_ws(p, end);
    if (p == end || *p != '[')
        goto syntax;
    p = skip_ws(p + 1, end);
    if (p < end && *p == ']') {
        p++;
    } else {
        for (;;) {
            const char *num = p;
            if (p < end && *p == '-')
                p++;
            if (p == end || *p < '0' || *p > '9')
                goto syntax;
            while (p < end && *p >= '0' && *p <= '9')
                p++;
            if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
                goto syntax;
            char buf[32];
            size_t len = (size_t)(p - num);
            long long id = -1;
            if (len < sizeof buf) {
                memcpy(buf, num, len);
                buf[len] = 0;
                errno = 0;
                id = strtoll(buf, NULL, 10);
                if (errno)
                    id = LLONG_MIN;
            } else {
                id = num[0] == '-' ? LLONG_MIN : LLONG_MAX;
            }
            if (id < 0 || (unsigned long long)id >= vocab)
                return out_of_vocab(diag, path, line, (int)(num - start) + 1, "", id, vocab);
            if (*n == *cap) {
                size_t c = *cap ? *cap * 2 : 4096;
                int32_t *grown = realloc(*ids, c * sizeof *grown);
                if (!grown)
                    return MS_ERR_NOMEM;
                *ids = grown;
                *cap = c;
            }
            (*ids)[(*n)++] = (int32_t)id;
            ++*count;
            p = skip_ws(p, end);
            if (p < end && *p == ',') {
                p = skip_ws(p + 1, end);
                continue;
            }
            if (p < end && *p == ']') {
                p++;
                break;
            }
            goto syntax;
        }
    }
    if (skip_ws(p, end) == end)
        return MS_OK;
syntax:
    ms_diag_set(diag, MS_ERR_SYNTAX, "E-CALIB-TOKENS", path, line,
                (int)(skip_ws(p, end) - start) + 1,
                "line %d is not a JSON array of token ids (integers)", line);
    ms_diag_hint(diag, "one sequence per line, e.g. [1, 15043, 3186]; or a safetensors file "
                       "with an integer tensor [batch, seq]");
    return MS_ERR_SYNTAX;
}

static ms_status read_jsonl(const char *path, const char *text, size_t len, size_t vocab,
                            ms_tokens *out, ms_diag *diag)
{
    int32_t *ids = NULL;
    size_t n = 0, cap = 0, seq = 0, batch = 0;
    int first = 0;
    ms_status st = MS_OK;
    const char *p = text, *end = text + len;
    for (int line = 1; st == MS_OK && p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        if (skip_ws(p, eol) != eol) {
            size_t count;
            st = parse_line(p, eol, path, line, vocab, &ids, &n, &cap, &count, diag);
            if (st == MS_OK && !batch) {
                seq = count;
                first = line;
            } else if (st == MS_OK && count != seq) {
                st = ms_diag_set(diag, MS_ERR_INVALID, "E-CALIB-TOKENS", path, line, 1,
                                 "line %d has %zu token ids, line %d has %zu: every sequence "
                                 "must have the same length",
                                 line, count, first, seq);
                ms_diag_hint(diag, "cut or pad the sequences to one length: the calibration "
                                   "forward runs them as one [batch, seq] batch");
            }
            batch++;
        }
        p = nl ? nl + 1 : end;
    }
    if (st == MS_OK && (!batch || !seq))
        st = ms_diag_set(diag, MS_ERR_INVALID, "E-CALIB-TOKENS", path, 0, 0,
                         "%s holds no token ids", path);
    if (st == MS_OK) {
        out->ids = ids;
        out->batch = batch;
        out->seq = seq;
        return MS_OK;
    }
    if (st == MS_ERR_INVALID && !diag->hint[0])
        ms_diag_hint(diag, "one JSON array of ids per line, every line as long");
    free(ids);
    return st;
}

/* A safetensors file starts with its header's length (8 bytes, little
 * endian) and the header's opening brace; JSON Lines never do. */
static bool is_safetensors(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char head[9];
    bool yes = fread(head, 1, sizeof head, f) == sizeof head && head[8] == '{' && head[0] != '[';
    fclose(f);
    return yes;
}

ms_status ms_calib_read_ids(const char *path, size_t vocab, ms_tokens *out, ms_diag *diag)
{
    memset(out, 0, sizeof *out);
    if (is_safetensors(path))
        return read_safetensors(path, vocab, out, diag);
    char *text;
    size_t len;
    ms_status st = ms_read_file(path, MAX_IDS_BYTES, &text, &len, diag);
    if (st != MS_OK)
        return st;
    st = read_jsonl(path, text, len, vocab, out, diag);
    free(text);
    return st;
}

ms_status ms_calib_tokens(const ms_calib *calib, size_t vocab, ms_tokens *out, ms_diag *diag)
{
    switch (calib->source) {
    case MS_CALIB_TEXT:
        return ms_tokens_from_text(calib->path, calib->seq, calib->batch, vocab, out, diag);
    case MS_CALIB_IDS:
        return ms_calib_read_ids(calib->path, vocab, out, diag);
    default:
        return ms_tokens_random(calib->seed, calib->batch, calib->seq, vocab, out, diag);
    }
}
