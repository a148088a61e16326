/* modsim kernel OP --in W.safetensors --out OUT.safetensors [options]: one
 * kernel over every 2-D float tensor of a file (README.md, "modsim kernel"). Results
 * go to OUT under the tensors' names, with NAME.mask / .scale / .zero_point /
 * .codes / .g_idx beside them; a summary table goes to stderr. Exit 0 on
 * success, 2 on any error (nothing is written then). */
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/apply_file.h"
#include "../kernels/awq.h"
#include "../model/safetensors.h"
#include "../util/text.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: modsim kernel OP --in W.safetensors --out OUT.safetensors [options]\n"
                 "\nops:\n");
    for (size_t i = 0; i < MS_APPLY_OP_COUNT; i++) {
        ms_apply_op op = (ms_apply_op)i;
        fprintf(out, "  %-10s %s%s; options:", ms_apply_op_name(op), ms_apply_op_summary(op),
                ms_apply_op_needs_calib(op) ? " (needs --calib)" : "");
        for (size_t k = 0; k < MS_APPLY_OPT_COUNT; k++)
            if (ms_apply_op_takes(op, (ms_apply_option)k))
                fprintf(out, " --%s", ms_apply_option_get((ms_apply_option)k)->name);
        fputc('\n', out);
    }
    fprintf(out, "\noptions:\n"
                 "  --in FILE          safetensors file with the weights\n"
                 "  --out FILE         safetensors file to write\n"
                 "  --tensors REGEX    only tensors whose name matches (POSIX extended regex)\n"
                 "  --calib FILE       layer inputs: NAME.inputs, else inputs, [n, in_features]\n"
                 "  --threads N        worker threads, 0 = one per CPU (default)\n"
                 "  --copy-rest        also write the tensors no kernel takes, unchanged\n"
                 "  --outputs LIST     what to write of each tensor: weights, mask, codes,\n"
                 "                     scale, zero_point, g_idx (comma-separated) or all;\n"
                 "                     default what upstream keeps: the weights when pruning;\n"
                 "                     codes and scale (zero_point when --asym, g_idx with\n"
                 "                     --actorder group) when quantizing\n");
    for (size_t k = 0; k < MS_APPLY_OPT_COUNT; k++) {
        const ms_apply_option_info *o = ms_apply_option_get((ms_apply_option)k);
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        /* Long metavars get a line of their own to keep the help column aligned. */
        if (strlen(left) > 18)
            fprintf(out, "  %s\n  %-18s %s\n", left, "", o->help);
        else
            fprintf(out, "  %-18s %s\n", left, o->help);
    }
    fprintf(out, "\nmodsim kernel awq --in W --calib X --out OUT [--bits --type --strategy\n"
                 "  --group-size --asym] [--duo-scaling true|false|both] [--n-grid N]:\n"
                 "  AWQ's scale search for one mapping: the selected tensors are its balance\n"
                 "  Linears, X's inputs (or NAME.inputs of the first) their shared input; OUT\n"
                 "  holds the scaled weights and awq.scales, the best ratio and loss in its\n"
                 "  metadata (awq_ratio, awq_duo, awq_loss, awq_initial_loss)\n");
}

static int fail(const ms_diag *diag)
{
    ms_diag d = *diag;
    /* "leave NAME out" (a tensor whose shape does not suit the options): how. */
    if (!strcmp(d.code, "E-KERNEL-SHAPE") && ms_ends_with(d.hint, " out"))
        snprintf(d.hint, sizeof d.hint, "%.490s with --tensors", diag->hint);
    fputs("modsim kernel: ", stderr);
    ms_diag_print(&d, stderr);
    return 2;
}

static int fail_msg(const char *message, const char *hint)
{
    ms_diag d;
    ms_diag_set(&d, MS_ERR_INVALID, "E-KERNEL-USAGE", NULL, 0, 0, "%s", message);
    ms_diag_hint(&d, "%s", hint);
    return fail(&d);
}

