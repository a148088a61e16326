/* The worker thread without a terminal: a job runs to completion and wakes
 * the loop, and a job taken back stops between slices. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "worker.h"

typedef struct counter {
    int slices, until; /* until < 0: never done */
} counter;

static bool count_slice(void *arg)
{
    counter *c = arg;
    c->slices++;
    usleep(100);
    return c->until >= 0 && c->slices >= c->until;
}

static void worker_runs_a_job_to_completion_and_wakes_the_loop(void **state)
{
    (void)state;
    int pipe_fd[2];
    assert_int_equal(pipe(pipe_fd), 0);
    fcntl(pipe_fd[0], F_SETFL, O_NONBLOCK);
    ui_worker w;
    assert_true(ui_worker_init(&w, pipe_fd[1]));
    counter c = {.until = 50};
    assert_true(ui_worker_give(&w, count_slice, &c));
    assert_true(ui_worker_busy(&w));
    while (!ui_worker_wait(&w, 1000))
        ;
    assert_false(ui_worker_busy(&w));
    assert_int_equal(c.slices, 50); /* no slice after the one that said done */
    char byte;
    assert_int_equal(read(pipe_fd[0], &byte, 1), 1);
    /* the same worker takes the next job */
    c = (counter){.until = 3};
    assert_true(ui_worker_give(&w, count_slice, &c));
    while (!ui_worker_wait(&w, 1000))
        ;
    assert_int_equal(c.slices, 3);
    ui_worker_free(&w);
    close(pipe_fd[0]);
    close(pipe_fd[1]);
}

static void worker_take_stops_a_job_between_slices(void **state)
{
    (void)state;
    ui_worker w;
    assert_true(ui_worker_init(&w, -1));
    counter c = {.until = -1};
    assert_true(ui_worker_give(&w, count_slice, &c));
    assert_false(ui_worker_wait(&w, 5)); /* still running: not finished */
    assert_false(ui_worker_take(&w));    /* taken back unfinished */
    assert_false(ui_worker_busy(&w));
    int seen = c.slices;
    assert_true(seen > 0);
    usleep(5000);
    assert_int_equal(c.slices, seen); /* the worker no longer runs it */
    /* handed back again, it continues where it was */
    c.until = seen + 10;
    assert_true(ui_worker_give(&w, count_slice, &c));
    while (!ui_worker_wait(&w, 1000))
        ;
    assert_int_equal(c.slices, seen + 10);
    assert_false(ui_worker_take(&w)); /* nothing to take */
    ui_worker_free(&w);
}

static void worker_free_ends_a_running_job(void **state)
{
    (void)state;
    ui_worker w;
    assert_true(ui_worker_init(&w, -1));
    counter c = {.until = -1};
    assert_true(ui_worker_give(&w, count_slice, &c));
    usleep(2000);
    ui_worker_free(&w); /* returns: the thread is joined */
    int seen = c.slices;
    usleep(2000);
    assert_int_equal(c.slices, seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worker_runs_a_job_to_completion_and_wakes_the_loop),
        cmocka_unit_test(worker_take_stops_a_job_between_slices),
        cmocka_unit_test(worker_free_ends_a_running_job),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
