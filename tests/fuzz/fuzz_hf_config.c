/* libFuzzer: a Hugging Face config.json parsed as --model DIR reads it. */
#include "fuzz.h"
#include "model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    ms_hf_config c;
    ms_diag diag;
    ms_model_hf_config_parse(text, size, "config.json", &c, &diag);
    free(text);
    return 0;
}