typedef struct cli_args {
    const char *in, *out, *calib, *regex;
    const char *outputs; /* --outputs as given, or NULL for the default */
    size_t threads;
    bool copy_rest; /* the tensors no job takes go to OUT unchanged */
    ms_apply_opts opts;
} cli_args;

/* The value of --name, given as "--name value" or "--name=value". */
static const char *take_value(int argc, char **argv, int *i, const char *eq)
{
    if (eq)
        return eq + 1;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

static int parse_args(int argc, char **argv, cli_args *a, ms_diag *diag)
{
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
            ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-USAGE", NULL, 0, 0,
                        "unexpected argument '%s'", arg);
            ms_diag_hint(diag, "options start with --; see modsim kernel --help");
            return 2;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        snprintf(name, sizeof name, "%.*s", (int)len, arg + 2);
        const char **dest = !strcmp(name, "in")        ? &a->in
                            : !strcmp(name, "out")     ? &a->out
                            : !strcmp(name, "calib")   ? &a->calib
                            : !strcmp(name, "tensors") ? &a->regex
                            : !strcmp(name, "outputs") ? &a->outputs
                                                       : NULL;
        if (!strcmp(name, "copy-rest") && !eq) {
            a->copy_rest = true;
            continue;
        }
        if (dest || !strcmp(name, "threads")) {
            const char *v = take_value(argc, argv, &i, eq);
            if (!v) {
                ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-USAGE", NULL, 0, 0,
                            "--%s needs a value", name);
                return 2;
            }
            if (dest) {
                *dest = v;
                continue;
            }
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            if (*v < '0' || *v > '9' || *end || n > 1024) {
                ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                            "--threads '%s' is not valid", v);
                ms_diag_hint(diag, "--threads takes 0 (one per CPU) to 1024");
                return 2;
            }
            a->threads = n;
            continue;
        }
        /* Op options: a flag takes no value, the others one. */
        const char *value = NULL;
        for (size_t k = 0; k < MS_APPLY_OPT_COUNT; k++) {
            const ms_apply_option_info *o = ms_apply_option_get((ms_apply_option)k);
            if (!strcmp(o->name, name) && (o->metavar || eq))
                value = take_value(argc, argv, &i, eq);
        }
        if (ms_apply_set(&a->opts, name, value, diag) != MS_OK)
            return 2;
    }
    return 0;
}

static void print_summary(const ms_apply_job *jobs, size_t count, const char *out_path)
{
    int width = 6;
    for (size_t i = 0; i < count; i++) {
        int len = (int)strlen(jobs[i].tensor->name);
        width = len > width ? len : width;
    }
    fprintf(stderr, "%-*s  %-11s  %8s  %10s  %9s\n", width, "tensor", "shape", "sparsity",
            "rel_error", "ms");
    double total = 0.0;
    for (size_t i = 0; i < count; i++) {
        const ms_apply_job *j = &jobs[i];
        char shape[48];
        snprintf(shape, sizeof shape, "%zux%zu", j->result.rows, j->result.cols);
        fprintf(stderr, "%-*s  %-11s  %8.4f  %10.3e  %9.2f\n", width, j->tensor->name, shape,
                j->sparsity, j->rel_error, j->ms);
        total += j->ms;
    }
    fprintf(stderr, "%zu tensor%s, %.2f ms; wrote %s\n", count, count == 1 ? "" : "s", total,
            out_path);
}

/* The input's tensors no job took (not 2-D floats, or not matching
 * --tensors): named, so OUT missing them is no surprise. */
static void print_skipped(const ms_st_file *in, const ms_apply_job *jobs, size_t count, bool copied)
{
    size_t skipped = ms_st_count(in) - count, shown = 0;
    if (!skipped)
        return;
    fprintf(stderr, "%s %zu tensor%s unchanged:", copied ? "copied" : "skipped", skipped,
            skipped == 1 ? "" : "s");
    for (size_t i = 0; i < ms_st_count(in) && shown < 8; i++)
        if (!ms_apply_selected(jobs, count, ms_st_at(in, i)))
            fprintf(stderr, "%s %s", shown++ ? "," : "", ms_st_at(in, i)->name);
    fprintf(stderr, "%s\n", skipped > shown ? ", ..." : "");
    if (!copied)
        fprintf(stderr, "  (not in OUT; --copy-rest writes them unchanged, so OUT is a complete "
                        "checkpoint)\n");
}

