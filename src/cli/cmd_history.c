/* modsim history [list|show|diff|check|replay|export|rm|gc]: the runs kept in the history
 * file ($MODSIM_HISTORY, else $XDG_STATE_HOME/modsim/history.db, else
 * ~/.local/state/modsim/history.db; --history PATH names another). Exit 0
 * on success (diff: the runs match), 1 when diff finds a difference, 2 on
 * bad usage or an unusable history. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../history/history.h"
#include "../util/atomic.h"
#include "args.h"
#include "cli.h"
#include "run_history.h"

static const char who[] = "modsim history";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: modsim history [--history PATH] [list] [--recipe R] [--status S]\n"
            "                      [--limit N] [--format text|json]\n"
            "       modsim history show ID\n"
            "       modsim history diff A B        exit 1 when the runs differ, 0 when they\n"
            "                                      match\n"
            "       modsim history check ID        run it again: exit 1 when today's modsim\n"
            "                                      disagrees with the record, 0 when it\n"
            "                                      agrees\n"
            "       modsim history replay ID       open the TUI on the run, marking the first\n"
            "                                      call where today's modsim disagrees\n"
            "       modsim history export ID --format jsonl|scenario [-o FILE]\n"
            "       modsim history rm ID...\n"
            "       modsim history gc --keep N [--older-than D]   D: seconds, or Ns Nm Nh Nd\n"
            "  --history PATH   the history file (default $MODSIM_HISTORY, else\n"
            "                   $XDG_STATE_HOME/modsim/history.db, else\n"
            "                   ~/.local/state/modsim/history.db)\n"
            "  S is running, completed, failed, interrupted or cancelled\n");
}

/* A whole non-negative number, or -1 (said on stderr, naming `what`). */
static long long number(const char *text, const char *what)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end || v < 0) {
        fprintf(stderr, "%s: %s '%s' is not a whole number >= 0\n", who, what, text);
        return -1;
    }
    return v;
}

/* A run id: a whole number > 0. */
static long long run_id(const char *text)
{
    long long v = number(text, "run id");
    if (v == 0) {
        fprintf(stderr, "%s: run id '%s': ids start at 1\n", who, text);
        return -1;
    }
    return v;
}

/* "3600", "90s", "30m", "12h", "7d" in seconds; -1 when not one of those. */
static long long duration(const char *text)
{
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    long long unit = !*end               ? 1
                     : !strcmp(end, "s") ? 1
                     : !strcmp(end, "m") ? 60
                     : !strcmp(end, "h") ? 3600
                     : !strcmp(end, "d") ? 86400
                                         : 0;
    if (errno || end == text || v < 0 || !unit || v > (1LL << 40)) {
        fprintf(stderr,
                "%s: --older-than '%s': give seconds or a number with s, m, h or d "
                "(7d)\n",
                who, text);
        return -1;
    }
    return v * unit;
}

static int fail(const ms_diag *diag, ms_status st)
{
    if (diag->message[0])
        ms_diag_print(diag, stderr);
    else
        fprintf(stderr, "%s: %s\n", who, ms_status_str(st));
    return 2;
}

