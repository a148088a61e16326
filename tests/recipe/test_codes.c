/* The diagnostic-code registry agrees with README.md: every row of the code
 * tables (code, severity by table, summary) and every "**CODE.** paragraph"
 * of Recipes: Diagnostics is the registry's, and the other way round. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recipe/codes.h"

static const char *readme_path;

/* README's Diagnostics section, up to the next "### " heading. */
static char *diagnostics_section(void)
{
    FILE *f = fopen(readme_path, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *start = strstr(buf, "\n### Diagnostics\n");
    assert_non_null(start);
    char *end = strstr(start + 1, "\n### ");
    assert_non_null(end);
    *end = '\0';
    return start;
}

static void readme_tables_match_registry(void **state)
{
    (void)state;
    char *sec = diagnostics_section();
    char *warnings = strstr(sec, "\n#### Warnings\n");
    assert_non_null(warnings);
    size_t rows = 0;
    for (char *line = sec; (line = strstr(line, "\n| ")); line++) {
        char code[64], summary[512];
        if (sscanf(line, "\n| %63[A-Z0-9-] | %511[^\n]", code, summary) != 2 ||
            (code[0] != 'E' && code[0] != 'W'))
            continue;
        size_t len = strlen(summary);
        assert_true(len >= 2 && !strcmp(summary + len - 2, " |"));
        summary[len - 2] = '\0';
        const ms_code_info *c = ms_code_find(code);
        if (!c)
            fail_msg("README lists %s, the registry does not", code);
        assert_string_equal(c->summary, summary);
        assert_int_equal(c->severity, line > warnings ? MS_SEV_WARNING : MS_SEV_ERROR);
        rows++;
    }
    assert_int_equal(rows, ms_code_count());
}

static void readme_paragraphs_match_registry(void **state)
{
    (void)state;
    char *sec = diagnostics_section();
    size_t seen = 0;
    for (char *p = sec; (p = strstr(p, "\n**")); p++) {
        char *label_end = strstr(p + 3, ".** ");
        char *para_end = strstr(p + 1, "\n\n");
        if (!label_end || (para_end && label_end > para_end) || (p[3] != 'E' && p[3] != 'W'))
            continue;
        char text[4096];
        size_t tlen = para_end ? (size_t)(para_end - (label_end + 4)) : strlen(label_end + 4);
        assert_true(tlen < sizeof text);
        memcpy(text, label_end + 4, tlen);
        while (tlen > 0 && text[tlen - 1] == '\n')
            tlen--;
        text[tlen] = '\0';
        char label[256];
        size_t llen = (size_t)(label_end - (p + 3));
        assert_true(llen < sizeof label);
        memcpy(label, p + 3, llen);
        label[llen] = '\0';
        for (char *code = strtok(label, ", "); code; code = strtok(NULL, ", ")) {
            const ms_code_info *c = ms_code_find(code);
            if (!c)
                fail_msg("README explains %s, the registry does not", code);
            assert_string_equal(c->text, text);
            seen++;
        }
    }
    assert_int_equal(seen, ms_code_count());
}

static void nearest_code_corrects_case_and_typos(void **state)
{
    (void)state;
    assert_string_equal(ms_code_nearest("e-awq-ordr"), "E-AWQ-ORDER");
    assert_string_equal(ms_code_nearest("W-END-NGE"), "W-END-NEG");
    assert_null(ms_code_nearest("XYZZY"));
    assert_null(ms_code_find("e-awq-order"));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_codes README.md\n");
        return 2;
    }
    readme_path = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(readme_tables_match_registry),
        cmocka_unit_test(readme_paragraphs_match_registry),
        cmocka_unit_test(nearest_code_corrects_case_and_typos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
