/* The 0.13 profile (llm-compressor ab1ba3eff) next to 0.12 (715e1166c~1):
 * names, the base class's calibration rules, the hooks each type runs, and
 * which types need calibration data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lifecycle_fixture.h"
#include "util/doc.h"

/* A lifecycle at `profile`, initialized. */
static fixture *make(const char *recipe_text, ms_upstream profile)
{
    fixture *f = fixture_make(recipe_text, profile, false);
    assert_int_equal(ms_lifecycle_initialize(f->lc, &f->raised), MS_OK);
    return f;
}

static ms_status send(fixture *f, ms_event_type type, bool has_modules)
{
    ms_event ev = ms_event_plain(type);
    ev.has_modules = has_modules;
    f->log.text[0] = '\0';
    return ms_lifecycle_event(f->lc, &ev, NULL, &f->raised);
}

static ms_status finalize(fixture *f)
{
    f->log.text[0] = '\0';
    return ms_lifecycle_finalize(f->lc, &f->raised);
}

static const ms_modifier *mod(fixture *f, size_t i)
{
    return ms_lifecycle_modifier_const(f->lc, i);
}

#define STAGE(mods) "s_stage:\n  g_modifiers:\n" mods
#define CONSTANT_LATE "    ConstantPruningModifier: {start: 5, end: 8, targets: [x]}\n"
#define QUANT "    QuantizationModifier: {scheme: W8A8}\n"
#define GPTQ_BARE "    GPTQModifier: {block_size: 128}\n"
#define SPARSEGPT "    SparseGPTModifier: {sparsity: 0.5}\n"

static void upstream_names_parse_and_print(void **state)
{
    (void)state;
    ms_upstream u;
    assert_true(ms_upstream_parse("0.12", &u));
    assert_int_equal(u, MS_UPSTREAM_0_12);
    assert_true(ms_upstream_parse("0.13", &u));
    assert_int_equal(u, MS_UPSTREAM_0_13);
    assert_string_equal(ms_upstream_name(MS_UPSTREAM_0_13), "0.13");
    assert_false(ms_upstream_parse("0.14", &u));
    assert_false(ms_upstream_parse("", &u));
    assert_false(ms_upstream_parse(NULL, &u));
    assert_int_equal(MS_UPSTREAM_DEFAULT, MS_UPSTREAM_0_12);
}

/* core/events/event.py:52-54 at ab1ba3eff: only the calibration events change */
static void event_names_are_per_profile(void **state)
{
    (void)state;
    ms_event_type t;
    assert_true(ms_event_type_parse_in("calibration_start", MS_UPSTREAM_0_13, &t));
    assert_int_equal(t, MS_EV_CALIBRATION_EPOCH_START);
    assert_true(ms_event_type_parse_in("calibration_end", MS_UPSTREAM_0_13, &t));
    assert_int_equal(t, MS_EV_CALIBRATION_EPOCH_END);
    assert_false(ms_event_type_parse_in("calibration_epoch_start", MS_UPSTREAM_0_13, &t));
    assert_false(ms_event_type_parse_in("calibration_epoch_end", MS_UPSTREAM_0_13, &t));
    assert_false(ms_event_type_parse_in("calibration_start", MS_UPSTREAM_0_12, &t));
    assert_true(ms_event_type_parse_in("sequential_epoch_end", MS_UPSTREAM_0_13, &t));
    assert_string_equal(ms_event_type_name_in(MS_EV_CALIBRATION_EPOCH_END, MS_UPSTREAM_0_13),
                        "calibration_end");
    assert_string_equal(ms_event_type_member_in(MS_EV_CALIBRATION_EPOCH_START, MS_UPSTREAM_0_13),
                        "CALIBRATION_START");
    assert_string_equal(ms_event_type_name_in(MS_EV_BATCH_START, MS_UPSTREAM_0_13), "batch_start");
    /* the 0.12 entry points are unchanged */
    assert_string_equal(ms_event_type_name(MS_EV_CALIBRATION_EPOCH_START),
                        "calibration_epoch_start");
}

