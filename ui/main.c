/* The program's main: the subcommands of the library's command line
 * (src/cli/), and the terminal UI when none is given. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "tui.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *summary;
} command;

static int cmd_tui(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: modsim tui [RECIPE.yaml | SCENARIO.yaml]\n");
        return argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2;
    }
    return ms_tui_main(argc == 2 ? argv[1] : NULL);
}

static const command commands[] = {
    {"trace", ms_cmd_trace, "trace SCENARIO.yaml",
     "run a scenario through the lifecycle and print its JSON Lines trace"},
    {"validate", ms_cmd_validate, "validate [--format json] RECIPE... | --explain [CODE]",
     "report every problem of recipes"},
    {"kernel", ms_cmd_kernel, "kernel OP --in W --out OUT [opts]",
     "apply one kernel (prune, quant, gptq, sparsegpt, wanda) to a safetensors file"},
    {"export", ms_cmd_export, "export RECIPE [--stage S] [-o OUT]",
     "write a recipe in upstream layout"},
    {"migrate", ms_cmd_migrate, "migrate OLD (-o NEW | --in-place)",
     "rewrite a SparseML-era or renamed-field recipe for upstream"},
    {"tui", cmd_tui, "tui [RECIPE|SCENARIO]",
     "explore a recipe's lifecycle in the terminal (no file: the bundled demo)"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: modsim COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  modsim %-28s %s\n", commands[i].usage, commands[i].summary);
    fprintf(out, "\n  modsim [RECIPE|SCENARIO]            the same as modsim tui\n");
    fprintf(out, "  modsim --help | --version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return ms_tui_main(NULL);
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("modsim %s\n", MODSIM_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    /* `modsim FILE`: a file that exists opens in the UI; a typo stays an error */
    if (argc == 2 && argv[1][0] != '-' && access(argv[1], F_OK) == 0)
        return ms_tui_main(argv[1]);
    fprintf(stderr, "modsim: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
