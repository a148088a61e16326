/* The terminal loop: one wait point (poll on the terminal and on a pipe the
 * signal handlers and the worker thread write), signal handlers that only
 * set flags, and one terminal-restore function for every way out. Curses
 * is used on this thread only. */
#include "tui.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "app.h"
#include "history/recorder.h"

enum { PROGRESS_MS = 50 }; /* how often a job's progress is redrawn */

static volatile sig_atomic_t got_signal; /* SIGINT, SIGTERM or SIGHUP: leave */
static volatile sig_atomic_t got_winch;  /* the terminal was resized */
static int wake_pipe[2] = {-1, -1};      /* written by handlers to end the wait */
static volatile sig_atomic_t curses_on;  /* the terminal is in curses mode */

/* Safe to call twice, from atexit, the signal path and the crash path. */
static void restore_terminal(void)
{
    if (!curses_on)
        return;
    curses_on = 0;
    mousemask(0, NULL);
    endwin();
}

static void wake(void)
{
    int saved = errno;
    if (wake_pipe[1] >= 0 && write(wake_pipe[1], "x", 1) < 0) {
        /* a full pipe already wakes the loop */
    }
    errno = saved;
}

static void on_quit_signal(int sig)
{
    got_signal = sig;
    wake();
}

static void on_winch(int sig)
{
    (void)sig;
    got_winch = 1;
    wake();
}

/* The signals that kill with a core dump; each gets the terminal back first. */
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT};
/* What each crash handler replaced: the default, or a sanitizer's reporter. */
static struct sigaction replaced[NSIG];

/* Appends the decimal digits of `v` (async-signal-safe). */
static size_t put_int(char *buf, size_t at, int v)
{
    char digits[12];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof digits);
    while (n)
        buf[at++] = digits[--n];
    return at;
}

/* A crash gives the terminal back and says so in one line, then the handler
 * it replaced runs as if this one were not there: a sanitizer still prints
 * its report (now on a sane terminal), the default still dumps core. */
static void on_crash(int sig, siginfo_t *info, void *context)
{
    (void)context;
    static volatile sig_atomic_t reported;
    bool was_on = curses_on;
    restore_terminal();
    if (was_on && !reported) {
        reported = 1;
        char line[96] = "modsim: crashed (signal ";
        size_t n = put_int(line, strlen(line), sig);
        memcpy(line + n, "); the terminal is restored\n", 29);
        if (write(STDERR_FILENO, line, n + 28) < 0) {
            /* nothing left to tell */
        }
    }
    sigaction(sig, &replaced[sig], NULL);
    /* A fault the kernel raised happens again when the handler returns, now
     * under the replaced handler; a sent signal (kill, abort) is sent again. */
    bool fault = info && info->si_code > 0 && sig != SIGABRT && sig != SIGQUIT;
    if (!fault)
        raise(sig);
}

#if defined(__SANITIZE_ADDRESS__)
/* AddressSanitizer calls this before it prints a report of its own finding
 * (no signal involved): give the report a terminal that shows it. */
void __asan_on_error(void);
void __asan_on_error(void)
{
    restore_terminal();
}
#endif

static void install(int sig, void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void install_handlers(void)
{
    install(SIGINT, on_quit_signal);
    install(SIGTERM, on_quit_signal);
    install(SIGHUP, on_quit_signal);
    install(SIGWINCH, on_winch);
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_crash;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(crash_signals[i], &sa, &replaced[crash_signals[i]]);
    }
}

static bool open_wake_pipe(void)
{
    if (pipe(wake_pipe) != 0)
        return false;
    for (int i = 0; i < 2; i++)
        fcntl(wake_pipe[i], F_SETFL, fcntl(wake_pipe[i], F_GETFL) | O_NONBLOCK);
    fcntl(wake_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(wake_pipe[1], F_SETFD, FD_CLOEXEC);
    return true;
}

/* Takes the terminal's new size after SIGWINCH (curses leaves SIGWINCH to us
 * because the handler is installed before initscr). */
static void resize(app *a)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
        resize_term(ws.ws_row, ws.ws_col);
    /* what the terminal shows after a resize is unknown: repaint all of it */
    clearok(curscr, TRUE);
    app_screen_resize(a);
}

static bool locale_is_utf8(void)
{
    const char *cs = nl_langinfo(CODESET);
    return cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
}

/* Reads every key waiting; false when the user quits. */
static bool read_keys(app *a)
{
    wint_t ch;
    int r;
    while ((r = wget_wch(stdscr, &ch)) != ERR) {
        bool fkey = r == KEY_CODE_YES;
        if (fkey && ch == KEY_RESIZE) {
            resize(a);
            continue;
        }
        if (fkey && ch == KEY_MOUSE) {
            MEVENT ev;
            if (getmouse(&ev) != OK)
                continue;
            if (ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED))
                app_mouse(a, ev.y, ev.x);
            /* the wheel moves the selection (or the Help page) three rows */
            int wheel = ev.bstate & BUTTON4_PRESSED   ? KEY_UP
                        : ev.bstate & BUTTON5_PRESSED ? KEY_DOWN
                                                      : 0;
            for (int i = 0; wheel && i < 3; i++)
                if (app_key(a, wheel, true) == UI_QUIT)
                    return false;
            continue;
        }
        if (app_key(a, (int)ch, fkey) == UI_QUIT)
            return false;
    }
    return true;
}

