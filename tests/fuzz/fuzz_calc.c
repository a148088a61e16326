/* libFuzzer: a calc(...) expression parsed and evaluated with the variables
 * upstream passes (one of them None, as a scheduler may pass it). */
#include "fuzz.h"
#include "core/calc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *expr = fuzz_text(data, size);
    if (!expr)
        return 0;
    ms_calc *calc = NULL;
    ms_diag diag;
    if (ms_calc_parse(expr, &calc, &diag) == MS_OK) {
        static const ms_calc_var vars[] = {
            {"init_sparsity", 0.05, false},
            {"final_sparsity", 0.8, false},
            {"start", 0, false},
            {"end", 10, false},
            {"index", 3.5, false},
            {"update", 1, false},
            {"steps_per_epoch", 0, true},
        };
        double v;
        char message[128];
        ms_calc_eval(calc, vars, sizeof vars / sizeof vars[0], &v, message, sizeof message);
        for (size_t i = 0; i < ms_calc_var_count(calc); i++)
            if (!ms_calc_var_name(calc, i))
                abort();
        ms_calc_free(calc);
    }
    free(expr);
    return 0;
}