int ms_cmd_history(int argc, char **argv)
{
    const char *path = NULL, *sub = NULL, *recipe = NULL, *status = NULL, *format = NULL,
               *output = NULL, *v;
    long long limit = 0, keep = -1, older = 0;
    const char *ids[64];
    int nids = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (ms_args_option(argc, argv, &i, "--history", &v, who, stderr)) {
            if (!v)
                return 2;
            path = v;
        } else if (ms_args_option(argc, argv, &i, "--recipe", &v, who, stderr)) {
            if (!v)
                return 2;
            recipe = v;
        } else if (ms_args_option(argc, argv, &i, "--status", &v, who, stderr)) {
            if (!v)
                return 2;
            status = v;
        } else if (ms_args_option(argc, argv, &i, "--format", &v, who, stderr)) {
            if (!v)
                return 2;
            format = v;
        } else if (ms_args_option(argc, argv, &i, "-o", &v, who, stderr) ||
                   ms_args_option(argc, argv, &i, "--output", &v, who, stderr)) {
            if (!v)
                return 2;
            output = v;
        } else if (ms_args_option(argc, argv, &i, "--limit", &v, who, stderr)) {
            if (!v || (limit = number(v, "--limit")) < 0)
                return 2;
        } else if (ms_args_option(argc, argv, &i, "--keep", &v, who, stderr)) {
            if (!v || (keep = number(v, "--keep")) < 0)
                return 2;
        } else if (ms_args_option(argc, argv, &i, "--older-than", &v, who, stderr)) {
            if (!v || (older = duration(v)) < 0)
                return 2;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "%s: unknown option '%s'\n", who, a);
            usage(stderr);
            return 2;
        } else if (!sub) {
            sub = a;
        } else if (nids < (int)(sizeof ids / sizeof *ids)) {
            ids[nids++] = a;
        } else {
            fprintf(stderr, "%s: at most %zu run ids at once\n", who, sizeof ids / sizeof *ids);
            return 2;
        }
    }
    if (!sub)
        sub = "list";
    static const char *const subs[] = {"list", "show", "diff",  "export",
                                       "rm",   "gc",   "check", "replay"};
    int which = -1;
    for (int i = 0; i < (int)(sizeof subs / sizeof *subs); i++)
        if (!strcmp(sub, subs[i]))
            which = i;
    if (which < 0) {
        fprintf(stderr,
                "%s: unknown subcommand '%s' (list, show, diff, export, rm, gc, check, replay)\n",
                who, sub);
        return 2;
    }
    int want_ids[] = {0, 1, 2, 1, -1, 0, 1, 1};
    if ((want_ids[which] >= 0 && nids != want_ids[which]) || (want_ids[which] < 0 && !nids)) {
        fprintf(stderr, "%s %s: %s\n", who, sub,
                want_ids[which] == 0   ? "takes no run id"
                : want_ids[which] == 1 ? "takes one run id"
                : want_ids[which] == 2 ? "takes two run ids, A and B"
                                       : "takes one or more run ids");
        usage(stderr);
        return 2;
    }
    long long id[64];
    for (int i = 0; i < nids; i++)
        if ((id[i] = run_id(ids[i])) < 0)
            return 2;
    ms_history_filter filter = {.recipe = recipe, .limit = limit};
    if (status) {
        if (!ms_history_status_parse(status, &filter.status)) {
            fprintf(stderr,
                    "%s: --status '%s': give running, completed, failed, interrupted or "
                    "cancelled\n",
                    who, status);
            return 2;
        }
        filter.has_status = true;
    }
    bool json = false;
    if (which == 0 && format) {
        if (strcmp(format, "text") && strcmp(format, "json")) {
            fprintf(stderr, "%s list: --format '%s': give text or json\n", who, format);
            return 2;
        }
        json = !strcmp(format, "json");
    }
    if (which == 3 && (!format || (strcmp(format, "jsonl") && strcmp(format, "scenario")))) {
        fprintf(stderr, "%s export: --format %s%s%s: give jsonl or scenario\n", who,
                format ? "'" : "", format ? format : "missing", format ? "'" : "");
        return 2;
    }
    if (which == 5 && keep < 0) {
        fprintf(stderr, "%s gc: --keep N is required (the newest N runs are kept)\n", who);
        return 2;
    }
    char buf[1024];
    if (!path) {
        if (!ms_history_default_path(buf, sizeof buf)) {
            fprintf(stderr,
                    "%s: no history file: set MODSIM_HISTORY, XDG_STATE_HOME or HOME, "
                    "or use --history PATH\n",
                    who);
            return 2;
        }
        path = buf;
    }
    if (which == 7) {
        if (!ms_history_replay_hook) {
            fprintf(stderr, "%s replay: this modsim has no terminal UI\n", who);
            return 2;
        }
        return ms_history_replay_hook(path, id[0]);
    }
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_history *h;
    ms_status st = ms_history_open(path, false, &h, &diag);
    if (st != MS_OK)
        return fail(&diag, st);
    int rc = 0;
    FILE *out = stdout;
    ms_atomic_file *file = NULL; /* -o FILE: whole or not at all */
    if (which == 3 && output && strcmp(output, "-") &&
        ms_atomic_open(output, &file, &out, &diag) != MS_OK) {
        ms_history_close(h);
        return fail(&diag, MS_ERR_IO);
    }
    bool differs = false, agrees = false;
    size_t removed = 0, first = 0;
    switch (which) {
    case 0:
        st = ms_history_list(h, &filter, json, out, &diag);
        break;
    case 1:
        st = ms_history_show(h, id[0], out, &diag);
        break;
    case 2:
        st = ms_history_diff(h, id[0], id[1], out, &differs, &diag);
        rc = differs;
        break;
    case 3: {
        /* -o FILE: exported into memory first, then written in one go, so that a failing
         * write is seen where it fails, with its own errno (an exporter sees only ferror at
         * its end, when errno may name something else) */
        char *text = NULL;
        size_t len = 0;
        FILE *to = file ? open_memstream(&text, &len) : out;
        st = !to                        ? MS_ERR_NOMEM
             : !strcmp(format, "jsonl") ? ms_history_export_jsonl(h, id[0], to, &diag)
                                        : ms_history_export_scenario(h, id[0], to, &diag);
        if (file && to && fclose(to) != 0 && st == MS_OK)
            st = MS_ERR_NOMEM;
        if (file && st == MS_OK && fwrite(text, 1, len, out) != len)
            st = ms_diag_set(&diag, MS_ERR_IO, "E-IO", output, 0, 0, "cannot write %s: %s", output,
                             strerror(errno));
        free(text);
        break;
    }
    case 4:
        for (int i = 0; i < nids && st == MS_OK; i++)
            st = ms_history_rm(h, id[i], &diag);
        if (st == MS_OK)
            fprintf(stderr, "%s rm: removed %d run%s\n", who, nids, nids == 1 ? "" : "s");
        break;
    case 6:
        st = ms_history_check(h, id[0], out, &agrees, &first, &diag);
        rc = !agrees;
        break;
    case 5:
        st = ms_history_gc(h, keep, older, &removed, &diag);
        if (st == MS_OK)
            fprintf(stderr, "%s gc: removed %zu run%s\n", who, removed, removed == 1 ? "" : "s");
        break;
    }
    if (file && st == MS_OK) {
        st = ms_atomic_commit(file, &diag);
    } else if (file) {
        ms_atomic_abort(file);
    }
    ms_history_close(h);
    if (st != MS_OK)
        return fail(&diag, st);
    if (fflush(stdout) != 0)
        return 2;
    return rc;
}
