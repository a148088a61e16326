/* A curses screen on /dev/null (80×24, UTF-8) for the UI tests that drive
 * the app without a terminal. */
#ifndef MS_TEST_HEADLESS_H
#define MS_TEST_HEADLESS_H

#include <curses.h>
#include <locale.h>
#include <stdio.h>

typedef struct headless {
    SCREEN *screen;
    FILE *out, *in;
} headless;

static inline int headless_open(headless *h)
{
    setlocale(LC_ALL, "C.UTF-8");
    h->out = fopen("/dev/null", "w");
    h->in = fopen("/dev/null", "r");
    h->screen = h->out && h->in ? newterm("xterm-256color", h->out, h->in) : NULL;
    if (!h->screen)
        return -1;
    set_term(h->screen);
    resize_term(24, 80);
    return 0;
}

static inline void headless_close(headless *h)
{
    endwin();
    delscreen(h->screen);
    fclose(h->out);
    fclose(h->in);
}

#endif
