/* The modsim subcommands, each a thin layer over the library and free of
 * curses; the program's main dispatches them. */
#ifndef MS_CLI_H
#define MS_CLI_H

/* Each returns the process exit status. */
int ms_cmd_trace(int argc, char **argv);
int ms_cmd_validate(int argc, char **argv);
int ms_cmd_export(int argc, char **argv);
int ms_cmd_migrate(int argc, char **argv);
int ms_cmd_kernel(int argc, char **argv);
int ms_cmd_run(int argc, char **argv);
int ms_cmd_history(int argc, char **argv);
int ms_cmd_model(int argc, char **argv);

#endif
