#include "scheduler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calc.h"

typedef enum {
    SCHED_LINEAR,
    SCHED_POLY_DECAY,
    SCHED_POLY,
    SCHED_MULTI_STEP,
    SCHED_CALC
} sched_kind;

typedef struct step {
    double index, sparsity;
} step;

struct ms_scheduler {
    sched_kind kind;
    ms_opt_double start, end, update;
    double init, final;
    double exponent;
    step *steps;
    size_t n_steps;
    ms_calc *calc;
    ms_calc_var *vars; /* calc: the variables upstream passes, index last */
    size_t n_vars;
};

static ms_status raise_value(ms_raise *raised, const char *fmt, const char *arg)
{
    raised->kind = MS_RAISE_VALUE_ERROR;
    raised->modifier = -1;
    snprintf(raised->message, sizeof raised->message, fmt, arg);
    return MS_ERR_RAISED;
}

static int cmp_step(const void *a, const void *b)
{
    double x = ((const step *)a)->index, y = ((const step *)b)->index;
    return (x > y) - (x < y);
}

static ms_status read_steps(ms_scheduler *s, const ms_node *steps, const char *file, ms_diag *diag)
{
    if (!steps || ms_node_is_null(steps))
        return MS_OK;
    if (steps->kind != MS_NODE_SEQ)
        return ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, steps->line, steps->col,
                           "scheduler_args.steps must be a list of [index, sparsity] pairs, "
                           "not a %s",
                           ms_node_type_name(steps));
    s->steps = calloc(steps->count ? steps->count : 1, sizeof *s->steps);
    if (!s->steps)
        return MS_ERR_NOMEM;
    for (size_t i = 0; i < steps->count; i++) {
        const ms_node *pair = steps->items[i];
        if (pair->kind != MS_NODE_SEQ || pair->count != 2 ||
            !ms_node_as_double(pair->items[0], &s->steps[i].index) ||
            !ms_node_as_double(pair->items[1], &s->steps[i].sparsity))
            return ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, pair->line, pair->col,
                               "scheduler_args.steps[%zu] must be a pair [index, sparsity] of "
                               "numbers",
                               i);
    }
    s->n_steps = steps->count;
    /* stable for equal indices, as Python's sorted */
    for (size_t i = 1; i < s->n_steps; i++)
        for (size_t j = i; j > 0 && cmp_step(&s->steps[j - 1], &s->steps[j]) > 0; j--) {
            step t = s->steps[j];
            s->steps[j] = s->steps[j - 1];
            s->steps[j - 1] = t;
        }
    return MS_OK;
}

static ms_status add_var(ms_scheduler *s, const char *name, ms_opt_double v)
{
    for (size_t i = 0; i < s->n_vars; i++) {
        if (!strcmp(s->vars[i].name, name)) { /* later keys win, as in a Python dict */
            s->vars[i].value = v.value;
            s->vars[i].is_none = !v.set;
            return MS_OK;
        }
    }
    ms_calc_var *vars = realloc(s->vars, (s->n_vars + 1) * sizeof *vars);
    if (!vars)
        return MS_ERR_NOMEM;
    s->vars = vars;
    char *copy = strdup(name);
    if (!copy)
        return MS_ERR_NOMEM;
    vars[s->n_vars++] = (ms_calc_var){copy, v.value, !v.set};
    return MS_OK;
}

bool ms_scheduler_calc_inner(const char *type, const char **inner, size_t *len)
{
    for (const char *p = strstr(type, "calc("); p; p = strstr(p + 1, "calc(")) {
        const char *q = p + 5;
        size_t n = strcspn(q, "()");
        if (q[n] == ')') {
            *inner = q;
            *len = n;
            return true;
        }
    }
    return false;
}

static ms_status setup_calc(ms_scheduler *s, const char *type, const ms_scheduler_settings *set,
                            const char *file, int line, int col, ms_raise *raised, ms_diag *diag)
{
    const char *inner;
    size_t len;
    if (!ms_scheduler_calc_inner(type, &inner, &len))
        return raise_value(raised, "invalid calc string %s", type);
    char *expr = strndup(inner, len);
    if (!expr)
        return MS_ERR_NOMEM;
    ms_status st = ms_calc_parse(expr, &s->calc, diag);
    free(expr);
    if (st != MS_OK) {
        if (diag) {
            diag->line = line;
            diag->col = col + 5 + diag->col; /* past 'calc(' within the value */
            snprintf(diag->file, sizeof diag->file, "%s", file ? file : "");
        }
        return st;
    }
    st = add_var(s, "start", set->start);
    if (st == MS_OK)
        st = add_var(s, "end", set->end);
    if (st == MS_OK)
        st = add_var(s, "update", set->update);
    if (st == MS_OK)
        st = add_var(s, "init_sparsity", MS_SOME(set->init_sparsity));
    if (st == MS_OK)
        st = add_var(s, "final_sparsity", MS_SOME(set->final_sparsity));
    const ms_node *args = set->args;
    for (size_t i = 0; st == MS_OK && args && args->kind == MS_NODE_MAP && i < args->count; i++) {
        double d;
        if (ms_node_as_double(args->items[i], &d))
            st = add_var(s, args->keys[i]->value, MS_SOME(d));
        else if (ms_node_is_null(args->items[i]))
            st = add_var(s, args->keys[i]->value, MS_NONE);
    }
    if (st == MS_OK)
        st = add_var(s, "index", MS_SOME(0));
    return st;
}

