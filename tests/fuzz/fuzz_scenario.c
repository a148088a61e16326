/* libFuzzer: a scenario file (its inline recipe included) loaded as
 * `modsim trace` loads it. */
#include "fuzz.h"
#include "scenario/scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    ms_scenario *sc = NULL;
    ms_diag_list diags;
    ms_diag_list_init(&diags);
    if (ms_scenario_parse(text, size, "fuzz.yaml", &sc, &diags) == MS_OK)
        ms_scenario_free(sc);
    ms_diag_list_free(&diags);
    free(text);
    return 0;
}