/* Everything after parsing; the caller frees *jobs and the files. */
static int run(const cli_args *a, unsigned outputs, const regex_t *re, ms_st_file *in,
               ms_st_file *calib, ms_apply_job **jobs, size_t *count, const char *provenance)
{
    ms_diag diag;
    if (ms_apply_select(in, re, jobs, count, &diag) != MS_OK)
        return fail_msg("out of memory", "");
    size_t n = ms_st_count(in);
    if (*count == 0) {
        ms_diag_set(&diag, MS_ERR_INVALID, "E-KERNEL-NO-TENSORS", a->in, 0, 0,
                    "no 2-D F32/F16/BF16 tensor%s%s%s among the file's %zu tensors",
                    re ? " matches --tensors '" : "", re ? a->regex : "", re ? "'" : "", n);
        ms_diag_hint(&diag, "%s%s%s", n ? "e.g. '" : "the file is empty",
                     n ? ms_st_at(in, 0)->name : "",
                     n ? "'; regexes match anywhere in a name" : "");
        return fail(&diag);
    }
    ms_pool *pool = NULL;
    if (ms_pool_create(a->threads, &pool, &diag) != MS_OK)
        return fail(&diag);
    ms_apply_io io = {in,     a->in,      calib,  a->calib, a->copy_rest ? in : NULL,
                      a->out, provenance, outputs};
    ms_status st = ms_apply_file(pool, &a->opts, &io, *jobs, *count, &diag);
    ms_pool_free(pool);
    if (st != MS_OK)
        return fail(&diag);
    print_summary(*jobs, *count, a->out);
    print_skipped(in, *jobs, *count, a->copy_rest);
    return 0;
}

/* modsim kernel awq: AWQ's grid search over one mapping whose parent is its
 * balance Linears (the outputs compared are theirs). */
typedef struct awq_args {
    const char *in, *out, *calib, *regex;
    size_t threads, n_grid;
    ms_awq_duo duo;
    ms_apply_opts quant; /* the weight scheme, parsed as `modsim kernel quant` does */
} awq_args;

static int awq_parse(int argc, char **argv, awq_args *a, ms_diag *diag)
{
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || !arg[2]) {
            ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-USAGE", NULL, 0, 0,
                        "unexpected argument '%s'", arg);
            ms_diag_hint(diag, "options start with --; see modsim kernel --help");
            return 2;
        }
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        snprintf(name, sizeof name, "%.*s", (int)len, arg + 2);
        const char **dest = !strcmp(name, "in")        ? &a->in
                            : !strcmp(name, "out")     ? &a->out
                            : !strcmp(name, "calib")   ? &a->calib
                            : !strcmp(name, "tensors") ? &a->regex
                                                       : NULL;
        bool counted = !strcmp(name, "threads") || !strcmp(name, "n-grid");
        if (dest || counted || !strcmp(name, "duo-scaling")) {
            const char *v = take_value(argc, argv, &i, eq);
            if (!v) {
                ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-USAGE", NULL, 0, 0,
                            "--%s needs a value", name);
                return 2;
            }
            if (dest) {
                *dest = v;
            } else if (counted) {
                char *end;
                unsigned long n = strtoul(v, &end, 10);
                if (*v < '0' || *v > '9' || *end || n > 1024) {
                    ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                                "--%s '%s' is not valid", name, v);
                    ms_diag_hint(diag, "--%s takes a whole number up to 1024", name);
                    return 2;
                }
                *(!strcmp(name, "threads") ? &a->threads : &a->n_grid) = n;
            } else if (!strcmp(v, "true") || !strcmp(v, "false") || !strcmp(v, "both")) {
                a->duo = !strcmp(v, "true")    ? MS_AWQ_DUO_ON
                         : !strcmp(v, "false") ? MS_AWQ_DUO_OFF
                                               : MS_AWQ_DUO_BOTH;
            } else {
                ms_diag_set(diag, MS_ERR_INVALID, "E-KERNEL-VALUE", NULL, 0, 0,
                            "--duo-scaling '%s' is not valid", v);
                ms_diag_hint(diag, "true, false or both (AWQModifier.duo_scaling)");
                return 2;
            }
            continue;
        }
        const char *value = NULL;
        for (size_t k = 0; k < MS_APPLY_OPT_COUNT; k++) {
            const ms_apply_option_info *o = ms_apply_option_get((ms_apply_option)k);
            if (!strcmp(o->name, name) && (o->metavar || eq))
                value = take_value(argc, argv, &i, eq);
        }
        if (ms_apply_set(&a->quant, name, value, diag) != MS_OK)
            return 2;
    }
    return 0;
}