/* The history the session lists and records to; a file that cannot be
 * used turns recording off for the session, said on the message line. */
static void open_history(app *a, const ms_tui_history *o, char *problem, size_t cap)
{
    problem[0] = '\0';
    if (o && o->path)
        snprintf(a->history_path, sizeof a->history_path, "%s", o->path);
    else if (!ms_history_default_path(a->history_path, sizeof a->history_path))
        a->history_path[0] = '\0';
    if ((o && (o->off || o->replay > 0)) || !a->history_path[0])
        return;
    ms_diag diag;
    ms_diag_clear(&diag);
    if (ms_history_recorder_new(a->history_path, &a->recorder, &diag) != MS_OK)
        snprintf(problem, cap, "history off for this session: %.400s",
                 diag.message[0] ? diag.message : "cannot open the history");
}

int ms_tui_main(const char *path, const ms_pipeline_request *run, const char *stage,
                const char *model, const ms_world_model_config *world,
                const ms_tui_history *history)
{
    static app a;
    memset(&a, 0, sizeof a);
    long long replay = history ? history->replay : 0;
    char problem[sizeof a.message];
    if (replay <= 0 && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
        fprintf(stderr, "modsim: the interactive view needs a terminal; for a trace use "
                        "'modsim trace SCENARIO.yaml'\n");
        return 2;
    }
    setlocale(LC_ALL, "");
    snprintf(a.model_arg, sizeof a.model_arg, "%s", model ? model : "");
    if (world) {
        a.world = *world;
        a.world_set = true;
    }
    open_history(&a, history, problem, sizeof problem);
    app_open_run(&a, replay > 0 ? NULL : path, run, stage);
    if (problem[0])
        app_message(&a, true, "%s", problem);
    /* a replay that cannot be made is said before the terminal is touched */
    if (replay > 0 && !app_replay(&a, replay)) {
        fprintf(stderr, "modsim history replay: %s\n", a.message);
        app_close(&a);
        return 2;
    }
    if (replay > 0 && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
        fprintf(stderr,
                "modsim history replay: the interactive view needs a terminal; "
                "`modsim history check %lld` compares the run without one\n",
                replay);
        app_close(&a);
        return 2;
    }
    a.utf8 = locale_is_utf8();
    if (!open_wake_pipe()) {
        fprintf(stderr, "modsim: cannot create a pipe\n");
        app_close(&a);
        ms_history_recorder_free(a.recorder);
        return 1;
    }
    ui_worker_set_wake(&a.worker, wake_pipe[1]);
    install_handlers();
    atexit(restore_terminal);
    if (!initscr()) {
        fprintf(stderr, "modsim: cannot initialize the terminal\n");
        app_close(&a);
        ms_history_recorder_free(a.recorder);
        return 1;
    }
    curses_on = 1;
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
    mouseinterval(0);
    app_screen_init(&a);

    int status = 0;
    for (;;) {
        if (got_signal == SIGINT) {
            got_signal = 0;
            if (app_interrupt(&a) == UI_QUIT) {
                status = 128 + SIGINT;
                break;
            }
            a.dirty |= DIRTY_MSG;
        }
        if (got_signal) {
            status = 128 + got_signal;
            break;
        }
        if (got_winch) {
            got_winch = 0;
            resize(&a);
        }
        /* hand a job to the worker, or finish the one it is done with; it
         * wakes us when it is done, and the timeout redraws its progress */
        bool busy = !app_work(&a, 0);
        if (a.dirty)
            app_render(&a);
        /* drawing the Model screen can start the model's measuring */
        busy = !app_work(&a, 0) || busy;
        struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                                {.fd = wake_pipe[0], .events = POLLIN}};
        int n = poll(fds, 2, busy ? PROGRESS_MS : -1);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0 && (fds[1].revents & POLLIN)) {
            char buf[64];
            while (read(wake_pipe[0], buf, sizeof buf) > 0)
                ;
        }
        if (n > 0 && (fds[0].revents & (POLLHUP | POLLERR)))
            break;
        if (!read_keys(&a))
            break;
    }
    restore_terminal();
    app_close(&a);
    /* the runs queued are written before the program ends */
    ms_history_recorder_free(a.recorder);
    if (a.w_tabs) {
        delwin(a.w_tabs);
        delwin(a.w_body);
        delwin(a.w_msg);
        delwin(a.w_status);
    }
    close(wake_pipe[0]);
    close(wake_pipe[1]);
    return status;
}
