#include "lifecycle.h"

#include <stdlib.h>
#include <string.h>

#include "modifier_impl.h"

struct ms_lifecycle {
    ms_modifier **modifiers;
    size_t count;
    bool initialized, finalized;
    ms_event_type last_event_type; /* for the training event order check */
    ms_sink sink;
    size_t call; /* carried by hook records */
    ms_world world;
    unsigned char *world_state; /* world.ops->state_size bytes, snapshotted */
    ms_upstream upstream;
    bool no_calibration_data; /* oneshot(pipeline="datafree"): state.data.calib is None */
};

/* The training order upstream enforces; calibration events are not checked. */
static int order_position(ms_event_type type)
{
    switch (type) {
    case MS_EV_BATCH_START:
        return 0;
    case MS_EV_LOSS_CALCULATED:
        return 1;
    case MS_EV_OPTIM_PRE_STEP:
        return 2;
    case MS_EV_OPTIM_POST_STEP:
        return 3;
    case MS_EV_BATCH_END:
        return 4;
    default:
        return -1;
    }
}

ms_status ms_lifecycle_new(ms_modifier **modifiers, size_t count, ms_lifecycle **out)
{
    ms_lifecycle *lc = calloc(1, sizeof *lc);
    if (!lc) {
        *out = NULL;
        return MS_ERR_NOMEM;
    }
    if (ms_lifecycle_set_world(lc, ms_world_modelless()) != MS_OK) {
        free(lc);
        *out = NULL;
        return MS_ERR_NOMEM;
    }
    lc->modifiers = modifiers;
    lc->count = count;
    for (size_t i = 0; i < count; i++)
        modifiers[i]->position = i;
    lc->last_event_type = MS_EV_BATCH_END;
    *out = lc;
    return MS_OK;
}

void ms_lifecycle_free(ms_lifecycle *lc)
{
    if (!lc)
        return;
    for (size_t i = 0; i < lc->count; i++)
        ms_modifier_free(lc->modifiers[i]);
    free(lc->modifiers);
    free(lc->world_state);
    free(lc);
}

void ms_lifecycle_set_sink(ms_lifecycle *lc, const ms_sink *sink)
{
    lc->sink = sink ? *sink : (ms_sink){0};
}

void ms_lifecycle_set_call_index(ms_lifecycle *lc, size_t call)
{
    lc->call = call;
}

ms_status ms_lifecycle_set_world(ms_lifecycle *lc, ms_world world)
{
    size_t size = world.ops->state_size;
    unsigned char *state = calloc(1, size ? size : 1);
    if (!state)
        return MS_ERR_NOMEM;
    free(lc->world_state);
    lc->world = world;
    lc->world_state = state;
    return MS_OK;
}

void ms_lifecycle_set_calibration_data(ms_lifecycle *lc, bool given)
{
    lc->no_calibration_data = !given;
}

void ms_lifecycle_set_upstream(ms_lifecycle *lc, ms_upstream profile)
{
    lc->upstream = profile;
    for (size_t i = 0; i < lc->count; i++)
        lc->modifiers[i]->upstream = profile;
}

ms_upstream ms_lifecycle_upstream(const ms_lifecycle *lc)
{
    return lc->upstream;
}

size_t ms_lifecycle_count(const ms_lifecycle *lc)
{
    return lc->count;
}

ms_modifier *ms_lifecycle_modifier(ms_lifecycle *lc, size_t i)
{
    return i < lc->count ? lc->modifiers[i] : NULL;
}

const ms_modifier *ms_lifecycle_modifier_const(const ms_lifecycle *lc, size_t i)
{
    return i < lc->count ? lc->modifiers[i] : NULL;
}

bool ms_lifecycle_initialized(const ms_lifecycle *lc)
{
    return lc->initialized;
}

bool ms_lifecycle_finalized(const ms_lifecycle *lc)
{
    return lc->finalized;
}

/* Runs `body` with a hook context bound to this lifecycle's sink and world. */
#define WITH_CTX(lc, raised, body)                                                                 \
    do {                                                                                           \
        ms_hook_ctx ctx = {.sink = &(lc)->sink,                                                    \
                           .call = (lc)->call,                                                     \
                           .raised = (raised),                                                     \
                           .world = &(lc)->world,                                                  \
                           .world_state = (lc)->world_state,                                       \
                           .calibration_data = !(lc)->no_calibration_data};                        \
        body;                                                                                      \
    } while (0)

static void clear_raise(ms_raise *raised)
{
    raised->kind = MS_RAISE_NONE;
    raised->modifier = -1;
    raised->message[0] = '\0';
}

