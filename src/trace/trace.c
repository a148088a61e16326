#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/modifier.h"
#include "../util/json.h"

enum { BUF_SIZE = 1 << 16 };

/* Formatting a float as its shortest round-trip text is the slow part of a
 * record; indices repeat across the hooks of one event, so keep the last one. */
typedef struct number_cache {
    double value;
    char text[40];
    size_t len;
    int valid;
} number_cache;

struct ms_trace {
    FILE *out;
    size_t call;
    ms_upstream upstream;
    size_t used;
    int failed;
    ms_sink sink;
    bool metrics; /* module metric records become lines of their own */
    number_cache index_cache, metric_cache;
    char buf[BUF_SIZE];
};

static void flush(ms_trace *t)
{
    if (t->used && fwrite(t->buf, 1, t->used, t->out) != t->used)
        t->failed = 1;
    t->used = 0;
}

static void put(ms_trace *t, const char *s, size_t n)
{
    if (t->used + n > BUF_SIZE) {
        flush(t);
        if (n > BUF_SIZE) {
            if (fwrite(s, 1, n, t->out) != n)
                t->failed = 1;
            return;
        }
    }
    memcpy(t->buf + t->used, s, n);
    t->used += n;
}

#define PUT_LIT(t, lit) put((t), (lit), sizeof(lit) - 1)

static void put_str(ms_trace *t, const char *s)
{
    put(t, s, strlen(s));
}

static void put_uint(ms_trace *t, size_t v)
{
    char tmp[24];
    size_t n = sizeof tmp;
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(t, tmp + n, sizeof tmp - n);
}

/* Shortest text that reads back as the same double; JSON has no NaN or
 * infinity, so those are written as null. */
static size_t format_number(double v, char *out, size_t cap)
{
    if (!isfinite(v))
        return (size_t)snprintf(out, cap, "null");
    if (v == floor(v) && fabs(v) < 1e15)
        return (size_t)snprintf(out, cap, "%.0f", v);
    for (int prec = 1; prec <= 17; prec++) {
        int n = snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return (size_t)n;
    }
    return (size_t)snprintf(out, cap, "%.17g", v);
}

static void put_number(ms_trace *t, number_cache *cache, double v)
{
    if (!cache->valid || memcmp(&cache->value, &v, sizeof v) != 0) {
        cache->value = v;
        cache->len = format_number(v, cache->text, sizeof cache->text);
        cache->valid = 1;
    }
    put(t, cache->text, cache->len);
}

static void put_bytes(void *user, const char *bytes, size_t n)
{
    put(user, bytes, n);
}

static void put_json_string(ms_trace *t, const char *s)
{
    ms_json_put_string(put_bytes, t, s);
}

static void put_hook(ms_trace *t, size_t modifier, ms_hook hook, const ms_event *ev)
{
    PUT_LIT(t, "{\"call\": ");
    put_uint(t, t->call);
    PUT_LIT(t, ", \"modifier\": ");
    put_uint(t, modifier);
    PUT_LIT(t, ", \"hook\": \"");
    put_str(t, ms_hook_name(hook));
    if (ev) {
        PUT_LIT(t, "\", \"event\": \"");
        put_str(t, ms_event_type_name_in(ev->type, t->upstream));
        PUT_LIT(t, "\", \"index\": ");
        put_number(t, &t->index_cache, ms_event_current_index(ev));
        PUT_LIT(t, "}\n");
    } else {
        PUT_LIT(t, "\", \"event\": null, \"index\": null}\n");
    }
}

static void emit(void *user, const ms_record *rec);

ms_status ms_trace_new(FILE *out, ms_trace **trace)
{
    ms_trace *t = calloc(1, sizeof *t);
    *trace = t;
    if (!t)
        return MS_ERR_NOMEM;
    t->out = out;
    t->sink = (ms_sink){.emit = emit, .user = t};
    return MS_OK;
}

ms_status ms_trace_free(ms_trace *t)
{
    if (!t)
        return MS_OK;
    flush(t);
    if (fflush(t->out) != 0)
        t->failed = 1;
    ms_status st = t->failed ? MS_ERR_IO : MS_OK;
    free(t);
    return st;
}

void ms_trace_set_metrics(ms_trace *trace, bool on)
{
    trace->metrics = on;
}

