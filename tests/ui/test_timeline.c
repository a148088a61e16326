/* Timeline layout without a terminal: axis mapping, zoom and scroll, the
 * cells of a row, the sparsity curve and the ruler. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fixtures.h"
#include "timeline.h"

typedef struct fixture {
    ms_recipe *recipe;
    ms_sim *sim;
} fixture;

/* the demo in test_sim.c: 26 calls, MagnitudePruning starts at call 6, ends at 20 */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->recipe = parse_recipe(demo_recipe);
    ms_pipeline_config cfg = ms_pipeline_defaults();
    cfg.epochs = 2;
    cfg.steps_per_epoch = 2;
    cfg.index_mode = MS_INDEX_STEP;
    cfg.calibration = MS_PIPELINE_SEQUENTIAL;
    cfg.layers = 1; /* two subgraphs */
    f->sim = f->recipe ? new_sim(f->recipe, &cfg) : NULL;
    *state = f;
    return f->sim ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ms_sim_free(f->sim);
    ms_recipe_free(f->recipe);
    free(f);
    return 0;
}

static void timeline_columns_map_to_call_ranges(void **state)
{
    (void)state;
    ms_tl_view v = ms_tl_fit(26, 13);
    assert_true(v.per_col == 2.0);
    assert_int_equal(ms_tl_col(&v, 6), 3);
    assert_int_equal(ms_tl_col(&v, 7), 3);
    assert_int_equal(ms_tl_col(&v, 26), -1);
    size_t lo, hi;
    ms_tl_range(&v, 3, &lo, &hi);
    assert_int_equal(lo, 6);
    assert_int_equal(hi, 8);
    /* every call in exactly one column, for an uneven zoom too */
    v = ms_tl_fit(100000, 77);
    size_t next = 0;
    for (int col = 0; col < v.width; col++) {
        ms_tl_range(&v, col, &lo, &hi);
        assert_int_equal(lo, next);
        for (size_t c = lo; c < hi; c += 97)
            assert_int_equal(ms_tl_col(&v, c), col);
        next = hi;
    }
    assert_int_equal(next, 100000);
}

static void timeline_zoom_keeps_the_anchor_and_scroll_clamps(void **state)
{
    (void)state;
    ms_tl_view v = ms_tl_fit(1000, 100);
    int before = ms_tl_col(&v, 500);
    ms_tl_zoom(&v, 0.5, 500);
    assert_true(v.per_col == 5.0);
    assert_int_equal(ms_tl_col(&v, 500), before);
    ms_tl_scroll(&v, -1000);
    assert_true(v.first == 0);
    ms_tl_scroll(&v, 1000);
    assert_true(v.first == 500);
    ms_tl_zoom(&v, 1000, 0); /* no further out than the whole axis */
    assert_true(v.per_col == 10.0);
    assert_true(v.first == 0);
    for (int i = 0; i < 20; i++)
        ms_tl_zoom(&v, 0.5, 10);
    assert_true(v.per_col == 0.125); /* a call is at most 8 columns wide */
    ms_tl_follow(&v, 999);
    assert_int_equal(ms_tl_col(&v, 999), 92);
    ms_tl_resize(&v, 200);
    assert_int_equal(v.width, 200);
    assert_int_equal(ms_tl_col(&v, 999), 192);
}

static void timeline_zoomed_in_a_call_spans_columns(void **state)
{
    (void)state;
    ms_tl_view v = ms_tl_fit(10, 40);
    assert_true(v.per_col == 0.25);
    size_t lo, hi;
    ms_tl_range(&v, 8, &lo, &hi);
    assert_int_equal(lo, 2);
    assert_int_equal(hi, 3);
    ms_tl_range(&v, 9, &lo, &hi);
    assert_int_equal(lo, 2);
    assert_int_equal(hi, 2); /* continuation */
}

