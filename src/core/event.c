#include "event.h"

#include <math.h>
#include <string.h>

static const char *const type_names[] = {
#define MS_EVENT_TYPE_NAME(id, name, upper) name,
    MS_EVENT_TYPE_LIST(MS_EVENT_TYPE_NAME)
#undef MS_EVENT_TYPE_NAME
};

static const char *const type_members[] = {
#define MS_EVENT_TYPE_MEMBER(id, name, upper) upper,
    MS_EVENT_TYPE_LIST(MS_EVENT_TYPE_MEMBER)
#undef MS_EVENT_TYPE_MEMBER
};

const char *ms_event_type_name(ms_event_type type)
{
    return (unsigned)type < MS_EV_COUNT ? type_names[type] : "unknown";
}

const char *ms_event_type_member(ms_event_type type)
{
    return (unsigned)type < MS_EV_COUNT ? type_members[type] : "UNKNOWN";
}

bool ms_event_type_parse(const char *name, ms_event_type *out)
{
    for (int i = 0; i < MS_EV_COUNT; i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *out = (ms_event_type)i;
            return true;
        }
    }
    return false;
}

ms_event ms_event_plain(ms_event_type type)
{
    return (ms_event){.type = type};
}

static long long floor_div(long long a, long long b)
{
    long long q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

double ms_py_fmod(double a, double b)
{
    double r = fmod(a, b);
    if (r != 0.0 && ((r < 0) != (b < 0)))
        r += b;
    return r;
}

double ms_event_current_index(const ms_event *ev)
{
    if (!ev->epoch_based)
        return (double)ev->global_step;
    /* upstream also rejects epoch_full - epoch > 1, which integer division by a
     * positive steps_per_epoch (validated at load time) never produces */
    return (double)ev->global_step / (double)ev->steps_per_epoch;
}

bool ms_event_epoch(const ms_event *ev, long long *out)
{
    if (!ev->epoch_based)
        return false;
    *out = floor_div(ev->global_step, ev->steps_per_epoch);
    return true;
}

bool ms_event_epoch_full(const ms_event *ev, double *out)
{
    if (!ev->epoch_based)
        return false;
    *out = (double)ev->global_step / (double)ev->steps_per_epoch;
    return true;
}

bool ms_event_epoch_step(const ms_event *ev, long long *out)
{
    if (!ev->epoch_based)
        return false;
    long long r = ev->global_step % ev->steps_per_epoch;
    if (r != 0 && ((r < 0) != (ev->steps_per_epoch < 0)))
        r += ev->steps_per_epoch;
    *out = r;
    return true;
}

bool ms_event_epoch_batch(const ms_event *ev, long long *out)
{
    if (!ev->epoch_based)
        return false;
    long long per_epoch =
        ev->batches_per_step ? ev->steps_per_epoch * ev->batches_per_step : ev->steps_per_epoch;
    long long r = ev->global_batch % per_epoch;
    if (r != 0 && ((r < 0) != (per_epoch < 0)))
        r += per_epoch;
    *out = r;
    return true;
}

bool ms_event_should_update(const ms_event *ev, ms_opt_double start, ms_opt_double end,
                            ms_opt_double update)
{
    double current = ms_event_current_index(ev);
    if (start.set && current < start.value)
        return false;
    if (end.set && current > end.value)
        return false;
    return !update.set || update.value <= 0.0 || ms_py_fmod(current, update.value) < 1e-10;
}
