/* The packed form of a run's calls, hooks and metrics. */
#include "chunk.h"

#include <stdlib.h>
#include <string.h>

#include "../util/array.h"

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
    size_t module_hint, name_hint; /* the ids the last metric's strings had */
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

/* Out of line, so that the writers below stay small where no room is
 * needed (nearly always). */
__attribute__((noinline, cold)) static bool grow_slow(ms_chunk_writer *w, size_t more)
{
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

/* Room for `more` bytes; the caller then writes through a local cursor
 * (put_u and put_f below), which keeps `len` out of memory while it does. */
static inline bool grow(ms_chunk_writer *w, size_t more)
{
    return w->len + more <= w->cap || grow_slow(w, more);
}

static inline uint8_t *put_u(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static inline uint8_t *put_s(uint8_t *p, long long v)
{
    return put_u(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static inline uint8_t *put_f(uint8_t *p, double v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
    return p + 8;
#else
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    for (int i = 0; i < 8; i++)
        *p++ = (uint8_t)(bits >> (8 * i));
    return p;
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
    uint8_t *p = w->buf + w->len;
    *p++ = 'C';
    p = put_u(p, (uint64_t)c->kind);
    p = put_u(p, on_modifier ? (uint64_t)c->modifier + 1 : 0);
    *p++ = c->narrowed;
    if (has_event(c)) {
        p = put_u(p, (uint64_t)c->event.type);
        p = put_s(p, c->event.global_step - w->step);
        p = put_s(p, c->event.global_batch - w->batch);
        w->step = c->event.global_step;
        w->batch = c->event.global_batch;
        p = put_s(p, c->event.steps_per_epoch);
        p = put_s(p, c->event.batches_per_step);
        *p++ = (uint8_t)(c->event.epoch_based | c->event.has_modules << 1);
    }
    *p++ = c->has_loss;
    if (c->has_loss)
        p = put_f(p, c->loss);
    w->len = (size_t)(p - w->buf);
    w->calls++;
    w->seg = w->len;
    w->open = true;
    return true;
}

bool ms_chunk_hook(ms_chunk_writer *w, size_t modifier, ms_hook hook)
{
    if (!grow(w, 21))
        return false;
    uint8_t *p = w->buf + w->len;
    *p++ = 'H';
    p = put_u(p, modifier);
    p = put_u(p, (uint64_t)hook);
    w->len = (size_t)(p - w->buf);
    return true;
}

/* Most calls look up "" and one name: the first byte settles most
 * comparisons without a call to strcmp. */
static inline bool same_string(const char *a, const char *b)
{
    return a[0] == b[0] && (!a[0] || !strcmp(a + 1, b + 1));
}

/* The id of `s` in this chunk, defining it first when new. */
__attribute__((noinline)) static bool string_id_slow(ms_chunk_writer *w, const char *s,
                                                     size_t *hint, size_t *id)
{
    for (size_t i = w->n_strings; i-- > 0;)
        if (same_string(w->strings[i], s)) {
            *id = *hint = i;
            return true;
        }
    if (!ms_array_reserve(&w->strings, &w->cap_strings, w->n_strings, sizeof *w->strings))
        return !(w->nomem = true);
    size_t n = strlen(s);
    char *copy = malloc(n + 1);
    if (!copy || !grow(w, n + 11)) {
        free(copy);
        return !(w->nomem = true);
    }
    memcpy(copy, s, n + 1);
    uint8_t *p = w->buf + w->len;
    *p++ = 'S';
    p = put_u(p, n);
    memcpy(p, s, n);
    w->len = (size_t)(p + n - w->buf);
    *id = *hint = w->n_strings;
    w->strings[w->n_strings++] = copy;
    return true;
}

/* Each metric of a call names the module and the metric the one before it
 * did, or the one of the call before: `hint` (the id found last time) is
 * tried first. */
static inline bool string_id(ms_chunk_writer *w, const char *s, size_t *hint, size_t *id)
{
    if (*hint < w->n_strings && same_string(w->strings[*hint], s)) {
        *id = *hint;
        return true;
    }
    return string_id_slow(w, s, hint, id);
}

bool ms_chunk_metric(ms_chunk_writer *w, size_t modifier, const char *module, const char *name,
                     bool has_value, double value)
{
    size_t mod_id, name_id;
    if (!string_id(w, module ? module : "", &w->module_hint, &mod_id) ||
        !string_id(w, name ? name : "", &w->name_hint, &name_id) || !grow(w, 40))
        return false;
    uint8_t *p = w->buf + w->len;
    *p++ = 'M';
    p = put_u(p, modifier);
    p = put_u(p, mod_id);
    p = put_u(p, name_id);
    *p++ = has_value;
    if (has_value)
        p = put_f(p, value);
    w->len = (size_t)(p - w->buf);
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
                if (!ms_array_reserve(&r->strings, &r->cap_strings, r->n_strings,
                                      sizeof *r->strings))
                    return -1;
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