/* the diagnostics' lists name exactly the events of the tables, in order */
static void event_name_lists_match_the_tables(void **state)
{
    (void)state;
    for (int p = 0; p < MS_UPSTREAM_COUNT; p++) {
        char joined[512] = "";
        for (int i = 0; i < MS_EV_COUNT; i++) {
            if (i)
                strcat(joined, ", ");
            strcat(joined, ms_event_type_name_in((ms_event_type)i, (ms_upstream)p));
        }
        assert_string_equal(ms_event_type_names_in((ms_upstream)p), joined);
    }
}

/* modifier.py:138-141 at 0.13: every type, no start check, no on_update */
static void calibration_start_starts_a_training_modifier_at_013_only(void **state)
{
    (void)state;
    fixture *f = make(STAGE(CONSTANT_LATE), MS_UPSTREAM_0_13);
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_START, false), MS_OK);
    assert_string_equal(f->log.text, "0:on_event 0:on_calibration_start ");
    assert_true(ms_modifier_started(mod(f, 0)));
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_END, false), MS_OK);
    assert_string_equal(f->log.text, "0:on_event 0:on_calibration_end ");
    assert_true(ms_modifier_ended(mod(f, 0)));
    done(f);

    f = make(STAGE(CONSTANT_LATE), MS_UPSTREAM_0_12);
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_START, false), MS_OK);
    assert_string_equal(f->log.text, "0:on_event ");
    assert_false(ms_modifier_started(mod(f, 0)));
    done(f);
}

/* 0.12's calibration on_event/on_start/on_end are gone at 0.13 */
static void calibration_types_run_only_the_new_hooks_at_013(void **state)
{
    (void)state;
    fixture *f = make(STAGE(QUANT SPARSEGPT), MS_UPSTREAM_0_13);
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_START, false), MS_OK);
    assert_string_equal(f->log.text,
                        "0:on_event 0:on_calibration_start 1:on_event 1:on_calibration_start ");
    assert_int_equal(send(f, MS_EV_SEQUENTIAL_EPOCH_END, true), MS_OK);
    assert_string_equal(
        f->log.text, "0:on_event 0:on_sequential_epoch_end 1:on_event 1:on_sequential_epoch_end ");
    assert_false(ms_modifier_ended(mod(f, 0)));
    done(f);

    f = make(STAGE(QUANT), MS_UPSTREAM_0_12);
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_START, false), MS_OK);
    assert_string_equal(f->log.text, "0:on_event 0:on_start 0:on_update ");
    done(f);
}

/* modifier.py:284-285 and gptq/base.py:240-242 take `modules`;
 * sgpt_base.py:176 does not */
static void sequential_epoch_end_without_modules_raises_type_error(void **state)
{
    (void)state;
    fixture *f = make(STAGE(SPARSEGPT QUANT CONSTANT_LATE), MS_UPSTREAM_0_13);
    assert_int_equal(send(f, MS_EV_SEQUENTIAL_EPOCH_END, false), MS_ERR_RAISED);
    assert_int_equal(f->raised.kind, MS_RAISE_TYPE_ERROR);
    assert_int_equal(f->raised.modifier, 1);
    assert_string_equal(f->raised.message, "QuantizationModifier.on_sequential_epoch_end() "
                                           "missing 1 required positional argument: 'modules'");
    /* the call is refused before the hook runs */
    assert_string_equal(f->log.text, "0:on_event 0:on_sequential_epoch_end 1:on_event ");
    f->log.text[0] = '\0';
    ms_event ev = ms_event_plain(MS_EV_SEQUENTIAL_EPOCH_END);
    assert_int_equal(ms_lifecycle_modifier_update_event(f->lc, 2, &ev, &f->raised), MS_ERR_RAISED);
    assert_string_equal(f->raised.message, "Modifier.on_sequential_epoch_end() missing 1 "
                                           "required positional argument: 'modules'");
    done(f);

    f = make(STAGE(QUANT CONSTANT_LATE), MS_UPSTREAM_0_12);
    assert_int_equal(send(f, MS_EV_SEQUENTIAL_EPOCH_END, false), MS_OK);
    done(f);
}

