/* Drawing helpers shared by the views. */
#include "app.h"
#include "draw.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

attr_t ui_attr(const app *a, role r)
{
    return (unsigned)r < ROLE_COUNT ? a->attrs[r] : A_NORMAL;
}

void ui_put(WINDOW *w, int y, int x, int width, const char *text)
{
    if (width <= 0 || !text)
        return;
    /* count columns, not bytes: UTF-8 text may hold box drawing or names */
    mbstate_t st;
    memset(&st, 0, sizeof st);
    const char *p = text;
    int cols = 0;
    size_t bytes = 0;
    while (*p) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, p, strlen(p), &st);
        if (n == (size_t)-1 || n == (size_t)-2) {
            n = 1;
            wc = '?';
            memset(&st, 0, sizeof st);
        }
        int cw = wcwidth(wc);
        if (cw < 0)
            cw = 1;
        if (cols + cw > width)
            break;
        cols += cw;
        p += n;
        bytes += n;
    }
    mvwaddnstr(w, y, x, text, (int)bytes);
}

void ui_putf(WINDOW *w, int y, int x, int width, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ui_put(w, y, x, width, buf);
}

void ui_hline(const app *a, WINDOW *w, int y, int x, int width)
{
    /* box drawing as text: line-drawing mode is not understood everywhere */
    for (int i = 0; i < width; i++)
        mvwaddstr(w, y, x + i, a->utf8 ? "\u2500" : "-");
}

const char *ui_check(const app *a, bool set)
{
    if (a->utf8)
        return set ? "\u2713" : "\u00b7";
    return set ? "x" : ".";
}

/* Where the text left after `max_lines` wrapped lines starts. */
static const char *wrap_lines(WINDOW *w, int y, int x, int width, int max_lines, const char *text,
                              int *used)
{
    int lines = 0;
    const char *p = text;
    while (*p && lines < max_lines && width > 0) {
        size_t len = strlen(p);
        size_t take = len;
        if (len > (size_t)width) {
            take = (size_t)width;
            while (take > 0 && p[take] != ' ')
                take--;
            if (take == 0)
                take = (size_t)width;
        }
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)take, p);
        if (w)
            ui_put(w, y + lines, x, width, line);
        lines++;
        p += take;
        while (*p == ' ')
            p++;
    }
    *used = lines;
    return p;
}

int ui_wrap(WINDOW *w, int y, int x, int width, int max_lines, const char *text)
{
    int lines;
    wrap_lines(w, y, x, width, max_lines, text, &lines);
    return lines;
}

void ui_wrap_rest(const char *text, int width, int lines, char *out, size_t cap)
{
    int used;
    snprintf(out, cap, "%s", wrap_lines(NULL, 0, 0, width, lines, text, &used));
}

void ui_flags_text(unsigned flags, char *buf, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{MS_FLAG_INITIALIZED, "initialized"},
                 {MS_FLAG_STARTED, "started"},
                 {MS_FLAG_ENDED, "ended"},
                 {MS_FLAG_FINALIZED, "finalized"}};
    buf[0] = '\0';
    for (size_t i = 0; i < 4; i++)
        if (flags & names[i].bit) {
            size_t len = strlen(buf);
            snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", names[i].name);
        }
    if (!buf[0])
        snprintf(buf, cap, "not initialized");
}

void ui_call_text(const app *a, size_t call, char *buf, size_t cap)
{
    char label[96];
    ms_sim_call_label(a->sim, call, label, sizeof label);
    const ms_call *c = ms_sim_call(a->sim, call);
    double index = ms_sim_call_index(a->sim, call);
    if (c && c->kind == MS_CALL_EVENT && c->event.type <= MS_EV_BATCH_END &&
        a->cfg.index_mode == MS_INDEX_STEP)
        snprintf(buf, cap, "call %zu %s (step %lld, index %g)", call, label, c->event.global_step,
                 index);
    else if (c && (c->kind == MS_CALL_EVENT || c->kind == MS_CALL_MODIFIER_UPDATE_EVENT))
        snprintf(buf, cap, "call %zu %s (index %g)", call, label, index);
    else
        snprintf(buf, cap, "call %zu %s", call, label);
}

bool ui_list_move(ms_cmd cmd, size_t *sel, size_t n, size_t page)
{
    size_t last = n ? n - 1 : 0, s = *sel;
    switch (cmd) {
    case MS_CMD_UP:
        s = s ? s - 1 : 0;
        break;
    case MS_CMD_DOWN:
        s = s + 1;
        break;
    case MS_CMD_PAGE_UP:
        s = s > page ? s - page : 0;
        break;
    case MS_CMD_PAGE_DOWN:
        s = s + page;
        break;
    case MS_CMD_FIRST:
        s = 0;
        break;
    case MS_CMD_LAST:
        s = last;
        break;
    default:
        return false;
    }
    *sel = s < last ? s : last;
    return true;
}

void ui_scroll_to(int *first, int sel, int rows)
{
    if (rows < 1)
        rows = 1;
    if (sel < *first)
        *first = sel;
    else if (sel >= *first + rows)
        *first = sel - rows + 1;
    if (*first < 0)
        *first = 0;
}
