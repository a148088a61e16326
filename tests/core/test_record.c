/* The record stream (core/record.h, ms_runner) and the world the hooks act
 * on (core/world.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/call.h"
#include "core/lifecycle.h"
#include "recipe/recipe.h"

typedef struct stream {
    char text[8192];
} stream;

/* One word per record: kind, modifier, detail. */
static void log_record(void *user, const ms_record *r)
{
    stream *s = user;
    size_t n = strlen(s->text);
    char *p = s->text + n;
    size_t cap = sizeof s->text - n;
    switch (r->kind) {
    case MS_REC_CALL_BEGUN:
        snprintf(p, cap, "begin%zu ", r->call);
        break;
    case MS_REC_HOOK:
        snprintf(p, cap, "%zu:%zu:%s ", r->call, r->modifier, ms_hook_name(r->hook));
        break;
    case MS_REC_FLAGS:
        snprintf(p, cap, "flags%zu:%u>%u ", r->modifier, r->flags_before, r->flags_after);
        break;
    case MS_REC_ERROR:
        snprintf(p, cap, "error%d:%s ", r->raised->modifier, ms_raise_kind_name(r->raised->kind));
        break;
    case MS_REC_METRIC:
        snprintf(p, cap, "metric%zu:%s ", r->modifier, r->metric);
        break;
    case MS_REC_CALL_ENDED:
        snprintf(p, cap, "end%zu ", r->call);
        break;
    }
}

static ms_lifecycle *build(const char *text, ms_recipe **recipe)
{
    ms_diag diag;
    ms_modifier **mods;
    size_t n;
    ms_lifecycle *lc;
    assert_int_equal(ms_recipe_parse(text, strlen(text), "t.yaml", 0, 0, NULL, recipe, &diag),
                     MS_OK);
    assert_int_equal(ms_recipe_build_modifiers(*recipe, &mods, &n, &diag), MS_OK);
    assert_int_equal(ms_lifecycle_new(mods, n, &lc), MS_OK);
    return lc;
}

static ms_call event_call(ms_event_type type)
{
    return (ms_call){.kind = MS_CALL_EVENT, .event = ms_event_plain(type)};
}

#define GPTQ_ALONE "s_stage:\n  g_modifiers:\n    GPTQModifier: {block_size: 128}\n"
#define QUANT_THEN_GPTQ                                                                            \
    "s_stage:\n  g_modifiers:\n    QuantizationModifier: {scheme: W8A8}\n"                         \
    "    GPTQModifier: {block_size: 128}\n"

static void raising_call_emits_begun_hooks_error_flags_ended(void **state)
{
    (void)state;
    ms_recipe *recipe;
    ms_lifecycle *lc = build(GPTQ_ALONE, &recipe);
    stream s = {{0}};
    ms_sink sink = {.emit = log_record, .user = &s};
    ms_runner *runner;
    assert_int_equal(ms_runner_new(lc, &sink, &runner), MS_OK);
    ms_call init = {.kind = MS_CALL_INITIALIZE};
    ms_call start = event_call(MS_EV_CALIBRATION_EPOCH_START);
    ms_raise raised;
    assert_int_equal(ms_runner_call(runner, &init, 0, &raised), MS_OK);
    assert_int_equal(ms_runner_call(runner, &start, 1, &raised), MS_ERR_RAISED);
    /* GPTQ sets started before it finds no scheme, so the flags change too */
    assert_string_equal(s.text, "begin0 0:0:on_initialize flags0:0>1 end0 "
                                "begin1 1:0:on_event 1:0:on_start error0:ValueError "
                                "flags0:1>3 end1 ");
    ms_runner_free(runner);
    ms_lifecycle_free(lc);
    ms_recipe_free(recipe);
}

