#include "run_world.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "args.h"

static ms_world_calibration calibration_of(ms_pipeline p)
{
    return p == MS_PIPELINE_BASIC      ? MS_WORLD_WHOLE
           : p == MS_PIPELINE_DATAFREE ? MS_WORLD_NO_DATA
                                       : MS_WORLD_LAYERWISE;
}

ms_status ms_run_world_new(const char *model, const ms_recipe *recipe,
                           const ms_pipeline_config *cfg, const ms_world_model_config *wcfg,
                           ms_world_model **out, ms_diag *diag)
{
    ms_model *m = NULL;
    ms_status st = ms_model_open(model, &m, diag);
    if (st == MS_OK)
        st = ms_world_model_new(m, recipe, wcfg, out, diag);
    for (size_t i = 0; st == MS_OK && i < ms_recipe_count(recipe); i++) {
        ms_pipeline p = !cfg ? MS_PIPELINE_BASIC
                        : cfg->calibration == MS_PIPELINE_INDEPENDENT
                            ? ms_pipeline_infer(ms_recipe_entry_at(recipe, i), cfg->upstream)
                            : cfg->calibration;
        ms_world_model_set_calibration(*out, i, calibration_of(p));
    }
    return st;
}

static bool read_size(const char *text, size_t lo, size_t hi, size_t *out)
{
    if (!text[0] || text[0] == '-' || text[0] == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return false;
    *out = (size_t)v;
    return true;
}

static bool read_shape(const char *text, size_t *batch, size_t *seq)
{
    const char *x = strchr(text, 'x');
    if (!x || x == text)
        return false;
    char b[32];
    size_t n = (size_t)(x - text);
    if (n >= sizeof b)
        return false;
    memcpy(b, text, n);
    b[n] = 0;
    return read_size(b, 1, 4096, batch) && read_size(x + 1, 1, 65536, seq);
}

static bool is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* --calib and --calib-tokens name the same thing, the calibration tokens: the first of
 * them claims it and any later one is refused. */
static bool claim_calibration(ms_run_world_args *a, const char *who, FILE *err)
{
    if (a->calib_given) {
        fprintf(err,
                "%s: --calib and --calib-tokens give the calibration tokens once: use "
                "one of them, once\n",
                who);
        return false;
    }
    a->calib_given = true;
    return true;
}

int ms_run_world_option(ms_run_world_args *a, int argc, char **argv, int *i, const char *who,
                        FILE *err)
{
    ms_world_model_config *cfg = &a->cfg;
    const char *v;
    if (ms_args_option(argc, argv, i, "--threads", &v, who, err)) {
        if (!v)
            return -1;
        if (!read_size(v, 1, 1024, &cfg->threads)) {
            fprintf(err, "%s: --threads '%s' is not valid: use 1 to 1024\n", who, v);
            return -1;
        }
    } else if (ms_args_option(argc, argv, i, "--seed", &v, who, err)) {
        size_t seed;
        if (!v)
            return -1;
        if (!read_size(v, 0, (size_t)-1, &seed)) {
            fprintf(err, "%s: --seed '%s' is not valid: use a whole number >= 0\n", who, v);
            return -1;
        }
        cfg->seed = seed;
    } else if (ms_args_option(argc, argv, i, "--calib", &v, who, err)) {
        if (!v)
            return -1;
        if (!claim_calibration(a, who, err))
            return -1;
        ms_world_model_config d = ms_world_model_defaults();
        if (read_shape(v, &cfg->calib_batch, &cfg->calib_seq)) {
            cfg->calib_source = MS_CALIB_RANDOM;
        } else if (is_file(v)) {
            /* a text file: byte tokens in sequences of the default length */
            cfg->calib_source = MS_CALIB_TEXT;
            cfg->calib_path = v;
            cfg->calib_batch = d.calib_batch;
            cfg->calib_seq = d.calib_seq;
        } else {
            fprintf(err,
                    "%s: --calib '%s' is not valid: use BxS, B random sequences (1 to 4096) of "
                    "S tokens (1 to 65536), e.g. 16x128, or a text file (no file '%s')\n",
                    who, v, v);
            return -1;
        }
    } else if (ms_args_option(argc, argv, i, "--calib-tokens", &v, who, err)) {
        if (!v)
            return -1;
        if (!claim_calibration(a, who, err))
            return -1;
        cfg->calib_source = MS_CALIB_IDS;
        cfg->calib_path = v;
    } else {
        return 0;
    }
    return 1;
}

void ms_run_world_usage(FILE *out)
{
    fprintf(out, "  --threads N          kernel and forward threads, the caller included\n"
                 "                       (default 1; results do not depend on it)\n"
                 "  --calib BxS|TEXT     calibration tokens: B random sequences of S tokens\n"
                 "                       (default 16x128), or a text file's bytes as token ids\n"
                 "                       (models with at least 256 ids), 16 sequences of 128 at\n"
                 "                       most\n"
                 "  --calib-tokens FILE  token ids: a safetensors integer tensor [batch, seq]\n"
                 "                       (input_ids, or the file's one tensor), or JSON Lines,\n"
                 "                       one array of ids per sequence, all as long\n"
                 "  --seed N             of the random calibration tokens (default 0); held-out\n"
                 "                       tokens for the figures use N + 1\n");
}
