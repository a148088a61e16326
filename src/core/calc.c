#include "calc.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

typedef enum {
    N_NUM,
    N_VAR,
    N_NEG,
    N_POS,
    N_ADD,
    N_SUB,
    N_MUL,
    N_DIV,
    N_FLOORDIV,
    N_MOD,
    N_POW,
    N_LT,
    N_LE,
    N_GT,
    N_GE,
    N_EQ,
    N_NE,
    N_CALL
} node_op;

typedef struct calc_node {
    node_op op;
    double num;
    int var;  /* N_VAR: index into names */
    int func; /* N_CALL: index into functions */
    struct calc_node *a, *b;
    struct calc_node *args[2];
    int nargs;
    int height; /* levels of nodes from this one down, bounded by MAX_DEPTH */
} calc_node;

/* Nesting and tree height above this are refused: evaluating and freeing
 * recurse once per level, so the bound keeps the stack small whatever the
 * input (a 100,000-term chain would otherwise overflow it). */
enum { MAX_DEPTH = 200 };

static const struct {
    const char *name;
    int nargs;
} functions[] = {{"sqrt", 1}, {"exp", 1}, {"log", 1},   {"pow", 2},
                 {"cos", 1},  {"sin", 1}, {"floor", 1}, {"ceil", 1}};
enum { N_FUNCTIONS = sizeof functions / sizeof functions[0] };

struct ms_calc {
    calc_node *root;
    char **names;
    size_t n_names;
};

typedef struct parser {
    const char *src, *p;
    ms_calc *calc;
    ms_diag *diag;
    int depth;
    bool failed;
} parser;

static void skip_space(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
}

static calc_node *fail_at(parser *ps, const char *at, const char *what, const char *hint)
{
    if (!ps->failed) {
        ps->failed = true;
        int col = (int)(at - ps->src) + 1;
        char token[32];
        int len = (int)strcspn(at, " \t");
        if (len > 20) /* cut a long token, keeping its closing quote */
            snprintf(token, sizeof token, "'%.20s...'", at);
        else if (*at)
            snprintf(token, sizeof token, "'%.*s'", len, at);
        else
            snprintf(token, sizeof token, "end of expression");
        ms_diag_set(ps->diag, MS_ERR_SYNTAX, "E-CALC", NULL, 0, col, "calc: %s at %s (column %d)",
                    what, token, col);
        if (hint)
            ms_diag_hint(ps->diag, "%s", hint);
    }
    return NULL;
}

static void free_node(calc_node *n)
{
    if (!n)
        return;
    free_node(n->a);
    free_node(n->b);
    for (int i = 0; i < n->nargs; i++)
        free_node(n->args[i]);
    free(n);
}

/* Sets the height of `n` from its children; frees it and fails past MAX_DEPTH. */
static calc_node *measure(parser *ps, calc_node *n)
{
    int h = 0;
    calc_node *children[] = {n->a, n->b, n->args[0], n->args[1]};
    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++)
        if (children[i] && children[i]->height > h)
            h = children[i]->height;
    n->height = h + 1;
    if (n->height <= MAX_DEPTH)
        return n;
    free_node(n);
    return fail_at(ps, ps->p, "the expression is more than 200 operations deep",
                   "a chain of more than 200 terms, or operations nested deeper, is refused: "
                   "simplify the expression");
}

/* A node over `a` and `b`, which it owns from here on (freed if it fails). */
static calc_node *mk(parser *ps, node_op op, calc_node *a, calc_node *b)
{
    calc_node *n = calloc(1, sizeof *n);
    if (!n) {
        free_node(a);
        free_node(b);
        ps->failed = true;
        ms_diag_set(ps->diag, MS_ERR_NOMEM, "E-NOMEM", NULL, 0, 0, "out of memory");
        return NULL;
    }
    n->op = op;
    n->a = a;
    n->b = b;
    return measure(ps, n);
}

static int intern(parser *ps, const char *name, size_t len)
{
    for (size_t i = 0; i < ps->calc->n_names; i++)
        if (strlen(ps->calc->names[i]) == len && !strncmp(ps->calc->names[i], name, len))
            return (int)i;
    char **names = realloc(ps->calc->names, (ps->calc->n_names + 1) * sizeof *names);
    if (!names)
        return -1;
    ps->calc->names = names;
    names[ps->calc->n_names] = strndup(name, len);
    if (!names[ps->calc->n_names])
        return -1;
    return (int)ps->calc->n_names++;
}

