/* The worker pool: every task runs exactly once, on any thread count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>

#include "kernels/pool.h"

typedef struct {
    atomic_int hits[1000];
    size_t threads;
    atomic_int bad_worker;
} count_ctx;

static void count_task(void *ctx, size_t task, size_t worker)
{
    count_ctx *c = ctx;
    atomic_fetch_add(&c->hits[task], 1);
    if (worker >= c->threads)
        atomic_store(&c->bad_worker, 1);
}

static void pool_runs_every_task_once(void **state)
{
    (void)state;
    for (size_t threads = 1; threads <= 3; threads++) {
        ms_pool *pool = NULL;
        assert_int_equal(ms_pool_create(threads, &pool, NULL), MS_OK);
        assert_int_equal(ms_pool_threads(pool), threads);
        for (int round = 0; round < 20; round++) {
            static count_ctx c;
            for (size_t i = 0; i < 1000; i++)
                atomic_store(&c.hits[i], 0);
            c.threads = threads;
            atomic_store(&c.bad_worker, 0);
            ms_pool_run(pool, 1000, count_task, &c);
            for (size_t i = 0; i < 1000; i++)
                assert_int_equal(atomic_load(&c.hits[i]), 1);
            assert_int_equal(atomic_load(&c.bad_worker), 0);
        }
        ms_pool_free(pool);
    }
}

static void pool_null_runs_on_caller(void **state)
{
    (void)state;
    static count_ctx c;
    c.threads = 1;
    ms_pool_run(NULL, 10, count_task, &c);
    for (size_t i = 0; i < 10; i++)
        assert_int_equal(atomic_load(&c.hits[i]), 1);
    assert_int_equal(ms_pool_threads(NULL), 1);
}

static void pool_refuses_absurd_thread_count(void **state)
{
    (void)state;
    ms_pool *pool = (ms_pool *)1;
    ms_diag d;
    assert_int_equal(ms_pool_create(100000, &pool, &d), MS_ERR_INVALID);
    assert_null(pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool_runs_every_task_once),
        cmocka_unit_test(pool_null_runs_on_caller),
        cmocka_unit_test(pool_refuses_absurd_thread_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