ms_status ms_scheduler_new(const char *type, const ms_scheduler_settings *set, const char *file,
                           int line, int col, ms_scheduler **out, ms_raise *raised, ms_diag *diag)
{
    *out = NULL;
    ms_scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return MS_ERR_NOMEM;
    s->start = set->start;
    s->end = set->end;
    s->update = set->update;
    s->init = set->init_sparsity;
    s->final = set->final_sparsity;
    s->exponent = 2;
    const ms_node *exponent = ms_node_get(set->args, "exponent");
    ms_status st = MS_OK;
    if (exponent && !ms_node_as_double(exponent, &s->exponent))
        st = ms_diag_set(diag, MS_ERR_INVALID, "E-TYPE", file, exponent->line, exponent->col,
                         "scheduler_args.exponent must be a number, not %s '%s'",
                         ms_node_type_name(exponent), exponent->value ? exponent->value : "");
    size_t len = strlen(type);
    if (st != MS_OK) {
    } else if (!strcmp(type, "linear")) {
        s->kind = SCHED_LINEAR;
    } else if (!strcmp(type, "cubic")) {
        s->kind = SCHED_POLY_DECAY; /* upstream replaces scheduler_args with exponent 3 */
        s->exponent = 3;
    } else if (!strcmp(type, "polynomial_decay")) {
        s->kind = SCHED_POLY_DECAY;
    } else if (!strcmp(type, "polynomial")) {
        s->kind = SCHED_POLY;
    } else if (!strcmp(type, "multi_step")) {
        s->kind = SCHED_MULTI_STEP;
        st = read_steps(s, ms_node_get(set->args, "steps"), file, diag);
    } else if (len >= 6 && !strncmp(type, "calc(", 5) && type[len - 1] == ')') {
        s->kind = SCHED_CALC;
        st = setup_calc(s, type, set, file, line, col, raised, diag);
    } else {
        st = raise_value(raised, "Unknown scheduler type: %s", type);
    }
    if (st != MS_OK) {
        ms_scheduler_free(s);
        return st;
    }
    *out = s;
    return MS_OK;
}

void ms_scheduler_free(ms_scheduler *s)
{
    if (!s)
        return;
    ms_calc_free(s->calc);
    for (size_t i = 0; i < s->n_vars; i++)
        free((char *)s->vars[i].name);
    free(s->vars);
    free(s->steps);
    free(s);
}

static ms_status raise_kind(ms_raise *raised, ms_raise_kind kind, const char *message)
{
    raised->kind = kind;
    raised->modifier = -1;
    snprintf(raised->message, sizeof raised->message, "%s", message);
    return MS_ERR_RAISED;
}

/* (index - start) / (end - start), with Python's errors for None and zero */
static ms_status per_complete(const ms_scheduler *s, const ms_event *ev, double *out,
                              ms_raise *raised)
{
    if (!s->start.set)
        return raise_kind(raised, MS_RAISE_TYPE_ERROR,
                          ev->epoch_based
                              ? "unsupported operand type(s) for -: 'float' and 'NoneType'"
                              : "unsupported operand type(s) for -: 'int' and 'NoneType'");
    if (!s->end.set)
        return raise_kind(raised, MS_RAISE_TYPE_ERROR,
                          "unsupported operand type(s) for -: 'NoneType' and 'float'");
    double span = s->end.value - s->start.value;
    if (span == 0)
        return raise_kind(raised, MS_RAISE_ZERO_DIVISION_ERROR, "float division by zero");
    *out = (ms_event_current_index(ev) - s->start.value) / span;
    return MS_OK;
}

ms_status ms_scheduler_eval(ms_scheduler *s, const ms_event *ev, double *sparsity, ms_raise *raised)
{
    double p, index = ms_event_current_index(ev);
    ms_status st;
    switch (s->kind) {
    case SCHED_LINEAR:
        if ((st = per_complete(s, ev, &p, raised)) != MS_OK)
            return st;
        *sparsity = s->init + (s->final - s->init) * p;
        return MS_OK;
    case SCHED_POLY_DECAY:
        if ((st = per_complete(s, ev, &p, raised)) != MS_OK)
            return st;
        *sparsity = s->init + (s->final - s->init) * (pow(p - 1, s->exponent) + 1);
        return MS_OK;
    case SCHED_POLY:
        if ((st = per_complete(s, ev, &p, raised)) != MS_OK)
            return st;
        *sparsity = s->init + (s->final - s->init) * pow(p, s->exponent);
        return MS_OK;
    case SCHED_MULTI_STEP:
        *sparsity = s->init;
        for (size_t i = 0; i < s->n_steps; i++)
            if (index >= s->steps[i].index)
                *sparsity = s->steps[i].sparsity;
        return MS_OK;
    case SCHED_CALC: {
        /* index is always the last variable */
        s->vars[s->n_vars - 1].value = index;
        char message[256];
        ms_calc_result r =
            ms_calc_eval(s->calc, s->vars, s->n_vars, sparsity, message, sizeof message);
        static const ms_raise_kind kinds[] = {
            [MS_CALC_NAME_ERROR] = MS_RAISE_NAME_ERROR,
            [MS_CALC_TYPE_ERROR] = MS_RAISE_TYPE_ERROR,
            [MS_CALC_ZERO_DIVISION] = MS_RAISE_ZERO_DIVISION_ERROR,
            [MS_CALC_DOMAIN_ERROR] = MS_RAISE_VALUE_ERROR,
        };
        return r == MS_CALC_OK ? MS_OK : raise_kind(raised, kinds[r], message);
    }
    }
    return MS_OK;
}
