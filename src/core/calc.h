/* A safe evaluator for the expressions of `calc(...)` pruning schedulers.
 *
 * Upstream hands the text to Python's eval; modsim parses it into a tree and
 * evaluates only numbers, variables, + - * / // % **, comparisons, unary
 * signs, parentheses and a fixed set of math.* functions. Anything else is a
 * diagnostic, never executed. */
#ifndef MS_CALC_H
#define MS_CALC_H

#include <stdbool.h>
#include <stddef.h>

#include "../util/status.h"

typedef struct ms_calc ms_calc;

/* Parses `expr`. On error `diag` gets the column (1-based, within `expr`) and a
 * message naming the offending token and what would be valid. */
ms_status ms_calc_parse(const char *expr, ms_calc **out, ms_diag *diag);
void ms_calc_free(ms_calc *calc);

/* A named value; `is_none` marks a variable that upstream passes as None. */
typedef struct ms_calc_var {
    const char *name;
    double value;
    bool is_none;
} ms_calc_var;

typedef enum {
    MS_CALC_OK,
    MS_CALC_NAME_ERROR,    /* a variable that is not defined */
    MS_CALC_TYPE_ERROR,    /* arithmetic on None */
    MS_CALC_ZERO_DIVISION, /* x / 0, x % 0 */
    MS_CALC_DOMAIN_ERROR   /* math.sqrt(-1), math.log(0) */
} ms_calc_result;

/* Evaluates with `vars`; on failure `message` says what Python would say. */
ms_calc_result ms_calc_eval(const ms_calc *calc, const ms_calc_var *vars, size_t n_vars,
                            double *out, char *message, size_t message_len);

/* Each variable name the expression uses, in order of first use. */
size_t ms_calc_var_count(const ms_calc *calc);
const char *ms_calc_var_name(const ms_calc *calc, size_t i);

#endif
