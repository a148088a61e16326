/* The packed form of a run's calls, hooks and metrics (src/history/chunk.h):
 * what is written reads back item for item, a call repeating the previous
 * call's hooks and metrics costs one byte for them, and damaged bytes are
 * refused rather than read past. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "history/chunk.h"

static ms_call event_call(ms_event_type type, long long step, bool loss)
{
    ms_call c = {.kind = MS_CALL_EVENT};
    c.event.type = type;
    c.event.global_step = step;
    c.event.global_batch = step * 4 - 3; /* a negative delta for the first */
    c.event.steps_per_epoch = 1000;
    c.event.batches_per_step = 4;
    c.event.epoch_based = true;
    c.has_loss = loss;
    c.loss = loss ? 1.0 / 3.0 : 0;
    return c;
}

/* Writes calls 10..10+n: each runs on_update on two modifiers and reports a
 * metric, the same from call 2 on (so those calls repeat). */
static ms_chunk_writer *write_calls(size_t n)
{
    ms_chunk_writer *w = ms_chunk_writer_new();
    assert_non_null(w);
    ms_chunk_writer_reset(w, 10);
    ms_call init = {.kind = MS_CALL_MODIFIER_INITIALIZE, .modifier = 3};
    assert_true(ms_chunk_call(w, &init));
    assert_true(ms_chunk_hook(w, 3, MS_HOOK_ON_INITIALIZE));
    for (size_t i = 1; i < n; i++) {
        ms_call c = event_call(MS_EV_BATCH_START, (long long)i, i % 2);
        assert_true(ms_chunk_call(w, &c));
        assert_true(ms_chunk_hook(w, 0, MS_HOOK_ON_UPDATE));
        assert_true(ms_chunk_hook(w, 1, MS_HOOK_ON_UPDATE));
        assert_true(ms_chunk_metric(w, 1, "", "sparsity", true, i < 2 ? 0.0 : 0.5));
        assert_true(ms_chunk_metric(w, 0, "model.layers.0.mlp.up_proj", "sparsity", i > 1, 0.25));
    }
    return w;
}

static void reads_back_what_was_written(void **state)
{
    (void)state;
    size_t n = 50, len;
    ms_chunk_writer *w = write_calls(n);
    assert_int_equal(ms_chunk_calls(w), n);
    assert_int_equal(ms_chunk_first(w), 10);
    const uint8_t *data = ms_chunk_data(w, &len);
    ms_chunk_reader *r = ms_chunk_reader_new();
    ms_chunk_reader_start(r, data, len, 10);
    ms_chunk_item it;
    assert_int_equal(ms_chunk_next(r, &it), 1);
    assert_int_equal(it.kind, MS_CHUNK_CALL);
    assert_int_equal(it.call, 10);
    assert_int_equal(it.what.kind, MS_CALL_MODIFIER_INITIALIZE);
    assert_int_equal(it.what.modifier, 3);
    assert_int_equal(ms_chunk_next(r, &it), 1);
    assert_int_equal(it.kind, MS_CHUNK_HOOK);
    assert_int_equal(it.hook, MS_HOOK_ON_INITIALIZE);
    for (size_t i = 1; i < n; i++) {
        ms_call want = event_call(MS_EV_BATCH_START, (long long)i, i % 2);
        assert_int_equal(ms_chunk_next(r, &it), 1);
        assert_int_equal(it.kind, MS_CHUNK_CALL);
        assert_int_equal(it.call, 10 + i);
        assert_int_equal(it.what.event.type, want.event.type);
        assert_int_equal(it.what.event.global_step, want.event.global_step);
        assert_int_equal(it.what.event.global_batch, want.event.global_batch);
        assert_int_equal(it.what.event.steps_per_epoch, 1000);
        assert_int_equal(it.what.event.batches_per_step, 4);
        assert_true(it.what.event.epoch_based);
        assert_int_equal(it.what.has_loss, want.has_loss);
        assert_true(it.what.loss == want.loss); /* bit for bit */
        for (size_t m = 0; m < 2; m++) {
            assert_int_equal(ms_chunk_next(r, &it), 1);
            assert_int_equal(it.kind, MS_CHUNK_HOOK);
            assert_int_equal(it.modifier, m);
            assert_int_equal(it.hook, MS_HOOK_ON_UPDATE);
            assert_int_equal(it.call, 10 + i);
        }
        assert_int_equal(ms_chunk_next(r, &it), 1);
        assert_int_equal(it.kind, MS_CHUNK_METRIC);
        assert_string_equal(it.module, "");
        assert_string_equal(it.metric, "sparsity");
        assert_true(it.has_value && it.value == (i < 2 ? 0.0 : 0.5));
        assert_int_equal(ms_chunk_next(r, &it), 1);
        assert_int_equal(it.modifier, 0);
        assert_string_equal(it.module, "model.layers.0.mlp.up_proj");
        assert_int_equal(it.has_value, i > 1);
    }
    assert_int_equal(ms_chunk_next(r, &it), 0);
    ms_chunk_reader_free(r);
    ms_chunk_writer_free(w);
}

static void a_repeating_call_costs_one_byte_for_its_hooks(void **state)
{
    (void)state;
    size_t l10, l11;
    ms_chunk_writer *a = write_calls(10), *b = write_calls(11);
    ms_chunk_data(a, &l10);
    ms_chunk_data(b, &l11);
    /* call 10: tag, kind, modifier, narrowed, type, step and batch deltas,
     * steps_per_epoch (2 bytes), batches_per_step, bits, has_loss; then 'R' */
    size_t call_bytes = 1 + 1 + 1 + 1 + 1 + 1 + 1 + 2 + 1 + 1 + 1;
    assert_int_equal(l11 - l10, call_bytes + 1);
    ms_chunk_writer_free(a);
    ms_chunk_writer_free(b);
}

static void damaged_bytes_are_refused(void **state)
{
    (void)state;
    size_t len;
    ms_chunk_writer *w = write_calls(20);
    const uint8_t *data = ms_chunk_data(w, &len);
    uint8_t *copy = malloc(len);
    ms_chunk_reader *r = ms_chunk_reader_new();
    ms_chunk_item it;
    /* cut anywhere, or any byte changed: never read past the end, and a
     * cut in the middle of an item is an error */
    for (size_t cut = 0; cut < len; cut++) {
        ms_chunk_reader_start(r, data, cut, 0);
        int got;
        while ((got = ms_chunk_next(r, &it)) == 1)
            ;
        assert_true(got == 0 || got == -1);
    }
    for (size_t at = 0; at < len; at++) {
        memcpy(copy, data, len);
        copy[at] ^= 0xa5;
        ms_chunk_reader_start(r, copy, len, 0);
        int got;
        while ((got = ms_chunk_next(r, &it)) == 1)
            ;
        assert_true(got == 0 || got == -1);
    }
    /* an unknown tag, and a repeat before any call */
    ms_chunk_reader_start(r, (const uint8_t *)"X", 1, 0);
    assert_int_equal(ms_chunk_next(r, &it), -1);
    ms_chunk_reader_start(r, (const uint8_t *)"R", 1, 0);
    assert_int_equal(ms_chunk_next(r, &it), -1);
    free(copy);
    ms_chunk_reader_free(r);
    ms_chunk_writer_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_back_what_was_written),
        cmocka_unit_test(a_repeating_call_costs_one_byte_for_its_hooks),
        cmocka_unit_test(damaged_bytes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