static void two_sinks_receive_the_same_stream_in_order(void **state)
{
    (void)state;
    ms_recipe *recipe;
    ms_lifecycle *lc = build(QUANT_THEN_GPTQ, &recipe);
    stream a = {{0}}, b = {{0}};
    ms_sink sinks[2] = {{.emit = log_record, .user = &a}, {.emit = log_record, .user = &b}};
    ms_fanout fan = {sinks, 2};
    ms_sink both = ms_fanout_sink(&fan);
    ms_runner *runner;
    assert_int_equal(ms_runner_new(lc, &both, &runner), MS_OK);
    ms_call calls[] = {{.kind = MS_CALL_INITIALIZE},
                       event_call(MS_EV_CALIBRATION_EPOCH_START),
                       event_call(MS_EV_CALIBRATION_EPOCH_END),
                       {.kind = MS_CALL_FINALIZE}};
    ms_raise raised;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ms_runner_call(runner, &calls[i], i, &raised), MS_OK);
    assert_true(strlen(a.text) > 0);
    assert_non_null(strstr(a.text, "3:1:on_finalize"));
    assert_string_equal(a.text, b.text);
    ms_runner_free(runner);
    ms_lifecycle_free(lc);
    ms_recipe_free(recipe);
}

/* Runs initialize, calibration start/end and finalize into `sink`. */
static void run_calibration(ms_sink *sink)
{
    ms_recipe *recipe;
    ms_lifecycle *lc = build(QUANT_THEN_GPTQ, &recipe);
    ms_runner *runner;
    assert_int_equal(ms_runner_new(lc, sink, &runner), MS_OK);
    ms_call calls[] = {{.kind = MS_CALL_INITIALIZE},
                       event_call(MS_EV_CALIBRATION_EPOCH_START),
                       event_call(MS_EV_CALIBRATION_EPOCH_END),
                       {.kind = MS_CALL_FINALIZE}};
    ms_raise raised;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(ms_runner_call(runner, &calls[i], i, &raised), MS_OK);
    ms_runner_free(runner);
    ms_lifecycle_free(lc);
    ms_recipe_free(recipe);
}

/* A sink that skips on_event gets every other record; a fan-out skips them
 * only when all its sinks do, so a trace beside such a sink misses nothing. */
static void sinks_may_skip_on_event_records(void **state)
{
    (void)state;
    stream all = {{0}}, quiet = {{0}}, quiet_alone = {{0}};
    ms_sink sinks[2] = {{.emit = log_record, .user = &all},
                        {.emit = log_record, .user = &quiet, .skips_on_event = true}};
    ms_fanout fan = {sinks, 2};
    ms_sink both = ms_fanout_sink(&fan);
    assert_false(both.skips_on_event);
    run_calibration(&both);
    assert_non_null(strstr(all.text, "1:0:on_event"));
    assert_string_equal(all.text, quiet.text); /* the fan-out passed them on */
    ms_sink alone = {.emit = log_record, .user = &quiet_alone, .skips_on_event = true};
    run_calibration(&alone);
    assert_null(strstr(quiet_alone.text, "on_event"));
    assert_non_null(strstr(quiet_alone.text, "1:0:on_start"));
    assert_non_null(strstr(quiet_alone.text, "3:1:on_finalize"));
}

/* A world that counts like the model-less one and remembers who attached. */
typedef struct test_world {
    int attached_by[4];
    size_t n, observed, compressed;
} test_world;

static void test_attach(void *self, void *state, size_t modifier)
{
    test_world *w = self;
    w->attached_by[w->n++] = (int)modifier;
    (*(unsigned char *)state)++;
}

static size_t test_attached(const void *self, const void *state)
{
    (void)self;
    return *(const unsigned char *)state;
}

static void test_mask(void *self, void *state, size_t modifier, double sparsity)
{
    (void)self;
    (void)state;
    (void)modifier;
    (void)sparsity;
}

static void test_observe(void *self, void *state, size_t modifier)
{
    (void)state;
    (void)modifier;
    ((test_world *)self)->observed++;
}

/* Compression is counted in the state's second byte. */
static void test_compress(void *self, void *state, size_t modifier)
{
    (void)modifier;
    ((test_world *)self)->compressed++;
    ((unsigned char *)state)[1]++;
}

