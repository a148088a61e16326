#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
    const char *summary;
} command;

static const command commands[] = {
    {"trace", ms_cmd_trace, "trace SCENARIO.yaml",
     "run a scenario through the lifecycle and print its JSON Lines trace"},
    {"validate", ms_cmd_validate, "validate [--format json] RECIPE...", "report every problem of recipes"},
    {"kernel", ms_cmd_kernel, "kernel OP --in W --out OUT [opts]",
     "apply one kernel (prune, quant, gptq, sparsegpt, wanda) to a safetensors file"},
    {"export", ms_cmd_export, "export RECIPE [--stage S] [-o OUT]", "write a recipe in upstream layout"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: modsim COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  modsim %-28s %s\n", commands[i].usage, commands[i].summary);
    fprintf(out, "\n  modsim --help | --version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
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
    fprintf(stderr, "modsim: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