/* Loads the balance weights and the inputs, searches, writes. */
static int awq_run(const awq_args *a, const regex_t *re, ms_st_file *in, ms_st_file *calib,
                   const char *provenance)
{
    ms_diag diag;
    ms_apply_job *jobs = NULL;
    size_t count = 0, rows = 0, samples = 0;
    if (ms_apply_select(in, re, &jobs, &count, &diag) != MS_OK)
        return fail(&diag);
    if (count == 0) {
        ms_apply_jobs_free(jobs, count);
        ms_diag_set(&diag, MS_ERR_INVALID, "E-KERNEL-NO-TENSORS", a->in, 0, 0,
                    "no 2-D F32/F16/BF16 tensor to balance among the file's %zu tensors",
                    ms_st_count(in));
        ms_diag_hint(&diag, "every selected tensor is a balance Linear of the mapping");
        return fail(&diag);
    }
    size_t channels = jobs[0].tensor->shape[1];
    ms_matrix *bal = calloc(count, sizeof *bal);
    float *x = NULL, *sum = calloc(channels ? channels : 1, sizeof *sum),
          *x_mean = malloc((channels ? channels : 1) * sizeof *x_mean);
    double *w_mean = malloc((channels ? channels : 1) * sizeof *w_mean),
           *scales = malloc((channels ? channels : 1) * sizeof *scales);
    float *ref = NULL, *fscales = malloc((channels ? channels : 1) * sizeof *fscales);
    ms_pool *pool = NULL;
    ms_status st = bal && sum && x_mean && w_mean && scales && fscales ? MS_OK : MS_ERR_NOMEM;
    if (st != MS_OK)
        ms_diag_set(&diag, st, "E-NOMEM", NULL, 0, 0, "cannot allocate %zu channels", channels);
    for (size_t b = 0; st == MS_OK && b < count; b++) {
        const ms_st_tensor *t = jobs[b].tensor;
        if (t->shape[1] != channels) {
            st = ms_diag_set(&diag, MS_ERR_INVALID, "E-KERNEL-SHAPE", a->in, 0, 0,
                             "tensor '%s' has %zu input columns, '%s' %zu", t->name, t->shape[1],
                             jobs[0].tensor->name, channels);
            ms_diag_hint(&diag,
                         "the balance Linears of a mapping share their input; leave '%s' "
                         "out",
                         t->name);
            break;
        }
        st = ms_matrix_init(&bal[b], t->shape[0], channels, &diag);
        if (st == MS_OK)
            st = ms_st_to_float(in, t, bal[b].data, &diag);
    }
    if (st == MS_OK)
        st = ms_apply_find_calib(calib, a->calib, jobs[0].tensor, &x, &rows, &samples, &diag);
    size_t count_rows = 0;
    if (st == MS_OK)
        st = ms_awq_observe(x, rows, channels, sum, &count_rows, &diag);
    if (st == MS_OK && rows == 0)
        st = ms_diag_set(&diag, MS_ERR_INVALID, "E-KERNEL-CALIB", a->calib, 0, 0,
                         "the layer inputs have no rows");
    if (st == MS_OK) {
        for (size_t j = 0; j < channels; j++)
            x_mean[j] = sum[j] / (float)count_rows;
        st = ms_awq_weight_means(&a->quant.quant, bal, count, w_mean, &diag);
    }
    ms_awq_linear lin = {x, rows};
    size_t n_out = ms_awq_linear_outputs(rows, bal, count);
    if (st == MS_OK && !(ref = ms_alloc_floats(n_out)))
        st = ms_diag_set(&diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "cannot allocate %zu outputs",
                         n_out);
    if (st == MS_OK)
        st = ms_pool_create(a->threads, &pool, &diag);
    if (st == MS_OK)
        st = ms_awq_linear_forward(&lin, pool, bal, count, ref, n_out, &diag);
    ms_awq_problem p = {x_mean, w_mean,    channels,
                        bal,    count,     &a->quant.quant,
                        a->duo, a->n_grid, ms_awq_linear_forward,
                        &lin,   ref,       n_out};
    ms_awq_result r = {.scales = scales};
    if (st == MS_OK)
        st = ms_awq_search(pool, &p, &r, &diag);
    ms_pool_free(pool);
    ms_st_writer *wr = NULL;
    if (st == MS_OK && ms_st_writer_new(&wr) != MS_OK)
        st = ms_diag_set(&diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "cannot start the output");
    if (st == MS_OK) {
        /* The fold's balance half: the smooth layer is not in the file. */
        for (size_t b = 0; b < count; b++)
            for (size_t i = 0; i < bal[b].rows * channels; i++)
                bal[b].data[i] = (float)((double)bal[b].data[i] * scales[i % channels]);
        for (size_t j = 0; j < channels; j++)
            fscales[j] = (float)scales[j];
        char v[4][64];
        snprintf(v[0], sizeof v[0], "%.17g", r.ratio);
        snprintf(v[1], sizeof v[1], "%s", r.duo ? "true" : "false");
        snprintf(v[2], sizeof v[2], "%.17g", r.loss);
        snprintf(v[3], sizeof v[3], "%.17g", r.initial_loss);
        const char *keys[4] = {"awq_ratio", "awq_duo", "awq_loss", "awq_initial_loss"};
        st = ms_st_writer_metadata(wr, "modsim_kernel", provenance, &diag);
        for (int k = 0; st == MS_OK && k < 4; k++)
            st = ms_st_writer_metadata(wr, keys[k], v[k], &diag);
        for (size_t b = 0; st == MS_OK && b < count; b++)
            st = ms_st_writer_add(wr, jobs[b].tensor->name, MS_ST_F32, jobs[b].tensor->shape, 2,
                                  bal[b].data, &diag);
        if (st == MS_OK)
            st = ms_st_writer_add(wr, "awq.scales", MS_ST_F32, &channels, 1, fscales, &diag);
        if (st == MS_OK)
            st = ms_st_write(wr, a->out, &diag);
    }
    ms_st_writer_free(wr);
    int rc = st == MS_OK ? 0 : fail(&diag);
    if (st == MS_OK)
        fprintf(stderr,
                "awq: %zu balance tensor%s, %zu channels, %zu input rows; best ratio %.6g (%s), "
                "loss %.6e (initial %.6e, grid point %zu); wrote %s\n",
                count, count == 1 ? "" : "s", channels, rows, r.ratio, r.duo ? "duo" : "plain",
                r.loss, r.initial_loss, r.index, a->out);
    for (size_t b = 0; bal && b < count; b++)
        free(bal[b].data);
    free(bal);
    free(x);
    free(sum);
    free(x_mean);
    free(w_mean);
    free(scales);
    free(fscales);
    free(ref);
    ms_apply_jobs_free(jobs, count);
    return rc;
}

