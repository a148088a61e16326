/* The program's main: the subcommands of the library's command line
 * (src/cli/), and the terminal UI when none is given. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/run_history.h"
#include "cli/run_options.h"
#include "cli/run_world.h"
#include "tui.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *summary;
} command;

static void tui_usage(FILE *out)
{
    fprintf(out, "usage: modsim tui [--stage NAME] [--model M] [--history PATH | --no-history]\n"
                 "                  [RUN OPTIONS] [RECIPE | SCENARIO]\n"
                 "  --stage NAME         only that stage, as oneshot(..., stage=NAME) runs it\n"
                 "                       (read-only)\n"
                 "  --history PATH       the history the session's runs are kept in and the\n"
                 "                       History screen lists (default $MODSIM_HISTORY, else\n"
                 "                       $XDG_STATE_HOME/modsim/history.db, else\n"
                 "                       ~/.local/state/modsim/history.db)\n"
                 "  --no-history         keep nothing\n"
                 "  --model M            the model stepping acts on: tiny (default), small, a\n"
                 "                       model spec YAML, a checkpoint directory, or none\n");
    ms_run_world_usage(out);
    ms_run_options_usage(out);
}

static int cmd_tui(int argc, char **argv)
{
    ms_run_options run = ms_run_options_defaults();
    const char *file = NULL, *stage = NULL, *model = NULL, *v;
    ms_run_world_args world = {.cfg = ms_world_model_defaults()};
    bool world_given = false;
    ms_tui_history history = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-history")) {
            history.off = true;
            continue;
        }
        if (ms_args_option(argc, argv, &i, "--history", &v, "modsim tui", stderr)) {
            if (!v)
                return 2;
            history.path = v;
            continue;
        }
        if (ms_args_option(argc, argv, &i, "--stage", &v, "modsim tui", stderr)) {
            if (!v)
                return 2;
            stage = v;
            continue;
        }
        if (ms_args_option(argc, argv, &i, "--model", &v, "modsim tui", stderr)) {
            if (!v)
                return 2;
            model = v;
            continue;
        }
        int r = ms_run_world_option(&world, argc, argv, &i, "modsim tui", stderr);
        if (r < 0)
            return 2;
        if (r > 0) {
            world_given = true;
            continue;
        }
        r = ms_run_options_parse(&run, argc, argv, &i, "modsim tui", stderr);
        if (r < 0)
            return 2;
        if (r > 0)
            continue;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            tui_usage(stdout);
            return 0;
        }
        if (argv[i][0] == '-' || file) {
            tui_usage(stderr);
            return 2;
        }
        file = argv[i];
    }
    if (stage && file && ms_scenario_sniff(file) == MS_FILE_SCENARIO) {
        fprintf(stderr, "modsim tui: --stage is for recipes; a scenario's recipe_file runs as "
                        "the scenario writes it\n");
        return 2;
    }
    return ms_tui_main(file, &run, stage, model, world_given ? &world.cfg : NULL, &history);
}

/* modsim history replay ID: the TUI on the run, as the History screen's
 * Enter opens it. */
static int tui_replay(const char *history_path, long long id)
{
    ms_tui_history history = {.path = history_path, .replay = id};
    return ms_tui_main(NULL, NULL, NULL, NULL, NULL, &history);
}

static const command commands[] = {
    {"trace", ms_cmd_trace, "trace SCENARIO | RECIPE [RUN OPTIONS]",
     "print the JSON Lines trace of a scenario, or of a recipe's run"},
    {"run", ms_cmd_run, "run RECIPE [--model M] [RUN OPTIONS]",
     "run a recipe on a model: per-module sparsity, bits, error; perplexity, KL"},
    {"validate", ms_cmd_validate,
     "validate [--format json] [RUN OPTIONS] RECIPE... | --explain [CODE]",
     "report every problem of recipes"},
    {"kernel", ms_cmd_kernel, "kernel OP --in W --out OUT [opts]",
     "apply one kernel (prune, quant, gptq, sparsegpt, wanda) to a safetensors file"},
    {"model", ms_cmd_model, "model show MODEL [--format json] | save MODEL -o OUT.safetensors",
     "list a model's modules (name, class, shape, dtype) or write its weights"},
    {"export", ms_cmd_export, "export RECIPE [--stage S] [-o OUT]",
     "write a recipe in upstream layout"},
    {"migrate", ms_cmd_migrate, "migrate OLD (-o NEW | --in-place)",
     "rewrite a SparseML-era or renamed-field recipe for upstream"},
    {"history", ms_cmd_history, "history [list|show|diff|check|replay|export|rm|gc] ...",
     "the runs kept by trace --record: list, show, diff, export, remove"},
    {"tui", cmd_tui,
     "tui [--stage S] [--model M] [--calib BxS|TEXT | --calib-tokens F] [--threads N] [RUN "
     "OPTIONS] [FILE]",
     "explore a recipe's lifecycle in the terminal (no file: the bundled demo)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: modsim COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  modsim %s\n      %s\n", commands[i].usage, commands[i].summary);
    fprintf(out, "\n  modsim [RECIPE|SCENARIO]\n      the same as modsim tui\n");
    fprintf(out, "  modsim --help | --version\n");
}

/* A word with a folder separator or a dot (recipe.yaml, ./r, notes.md):
 * no command has either. */
static bool looks_like_path(const char *word)
{
    return strchr(word, '/') || strchr(word, '.');
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return ms_tui_main(NULL, NULL, NULL, NULL, NULL, NULL);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("modsim %s\n", MODSIM_VERSION);
        return 0;
    }
    ms_history_replay_hook = tui_replay;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    /* `modsim FILE [RUN OPTIONS]` is `modsim tui`: a file that exists, or a
     * word that reads as a path, is a file; any other word is a mistyped
     * command */
    if (argv[1][0] != '-' && (access(argv[1], F_OK) == 0 || looks_like_path(argv[1]))) {
        struct stat sb;
        if (stat(argv[1], &sb) != 0) {
            fprintf(stderr, "modsim: %s: %s\n", argv[1],
                    errno == ENOENT ? "no such file" : strerror(errno));
            return 2;
        }
        if (S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "modsim: %s: is a directory: give the path of a file in it\n", argv[1]);
            return 2;
        }
        return cmd_tui(argc, argv);
    }
    fprintf(stderr, "modsim: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
