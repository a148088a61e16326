/* The calibration tokens a model-backed world runs on: seeded random ids
 * (the default), a text file cut into byte tokens (synthetic models, whose
 * vocabularies hold the 256 byte values), or token ids a tokenizer made
 * elsewhere: a safetensors file with one integer tensor [batch, seq], or
 * JSON Lines with one array of ids per sequence. */
#ifndef MS_WORLD_CALIB_H
#define MS_WORLD_CALIB_H

#include <stddef.h>
#include <stdint.h>

#include "../model/forward.h"
#include "../util/status.h"

typedef enum {
    MS_CALIB_RANDOM, /* batch x seq uniform ids from the seed */
    MS_CALIB_TEXT,   /* `path`: bytes as ids, sequences of `seq`, at most `batch` of them */
    MS_CALIB_IDS,    /* `path`: safetensors or JSON Lines token ids, as they are */
} ms_calib_source;

typedef struct ms_calib {
    ms_calib_source source;
    const char *path; /* TEXT, IDS */
    size_t batch, seq;
    uint64_t seed; /* RANDOM */
} ms_calib;

/* The tokens `calib` describes for a model of `vocab` ids. Token ids are
 * checked against the vocabulary: an id outside 0..vocab-1 is an error
 * naming the file, the line (JSON Lines) or the tensor and index
 * (safetensors), and the id. */
ms_status ms_calib_tokens(const ms_calib *calib, size_t vocab, ms_tokens *out, ms_diag *diag);

/* Token ids from a file: safetensors when it starts with a safetensors
 * header, JSON Lines otherwise. Every sequence must have the same length
 * (the forward pass runs [batch, seq] at once). */
ms_status ms_calib_read_ids(const char *path, size_t vocab, ms_tokens *out, ms_diag *diag);

#endif
