/* Pruning sparsity schedulers, as upstream's pruning/helpers.py computes them:
 * linear, cubic, polynomial_decay, polynomial, multi_step and calc(...).
 * Reproduced exactly, including polynomial_decay leaving [init, final] for
 * even exponents and the errors upstream raises. */
#ifndef MS_SCHEDULER_H
#define MS_SCHEDULER_H

#include "../util/doc.h"
#include "event.h"
#include "modifier.h"

typedef struct ms_scheduler ms_scheduler;

typedef struct ms_scheduler_settings {
    ms_opt_double start, end, update;
    double init_sparsity, final_sparsity;
    const ms_node *args; /* scheduler_args map, or NULL */
} ms_scheduler_settings;

/* Creates the scheduler named `type`. Fails in two ways: the arguments are
 * unusable (MS_ERR_INVALID with `diag`), or upstream would raise at
 * initialize (MS_ERR_RAISED with `raised`, e.g. "Unknown scheduler type: x"). */
ms_status ms_scheduler_new(const char *type, const ms_scheduler_settings *settings,
                           const char *file, int line, int col, ms_scheduler **out,
                           ms_raise *raised, ms_diag *diag);
void ms_scheduler_free(ms_scheduler *s);

/* The sparsity at `ev`; MS_ERR_RAISED with `raised` when upstream raises.
 * Not thread-safe: a calc scheduler keeps its variables between calls. */
ms_status ms_scheduler_eval(ms_scheduler *s, const ms_event *ev, double *sparsity,
                            ms_raise *raised);

/* The expression of a calc(...) scheduler as upstream extracts it, with
 * re.search(r"calc\(([^()]*)\)"): false when upstream finds none (any
 * parenthesis inside the expression), where it raises "invalid calc string". */
bool ms_scheduler_calc_inner(const char *type, const char **inner, size_t *len);

#endif