static void timeline_row_shows_hooks_and_spans(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    ms_tl_view v = ms_tl_fit(26, 26);
    ms_tl_cell cells[26];
    ms_tl_row(sim, 0, &v, cells);
    for (int c = 0; c < 26; c++)
        assert_int_equal(cells[c], MS_TL_UNEXPLORED);
    ms_sim_run(sim, MS_GOAL_END, 0);
    ms_tl_row(sim, 0, &v, cells);
    assert_int_equal(cells[0], MS_TL_INIT);
    assert_int_equal(cells[3], MS_TL_IDLE);
    assert_int_equal(cells[6], MS_TL_START);
    assert_int_equal(cells[12], MS_TL_UPDATE);
    assert_int_equal(cells[20], MS_TL_END);
    assert_int_equal(cells[22], MS_TL_NONE);
    assert_int_equal(cells[25], MS_TL_FINAL);
    /* ConstantPruning's configured end (2) is never reached; start 1.5 is at call 16 */
    ms_tl_row(sim, 1, &v, cells);
    assert_int_equal(cells[16], MS_TL_START);
    assert_int_equal(cells[22], MS_TL_UPDATE);
    /* two calls a column: the start wins over the updates */
    v = ms_tl_fit(26, 13);
    ms_tl_row(sim, 0, &v, cells);
    assert_int_equal(cells[3], MS_TL_START);
    assert_int_equal(cells[10], MS_TL_END);
    assert_string_equal(ms_tl_glyph(MS_TL_UPDATE, false), "=");
    assert_string_equal(ms_tl_glyph(MS_TL_UPDATE, true), "\u2501");
    assert_string_equal(ms_tl_legend(MS_TL_START), "on_start");
}

static void timeline_row_marks_an_error(void **state)
{
    fixture *f = *state;
    ms_recipe *r = parse_recipe("s_stage:\n  m_modifiers:\n    MagnitudePruningModifier:\n"
                                "      start: 0\n      end: 1\n      init_sparsity: 0.1\n"
                                "      final_sparsity: 0.5\n      targets: [w]\n"
                                "      update_scheduler: nope\n");
    (void)f;
    assert_non_null(r);
    ms_pipeline_config cfg = ms_pipeline_defaults();
    ms_sim *sim = new_sim(r, &cfg);
    ms_sim_stop stop = ms_sim_run(sim, MS_GOAL_TRANSITION, 0);
    assert_int_equal(stop.reason, MS_STOP_ERROR);
    ms_tl_view v = ms_tl_fit(ms_sim_call_count(sim), 10);
    ms_tl_cell cells[10];
    ms_tl_row(sim, 0, &v, cells);
    /* initialize and the raise share the first column: both stay visible */
    assert_int_equal(cells[0], MS_TL_SEVERAL);
    char text[128];
    assert_true(ms_tl_column_text(sim, 0, &v, 0, text, sizeof text) >= 2);
    assert_non_null(strstr(text, "I at 0"));
    assert_non_null(strstr(text, "! at "));
    ms_sim_free(sim);
    ms_recipe_free(r);
}

/* Zoomed out until a column holds the start and the end: neither hides the
 * other (E used to outrank S, so a row read "ended without starting"). */
static void timeline_zoomed_out_keeps_every_transition(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    ms_sim_run(sim, MS_GOAL_END, 0);
    ms_tl_view v = ms_tl_fit(26, 2); /* 13 calls a column */
    ms_tl_cell cells[2];
    ms_tl_row(sim, 0, &v, cells);
    assert_int_equal(cells[0], MS_TL_SEVERAL); /* I at 0, S at 6 */
    assert_int_equal(cells[1], MS_TL_SEVERAL); /* E at 20, F at 25 */
    char text[128];
    assert_int_equal(ms_tl_column_text(sim, 0, &v, 0, text, sizeof text), 2);
    assert_string_equal(text, "calls 0-12: I at 0, S at 6");
    assert_int_equal(ms_tl_column_text(sim, 0, &v, 1, text, sizeof text), 2);
    assert_string_equal(text, "calls 13-25: E at 20, F at 25");
    /* one transition a column is still drawn as itself */
    v = ms_tl_fit(26, 26);
    assert_int_equal(ms_tl_column_text(sim, 0, &v, 6, text, sizeof text), 1);
    assert_string_equal(text, "call 6: S at 6");
    assert_int_equal(ms_tl_column_text(sim, 0, &v, 12, text, sizeof text), 0);
    assert_string_equal(text, "call 12: no transition");
    assert_string_equal(ms_tl_glyph(MS_TL_SEVERAL, false), "*");
    char tiny[8];
    ms_tl_column_text(sim, 0, &v, 6, tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 7);
}

