#include "record.h"

#include <stdlib.h>

#include "modifier_impl.h"

static void fanout_emit(void *user, const ms_record *record)
{
    const ms_fanout *fan = user;
    for (size_t i = 0; i < fan->count; i++)
        ms_sink_emit(&fan->sinks[i], record);
}

ms_sink ms_fanout_sink(const ms_fanout *fan)
{
    bool skips = true;
    for (size_t i = 0; i < fan->count; i++)
        skips = skips && fan->sinks[i].skips_on_event;
    return (ms_sink){.emit = fanout_emit, .user = (void *)fan, .skips_on_event = skips};
}

/* Read from the record itself: the runner asks twice per modifier per call. */
unsigned ms_record_flags(const ms_modifier *m)
{
    return (m->initialized ? MS_REC_INITIALIZED : 0u) | (m->started ? MS_REC_STARTED : 0u) |
           (m->ended ? MS_REC_ENDED : 0u) | (m->finalized ? MS_REC_FINALIZED : 0u);
}
