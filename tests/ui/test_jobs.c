/* Long simulations on the worker thread, without a terminal: a run
 * finishes and wakes the loop, Esc cancels a run or the exploration ahead,
 * and the screens draw only once the session is back. */
#include <fcntl.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "app.h"
#include "headless.h"

typedef struct fixture {
    headless term;
    int wake[2];
    app a;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    int opened = headless_open(&f->term);
    if (opened != 0 || pipe(f->wake) != 0)
        return -1;
    fcntl(f->wake[0], F_SETFL, O_NONBLOCK);
    /* the session's jobs alone; test_model.c steps a model */
    snprintf(f->a.model_arg, sizeof f->a.model_arg, "none");
    app_open(&f->a, NULL);
    ui_worker_set_wake(&f->a.worker, f->wake[1]);
    /* long enough that a run outlasts the key that starts it */
    f->a.cfg.epochs = 1000;
    f->a.cfg.steps_per_epoch = 100;
    app_rebuild(&f->a);
    app_screen_init(&f->a);
    while (!app_work(&f->a, 1000))
        ;
    app_render(&f->a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    app_close(&f->a);
    headless_close(&f->term);
    close(f->wake[0]);
    close(f->wake[1]);
    free(f);
    return 0;
}

static void drain(int fd)
{
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0)
        ;
}

static void jobs_run_finishes_on_the_worker_and_wakes_the_loop(void **state)
{
    fixture *f = *state;
    app *a = &f->a;
    assert_int_equal(ms_sim_explored(a->sim), ms_sim_call_count(a->sim));
    drain(f->wake[0]);
    app_key(a, 'G', false);
    assert_int_equal(a->job, JOB_RUN);
    assert_true(ui_worker_busy(&a->worker));
    /* the body draws from the session: the worker gives it back first */
    app_render(a);
    assert_false(ui_worker_busy(&a->worker));
    /* the progress line and the tabs draw while the worker holds it */
    assert_false(app_work(a, 0));
    assert_true(ui_worker_busy(&a->worker));
    app_render(a);
    assert_true(ui_worker_busy(&a->worker));
    while (!app_work(a, 1000))
        ;
    assert_int_equal(a->job, JOB_NONE);
    assert_int_equal(ms_sim_position(a->sim), ms_sim_call_count(a->sim));
    assert_non_null(strstr(a->message, "end: "));
    char byte;
    assert_int_equal(read(f->wake[0], &byte, 1), 1);
}

static void jobs_esc_cancels_a_run(void **state)
{
    app *a = &((fixture *)*state)->a;
    app_key(a, 'G', false);
    assert_int_equal(a->job, JOB_RUN);
    app_key(a, 27, false); /* Esc */
    assert_int_equal(a->job, JOB_NONE);
    assert_false(ui_worker_busy(&a->worker));
    size_t pos = ms_sim_position(a->sim);
    assert_true(pos > 0 && pos < ms_sim_call_count(a->sim));
    assert_non_null(strstr(a->message, "cancelled at call"));
    /* the worker runs nothing more */
    usleep(20000);
    assert_int_equal(ms_sim_position(a->sim), pos);
}

static void jobs_esc_cancels_the_exploration_ahead(void **state)
{
    app *a = &((fixture *)*state)->a;
    app_key(a, '3', false);
    app_key(a, '>', false); /* regenerates the calls: explores them anew */
    assert_int_equal(a->job, JOB_EXPLORE);
    assert_false(app_work(a, 0)); /* handed to the worker */
    app_key(a, 27, false);
    assert_int_equal(a->job, JOB_NONE);
    assert_true(ms_sim_explored(a->sim) < ms_sim_call_count(a->sim));
    assert_int_equal(ms_sim_position(a->sim), 0);
    assert_non_null(strstr(a->message, "simulation ahead cancelled"));
    app_render(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(jobs_run_finishes_on_the_worker_and_wakes_the_loop),
        T(jobs_esc_cancels_a_run),
        T(jobs_esc_cancels_the_exploration_ahead),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
