/* The packed form of a run's calls, hooks and metrics. */
#include "chunk.h"

#include <stdlib.h>
#include <string.h>

struct ms_chunk_writer {
    uint8_t *buf;
    size_t len, cap;
    size_t first, calls;
    long long step, batch; /* of the chunk's previous event call */
    size_t seg;            /* where the current call's hooks and metrics start */
    size_t last, last_len; /* the last call's hooks and metrics written out */
    bool open;             /* a call whose hooks and metrics may still come */
    bool nomem;
    char **strings;
    size_t n_strings, cap_strings;
};

ms_chunk_writer *ms_chunk_writer_new(void)
{
    return calloc(1, sizeof(ms_chunk_writer));
}

static void drop_strings(char **s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i]);
}

void ms_chunk_writer_free(ms_chunk_writer *w)
{
    if (!w)
        return;
    drop_strings(w->strings, w->n_strings);
    free(w->strings);
    free(w->buf);
    free(w);
}

void ms_chunk_writer_reset(ms_chunk_writer *w, size_t first)
{
    drop_strings(w->strings, w->n_strings);
    w->n_strings = 0;
    w->len = w->calls = w->seg = w->last = w->last_len = 0;
    w->step = w->batch = 0;
    w->open = false;
    w->first = first;
}

static bool grow(ms_chunk_writer *w, size_t more)
{
    if (w->len + more <= w->cap)
        return true;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + more)
        cap *= 2;
    uint8_t *b = realloc(w->buf, cap);
    if (!b) {
        w->nomem = true;
        return false;
    }
    w->buf = b;
    w->cap = cap;
    return true;
}

