/* libFuzzer: a model spec (YAML) parsed; a small valid one is also built,
 * which generates its weights. */
#include "fuzz.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    ms_model_spec spec;
    ms_diag diag;
    if (ms_model_spec_parse(text, size, "fuzz.yaml", &spec, &diag) == MS_OK) {
        /* building allocates every weight: only small models, to stay fast */
        double h = (double)spec.hidden_size;
        double params =
            (h * 4 * h + 3 * h * (double)spec.intermediate_size) * (double)spec.num_layers +
            2 * h * (double)spec.vocab_size;
        ms_model *model = NULL;
        if (params <= 1 << 18 && ms_model_new(&spec, &model, &diag) == MS_OK)
            ms_model_free(model);
    }
    free(text);
    return 0;
}
