#include "call.h"

#include <stdlib.h>

struct ms_runner {
    ms_lifecycle *lc;
    ms_sink sink;
    unsigned char *flags; /* per modifier, before the call; allocated once */
    bool stale;           /* the lifecycle changed outside: read the flags again */
    size_t *metered;      /* the modifiers whose type reports a metric */
    size_t n_metered;
};

bool ms_call_is_direct(const ms_call *call)
{
    return call->kind == MS_CALL_MODIFIER_INITIALIZE ||
           call->kind == MS_CALL_MODIFIER_UPDATE_EVENT || call->kind == MS_CALL_MODIFIER_FINALIZE;
}

ms_status ms_call_run(const ms_call *call, ms_lifecycle *lc, ms_raise *raised)
{
    switch (call->kind) {
    case MS_CALL_INITIALIZE:
        return ms_lifecycle_initialize(lc, raised);
    case MS_CALL_EVENT:
        if (call->narrowed)
            return ms_lifecycle_event_narrowed(lc, call->modifier, &call->event,
                                               call->has_loss ? &call->loss : NULL, raised);
        return ms_lifecycle_event(lc, &call->event, call->has_loss ? &call->loss : NULL, raised);
    case MS_CALL_FINALIZE:
        return ms_lifecycle_finalize(lc, raised);
    case MS_CALL_MODIFIER_INITIALIZE:
        return ms_lifecycle_modifier_initialize(lc, call->modifier, raised);
    case MS_CALL_MODIFIER_UPDATE_EVENT:
        return ms_lifecycle_modifier_update_event(lc, call->modifier, &call->event, raised);
    case MS_CALL_MODIFIER_FINALIZE:
        return ms_lifecycle_modifier_finalize(lc, call->modifier, raised);
    }
    return MS_OK;
}

ms_status ms_runner_new(ms_lifecycle *lc, const ms_sink *sink, ms_runner **out)
{
    ms_runner *r = calloc(1, sizeof *r);
    size_t n = ms_lifecycle_count(lc);
    if (r) {
        r->flags = malloc(n ? n : 1);
        r->metered = malloc((n ? n : 1) * sizeof *r->metered);
    }
    if (!r || !r->flags || !r->metered) {
        if (r) {
            free(r->flags);
            free(r->metered);
        }
        free(r);
        *out = NULL;
        return MS_ERR_NOMEM;
    }
    /* a type has a metric or not for good: look once, not at every call */
    for (size_t i = 0; i < n; i++) {
        double value;
        bool has;
        if (ms_modifier_metric(ms_lifecycle_modifier_const(lc, i), &value, &has))
            r->metered[r->n_metered++] = i;
    }
    r->lc = lc;
    r->stale = true;
    ms_runner_set_sink(r, sink);
    *out = r;
    return MS_OK;
}

void ms_runner_free(ms_runner *r)
{
    if (!r)
        return;
    ms_lifecycle_set_sink(r->lc, NULL);
    free(r->flags);
    free(r->metered);
    free(r);
}

void ms_runner_resync(ms_runner *r)
{
    r->stale = true;
}

void ms_runner_set_sink(ms_runner *r, const ms_sink *sink)
{
    r->sink = sink ? *sink : (ms_sink){0};
    ms_lifecycle_set_sink(r->lc, &r->sink);
}

ms_status ms_runner_call(ms_runner *r, const ms_call *call, size_t index, ms_raise *raised)
{
    size_t n = ms_lifecycle_count(r->lc);
    ms_lifecycle_set_call_index(r->lc, index);
    if (r->stale)
        for (size_t i = 0; i < n; i++)
            r->flags[i] = (unsigned char)ms_record_flags(ms_lifecycle_modifier_const(r->lc, i));
    r->stale = false;
    ms_sink_emit(&r->sink, &(ms_record){.kind = MS_REC_CALL_BEGUN, .call = index, .what = call});
    ms_status st = ms_call_run(call, r->lc, raised);
    if (st == MS_ERR_RAISED)
        ms_sink_emit(
            &r->sink,
            &(ms_record){.kind = MS_REC_ERROR, .call = index, .what = call, .raised = raised});
    for (size_t i = 0; i < n; i++) {
        const ms_modifier *m = ms_lifecycle_modifier_const(r->lc, i);
        unsigned now = ms_record_flags(m);
        if (now == r->flags[i])
            continue;
        ms_sink_emit(&r->sink, &(ms_record){.kind = MS_REC_FLAGS,
                                            .call = index,
                                            .what = call,
                                            .modifier = i,
                                            .flags_before = r->flags[i],
                                            .flags_after = now});
        r->flags[i] = (unsigned char)now; /* the next call's "before" */
    }
    for (size_t k = 0; k < r->n_metered; k++) {
        size_t i = r->metered[k];
        ms_record rec = {
            .kind = MS_REC_METRIC, .call = index, .what = call, .modifier = i, .module = ""};
        rec.metric =
            ms_modifier_metric(ms_lifecycle_modifier_const(r->lc, i), &rec.value, &rec.has_value);
        ms_sink_emit(&r->sink, &rec);
    }
    ms_sink_emit(&r->sink,
                 &(ms_record){.kind = MS_REC_CALL_ENDED, .call = index, .what = call, .lc = r->lc});
    return st;
}