static void put_u(ms_chunk_writer *w, uint64_t v)
{
    while (v >= 0x80) {
        w->buf[w->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    w->buf[w->len++] = (uint8_t)v;
}

static void put_s(ms_chunk_writer *w, long long v)
{
    put_u(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_f(ms_chunk_writer *w, double v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(w->buf + w->len, &v, 8);
    w->len += 8;
#else
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; i++)
        w->buf[w->len++] = (uint8_t)(bits >> (8 * i));
#endif
}

/* The current call's hooks and metrics: the same as the last call's become
 * one 'R'. */
static void close_call(ms_chunk_writer *w)
{
    if (!w->open)
        return;
    w->open = false;
    size_t n = w->len - w->seg;
    if (!n)
        return;
    if (n == w->last_len && !memcmp(w->buf + w->seg, w->buf + w->last, n)) {
        w->len = w->seg;
        w->buf[w->len++] = 'R';
        return;
    }
    w->last = w->seg;
    w->last_len = n;
}

static bool has_event(const ms_call *c)
{
    return c->kind == MS_CALL_EVENT || c->kind == MS_CALL_MODIFIER_UPDATE_EVENT;
}

bool ms_chunk_call(ms_chunk_writer *w, const ms_call *c)
{
    close_call(w);
    /* 7 varints of at most 10 bytes, 4 bytes and a double */
    if (!grow(w, 90))
        return false;
    bool on_modifier = ms_call_is_direct(c) || (c->kind == MS_CALL_EVENT && c->narrowed);
    w->buf[w->len++] = 'C';
    put_u(w, (uint64_t)c->kind);
    put_u(w, on_modifier ? (uint64_t)c->modifier + 1 : 0);
    w->buf[w->len++] = c->narrowed;
    if (has_event(c)) {
        put_u(w, (uint64_t)c->event.type);
        put_s(w, c->event.global_step - w->step);
        put_s(w, c->event.global_batch - w->batch);
        w->step = c->event.global_step;
        w->batch = c->event.global_batch;
        put_s(w, c->event.steps_per_epoch);
        put_s(w, c->event.batches_per_step);
        w->buf[w->len++] = (uint8_t)(c->event.epoch_based | c->event.has_modules << 1);
    }
    w->buf[w->len++] = c->has_loss;
    if (c->has_loss)
        put_f(w, c->loss);
    w->calls++;
    w->seg = w->len;
    w->open = true;
    return true;
}

bool ms_chunk_hook(ms_chunk_writer *w, size_t modifier, ms_hook hook)
{
    if (!grow(w, 16))
        return false;
    w->buf[w->len++] = 'H';
    put_u(w, modifier);
    put_u(w, (uint64_t)hook);
    return true;
}

/* The id of `s` in this chunk, defining it first when new. */
static bool string_id(ms_chunk_writer *w, const char *s, size_t *id)
{
    /* most calls look up "" and one name: the first byte settles most
     * comparisons without a call to strcmp */
    for (size_t i = w->n_strings; i-- > 0;) {
        const char *t = w->strings[i];
        if (t[0] == s[0] && (!s[0] || !strcmp(t + 1, s + 1))) {
            *id = i;
            return true;
        }
    }
    if (w->n_strings == w->cap_strings) {
        size_t cap = w->cap_strings ? 2 * w->cap_strings : 16;
        char **g = realloc(w->strings, cap * sizeof *g);
        if (!g)
            return !(w->nomem = true);
        w->strings = g;
        w->cap_strings = cap;
    }
    size_t n = strlen(s);
    char *copy = malloc(n + 1);
    if (!copy || !grow(w, n + 11)) {
        free(copy);
        return !(w->nomem = true);
    }
    memcpy(copy, s, n + 1);
    w->buf[w->len++] = 'S';
    put_u(w, n);
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    *id = w->n_strings;
    w->strings[w->n_strings++] = copy;
    return true;
}

bool ms_chunk_metric(ms_chunk_writer *w, size_t modifier, const char *module, const char *name,
                     bool has_value, double value)
{
    size_t mod_id, name_id;
    if (!string_id(w, module ? module : "", &mod_id) || !string_id(w, name ? name : "", &name_id) ||
        !grow(w, 40))
        return false;
    w->buf[w->len++] = 'M';
    put_u(w, modifier);
    put_u(w, mod_id);
    put_u(w, name_id);
    w->buf[w->len++] = has_value;
    if (has_value)
        put_f(w, value);
    return true;
}

const uint8_t *ms_chunk_data(ms_chunk_writer *w, size_t *len)
{
    close_call(w);
    *len = w->len;
    return w->buf;
}

size_t ms_chunk_first(const ms_chunk_writer *w)
{
    return w->first;
}

size_t ms_chunk_calls(const ms_chunk_writer *w)
{
    return w->calls;
}

struct ms_chunk_reader {
    const uint8_t *data;
    size_t pos, len;
    size_t replay, replay_end; /* replaying an 'R': the earlier bytes */
    bool replaying;
    size_t seg;            /* the current call's hooks and metrics start */
    bool seg_literal;      /* they are written out, not an 'R' */
    size_t last, last_end; /* the last written-out ones */
    size_t call, first;
    bool started;
    long long step, batch;
    char **strings;
    size_t n_strings, cap_strings;
};

ms_chunk_reader *ms_chunk_reader_new(void)
{
    return calloc(1, sizeof(ms_chunk_reader));
}

void ms_chunk_reader_free(ms_chunk_reader *r)
{
    if (!r)
        return;
    drop_strings(r->strings, r->n_strings);
    free(r->strings);
    free(r);
}

void ms_chunk_reader_start(ms_chunk_reader *r, const uint8_t *data, size_t len, size_t first)
{
    drop_strings(r->strings, r->n_strings);
    r->n_strings = 0;
    r->data = data;
    r->len = len;
    r->pos = r->seg = r->last = r->last_end = 0;
    r->replaying = r->seg_literal = r->started = false;
    r->first = first;
    r->call = first;
    r->step = r->batch = 0;
}

typedef struct cursor {
    const uint8_t *p;
    size_t pos, end;
    bool bad;
} cursor;

static uint64_t get_u(cursor *c)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->pos >= c->end) {
            c->bad = true;
            return 0;
        }
        uint8_t b = c->p[c->pos++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    c->bad = true;
    return 0;
}

static long long get_s(cursor *c)
{
    uint64_t u = get_u(c);
    return (long long)(u >> 1) ^ -(long long)(u & 1);
}

static uint8_t get_b(cursor *c)
{
    if (c->pos >= c->end) {
        c->bad = true;
        return 0;
    }
    return c->p[c->pos++];
}

static double get_f(cursor *c)
{
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits |= (uint64_t)get_b(c) << (8 * i);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static const char *string_at(ms_chunk_reader *r, uint64_t id, cursor *c)
{
    if (id >= r->n_strings) {
        c->bad = true;
        return "";
    }
    return r->strings[id];
}

int ms_chunk_next(ms_chunk_reader *r, ms_chunk_item *it)
{
    for (;;) {
        cursor c = {r->data, r->replaying ? r->replay : r->pos,
                    r->replaying ? r->replay_end : r->len, false};
        if (r->replaying && c.pos >= c.end) {
            r->replaying = false;
            continue;
        }
        if (c.pos >= c.end) {
            return 0;
        }
        size_t at = c.pos;
        uint8_t tag = get_b(&c);
        memset(it, 0, sizeof *it);
        int got = 1;
        switch (tag) {
        case 'C': {
            if (r->replaying)
                return -1;
            if (r->seg_literal && at > r->seg) {
                r->last = r->seg;
                r->last_end = at;
            }
            if (r->started)
                r->call++;
            r->started = true;
            ms_call *k = &it->what;
            uint64_t kind = get_u(&c);
            if (kind > MS_CALL_MODIFIER_FINALIZE)
                return -1;
            k->kind = (ms_call_kind)kind;
            uint64_t m = get_u(&c);
            k->modifier = m ? (size_t)(m - 1) : 0;
            k->narrowed = get_b(&c) != 0;
            if (k->kind == MS_CALL_EVENT || k->kind == MS_CALL_MODIFIER_UPDATE_EVENT) {
                uint64_t type = get_u(&c);
                if (type >= MS_EV_COUNT)
                    return -1;
                k->event.type = (ms_event_type)type;
                r->step += get_s(&c);
                r->batch += get_s(&c);
                k->event.global_step = r->step;
                k->event.global_batch = r->batch;
                k->event.steps_per_epoch = get_s(&c);
                k->event.batches_per_step = get_s(&c);
                uint8_t bits = get_b(&c);
                k->event.epoch_based = bits & 1;
                k->event.has_modules = bits >> 1 & 1;
            }
            k->has_loss = get_b(&c) != 0;
            if (k->has_loss)
                k->loss = get_f(&c);
            it->kind = MS_CHUNK_CALL;
            r->seg = c.pos;
            r->seg_literal = true;
            break;
        }
        case 'H': {
            it->kind = MS_CHUNK_HOOK;
            it->modifier = (size_t)get_u(&c);
            uint64_t hook = get_u(&c);
            if (hook >= MS_HOOK_COUNT)
                return -1;
            it->hook = (ms_hook)hook;
            break;
        }
        case 'M': {
            it->kind = MS_CHUNK_METRIC;
            it->modifier = (size_t)get_u(&c);
            it->module = string_at(r, get_u(&c), &c);
            it->metric = string_at(r, get_u(&c), &c);
            it->has_value = get_b(&c) != 0;
            if (it->has_value)
                it->value = get_f(&c);
            break;
        }
        case 'S': {
            uint64_t n = get_u(&c);
            if (c.bad || n > c.end - c.pos)
                return -1;
            got = 0;
            if (!r->replaying) {
                if (r->n_strings == r->cap_strings) {
                    size_t cap = r->cap_strings ? 2 * r->cap_strings : 16;
                    char **g = realloc(r->strings, cap * sizeof *g);
                    if (!g)
                        return -1;
                    r->strings = g;
                    r->cap_strings = cap;
                }
                char *s = malloc((size_t)n + 1);
                if (!s)
                    return -1;
                memcpy(s, c.p + c.pos, (size_t)n);
                s[n] = '\0';
                r->strings[r->n_strings++] = s;
            }
            c.pos += (size_t)n;
            break;
        }
        case 'R':
            if (r->replaying || !r->started || r->last_end <= r->last)
                return -1;
            r->seg_literal = false;
            r->pos = c.pos;
            r->replay = r->last;
            r->replay_end = r->last_end;
            r->replaying = true;
            continue;
        default:
            return -1;
        }
        if (c.bad)
            return -1;
        if (r->replaying)
            r->replay = c.pos;
        else
            r->pos = c.pos;
        if (got) {
            it->call = r->call;
            return 1;
        }
    }
}