static calc_node *parse_expr(parser *ps);

static bool is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static bool is_ident(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

static calc_node *parse_atom(parser *ps)
{
    skip_space(ps);
    const char *at = ps->p;
    if (*at == '(') {
        ps->p++;
        calc_node *inner = parse_expr(ps);
        if (!inner)
            return NULL;
        skip_space(ps);
        if (*ps->p != ')') {
            free_node(inner);
            return fail_at(ps, ps->p, "expected ')'", "close the parenthesis opened before");
        }
        ps->p++;
        return inner;
    }
    if (isdigit((unsigned char)*at) || (*at == '.' && isdigit((unsigned char)at[1]))) {
        char *end;
        double v = strtod(at, &end);
        if (is_ident(*end))
            return fail_at(ps, at, "malformed number", "write numbers like 3, 0.5 or 1e-3");
        ps->p = end;
        calc_node *n = mk(ps, N_NUM, NULL, NULL);
        if (n)
            n->num = v;
        return n;
    }
    if (is_ident_start(*at)) {
        const char *s = at;
        while (is_ident(*ps->p))
            ps->p++;
        size_t len = (size_t)(ps->p - s);
        if (len == 4 && !strncmp(s, "math", 4) && *ps->p == '.') {
            ps->p++;
            const char *fs = ps->p;
            while (is_ident(*ps->p))
                ps->p++;
            size_t flen = (size_t)(ps->p - fs);
            if (flen == 2 && !strncmp(fs, "pi", 2)) {
                calc_node *n = mk(ps, N_NUM, NULL, NULL);
                if (n)
                    n->num = M_PI;
                return n;
            }
            if (flen == 1 && fs[0] == 'e') {
                calc_node *n = mk(ps, N_NUM, NULL, NULL);
                if (n)
                    n->num = M_E;
                return n;
            }
            int f = -1;
            for (int i = 0; i < N_FUNCTIONS; i++)
                if (strlen(functions[i].name) == flen && !strncmp(functions[i].name, fs, flen))
                    f = i;
            if (f < 0)
                return fail_at(ps, fs, "unknown math function",
                               "use math.sqrt, exp, log, pow, cos, sin, floor, ceil, pi or e");
            skip_space(ps);
            if (*ps->p != '(')
                return fail_at(ps, ps->p, "expected '(' after the math function", NULL);
            ps->p++;
            calc_node *n = mk(ps, N_CALL, NULL, NULL);
            if (!n)
                return NULL;
            n->func = f;
            for (int i = 0; i < functions[f].nargs; i++) {
                if (i > 0) {
                    skip_space(ps);
                    if (*ps->p != ',') {
                        free_node(n);
                        return fail_at(ps, ps->p, "expected ','",
                                       "math.pow takes two arguments: math.pow(x, y)");
                    }
                    ps->p++;
                }
                n->args[i] = parse_expr(ps);
                if (!n->args[i]) {
                    free_node(n);
                    return NULL;
                }
                n->nargs = i + 1;
            }
            skip_space(ps);
            if (*ps->p != ')') {
                free_node(n);
                return fail_at(ps, ps->p, "expected ')' after the arguments", NULL);
            }
            ps->p++;
            return measure(ps, n);
        }
        skip_space(ps);
        if (*ps->p == '(' || *ps->p == '.' || *ps->p == '[')
            return fail_at(ps, s, "only numbers, variables and math.* functions are allowed",
                           "calls, attributes and indexing other than math.* are never run");
        int idx = intern(ps, s, len);
        if (idx < 0)
            return fail_at(ps, s, "out of memory", NULL);
        calc_node *n = mk(ps, N_VAR, NULL, NULL);
        if (n)
            n->var = idx;
        return n;
    }
    return fail_at(ps, at, *at ? "unexpected character" : "expected a value",
                   "expected a number, a variable, math.* or '('");
}

/* Python: ** binds tighter than a unary sign on its left, and is right-associative. */
static calc_node *parse_unary(parser *ps);

static calc_node *parse_power(parser *ps)
{
    calc_node *base = parse_atom(ps);
    if (!base)
        return NULL;
    skip_space(ps);
    if (ps->p[0] == '*' && ps->p[1] == '*') {
        ps->p += 2;
        calc_node *exp = parse_unary(ps);
        if (!exp) {
            free_node(base);
            return NULL;
        }
        return mk(ps, N_POW, base, exp);
    }
    return base;
}

static calc_node *parse_unary(parser *ps)
{
    skip_space(ps);
    if (++ps->depth > MAX_DEPTH)
        return fail_at(ps, ps->p, "expression nests too deeply", NULL);
    calc_node *r;
    if (*ps->p == '-' || *ps->p == '+') {
        node_op op = *ps->p == '-' ? N_NEG : N_POS;
        ps->p++;
        calc_node *a = parse_unary(ps);
        r = a ? mk(ps, op, a, NULL) : NULL;
    } else {
        r = parse_power(ps);
    }
    ps->depth--;
    return r;
}

static calc_node *parse_term(parser *ps)
{
    calc_node *left = parse_unary(ps);
    while (left) {
        skip_space(ps);
        node_op op;
        int len = 1;
        if (ps->p[0] == '*' && ps->p[1] != '*')
            op = N_MUL;
        else if (ps->p[0] == '/' && ps->p[1] == '/')
            op = N_FLOORDIV, len = 2;
        else if (ps->p[0] == '/')
            op = N_DIV;
        else if (ps->p[0] == '%')
            op = N_MOD;
        else
            break;
        ps->p += len;
        calc_node *right = parse_unary(ps);
        if (!right) {
            free_node(left);
            return NULL;
        }
        left = mk(ps, op, left, right);
    }
    return left;
}

static calc_node *parse_sum(parser *ps)
{
    calc_node *left = parse_term(ps);
    while (left) {
        skip_space(ps);
        if (*ps->p != '+' && *ps->p != '-')
            break;
        node_op op = *ps->p == '+' ? N_ADD : N_SUB;
        ps->p++;
        calc_node *right = parse_term(ps);
        if (!right) {
            free_node(left);
            return NULL;
        }
        left = mk(ps, op, left, right);
    }
    return left;
}

static calc_node *parse_comparison(parser *ps)
{
    calc_node *left = parse_sum(ps);
    if (!left)
        return NULL;
    skip_space(ps);
    static const struct {
        const char *text;
        node_op op;
    } ops[] = {{"<=", N_LE}, {">=", N_GE}, {"==", N_EQ}, {"!=", N_NE}, {"<", N_LT}, {">", N_GT}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t len = strlen(ops[i].text);
        if (!strncmp(ps->p, ops[i].text, len)) {
            ps->p += len;
            calc_node *right = parse_sum(ps);
            if (!right) {
                free_node(left);
                return NULL;
            }
            return mk(ps, ops[i].op, left, right);
        }
    }
    return left;
}

static calc_node *parse_expr(parser *ps)
{
    return parse_comparison(ps);
}

ms_status ms_calc_parse(const char *expr, ms_calc **out, ms_diag *diag)
{
    *out = NULL;
    ms_calc *calc = calloc(1, sizeof *calc);
    if (!calc)
        return MS_ERR_NOMEM;
    parser ps = {.src = expr, .p = expr, .calc = calc, .diag = diag};
    calc->root = parse_expr(&ps);
    if (calc->root) {
        skip_space(&ps);
        if (*ps.p) {
            fail_at(&ps, ps.p, "unexpected text after the expression",
                    "allowed: numbers, variables, + - * / // % **, comparisons, math.*");
            free_node(calc->root);
            calc->root = NULL;
        }
    }
    if (!calc->root) {
        ms_calc_free(calc);
        return diag && diag->code[0] && !strcmp(diag->code, "E-NOMEM") ? MS_ERR_NOMEM
                                                                       : MS_ERR_SYNTAX;
    }
    *out = calc;
    return MS_OK;
}

void ms_calc_free(ms_calc *calc)
{
    if (!calc)
        return;
    free_node(calc->root);
    for (size_t i = 0; i < calc->n_names; i++)
        free(calc->names[i]);
    free(calc->names);
    free(calc);
}

size_t ms_calc_var_count(const ms_calc *calc)
{
    return calc->n_names;
}

const char *ms_calc_var_name(const ms_calc *calc, size_t i)
{
    return i < calc->n_names ? calc->names[i] : NULL;
}

typedef struct eval_env {
    const ms_calc *calc;
    const ms_calc_var *vars;
    size_t n_vars;
    char *message;
    size_t message_len;
} eval_env;

/* Evaluates one node; a value of "None" is carried as is_none. */
static ms_calc_result eval(const eval_env *env, const calc_node *n, double *out, bool *none)
{
    ms_calc_result r;
    double a = 0, b = 0;
    bool an = false, bn = false;
    *none = false;
    switch (n->op) {
    case N_NUM:
        *out = n->num;
        return MS_CALC_OK;
    case N_VAR: {
        const char *name = env->calc->names[n->var];
        for (size_t i = 0; i < env->n_vars; i++) {
            if (!strcmp(env->vars[i].name, name)) {
                *out = env->vars[i].value;
                *none = env->vars[i].is_none;
                return MS_CALC_OK;
            }
        }
        snprintf(env->message, env->message_len, "name '%s' is not defined", name);
        return MS_CALC_NAME_ERROR;
    }
    case N_CALL:
        for (int i = 0; i < n->nargs; i++) {
            double *slot = i == 0 ? &a : &b;
            if ((r = eval(env, n->args[i], slot, &an)) != MS_CALC_OK)
                return r;
            if (an) {
                snprintf(env->message, env->message_len, "must be real number, not NoneType");
                return MS_CALC_TYPE_ERROR;
            }
        }
        switch (n->func) {
        case 0:
            if (a < 0)
                goto domain;
            *out = sqrt(a);
            break;
        case 1:
            *out = exp(a);
            break;
        case 2:
            if (a <= 0)
                goto domain;
            *out = log(a);
            break;
        case 3:
            *out = pow(a, b);
            if (isnan(*out) && !isnan(a) && !isnan(b))
                goto domain;
            break;
        case 4:
            *out = cos(a);
            break;
        case 5:
            *out = sin(a);
            break;
        case 6:
            *out = floor(a);
            break;
        default:
            *out = ceil(a);
            break;
        }
        return MS_CALC_OK;
    domain:
        snprintf(env->message, env->message_len, "math domain error");
        return MS_CALC_DOMAIN_ERROR;
    default:
        break;
    }
    if ((r = eval(env, n->a, &a, &an)) != MS_CALC_OK)
        return r;
    if (n->b && (r = eval(env, n->b, &b, &bn)) != MS_CALC_OK)
        return r;
    if (n->op == N_EQ || n->op == N_NE) {
        bool eq = (an && bn) || (!an && !bn && a == b);
        *out = (n->op == N_EQ) == eq;
        return MS_CALC_OK;
    }
    if (an || bn) {
        snprintf(env->message, env->message_len, "unsupported operand type(s) for an operator: %s",
                 "NoneType");
        return MS_CALC_TYPE_ERROR;
    }
    switch (n->op) {
    case N_NEG:
        *out = -a;
        break;
    case N_POS:
        *out = a;
        break;
    case N_ADD:
        *out = a + b;
        break;
    case N_SUB:
        *out = a - b;
        break;
    case N_MUL:
        *out = a * b;
        break;
    case N_DIV:
    case N_FLOORDIV:
    case N_MOD:
        if (b == 0) {
            snprintf(env->message, env->message_len, "float division by zero");
            return MS_CALC_ZERO_DIVISION;
        }
        *out = n->op == N_DIV ? a / b : n->op == N_FLOORDIV ? floor(a / b) : ms_py_fmod(a, b);
        break;
    case N_POW:
        if (a == 0 && b < 0) {
            snprintf(env->message, env->message_len, "0.0 cannot be raised to a negative power");
            return MS_CALC_ZERO_DIVISION;
        }
        *out = pow(a, b);
        break;
    case N_LT:
        *out = a < b;
        break;
    case N_LE:
        *out = a <= b;
        break;
    case N_GT:
        *out = a > b;
        break;
    case N_GE:
        *out = a >= b;
        break;
    default:
        *out = 0;
        break;
    }
    return MS_CALC_OK;
}

ms_calc_result ms_calc_eval(const ms_calc *calc, const ms_calc_var *vars, size_t n_vars,
                            double *out, char *message, size_t message_len)
{
    char scratch[8];
    eval_env env = {calc, vars, n_vars, message ? message : scratch,
                    message ? message_len : sizeof scratch};
    bool none;
    ms_calc_result r = eval(&env, calc->root, out, &none);
    if (r == MS_CALC_OK && none) {
        snprintf(env.message, env.message_len, "the expression evaluates to None");
        return MS_CALC_TYPE_ERROR;
    }
    return r;
}