static int awq_command(int argc, char **argv, const char *provenance)
{
    ms_diag diag;
    awq_args a = {.n_grid = MS_AWQ_DEFAULT_GRID, .duo = MS_AWQ_DUO_ON};
    ms_apply_opts_init(&a.quant, MS_APPLY_QUANT);
    a.quant.option_prefix = "--";
    if (awq_parse(argc, argv, &a, &diag) != 0)
        return fail(&diag);
    if (!a.in || !a.out || !a.calib)
        return fail_msg(!a.in    ? "--in is required"
                        : !a.out ? "--out is required"
                                 : "awq needs --calib",
                        "modsim kernel awq --in W.safetensors --calib X.safetensors --out "
                        "OUT.safetensors [options]");
    if (ms_apply_check(&a.quant, &diag) != MS_OK)
        return fail(&diag);
    regex_t re;
    if (a.regex && regcomp(&re, a.regex, REG_EXTENDED | REG_NOSUB) != 0)
        return fail_msg("--tensors is not a valid regex", "POSIX extended syntax, e.g. 'proj'");
    ms_st_file *in = NULL, *calib = NULL;
    int rc;
    if (ms_st_open(a.in, &in, &diag) != MS_OK || ms_st_open(a.calib, &calib, &diag) != MS_OK)
        rc = fail(&diag);
    else
        rc = awq_run(&a, a.regex ? &re : NULL, in, calib, provenance);
    ms_st_close(in);
    ms_st_close(calib);
    if (a.regex)
        regfree(&re);
    return rc;
}

