/* The packed form a run's calls, hooks and metrics are kept in: one blob per
 * batch of calls (table `chunk`), because a row per hook made recording
 * cost ten times the run. Transitions and errors, rare and asked about in
 * SQL, stay rows.
 *
 * A chunk is a sequence of items, each a tag byte and its fields (varints,
 * zigzag for signed, f64 as 8 little-endian bytes):
 *   'C' a call: kind, modifier + 1 (0: none), narrowed; for the kinds with
 *       an event: type, global_step and global_batch as deltas from the
 *       chunk's previous event call, steps_per_epoch, batches_per_step,
 *       bits (1 epoch_based, 2 has_modules); then has_loss and the loss
 *   'H' a hook of the call: modifier, hook
 *   'M' a metric of the call: modifier, module and name (string ids),
 *       has_value and the value
 *   'S' a string: length and bytes, given the next id (0, 1, ... per chunk)
 *   'R' the call's hooks and metrics are the previous call's, item for item
 * Internal to src/history. */
#ifndef MS_HISTORY_CHUNK_H
#define MS_HISTORY_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/call.h"
#include "../core/modifier.h"

typedef struct ms_chunk_writer ms_chunk_writer;

ms_chunk_writer *ms_chunk_writer_new(void);
void ms_chunk_writer_free(ms_chunk_writer *w);
/* Empties the chunk for the calls from `first` on. */
void ms_chunk_writer_reset(ms_chunk_writer *w, size_t first);
/* False once memory ran out: the chunk is then not whole. */
bool ms_chunk_call(ms_chunk_writer *w, const ms_call *call);
bool ms_chunk_hook(ms_chunk_writer *w, size_t modifier, ms_hook hook);
bool ms_chunk_metric(ms_chunk_writer *w, size_t modifier, const char *module, const char *name,
                     bool has_value, double value);
/* The chunk so far (the last call's hooks and metrics included). */
const uint8_t *ms_chunk_data(ms_chunk_writer *w, size_t *len);
size_t ms_chunk_first(const ms_chunk_writer *w);
size_t ms_chunk_calls(const ms_chunk_writer *w);

typedef enum { MS_CHUNK_CALL, MS_CHUNK_HOOK, MS_CHUNK_METRIC } ms_chunk_kind;

typedef struct ms_chunk_item {
    ms_chunk_kind kind;
    size_t call;  /* index in the run */
    ms_call what; /* CALL */
    size_t modifier;
    ms_hook hook;                /* HOOK */
    const char *module, *metric; /* METRIC: valid until the reader is freed */
    bool has_value;
    double value;
} ms_chunk_item;

typedef struct ms_chunk_reader ms_chunk_reader;

ms_chunk_reader *ms_chunk_reader_new(void);
void ms_chunk_reader_free(ms_chunk_reader *r);
/* Reads `data` (not copied: it must outlive the reading) of the calls from
 * `first` on. */
void ms_chunk_reader_start(ms_chunk_reader *r, const uint8_t *data, size_t len, size_t first);
/* 1: an item; 0: the chunk's end; -1: the chunk is malformed (or memory ran
 * out). */
int ms_chunk_next(ms_chunk_reader *r, ms_chunk_item *item);

#endif
