#include "record.h"

#include <stdlib.h>

static void fanout_emit(void *user, const ms_record *record)
{
    const ms_fanout *fan = user;
    for (size_t i = 0; i < fan->count; i++)
        ms_sink_emit(&fan->sinks[i], record);
}

ms_sink ms_fanout_sink(const ms_fanout *fan)
{
    return (ms_sink){.emit = fanout_emit, .user = (void *)fan};
}

unsigned ms_record_flags(const ms_modifier *m)
{
    return (ms_modifier_initialized(m) ? MS_REC_INITIALIZED : 0u) |
           (ms_modifier_started(m) ? MS_REC_STARTED : 0u) |
           (ms_modifier_ended(m) ? MS_REC_ENDED : 0u) |
           (ms_modifier_finalized(m) ? MS_REC_FINALIZED : 0u);
}