/* Zoomed in (8 columns a call): the columns after F are blank whether or
 * not the modifier started or ended, and the call that ran on_end shows E
 * then the state after it, not on_update's bar. */
static void timeline_nothing_is_drawn_after_the_end_or_finalize(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    ms_sim_run(sim, MS_GOAL_END, 0);
    ms_tl_view v = ms_tl_fit(26, 208);
    ms_tl_cell cells[208];
    for (size_t m = 0; m < 2; m++) {
        ms_tl_row(sim, m, &v, cells);
        assert_int_equal(cells[200], MS_TL_FINAL);
        for (int c = 201; c < 208; c++)
            assert_int_equal(cells[c], MS_TL_NONE);
    }
    /* 0 MagnitudePruning ends at call 20 (columns 160-167) */
    ms_tl_row(sim, 0, &v, cells);
    assert_int_equal(cells[160], MS_TL_END);
    for (int c = 161; c < 168; c++)
        assert_int_equal(cells[c], MS_TL_NONE);
    /* 1 ConstantPruning never ends: active up to F */
    ms_tl_row(sim, 1, &v, cells);
    assert_int_equal(cells[199], MS_TL_UPDATE);
}

static void timeline_metric_row_samples_the_sparsity(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    ms_sim_run(sim, MS_GOAL_END, 0);
    ms_tl_view v = ms_tl_fit(26, 26);
    double values[26];
    ms_tl_metric_row(sim, 0, &v, values);
    assert_true(isnan(values[3]));
    assert_true(fabs(values[6] - 0.1) < 1e-12);
    assert_true(fabs(values[20] - 0.5) < 1e-12);
    assert_int_equal(ms_tl_level(0.1, 0, 1, 8), 1);
    assert_int_equal(ms_tl_level(0.5, 0, 1, 8), 4);
    assert_int_equal(ms_tl_level(2, 0, 1, 8), 7);
    assert_int_equal(ms_tl_level(NAN, 0, 1, 8), 0);
}

static void timeline_ruler_labels_indices(void **state)
{
    ms_sim *sim = ((fixture *)*state)->sim;
    ms_tl_view v = ms_tl_fit(26, 26);
    char line[64];
    ms_tl_ruler(sim, &v, line, sizeof line);
    assert_int_equal(strlen(line), 26);
    assert_memory_equal(line, "init", 4);
    assert_null(strstr(line, "fin")); /* does not fit */
    v = ms_tl_fit(26, 52);
    ms_tl_ruler(sim, &v, line, sizeof line);
    assert_non_null(strstr(line, "cal"));
    char tiny[4];
    ms_tl_ruler(sim, &v, tiny, sizeof tiny);
    assert_int_equal(strlen(tiny), 3);
}

/* The first column whose calls reach index `value`, or -1. */
static int column_reaching(const ms_sim *sim, const ms_tl_view *v, double value)
{
    for (int col = 0; col < v->width; col++) {
        size_t lo, hi;
        ms_tl_range(v, col, &lo, &hi);
        for (size_t i = lo; i < hi; i++) {
            const ms_call *c = ms_sim_call(sim, i);
            if (c->kind == MS_CALL_EVENT && c->event.type < MS_EV_CALIBRATION_EPOCH_START &&
                ms_event_current_index(&c->event) >= value - 1e-9)
                return col;
        }
    }
    return -1;
}

