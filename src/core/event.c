#include "event.h"

#include <math.h>
#include <string.h>

static const char *const type_names[MS_UPSTREAM_COUNT][MS_EV_COUNT] = {
    {
#define MS_EVENT_TYPE_NAME(id, name, upper, name13, upper13) name,
        MS_EVENT_TYPE_LIST(MS_EVENT_TYPE_NAME)
#undef MS_EVENT_TYPE_NAME
    },
    {
#define MS_EVENT_TYPE_NAME(id, name, upper, name13, upper13) name13,
        MS_EVENT_TYPE_LIST(MS_EVENT_TYPE_NAME)
#undef MS_EVENT_TYPE_NAME
    },
};

static const char *const type_members[MS_UPSTREAM_COUNT][MS_EV_COUNT] = {
    {
#define MS_EVENT_TYPE_MEMBER(id, name, upper, name13, upper13) upper,
        MS_EVENT_TYPE_LIST(MS_EVENT_TYPE_MEMBER)
#undef MS_EVENT_TYPE_MEMBER
    },
    {
#define MS_EVENT_TYPE_MEMBER(id, name, upper, name13, upper13) upper13,
        MS_EVENT_TYPE_LIST(MS_EVENT_TYPE_MEMBER)
#undef MS_EVENT_TYPE_MEMBER
    },
};

/* test_event checks these against the tables */
static const char *const name_lists[MS_UPSTREAM_COUNT] = {
    "batch_start, loss_calculated, optim_pre_step, optim_post_step, batch_end, "
    "calibration_epoch_start, sequential_epoch_end, calibration_epoch_end, initialize, finalize",
    "batch_start, loss_calculated, optim_pre_step, optim_post_step, batch_end, "
    "calibration_start, sequential_epoch_end, calibration_end, initialize, finalize",
};

const char *ms_event_type_name_in(ms_event_type type, ms_upstream profile)
{
    return (unsigned)type < MS_EV_COUNT && (unsigned)profile < MS_UPSTREAM_COUNT
               ? type_names[profile][type]
               : "unknown";
}

const char *ms_event_type_member_in(ms_event_type type, ms_upstream profile)
{
    return (unsigned)type < MS_EV_COUNT && (unsigned)profile < MS_UPSTREAM_COUNT
               ? type_members[profile][type]
               : "UNKNOWN";
}

bool ms_event_type_parse_in(const char *name, ms_upstream profile, ms_event_type *out)
{
    if ((unsigned)profile >= MS_UPSTREAM_COUNT)
        return false;
    for (int i = 0; i < MS_EV_COUNT; i++) {
        if (strcmp(name, type_names[profile][i]) == 0) {
            *out = (ms_event_type)i;
            return true;
        }
    }
    return false;
}

const char *ms_event_type_names_in(ms_upstream profile)
{
    return (unsigned)profile < MS_UPSTREAM_COUNT ? name_lists[profile] : "";
}

const char *ms_event_type_name(ms_event_type type)
{
    return ms_event_type_name_in(type, MS_UPSTREAM_0_12);
}

const char *ms_event_type_member(ms_event_type type)
{
    return ms_event_type_member_in(type, MS_UPSTREAM_0_12);
}

bool ms_event_type_parse(const char *name, ms_event_type *out)
{
    return ms_event_type_parse_in(name, MS_UPSTREAM_0_12, out);
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
