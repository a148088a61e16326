/* Redraw time after a keypress: 100 modifiers, 100,000 training events
 * (plus calibration), rendered by the real views into a curses screen whose
 * output goes to /dev/null. Reports mean, 95th percentile and worst time
 * per screen, from the key to the finished update.
 *
 *   meson test -C build --benchmark    (or build/bench/bench_redraw) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"

enum { MODIFIERS = 100, KEYS_PER_VIEW = 300 };

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

/* A recipe of MODIFIERS modifiers, each in its own group: pruning spans
 * staggered over the 200 epochs, and calibration modifiers. */
static char *write_recipe(void)
{
    static char path[] = "/tmp/modsim-bench-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f)
        return NULL;
    fprintf(f, "train_stage:\n");
    for (int i = 0; i < MODIFIERS; i++) {
        fprintf(f, "  g%d_modifiers:\n", i);
        if (i % 4 == 3)
            fprintf(f, "    GPTQModifier:\n      scheme: W4A16\n      targets: [Linear]\n");
        else if (i % 4 == 2)
            fprintf(f,
                    "    ConstantPruningModifier:\n      start: %d\n      end: %d\n"
                    "      targets: [w]\n",
                    i, i + 50);
        else
            fprintf(f,
                    "    MagnitudePruningModifier:\n      start: %d\n      end: %d\n"
                    "      update: 0.5\n      init_sparsity: 0.05\n      final_sparsity: 0.8\n"
                    "      targets: [w]\n",
                    i, i + 80);
    }
    fclose(f);
    return path;
}

int main(void)
{
    char *path = write_recipe();
    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    if (!path || !out || !in) {
        fprintf(stderr, "bench_redraw: cannot set up\n");
        return 1;
    }
    SCREEN *screen = newterm("xterm-256color", out, in);
    if (!screen) {
        fprintf(stderr, "bench_redraw: no terminfo entry for xterm-256color\n");
        return 1;
    }
    set_term(screen);
    resize_term(60, 200);

    static app a;
    a.utf8 = true;
    snprintf(a.model_arg, sizeof a.model_arg, "none"); /* the lifecycle's redraws */
    app_open(&a, path);
    a.cfg.epochs = 200;
    a.cfg.steps_per_epoch = 100;
    app_rebuild(&a);
    if (!a.sim) {
        fprintf(stderr, "bench_redraw: %s\n", a.load_diag.message);
        return 1;
    }
    app_screen_init(&a);
    double t0 = now_ms();
    while (!app_work(&a, 1000))
        ;
    printf("%zu modifiers, %zu calls; simulated ahead in %.0f ms\n", ms_sim_modifier_count(a.sim),
           ms_sim_call_count(a.sim), now_ms() - t0);
    app_render(&a);

    static const struct {
        int view_key;
        const char *keys;
    } runs[] = {
        {'2', "jjjjlllll+++nnbbhhhh--kkkksssjjjj0"},
        {'3', "jjjjnnnnbbbbkkkksss"},
        {'4', "jjjjhhhhllllkkkknnbb"},
        {'1', "jjjjjjjjkkkkkkk"},
    };
    double worst_mean = 0;
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        app_key(&a, runs[r].view_key, false);
        app_render(&a);
        double times[KEYS_PER_VIEW];
        size_t nk = strlen(runs[r].keys);
        for (int i = 0; i < KEYS_PER_VIEW; i++) {
            double start = now_ms();
            app_key(&a, runs[r].keys[i % nk], false);
            app_render(&a);
            times[i] = now_ms() - start;
            /* a run the key started finishes outside the measured frame */
            while (!app_work(&a, 1000))
                ;
        }
        qsort(times, KEYS_PER_VIEW, sizeof times[0], cmp);
        double sum = 0;
        for (int i = 0; i < KEYS_PER_VIEW; i++)
            sum += times[i];
        double mean = sum / KEYS_PER_VIEW;
        if (mean > worst_mean)
            worst_mean = mean;
        printf("%-9s redraw after a key: mean %.2f ms  p95 %.2f ms  max %.2f ms\n",
               a.view == VIEW_TIMELINE  ? "Timeline"
               : a.view == VIEW_STEPPER ? "Stepper"
               : a.view == VIEW_EXPLAIN ? "Explain"
                                        : "Schedule",
               mean, times[KEYS_PER_VIEW * 95 / 100], times[KEYS_PER_VIEW - 1]);
    }
    app_close(&a);
    endwin();
    delscreen(screen);
    fclose(out);
    fclose(in);
    unlink(path);
    return worst_mean < 16 ? 0 : 1;
}