int ms_cmd_kernel(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    /* Recorded in the output's metadata so a file says how it was made. */
    char provenance[1024];
    size_t used = 0;
    provenance[0] = '\0';
    for (int i = 1; i < argc && used < sizeof provenance; i++) {
        int len = snprintf(provenance + used, sizeof provenance - used, "%s%s", i > 1 ? " " : "",
                           argv[i]);
        used += len > 0 ? (size_t)len : 0;
    }
    if (!strcmp(argv[1], "awq"))
        return awq_command(argc, argv, provenance);
    ms_diag diag;
    cli_args a = {0};
    ms_apply_op op;
    if (ms_apply_op_parse(argv[1], &op, &diag) != MS_OK)
        return fail(&diag);
    ms_apply_opts_init(&a.opts, op);
    a.opts.option_prefix = "--";
    if (parse_args(argc, argv, &a, &diag) != 0)
        return fail(&diag);
    if (!a.in || !a.out)
        return fail_msg(!a.in ? "--in is required" : "--out is required",
                        "modsim kernel OP --in W.safetensors --out OUT.safetensors [options]");
    bool needs = ms_apply_op_needs_calib(op);
    if (needs != (a.calib != NULL)) {
        char msg[128];
        snprintf(msg, sizeof msg, needs ? "%s needs --calib" : "--calib does not apply to %s",
                 argv[1]);
        return fail_msg(msg, needs ? "--calib FILE with NAME.inputs (or inputs) [n, in_features]"
                                   : "only gptq, sparsegpt and wanda use layer inputs");
    }
    if (ms_apply_check(&a.opts, &diag) != MS_OK)
        return fail(&diag);
    unsigned outputs = ms_apply_outputs_default(&a.opts);
    if (a.outputs &&
        ms_apply_outputs_parse(a.outputs, &a.opts, "--outputs", &outputs, &diag) != MS_OK)
        return fail(&diag);

    regex_t re;
    if (a.regex) {
        int rc = regcomp(&re, a.regex, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[256], msg[512];
            regerror(rc, &re, why, sizeof why);
            snprintf(msg, sizeof msg, "--tensors '%s' is not a valid regex: %s", a.regex, why);
            return fail_msg(msg, "POSIX extended syntax, e.g. 'proj' or '^layers\\.0\\.'");
        }
    }
    ms_st_file *in = NULL, *calib = NULL;
    ms_apply_job *jobs = NULL;
    size_t count = 0;
    int rc;
    if (ms_st_open(a.in, &in, &diag) != MS_OK ||
        (a.calib && ms_st_open(a.calib, &calib, &diag) != MS_OK))
        rc = fail(&diag);
    else
        rc = run(&a, outputs, a.regex ? &re : NULL, in, calib, &jobs, &count, provenance);
    ms_apply_jobs_free(jobs, count);
    ms_st_close(in);
    ms_st_close(calib);
    if (a.regex)
        regfree(&re);
    return rc;
}