ms_status ms_lifecycle_initialize(ms_lifecycle *lc, ms_raise *raised)
{
    clear_raise(raised);
    if (lc->initialized)
        return MS_OK;
    ms_status st = MS_OK;
    WITH_CTX(lc, raised, {
        for (size_t i = 0; i < lc->count && st == MS_OK; i++)
            st = ms_modifier_initialize(lc->modifiers[i], &ctx);
    });
    if (st == MS_OK)
        lc->initialized = true;
    return st;
}

ms_status ms_lifecycle_finalize(ms_lifecycle *lc, ms_raise *raised)
{
    clear_raise(raised);
    ms_hook_ctx bare = {.raised = raised};
    if (!lc->initialized)
        return ms_raise_set(&bare, NULL, MS_RAISE_VALUE_ERROR,
                            "Cannot finalize before initializing");
    if (lc->finalized)
        return ms_raise_set(&bare, NULL, MS_RAISE_VALUE_ERROR, "Cannot finalize more than once");
    ms_status st = MS_OK;
    WITH_CTX(lc, raised, {
        for (size_t i = 0; i < lc->count && st == MS_OK; i++)
            st = ms_modifier_finalize(lc->modifiers[i], &ctx);
    });
    if (st == MS_OK)
        lc->finalized = true;
    return st;
}

/* upstream _validate_event_order: batch_start may follow anything but itself;
 * other training events may not go back in the order. Only a valid event is
 * remembered; calibration events are neither checked nor remembered. */
static bool validate_event_order(ms_lifecycle *lc, ms_event_type type)
{
    int current = order_position(type);
    if (current < 0)
        return true;
    bool valid = type == MS_EV_BATCH_START ? lc->last_event_type != MS_EV_BATCH_START
                                           : order_position(lc->last_event_type) <= current;
    if (valid)
        lc->last_event_type = type;
    return valid;
}

/* The lifecycle's event over modifiers [first, end): the whole list, or the
 * one modifier the independent pipeline narrows the recipe to. */
static ms_status event_over(ms_lifecycle *lc, const ms_event *event, const double *loss,
                            size_t first, size_t end, ms_raise *raised)
{
    clear_raise(raised);
    ms_hook_ctx bare = {.raised = raised};
    if (!lc->initialized)
        return ms_raise_set(&bare, NULL, MS_RAISE_VALUE_ERROR,
                            "Cannot invoke event before initializing");
    if (lc->finalized)
        return ms_raise_set(&bare, NULL, MS_RAISE_VALUE_ERROR,
                            "Cannot invoke event after finalizing");
    if (event->type == MS_EV_INITIALIZE || event->type == MS_EV_FINALIZE)
        return ms_raise_set(&bare, NULL, MS_RAISE_VALUE_ERROR,
                            "Cannot invoke EventType.%s event. Use the corresponding method "
                            "instead.",
                            ms_event_type_member_in(event->type, lc->upstream));
    ms_event_type last = lc->last_event_type;
    if (!validate_event_order(lc, event->type))
        return ms_raise_set(
            &bare, NULL, MS_RAISE_VALUE_ERROR,
            "Lifecycle events must appear following order: [<EventType.BATCH_START: "
            "'batch_start'>, <EventType.LOSS_CALCULATED: 'loss_calculated'>, "
            "<EventType.OPTIM_PRE_STEP: 'optim_pre_step'>, <EventType.OPTIM_POST_STEP: "
            "'optim_post_step'>, <EventType.BATCH_END: 'batch_end'>]. Instead, EventType.%s "
            "was called before EventType.%s",
            ms_event_type_member_in(last, lc->upstream),
            ms_event_type_member_in(event->type, lc->upstream));
    /* checked after the order, which has then already moved on */
    if (event->type == MS_EV_LOSS_CALCULATED && !loss)
        return ms_raise_set(&bare, NULL, MS_RAISE_VALUE_ERROR,
                            "Loss must be provided for loss calculated event");
    ms_status st = MS_OK;
    WITH_CTX(lc, raised, {
        for (size_t i = first; i < end && st == MS_OK; i++)
            st = ms_modifier_update_event(lc->modifiers[i], &ctx, event);
    });
    return st;
}

ms_status ms_lifecycle_event(ms_lifecycle *lc, const ms_event *event, const double *loss,
                             ms_raise *raised)
{
    return event_over(lc, event, loss, 0, lc->count, raised);
}

