/* Redraw time while the model's worker compresses: the bundled demo on a
 * model (argv[1], default small), run to the end with `G`; while the worker
 * smooths and quantizes layer after layer, the Model and Timeline screens
 * are redrawn in full (key to finished update) every 5 ms. Reports mean,
 * 95th percentile and worst time per screen, and how long the run took.
 *
 *   build/tests/bench/bench_model_redraw [MODEL] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"

enum { MAX_FRAMES = 100000 };

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *t, size_t n)
{
    if (!n) {
        printf("%-9s no frame while the worker ran\n", name);
        return;
    }
    qsort(t, n, sizeof *t, cmp);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += t[i];
    printf("%-9s redraw while compressing: %zu frames, mean %.2f ms  p95 %.2f ms  max %.2f ms\n",
           name, n, sum / (double)n, t[n * 95 / 100], t[n - 1]);
}

int main(int argc, char **argv)
{
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    SCREEN *screen = out && in ? newterm("xterm-256color", out, in) : NULL;
    if (!screen) {
        fprintf(stderr, "bench_model_redraw: cannot set up a screen\n");
        return 1;
    }
    set_term(screen);
    resize_term(50, 160);
    static app a;
    a.utf8 = true;
    snprintf(a.model_arg, sizeof a.model_arg, "%s", argc > 1 ? argv[1] : "small");
    app_open(&a, NULL);
    if (!a.model) {
        fprintf(stderr, "bench_model_redraw: %s\n", a.model_error);
        return 1;
    }
    app_screen_init(&a);
    while (!app_work(&a, 1000))
        ;
    static double model[MAX_FRAMES], timeline[MAX_FRAMES];
    size_t nm = 0, nt = 0;
    app_key(&a, '6', false);
    app_render(&a);
    double t0 = now_ms();
    app_key(&a, 'G', false);
    while (!app_work(&a, 5)) {
        double *t = a.view == VIEW_MODEL ? model : timeline;
        size_t *n = a.view == VIEW_MODEL ? &nm : &nt;
        double start = now_ms();
        /* the key that switches screens, then the whole screen drawn */
        app_key(&a, a.view == VIEW_MODEL ? '2' : '6', false);
        a.dirty = DIRTY_ALL;
        app_render(&a);
        if (*n < MAX_FRAMES)
            t[(*n)++] = now_ms() - start;
    }
    printf("model %s: the demo's %zu calls ran in %.1f s\n", app_model_name(&a),
           ms_sim_call_count(a.sim), (now_ms() - t0) / 1e3);
    report("Model", model, nm);
    report("Timeline", timeline, nt);
    app_close(&a);
    endwin();
    delscreen(screen);
    fclose(out);
    fclose(in);
    return 0;
}
