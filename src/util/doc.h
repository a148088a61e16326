/* A parsed YAML/JSON document: a tree of maps, sequences and scalars in which
 * every node keeps the line and column it came from, so that every later
 * diagnostic can point at its source.
 *
 * Aliases share the anchored node (the tree is a DAG); a budget on how many
 * nodes aliases would expand to protects consumers from "billion laughs". */
#ifndef MS_DOC_H
#define MS_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

typedef enum { MS_NODE_SCALAR, MS_NODE_MAP, MS_NODE_SEQ } ms_node_kind;

typedef struct ms_node ms_node;
struct ms_node {
    ms_node_kind kind;
    int line, col;   /* 1-based position of the node's first character */
    bool quoted;     /* scalar written in quotes or as a block: always a string */
    bool block;      /* scalar written as a | or > block; its text starts on the next line */
    char *value;     /* scalar text, NUL-terminated; NULL for maps and sequences */
    size_t count;    /* number of items (sequence) or pairs (map) */
    ms_node **items; /* sequence items, or map values */
    ms_node **keys;  /* map keys (scalar nodes); NULL for sequences */
    char *tag;       /* a local tag ("!GMPruningModifier"), kept by ms_doc_parse_tagged only */
};

typedef struct ms_doc ms_doc;

/* Deepest nesting of maps and sequences a document may have. */
#define MS_DOC_MAX_DEPTH 256

/* Parses `len` bytes of YAML (JSON is accepted as YAML flow style). `file` names
 * the input in diagnostics. An empty input yields a document whose root is NULL.
 * Rejects duplicate map keys, non-scalar keys, several documents, nesting deeper
 * than 256 levels and aliases that would expand past a million nodes. */
ms_status ms_doc_parse(const char *text, size_t len, const char *file, ms_doc **out, ms_diag *diag);
/* Tags are read as yaml.safe_load reads them: !!str, !!int, !!float, !!bool
 * and !!null give the scalar that type (its value rewritten to plain text
 * that reads so: `!!float 3` is "3.0"), !!map and !!seq check the kind, and
 * any other tag is E-YAML-TAG at the tag. Merge keys (`<<: *base`,
 * `<<: [*a, *b]`) are applied as PyYAML applies them; a key both merged
 * and written is not a duplicate. */

/* As ms_doc_parse, but a local tag (`!GMPruningModifier`) is kept on its node
 * instead of refused: for reading SparseML-era recipes (modsim migrate). */
ms_status ms_doc_parse_tagged(const char *text, size_t len, const char *file, ms_doc **out,
                              ms_diag *diag);

/* Parses `len` bytes of strict JSON (RFC 8259: no comments, single quotes,
 * trailing commas, NaN, invalid UTF-8, lone surrogates or NUL characters),
 * with the same nodes, positions, duplicate-key and depth checks as
 * ms_doc_parse. Strings are quoted scalars; numbers, true, false and null
 * plain ones. Errors are E-JSON at the line and column of the problem. */
ms_status ms_doc_parse_json(const char *text, size_t len, const char *file, ms_doc **out,
                            ms_diag *diag);

/* Reads a whole file (at most `max_bytes`) and parses it. */
ms_status ms_doc_load_file(const char *path, size_t max_bytes, ms_doc **out, ms_diag *diag);

void ms_doc_free(ms_doc *doc);

/* Moves every node's position by the given amounts: for text that was taken
 * out of another file (a recipe embedded in a scenario), so positions point
 * into that file. */
void ms_doc_shift(ms_doc *doc, int lines, int cols);

/* The root node, or NULL for an empty document. */
const ms_node *ms_doc_root(const ms_doc *doc);

/* The file name given at parse time (never NULL). */
const char *ms_doc_file(const ms_doc *doc);

/* Value of `key` in a map node, or NULL (also when `map` is not a map). */
const ms_node *ms_node_get(const ms_node *map, const char *key);

/* Key node of `key` in a map node, or NULL. */
const ms_node *ms_node_key(const ms_node *map, const char *key);

/* YAML 1.1 core scalars as PyYAML's safe loader resolves them. */
bool ms_node_is_null(const ms_node *node);
bool ms_node_as_bool(const ms_node *node, bool *out);
bool ms_node_as_int(const ms_node *node, long long *out);
bool ms_node_as_double(const ms_node *node, double *out); /* ints and floats */
bool ms_node_is_string(const ms_node *node); /* a scalar that is not null/bool/number */

/* pydantic's lax mode: what an int, float or bool field makes of a string
 * (quoted, or plain text YAML reads as a string). Int: "128", " 128 ",
 * "1_000", "128.0" (a zero fraction only); float: also "1.5", "1e-3", "inf";
 * bool: "true", "Off", "y", "1", ... and the integers 0 and 1. False for
 * anything else, YAML numbers and booleans included: read those with the
 * functions above. */
bool ms_node_lax_int(const ms_node *node, double *out);
bool ms_node_lax_float(const ms_node *node, double *out);
bool ms_node_lax_bool(const ms_node *node, bool *out);

/* A number as pydantic reads it for an int (`integer`) or float field: a
 * YAML number, else a string ms_node_lax_int/ms_node_lax_float accepts. */
bool ms_node_as_pydantic_number(const ms_node *node, bool integer, double *out);

/* "map", "sequence", "string", "integer", "number", "boolean" or "null". */
const char *ms_node_type_name(const ms_node *node);

/* Reads a whole file into a NUL-terminated buffer. A file larger than
 * `max_bytes` is refused without reading more than `max_bytes` + 1 bytes. */
ms_status ms_read_file(const char *path, size_t max_bytes, char **out, size_t *len, ms_diag *diag);

/* How diagnostics name standard input. */
#define MS_STDIN_NAME "<stdin>"

/* Reads standard input to its end (at most `max_bytes`), as ms_read_file
 * reads a file; it may be a pipe or a terminal. */
ms_status ms_read_stdin(size_t max_bytes, char **out, size_t *len, ms_diag *diag);

/* Opens a file for reading without ever blocking: a FIFO, a device, a socket
 * or a directory is refused (MS_ERR_IO, naming what it is: "is a directory"). `size` is the
 * file's size at opening. The caller closes `fd`. */
ms_status ms_open_input(const char *path, int *fd, size_t *size, ms_diag *diag);

#endif
