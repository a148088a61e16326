#include "call.h"

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