/* 3 epochs × 100 steps (the "21.9 calls/col" run) at every width
 * from 40 to 200 columns: each index label once, at the column where the
 * index reaches it, the labels a round step apart and evenly spaced. */
static void timeline_ruler_is_even_at_every_width(void **state)
{
    (void)state;
    ms_recipe *r = parse_recipe(demo_recipe);
    assert_non_null(r);
    ms_pipeline_config cfg = ms_pipeline_defaults();
    cfg.epochs = 3;
    cfg.steps_per_epoch = 100;
    cfg.index_mode = MS_INDEX_STEP;
    cfg.epoch_index = true;
    ms_sim *sim = new_sim(r, &cfg);
    assert_non_null(sim);
    size_t n = ms_sim_call_count(sim);
    for (int width = 40; width <= 200; width++) {
        ms_tl_view v = ms_tl_fit(n, width);
        char line[256];
        ms_tl_ruler(sim, &v, line, sizeof line);
        assert_int_equal(strlen(line), (size_t)width);
        assert_memory_equal(line, "init", 4);
        double values[64];
        int cols[64];
        size_t count = 0, widest = 0;
        for (char *p = line, *tok; (tok = strtok(p, " ")); p = NULL) {
            if (!strcmp(tok, "init") || !strcmp(tok, "cal") || !strcmp(tok, "fin"))
                continue;
            char *end;
            double value = strtod(tok, &end);
            assert_true(*end == '\0');
            for (size_t k = 0; k < count; k++)
                assert_true(values[k] != value); /* never twice */
            assert_true(count < 64);
            values[count] = value;
            cols[count++] = (int)(tok - line);
            widest = strlen(tok) > widest ? strlen(tok) : widest;
        }
        assert_true(count >= 2);
        for (size_t k = 0; k < count; k++) /* where the index reaches it, "0" too */
            assert_int_equal(cols[k], column_reaching(sim, &v, values[k]));
        int min_gap = width, max_gap = 0;
        double step = values[1] - values[0];
        for (size_t k = 1; k < count; k++) {
            assert_true(fabs(values[k] - values[k - 1] - step) < 1e-9);
            int gap = cols[k] - cols[k - 1];
            min_gap = gap < min_gap ? gap : min_gap;
            max_gap = gap > max_gap ? gap : max_gap;
        }
        assert_true((size_t)(max_gap - min_gap) <= widest);
        /* the finest round step that keeps labels 8 columns apart: the next
         * finer one (at most 2.5 times finer) would not fit, so the labels are
         * closer than 2.5 x 8 columns and the fraction of an epoch shows (at
         * 200 columns 0.2, 0.4, ...; a step of 1 left 0.25 and 0.5 out) */
        assert_true(min_gap <= 20);
    }
    {
        ms_tl_view v = ms_tl_fit(n, 200);
        char line[256];
        ms_tl_ruler(sim, &v, line, sizeof line);
        assert_non_null(strstr(line, " 0.2 "));
        assert_non_null(strstr(line, " 1.8 "));
    }
    ms_sim_free(sim);
    ms_recipe_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timeline_columns_map_to_call_ranges),
        cmocka_unit_test(timeline_zoom_keeps_the_anchor_and_scroll_clamps),
        cmocka_unit_test(timeline_zoomed_in_a_call_spans_columns),
        cmocka_unit_test_setup_teardown(timeline_row_shows_hooks_and_spans, setup, teardown),
        cmocka_unit_test_setup_teardown(timeline_row_marks_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(timeline_zoomed_out_keeps_every_transition, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(timeline_nothing_is_drawn_after_the_end_or_finalize, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(timeline_metric_row_samples_the_sparsity, setup, teardown),
        cmocka_unit_test_setup_teardown(timeline_ruler_labels_indices, setup, teardown),
        cmocka_unit_test(timeline_ruler_is_even_at_every_width),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
