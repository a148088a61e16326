/* modsim model show M [--format text|json]: a model's modules (name, class,
 * weight shape and dtype) and parameter count, so that recipe targets can be
 * written against them; modsim model save M -o W.safetensors: its weights.
 * M is what --model takes (ms_model_open). Exit 0 on success, 2 for a model
 * that cannot be opened or a file that cannot be written. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../model/model.h"
#include "../util/json.h"
#include "args.h"
#include "cli.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: modsim model show MODEL [--format text|json]\n"
                 "       modsim model save MODEL -o OUT.safetensors\n"
                 "  MODEL: tiny, small, a model spec YAML file or a Hugging Face checkpoint\n"
                 "         directory\n");
}

static void shape_text(const ms_module *mod, char *out, size_t size)
{
    if (mod->ndim == 2)
        snprintf(out, size, "[%zu, %zu]", mod->shape[0], mod->shape[1]);
    else if (mod->ndim == 1)
        snprintf(out, size, "[%zu]", mod->shape[0]);
    else
        snprintf(out, size, "-");
}

static void show_text(const ms_model *m, const char *what)
{
    size_t n = ms_model_module_count(m), name_w = 4, class_w = 5;
    for (size_t i = 0; i < n; i++) {
        const ms_module *mod = ms_model_module(m, i);
        size_t a = strlen(mod->name), b = strlen(mod->class_name);
        name_w = a > name_w ? a : name_w;
        class_w = b > class_w ? b : class_w;
    }
    printf("%s: %s, %zu parameters, %zu modules\n", what, ms_model_module(m, 0)->class_name,
           ms_model_param_count(m), n);
    printf("%-*s  %-*s  %-14s  %s\n", (int)name_w, "name", (int)class_w, "class", "shape", "dtype");
    for (size_t i = 0; i < n; i++) {
        const ms_module *mod = ms_model_module(m, i);
        char shape[48];
        shape_text(mod, shape, sizeof shape);
        printf("%-*s  %-*s  %-14s  %s\n", (int)name_w, *mod->name ? mod->name : "(root)",
               (int)class_w, mod->class_name, shape, mod->ndim ? ms_model_weight_dtype(m, i) : "-");
    }
}

static void show_json(const ms_model *m, const char *what)
{
    printf("{\"model\": ");
    ms_json_fput_string(stdout, what);
    printf(", \"architecture\": ");
    ms_json_fput_string(stdout, ms_model_module(m, 0)->class_name);
    printf(", \"parameters\": %zu, \"modules\": [", ms_model_param_count(m));
    for (size_t i = 0; i < ms_model_module_count(m); i++) {
        const ms_module *mod = ms_model_module(m, i);
        printf("%s\n  {\"name\": ", i ? "," : "");
        ms_json_fput_string(stdout, mod->name);
        printf(", \"class\": ");
        ms_json_fput_string(stdout, mod->class_name);
        printf(", \"shape\": [");
        for (size_t d = 0; d < mod->ndim; d++)
            printf("%s%zu", d ? ", " : "", mod->shape[d]);
        printf("], \"dtype\": ");
        if (mod->ndim)
            ms_json_fput_string(stdout, ms_model_weight_dtype(m, i));
        else
            printf("null");
        printf("}");
    }
    printf("\n]}\n");
}

int ms_cmd_model(int argc, char **argv)
{
    const char *who = "modsim model", *what = NULL, *output = NULL, *format = "text", *v;
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    bool show = !strcmp(action, "show");
    if (!show && strcmp(action, "save")) {
        fprintf(stderr, "%s: unknown action '%s': show or save\n", who, action);
        usage(stderr);
        return 2;
    }
    bool options_end = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (options_end || a[0] != '-' || !a[1]) {
            if (what) {
                fprintf(stderr, "%s: one model at a time ('%s' and '%s')\n", who, what, a);
                return 2;
            }
            what = a;
        } else if (!strcmp(a, "--")) {
            options_end = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (show && ms_args_option(argc, argv, &i, "--format", &v, who, stderr)) {
            if (!v)
                return 2;
            if (strcmp(v, "text") && strcmp(v, "json")) {
                fprintf(stderr, "%s: --format takes text or json, not '%s'\n", who, v);
                return 2;
            }
            format = v;
        } else if (!show && ms_args_option(argc, argv, &i, "-o", &v, who, stderr)) {
            if (!v)
                return 2;
            output = v;
        } else {
            fprintf(stderr, "%s %s: unknown option '%s'\n", who, action, a);
            usage(stderr);
            return 2;
        }
    }
    if (!what || (!show && !output)) {
        fprintf(stderr, "%s %s: give %s\n", who, action,
                what ? "-o OUT.safetensors"
                     : "a model (tiny, small, a spec file or a checkpoint directory)");
        usage(stderr);
        return 2;
    }
    ms_diag diag;
    ms_diag_clear(&diag);
    ms_model *m = NULL;
    ms_status st = ms_model_open(what, &m, &diag);
    if (st == MS_OK && show) {
        if (!strcmp(format, "json"))
            show_json(m, what);
        else
            show_text(m, what);
        if (fflush(stdout) != 0) {
            fprintf(stderr, "%s: cannot write to standard output\n", who);
            st = MS_ERR_IO;
        }
    } else if (st == MS_OK) {
        st = ms_model_save_weights(m, output, &diag);
        if (st == MS_OK)
            printf("wrote %zu parameters of %s to %s\n", ms_model_param_count(m), what, output);
    }
    if (st != MS_OK && diag.message[0])
        ms_diag_print(&diag, stderr);
    ms_model_free(m);
    return st == MS_OK ? 0 : 2;
}