void ms_trace_set_upstream(ms_trace *t, ms_upstream profile)
{
    t->upstream = profile;
}

const ms_sink *ms_trace_sink(ms_trace *t)
{
    return &t->sink;
}

static void put_error(ms_trace *t, const ms_raise *raised)
{
    PUT_LIT(t, "{\"call\": ");
    put_uint(t, t->call);
    PUT_LIT(t, ", \"error\": ");
    put_json_string(t, ms_raise_kind_name(raised->kind));
    PUT_LIT(t, ", \"modifier\": ");
    if (raised->modifier >= 0)
        put_uint(t, (size_t)raised->modifier);
    else
        PUT_LIT(t, "null");
    PUT_LIT(t, ", \"message\": ");
    put_json_string(t, raised->message);
    PUT_LIT(t, "}\n");
}

static void put_bool(ms_trace *t, bool b)
{
    if (b)
        PUT_LIT(t, "true");
    else
        PUT_LIT(t, "false");
}

static void put_state(ms_trace *t, const ms_lifecycle *lc)
{
    PUT_LIT(t, "{\"call\": ");
    put_uint(t, t->call);
    PUT_LIT(t, ", \"state\": [");
    for (size_t i = 0; i < ms_lifecycle_count(lc); i++) {
        const ms_modifier *m = ms_lifecycle_modifier_const(lc, i);
        if (i)
            PUT_LIT(t, ", ");
        PUT_LIT(t, "{\"modifier\": ");
        put_uint(t, i);
        PUT_LIT(t, ", \"initialized\": ");
        put_bool(t, ms_modifier_initialized(m));
        PUT_LIT(t, ", \"started\": ");
        put_bool(t, ms_modifier_started(m));
        PUT_LIT(t, ", \"ended\": ");
        put_bool(t, ms_modifier_ended(m));
        PUT_LIT(t, ", \"finalized\": ");
        put_bool(t, ms_modifier_finalized(m));
        double value;
        bool has_value;
        const char *metric = ms_modifier_metric(m, &value, &has_value);
        if (metric) {
            PUT_LIT(t, ", \"");
            put_str(t, metric);
            PUT_LIT(t, "\": ");
            if (has_value)
                put_number(t, &t->metric_cache, value);
            else
                PUT_LIT(t, "null");
        }
        PUT_LIT(t, "}");
    }
    PUT_LIT(t, "]}\n");
}

static void put_metric(ms_trace *t, const ms_record *rec)
{
    PUT_LIT(t, "{\"call\": ");
    put_uint(t, t->call);
    PUT_LIT(t, ", \"modifier\": ");
    put_uint(t, rec->modifier);
    PUT_LIT(t, ", \"metric\": ");
    put_json_string(t, rec->metric);
    PUT_LIT(t, ", \"module\": ");
    put_json_string(t, rec->module);
    PUT_LIT(t, ", \"value\": ");
    put_number(t, &t->metric_cache, rec->value);
    PUT_LIT(t, "}\n");
}

/* A figure about the whole model (module NULL): no modifier, no module. */
static void put_model_metric(ms_trace *t, const ms_record *rec)
{
    PUT_LIT(t, "{\"call\": ");
    put_uint(t, t->call);
    PUT_LIT(t, ", \"metric\": ");
    put_json_string(t, rec->metric);
    PUT_LIT(t, ", \"value\": ");
    put_number(t, &t->metric_cache, rec->value);
    PUT_LIT(t, "}\n");
}

/* Flag records and a modifier's own metric are not lines of their own: the
 * state line after every call carries them, as the trace format has it. A
 * metric about one module (what a hook did to the model) is, with
 * ms_trace_set_metrics. */
static void emit(void *user, const ms_record *rec)
{
    ms_trace *t = user;
    t->call = rec->call;
    switch (rec->kind) {
    case MS_REC_HOOK:
        put_hook(t, rec->modifier, rec->hook, rec->event);
        break;
    case MS_REC_ERROR:
        put_error(t, rec->raised);
        break;
    case MS_REC_CALL_ENDED:
        put_state(t, rec->lc);
        break;
    case MS_REC_METRIC:
        if (t->metrics && rec->module && rec->module[0])
            put_metric(t, rec);
        else if (t->metrics && !rec->module)
            put_model_metric(t, rec);
        break;
    default:
        break;
    }
}
