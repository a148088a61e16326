/* The terminal UI: Schedule, Timeline, Stepper, Explain and Help screens
 * over a simulation session. */
#ifndef MS_TUI_H
#define MS_TUI_H

/* Runs the UI on `path`, a recipe or a scenario file (NULL: the bundled
 * demo recipe), until the user quits. Returns the process exit status. */
int ms_tui_main(const char *path);

#endif