static ms_status check_index(const ms_lifecycle *lc, size_t i, ms_raise *raised)
{
    clear_raise(raised);
    if (i < lc->count)
        return MS_OK;
    ms_hook_ctx bare = {.raised = raised};
    return ms_raise_set(&bare, NULL, MS_RAISE_VALUE_ERROR,
                        "modifier %zu does not exist; the recipe has %zu", i, lc->count);
}

ms_status ms_lifecycle_event_narrowed(ms_lifecycle *lc, size_t i, const ms_event *event,
                                      const double *loss, ms_raise *raised)
{
    ms_status st = check_index(lc, i, raised);
    return st == MS_OK ? event_over(lc, event, loss, i, i + 1, raised) : st;
}

ms_status ms_lifecycle_modifier_initialize(ms_lifecycle *lc, size_t i, ms_raise *raised)
{
    ms_status st = check_index(lc, i, raised);
    if (st == MS_OK)
        WITH_CTX(lc, raised, st = ms_modifier_initialize(lc->modifiers[i], &ctx));
    return st;
}

ms_status ms_lifecycle_modifier_update_event(ms_lifecycle *lc, size_t i, const ms_event *event,
                                             ms_raise *raised)
{
    ms_status st = check_index(lc, i, raised);
    if (st == MS_OK)
        WITH_CTX(lc, raised, st = ms_modifier_update_event(lc->modifiers[i], &ctx, event));
    return st;
}

ms_status ms_lifecycle_modifier_finalize(ms_lifecycle *lc, size_t i, ms_raise *raised)
{
    ms_status st = check_index(lc, i, raised);
    if (st == MS_OK)
        WITH_CTX(lc, raised, st = ms_modifier_finalize(lc->modifiers[i], &ctx));
    return st;
}

void ms_lifecycle_reset(ms_lifecycle *lc)
{
    for (size_t i = 0; i < lc->count; i++)
        ms_modifier_reset(lc->modifiers[i]);
    lc->initialized = lc->finalized = false;
    lc->last_event_type = MS_EV_BATCH_END;
    memset(lc->world_state, 0, lc->world.ops->state_size);
}

/* Snapshot layout: the lifecycle's fields, the world's state bytes, then per
 * modifier one byte of flags followed by its type's state bytes. */
typedef struct snapshot_head {
    bool initialized, finalized;
    ms_event_type last_event_type;
} snapshot_head;

enum { FLAG_INITIALIZED = 1, FLAG_STARTED = 2, FLAG_ENDED = 4, FLAG_FINALIZED = 8 };

size_t ms_lifecycle_snapshot_size(const ms_lifecycle *lc)
{
    size_t size = sizeof(snapshot_head) + lc->world.ops->state_size;
    for (size_t i = 0; i < lc->count; i++)
        size += 1 + lc->modifiers[i]->type->state_size;
    return size;
}

void ms_lifecycle_snapshot_save(const ms_lifecycle *lc, void *buf)
{
    snapshot_head head = {lc->initialized, lc->finalized, lc->last_event_type};
    unsigned char *p = buf;
    memcpy(p, &head, sizeof head);
    p += sizeof head;
    memcpy(p, lc->world_state, lc->world.ops->state_size);
    p += lc->world.ops->state_size;
    for (size_t i = 0; i < lc->count; i++) {
        const ms_modifier *m = lc->modifiers[i];
        *p++ = (unsigned char)((m->initialized ? FLAG_INITIALIZED : 0) |
                               (m->started ? FLAG_STARTED : 0) | (m->ended ? FLAG_ENDED : 0) |
                               (m->finalized ? FLAG_FINALIZED : 0));
        if (m->type->state_size)
            memcpy(p, m->state, m->type->state_size);
        p += m->type->state_size;
    }
}

void ms_lifecycle_snapshot_restore(ms_lifecycle *lc, const void *buf)
{
    snapshot_head head;
    const unsigned char *p = buf;
    memcpy(&head, p, sizeof head);
    p += sizeof head;
    lc->initialized = head.initialized;
    lc->finalized = head.finalized;
    lc->last_event_type = head.last_event_type;
    memcpy(lc->world_state, p, lc->world.ops->state_size);
    p += lc->world.ops->state_size;
    for (size_t i = 0; i < lc->count; i++) {
        ms_modifier *m = lc->modifiers[i];
        unsigned flags = *p++;
        m->initialized = flags & FLAG_INITIALIZED;
        m->started = flags & FLAG_STARTED;
        m->ended = flags & FLAG_ENDED;
        m->finalized = flags & FLAG_FINALIZED;
        if (m->type->state_size)
            memcpy(m->state, p, m->type->state_size);
        p += m->type->state_size;
    }
}