/* gptq/base.py:234-238: raised before the base sets started_ */
static void gptq_without_schemes_raises_at_calibration_start_unstarted(void **state)
{
    (void)state;
    fixture *f = make(STAGE(GPTQ_BARE), MS_UPSTREAM_0_13);
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_START, false), MS_ERR_RAISED);
    assert_int_equal(f->raised.kind, MS_RAISE_VALUE_ERROR);
    assert_non_null(strstr(f->raised.message, "unable to find any modules"));
    assert_string_equal(f->log.text, "0:on_event 0:on_calibration_start ");
    assert_false(ms_modifier_started(mod(f, 0)));
    done(f);

    f = make(STAGE(GPTQ_BARE), MS_UPSTREAM_0_12);
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_START, false), MS_ERR_RAISED);
    assert_string_equal(f->log.text, "0:on_event 0:on_start ");
    assert_true(ms_modifier_started(mod(f, 0)));
    done(f);
}

/* QuantizationModifier: no on_finalize at 0.13 (finalized); SparseGPT's
 * on_finalize calls the base no-op on_end (wanda/base.py:131-132 alike) */
static void finalize_differs_per_profile(void **state)
{
    (void)state;
    fixture *f = make(STAGE(QUANT SPARSEGPT), MS_UPSTREAM_0_13);
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_START, false), MS_OK);
    assert_int_equal(finalize(f), MS_OK);
    assert_string_equal(f->log.text, "0:on_finalize 1:on_finalize 1:on_end ");
    assert_true(ms_modifier_finalized(mod(f, 0)));
    assert_false(ms_modifier_ended(mod(f, 0)));
    assert_true(ms_modifier_finalized(mod(f, 1)));
    assert_false(ms_modifier_ended(mod(f, 1)));
    done(f);

    f = make(STAGE(QUANT SPARSEGPT), MS_UPSTREAM_0_12);
    assert_int_equal(send(f, MS_EV_CALIBRATION_EPOCH_START, false), MS_OK);
    assert_int_equal(finalize(f), MS_OK);
    assert_string_equal(f->log.text, "0:on_finalize 0:on_end 1:on_finalize 1:on_end ");
    assert_false(ms_modifier_finalized(mod(f, 0)));
    assert_true(ms_modifier_ended(mod(f, 0)));
    assert_true(ms_modifier_ended(mod(f, 1)));
    done(f);
}

static void explain_follows_the_profile(void **state)
{
    (void)state;
    char buf[256];
    fixture *f = make(STAGE(CONSTANT_LATE QUANT), MS_UPSTREAM_0_13);
    ms_event start = ms_event_plain(MS_EV_CALIBRATION_EPOCH_START);
    ms_event seq = ms_event_plain(MS_EV_SEQUENTIAL_EPOCH_END);
    assert_int_equal(ms_modifier_explain(mod(f, 0), &start, buf, sizeof buf), MS_RULE_START);
    assert_non_null(strstr(buf, "on_calibration_start"));
    assert_int_equal(ms_modifier_explain(mod(f, 1), &seq, buf, sizeof buf), MS_RULE_RAISES);
    assert_non_null(strstr(buf, "QuantizationModifier.on_sequential_epoch_end()"));
    seq.has_modules = true;
    assert_int_equal(ms_modifier_explain(mod(f, 1), &seq, buf, sizeof buf), MS_RULE_IDLE);
    done(f);

    f = make(STAGE(CONSTANT_LATE), MS_UPSTREAM_0_12);
    assert_int_equal(ms_modifier_explain(mod(f, 0), &start, buf, sizeof buf), MS_RULE_IDLE);
    done(f);
}

static bool requires(const char *type, ms_upstream profile, const char *args_yaml)
{
    ms_doc *doc = NULL;
    ms_diag diag;
    const ms_node *args = NULL;
    if (args_yaml) {
        assert_int_equal(ms_doc_parse(args_yaml, strlen(args_yaml), "a.yaml", &doc, &diag), MS_OK);
        args = ms_doc_root(doc);
    }
    bool r = ms_modifier_type_requires_calibration(ms_modifier_type_find(type), profile, args);
    ms_doc_free(doc);
    return r;
}