static const ms_world_ops test_ops = {.name = "test",
                                      .state_size = 2,
                                      .attach_quant_scheme = test_attach,
                                      .quant_schemes_attached = test_attached,
                                      .apply_mask = test_mask,
                                      .observe_inputs = test_observe,
                                      .compress = test_compress};

static void hooks_attach_schemes_through_the_world(void **state)
{
    (void)state;
    ms_recipe *recipe;
    ms_lifecycle *lc = build(QUANT_THEN_GPTQ, &recipe);
    test_world w = {{0}, 0, 0, 0};
    assert_int_equal(ms_lifecycle_set_world(lc, (ms_world){&test_ops, &w}), MS_OK);
    ms_raise raised;
    assert_int_equal(ms_lifecycle_initialize(lc, &raised), MS_OK);
    assert_int_equal(w.n, 1);
    assert_int_equal(w.attached_by[0], 0); /* QuantizationModifier; GPTQ has no scheme */
    unsigned char snap[256];
    ms_event end = ms_event_plain(MS_EV_CALIBRATION_EPOCH_END);
    ms_event start = ms_event_plain(MS_EV_CALIBRATION_EPOCH_START);
    assert_int_equal(ms_lifecycle_event(lc, &start, NULL, &raised), MS_OK);
    /* both start observing their targets' inputs when calibration starts */
    assert_int_equal(w.observed, 2);
    assert_int_equal(w.compressed, 0);
    assert_int_equal(ms_lifecycle_event(lc, &end, NULL, &raised), MS_OK);
    /* both calibration modifiers compressed at the end; the snapshot carries it */
    assert_int_equal(w.compressed, 2);
    assert_true(ms_lifecycle_snapshot_size(lc) <= sizeof snap);
    ms_lifecycle_snapshot_save(lc, snap);
    ms_lifecycle_reset(lc);
    ms_lifecycle_snapshot_restore(lc, snap);
    ms_lifecycle_snapshot_save(lc, snap + 128);
    assert_memory_equal(snap, snap + 128, ms_lifecycle_snapshot_size(lc));
    ms_lifecycle_free(lc);
    ms_recipe_free(recipe);
}

/* The counter is lifecycle state: restored with a snapshot, cleared by reset. */
static void modelless_world_counter_follows_snapshots(void **state)
{
    (void)state;
    ms_recipe *recipe;
    ms_lifecycle *lc = build(QUANT_THEN_GPTQ, &recipe);
    ms_raise raised;
    assert_int_equal(ms_lifecycle_initialize(lc, &raised), MS_OK);
    unsigned char buf[256];
    assert_true(ms_lifecycle_snapshot_size(lc) <= sizeof buf);
    ms_lifecycle_snapshot_save(lc, buf);
    ms_event start = ms_event_plain(MS_EV_CALIBRATION_EPOCH_START);

    /* without the attached scheme, GPTQ raises at start */
    ms_lifecycle_reset(lc);
    assert_int_equal(ms_lifecycle_modifier_initialize(lc, 1, &raised), MS_OK);
    assert_int_equal(ms_lifecycle_modifier_update_event(lc, 1, &start, &raised), MS_ERR_RAISED);

    ms_lifecycle_snapshot_restore(lc, buf);
    assert_int_equal(ms_lifecycle_event(lc, &start, NULL, &raised), MS_OK);
    assert_true(ms_modifier_started(ms_lifecycle_modifier(lc, 1)));
    ms_lifecycle_free(lc);
    ms_recipe_free(recipe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raising_call_emits_begun_hooks_error_flags_ended),
        cmocka_unit_test(two_sinks_receive_the_same_stream_in_order),
        cmocka_unit_test(sinks_may_skip_on_event_records),
        cmocka_unit_test(hooks_attach_schemes_through_the_world),
        cmocka_unit_test(modelless_world_counter_follows_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