/* 0.12: pipelines/registry.py's class list; 0.13: requires_calibration_data
 * (LogarithmicEqualization inherits SmoothQuant's True) */
static void requires_calibration_per_type_and_profile(void **state)
{
    (void)state;
    const char *always[] = {"GPTQModifier", "SparseGPTModifier", "WandaPruningModifier",
                            "SmoothQuantModifier", "AWQModifier"};
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++) {
        assert_true(requires(always[i], MS_UPSTREAM_0_12, NULL));
        assert_true(requires(always[i], MS_UPSTREAM_0_13, NULL));
    }
    assert_false(requires("LogarithmicEqualizationModifier", MS_UPSTREAM_0_12, NULL));
    assert_true(requires("LogarithmicEqualizationModifier", MS_UPSTREAM_0_13, NULL));
    assert_false(requires("ConstantPruningModifier", MS_UPSTREAM_0_13, NULL));
    assert_false(requires("MagnitudePruningModifier", MS_UPSTREAM_0_12, NULL));
    /* a recipe may set the 0.13 field; QuantizationModifier keeps only a True */
    assert_false(requires("GPTQModifier", MS_UPSTREAM_0_13, "{requires_calibration_data: false}"));
    assert_true(
        requires("ConstantPruningModifier", MS_UPSTREAM_0_13, "{requires_calibration_data: true}"));
    assert_true(requires("GPTQModifier", MS_UPSTREAM_0_12, "{requires_calibration_data: false}"));
    assert_true(requires("QuantizationModifier", MS_UPSTREAM_0_13,
                         "{scheme: W8A8, requires_calibration_data: true}"));
    assert_true(requires("QuantizationModifier", MS_UPSTREAM_0_13,
                         "{scheme: FP8, requires_calibration_data: false}"));
    assert_false(requires("QuantizationModifier", MS_UPSTREAM_0_12,
                          "{scheme: W8A8, requires_calibration_data: true}"));
    /* QuantizationModifier by its scheme, under both */
    for (int p = 0; p < MS_UPSTREAM_COUNT; p++) {
        ms_upstream u = (ms_upstream)p;
        assert_false(requires("QuantizationModifier", u, "{scheme: W8A8}"));
        assert_false(requires("QuantizationModifier", u, "{scheme: W4A16}"));
        assert_true(requires("QuantizationModifier", u, "{scheme: FP8}"));
        assert_true(requires("QuantizationModifier", u, "{scheme: {NVFP4: [Linear]}}"));
        assert_true(requires("QuantizationModifier", u,
                             "{scheme: W4A16, kv_cache_scheme: "
                             "{num_bits: 8}}"));
        assert_true(requires("QuantizationModifier", u,
                             "{config_groups: {g: {weights: {num_bits: 8}, "
                             "input_activations: {num_bits: 8}}}}"));
        assert_false(requires("QuantizationModifier", u,
                              "{config_groups: {g: {weights: {num_bits: 8}, "
                              "input_activations: {num_bits: 8, dynamic: true}}}}"));
        assert_true(requires("QuantizationModifier", u,
                             "{config_groups: {g: {input_activations: {dynamic: local}}}}"));
        assert_true(requires("QuantizationModifier", u,
                             "{config_groups: {g: {weights: {num_bits: 4}}}, "
                             "weight_observer: imatrix_mse}"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upstream_names_parse_and_print),
        cmocka_unit_test(event_names_are_per_profile),
        cmocka_unit_test(event_name_lists_match_the_tables),
        cmocka_unit_test(calibration_start_starts_a_training_modifier_at_013_only),
        cmocka_unit_test(calibration_types_run_only_the_new_hooks_at_013),
        cmocka_unit_test(sequential_epoch_end_without_modules_raises_type_error),
        cmocka_unit_test(gptq_without_schemes_raises_at_calibration_start_unstarted),
        cmocka_unit_test(finalize_differs_per_profile),
        cmocka_unit_test(explain_follows_the_profile),
        cmocka_unit_test(requires_calibration_per_type_and_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
