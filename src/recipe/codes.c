#include "codes.h"

#include <stdint.h>
#include <string.h>

#include "../util/text.h"

/* Paragraphs shared by related codes: README.md's "**E-A, E-B.**" paragraphs. */
static const char text_0[] =
    "Input that is not a recipe text file ends\n"
    "the check of that file with exit status 2: `validate missing.yaml` gives\n"
    "`missing.yaml: error E-IO: cannot open: No such file or directory`; a 10 MB file\n"
    "gives E-SIZE; a file with a NUL byte gives `E-BINARY` at the byte's line and\n"
    "column; a Latin-1 `é` gives `E-ENCODING: byte 0xe9 is not valid UTF-8` at its\n"
    "position, because upstream opens recipes as UTF-8 text.";
static const char text_1[] =
    "An empty file, or one with only comments, loads as `None` upstream and\n"
    "`Recipe.from_dict(None)` fails; modsim says `the recipe is empty`.";
static const char text_2[] =
    "`card.md` without `---` lines: upstream raises \"Could not\n"
    "extract YAML front matter\"; modsim points at line 1 and asks for the two `---`\n"
    "lines.";
static const char text_3[] =
    "A key indented one space short gives\n"
    "`E-YAML: YAML syntax: did not find expected key while parsing a block mapping` at\n"
    "the offending column. In `recipe.json`, `\"scheme\": W4A16` gives `E-JSON: 'W4A16'\n"
    "must be quoted`, since `json.loads` refuses it. libyaml would read a `.json` file\n"
    "with `// 4-bit weights` on a line of its own, `'W4A16'` or `\"ignore\": [\"lm_head\"],`\n"
    "before `}` as YAML flow style, so modsim checks the JSON syntax first, as\n"
    "`json.loads` does: `comments are not JSON`, `single-quoted strings are not JSON` and\n"
    "`trailing comma before '}'` (at the comma) point at the offending character, as do\n"
    "numbers such as `01` or `1.`, control characters and bad escapes in strings, and a\n"
    "missing `,` or `:`. NaN and Infinity are accepted, as `json.loads` accepts them. Two "
    "`scheme:` keys in one modifier\n"
    "give `E-DUPKEY` at the second one, with the line of the first in the hint\n"
    "(PyYAML would silently keep the last). `? [a, b]` as a key gives `E-KEY`.";
static const char text_4[] =
    "Three hundred nested `[` give E-DEPTH; anchors that each\n"
    "alias the previous one ten times (\"billion laughs\") give E-ALIAS before anything\n"
    "expands. A recursive alias (`a: &x [*x]`) is an E-YAML error: the alias refers to\n"
    "no anchor defined before it.";
static const char text_5[] = "A recipe that is a list (`- quant_stage`) is not a map of stages.";
static const char text_6[] =
    "`GPTQModifer:` in a group gives `unknown modifier type\n"
    "'GPTQModifer' in quant_stage.quant_modifiers` and the hint `did you mean\n"
    "'GPTQModifier'?` followed by the valid types.";
static const char text_7[] =
    "`dampening_fraction: 0.01` under GPTQModifier gives `unknown\n"
    "field 'dampening_fraction' in GPTQModifier`, hint `did you mean 'dampening_frac'?`\n"
    "and the list of GPTQModifier's fields: upstream's pydantic models forbid extras.\n"
    "So does compressed-tensors (0.17, `extra=\"forbid\"` on QuantizationArgs and\n"
    "QuantizationScheme): `bits: 8` inside `weights:` gives `unknown field 'bits' in\n"
    "...weights` with the valid keys.";
static const char text_8[] =
    "`group_0:` written directly under QuantizationModifier (the\n"
    "`config_groups:` level forgotten) gives `'group_0' is not allowed in\n"
    "QuantizationModifier: it belongs under config_groups` with the hint to indent it\n"
    "under `config_groups:`.";
static const char text_9[] =
    "`block_size: \"12.5\"` gives `GPTQModifier.block_size must be integer, not\n"
    "string '12.5'` (pydantic converts only whole numbers for an int field); `group_size:\n"
    "\"128\"` in quantization arguments is refused with the hint `remove the quotes`, since\n"
    "compressed-tensors' validator compares the string with -1 before pydantic converts it. "
    "`mask_structure: 2:4` unquoted is\n"
    "read by YAML 1.1 as the base-60 integer 124 (upstream then fails), so modsim says\n"
    "`must be string, not integer 2:4` and hints `quote it`.";
static const char text_10[] =
    "`scheme: W4A61` gives `'W4A61' is not one of the allowed values`, hint\n"
    "`did you mean 'W4A16'?` and the presets; `type: integer` in quantization\n"
    "arguments suggests `int`; `strategy: grop` suggests `group`.";
static const char text_11[] =
    "SparseGPT's `mask_structure: \"2/4\"` does not match `N:M`; the hint\n"
    "gives examples (`0:0, 2:4`). MagnitudePruning accepts `unstructured`, `channel`,\n"
    "`filter` or `block_*`, as upstream's mask factory.";
static const char text_12[] =
    "`sparsity: 1.5` gives `SparseGPTModifier.sparsity must be at most 1,\n"
    "not 1.5`; `block_size: 0` must be at least 1; a mapping pair with three items\n"
    "breaks `maxItems`.";
static const char text_13[] =
    "MagnitudePruningModifier without `final_sparsity` gives\n"
    "`MagnitudePruningModifier is missing the required field 'final_sparsity'` at the\n"
    "modifier's key, with the field's description in the hint.";
static const char text_14[] =
    "An AWQModifier after the QuantizationModifier, or alone, is refused\n"
    "by upstream's recipe validator; modsim points at the AWQModifier and asks for a\n"
    "QuantizationModifier or GPTQModifier after it.";
static const char text_15[] =
    "`update_scheduler: \"calc(init_sparsity + final_sparsity * * index / end)\"`\n"
    "gives `calc: unexpected character at '*' (column 34)` at the file column of that\n"
    "`*`. Expressions are parsed by modsim's own evaluator, never executed.";
static const char text_16[] =
    "compressed-tensors' `QuantizationArgs` validator\n"
    "(`quant_args.py` `validate_model_after`) refuses the recipe when the modifier is\n"
    "built. `weights: {strategy: group}` gives `strategy group needs a positive\n"
    "group_size` (hint `add 'group_size: 128'`) at the strategy; the other rules, each\n"
    "at the offending field: `group_size` > 0 with a strategy other than group or\n"
    "tensor_group; `group_size: 0` without a strategy; `strategy: token` without\n"
    "`dynamic: true`; `strategy: block` without `block_structure`, and\n"
    "`block_structure` without `strategy: block`; `actorder: group` (also `dynamic`,\n"
    "`true`) unless the strategy is group or tensor_group (`weight`/`static` go with any\n"
    "strategy); `dynamic: true` with channel, block or attn_head; `dynamic: local` other\n"
    "than with tensor_group; `type: float` with `num_bits` other than 4 or 8 and no\n"
    "`zp_dtype`. Without `strategy`, modsim infers it as upstream does (group for\n"
    "`group_size` > 0, channel for -1, else tensor) and says so. Arguments are checked in\n"
    "`config_groups` and `kv_cache_scheme`.";
static const char text_17[] =
    "compressed-tensors' `QuantizationScheme` validator:\n"
    "`input_activations: {strategy: channel}` gives `strategy channel is not supported\n"
    "for activation quantization (NotImplementedError)` (input activations take token,\n"
    "tensor, group, tensor_group or attn_head), and `actorder` on `input_activations` or\n"
    "`output_activations` gives `actorder applies to weights only`.";
static const char text_18[] =
    "`scheme: W8A8` and `config_groups:` on one\n"
    "QuantizationModifier: upstream's `resolve_quantization_config` raises \"Please\n"
    "specify either `scheme` or `config_groups`\" (there is no precedence) when it\n"
    "resolves the config, before any calibration. modsim points at the later of the two\n"
    "keys and gives the line of the other; `config_groups: {}` counts, `null` does not.";
static const char text_19[] =
    "`observer: {weights: mse}` with `weight_observer: minmax`\n"
    "(or `input_observer`, `output_observer`): upstream raises \"Cannot specify both\n"
    "individual observer parameters ... and observer dict\" when it applies observers,\n"
    "although its docstring says the map takes precedence. Use one form.";
static const char text_20[] =
    "`GPTQModifier: {actorder: group}` with a config group\n"
    "whose `weights` set `actorder: weight`: GPTQ's `resolve_actorder` raises \"Cannot\n"
    "resolve activation ordering when both `GPTQModifier.actorder` and\n"
    "`QuantizationScheme.actorder` are provided and differ\". Only a value written in the\n"
    "recipe counts (the default `static` yields to the scheme's), `actorder: null`\n"
    "included, and only for weights whose strategy is tensor, channel, group,\n"
    "tensor_group or block. Upstream compares the words, so `static` and `weight`\n"
    "conflict although they are aliases.";
static const char text_21[] =
    "`SparseGPTModifier: {sparsity: 0.5, sparsity_profile: owl, owl_m: 5}`\n"
    "gives `SparseGPTModifier sets OWL partly, without owl_lmbda` at the first OWL\n"
    "field: SparsityModifierBase's validator needs `sparsity_profile: owl` (any case),\n"
    "`owl_m` and `owl_lmbda` together or none of them. The same holds for\n"
    "WandaPruningModifier.";
static const char text_22[] =
    "`version: 1.0` at the top, or `quant_modifier:` (no `s`) in a\n"
    "stage, loads nothing and raises nothing upstream: `Recipe.from_dict` only reads\n"
    "`*_stage` maps and their `*_modifiers` maps. modsim names the key and what upstream\n"
    "reads instead.";
static const char text_23[] =
    "`initialized_: true` under ConstantPruningModifier gives\n"
    "`'initialized_' sets internal state of ConstantPruningModifier: upstream accepts it;\n"
    "true makes initialize raise RuntimeError (already initialized) ...`, hint `remove\n"
    "'initialized_:'`. Upstream's Modifier declares `initialized_`, `started_`, `ended_`\n"
    "and `finalized_` as ordinary pydantic fields (only a leading `_` is private), so\n"
    "`extra=\"forbid\"` lets them through; `started_: true` makes batch events skip on_start\n"
    "yet run on_update, `ended_: true` keeps batch_end from ending the modifier, and\n"
    "`false` is overwritten by the lifecycle. `modsim trace` starts the modifier in the\n"
    "state the recipe sets, as upstream does. Other names ending in `_` stay E-FIELD-UNKNOWN.";
static const char text_24[] =
    "`block_size: \"128\"` under GPTQModifier gives `quoted number\n"
    "'128' is read as 128 by upstream (pydantic converts it)`, hint `write it unquoted: 128`.\n"
    "pydantic's lax mode turns a numeric string into an int (`\"128\"`, `\" 128 \"`,\n"
    "`\"1_000\"`, `\"128.0\"`; not `\"12.5\"`) or a float (also `\"1e-3\"`, `\"inf\"`), so "
    "upstream\n"
    "loads the recipe; modsim checks the converted value (`sparsity: \"1.5\"` is also\n"
    "E-BOUNDS) and the lifecycle uses it (`start: \"1\"` starts at 1 in `modsim trace`).";
static const char text_25[] =
    "`offload_hessians: \"yes\"` gives `string 'yes' is read as true by\n"
    "upstream`, hint `write true`. pydantic reads `0/1` and the strings `true, false,\n"
    "yes, no, on, off, y, n, t, f, 1, 0` (any case) as booleans; a YAML-quoted `\"yes\"` or\n"
    "an unquoted `y` is a string to PyYAML, so only pydantic's conversion makes it work.";
static const char text_26[] =
    "LogarithmicEqualizationModifier is an alias of\n"
    "`SmoothQuantModifier` with `algorithm: log_equalization`; MagnitudePruning's\n"
    "`leave_enabled` and SparseGPT's `sequential_update` are forced to fixed values; and\n"
    "OutputDistillationModifier is gone from upstream at this revision (it fails to load\n"
    "there). The hint says what to use instead.";
static const char text_27[] =
    "`end: -1` on ConstantPruningModifier: sparseml read -1 as \"until\n"
    "training ends\", but upstream's `should_start` needs `index < end`, so the modifier\n"
    "never starts. Leave `end` out instead.";
static const char text_28[] = "`start: 0, end: 0` on a training-driven modifier: with\n"
                              "`end <= start` there is no index at which it starts.";
static const char text_29[] =
    "MagnitudePruningModifier with `start: 0, end: 0` and a linear\n"
    "scheduler: upstream computes `(index - start) / (end - start)` and raises\n"
    "ZeroDivisionError at the first batch.";
static const char text_30[] =
    "`update_scheduler: polynomial_decay` with exponent 2 (also the\n"
    "default): `init + (final - init) * ((p - 1)^2 + 1)` starts at `2*final - init`\n"
    "and falls to `final`, instead of rising from `init`. Cubic (exponent 3) does what is\n"
    "meant.";
static const char text_31[] =
    "The schedule is evaluated as upstream evaluates it at 201 points\n"
    "of [start, end]; `calc(init_sparsity + index / end)` with `init_sparsity: 0.5`\n"
    "reaches 1.005 at index 5.05, a sparsity no mask can have.";
static const char text_32[] =
    "`calc(final_sparsity * index / steps)` without `steps` in\n"
    "`scheduler_args` raises `NameError: name 'steps' is not defined` at the first\n"
    "batch; division by zero and `math.sqrt` of a negative number are found the same way.";
static const char text_33[] =
    "Upstream extracts the expression with the regex\n"
    "`calc\\(([^()]*)\\)`, so `calc(init_sparsity + (final_sparsity - init_sparsity) *\n"
    "index / end)` raises \"invalid calc string\" at initialize — and no `math.*` call can\n"
    "be used at all. Expand the expression without parentheses.";
static const char text_34[] =
    "`update: 1.0` on GPTQModifier changes nothing: only a\n"
    "MagnitudePruningModifier whose `calc(...)` scheduler uses the variable `update`\n"
    "reads it.";
static const char text_35[] =
    "`start: 2.0` on ConstantPruningModifier: upstream's lifecycle\n"
    "builds its events with index 0, so `start <= index` never holds and the modifier\n"
    "never starts. `start: 0` starts it at initialize.";
static const char text_36[] =
    "A recipe with `sparsity_stage` and `quant_stage`, loaded without\n"
    "a stage filter, becomes one modifier list: upstream runs SparseGPT and GPTQ together\n"
    "in one calibration pass, not one stage after the other. Select a stage\n"
    "(`--stage`, upstream `oneshot(..., stage=...)`) or merge them deliberately.";
static const char text_37[] =
    "ConstantPruningModifier next to a QuantizationModifier:\n"
    "a one-shot run sends calibration events, no batch events, so the training-driven\n"
    "modifier never ends (and with `start > 0` never starts).";
static const char text_38[] =
    "SmoothQuantModifier in a recipe whose MagnitudePruningModifier\n"
    "runs from step 0 to 10: training sends no calibration epochs, so the calibration\n"
    "modifier never starts and finalize ends it without having calibrated.";

static const ms_code_info codes[] = {
    {"E-IO", MS_SEV_ERROR, "the file cannot be opened or read", text_0},
    {"E-SIZE", MS_SEV_ERROR, "the file is larger than 8 MiB", text_0},
    {"E-BINARY", MS_SEV_ERROR, "the file holds NUL bytes", text_0},
    {"E-ENCODING", MS_SEV_ERROR, "the file is not UTF-8", text_0},
    {"E-EMPTY", MS_SEV_ERROR, "the recipe is empty (or only comments)", text_1},
    {"E-FRONTMATTER", MS_SEV_ERROR, "a Markdown recipe card without front matter", text_2},
    {"E-YAML", MS_SEV_ERROR, "YAML syntax error", text_3},
    {"E-JSON", MS_SEV_ERROR, "a `.json` recipe that `json.loads` refuses", text_3},
    {"E-DUPKEY", MS_SEV_ERROR, "a key appears twice in one map", text_3},
    {"E-KEY", MS_SEV_ERROR, "a map key that is a map or a sequence", text_3},
    {"E-DEPTH", MS_SEV_ERROR, "nesting deeper than 256 levels", text_4},
    {"E-ALIAS", MS_SEV_ERROR, "aliases expanding past a million nodes", text_4},
    {"E-LAYOUT", MS_SEV_ERROR, "the recipe is not a map", text_5},
    {"E-TYPE-UNKNOWN", MS_SEV_ERROR, "unknown modifier type", text_6},
    {"E-FIELD-UNKNOWN", MS_SEV_ERROR, "unknown field of a modifier", text_7},
    {"E-MISPLACED", MS_SEV_ERROR, "a config group (`group_0`) outside `config_groups`", text_8},
    {"E-TYPE", MS_SEV_ERROR, "a value of the wrong type", text_9},
    {"E-ENUM", MS_SEV_ERROR, "a value that is not one of the allowed ones", text_10},
    {"E-PATTERN", MS_SEV_ERROR, "a string of the wrong form", text_11},
    {"E-BOUNDS", MS_SEV_ERROR, "a number or a list length out of bounds", text_12},
    {"E-REQUIRED", MS_SEV_ERROR, "a required field is missing", text_13},
    {"E-AWQ-ORDER", MS_SEV_ERROR, "AWQModifier with no quantization modifier after it", text_14},
    {"E-CALC", MS_SEV_ERROR, "a `calc(...)` expression that does not parse", text_15},
    {"E-QUANT-ARGS", MS_SEV_ERROR, "quantization arguments compressed-tensors refuses together",
     text_16},
    {"E-QUANT-SCHEME", MS_SEV_ERROR, "activation arguments a quantization scheme refuses", text_17},
    {"E-SCHEME-CONFLICT", MS_SEV_ERROR, "both `scheme` and `config_groups` on one modifier",
     text_18},
    {"E-OBSERVER-CONFLICT", MS_SEV_ERROR, "both the `observer` map and `*_observer` fields",
     text_19},
    {"E-ACTORDER-CONFLICT", MS_SEV_ERROR, "GPTQModifier's `actorder` differs from a config group's",
     text_20},
    {"E-OWL", MS_SEV_ERROR, "some but not all of SparseGPT's/Wanda's OWL settings", text_21},
    {"W-IGNORED-KEY", MS_SEV_WARNING,
     "a key upstream skips silently (not `*_stage` / `*_modifiers`)", text_22},
    {"W-INTERNAL-FIELD", MS_SEV_WARNING,
     "`initialized_`, `started_`, `ended_` or `finalized_` set in a recipe", text_23},
    {"W-QUOTED-NUMBER", MS_SEV_WARNING, "a quoted number, which pydantic converts", text_24},
    {"W-LAX-BOOL", MS_SEV_WARNING, "a string or 0/1 for a boolean, which pydantic converts",
     text_25},
    {"W-DEPRECATED", MS_SEV_WARNING, "a deprecated modifier type or field", text_26},
    {"W-END-NEG", MS_SEV_WARNING, "`end: -1`, which never starts the modifier", text_27},
    {"W-END-BEFORE-START", MS_SEV_WARNING, "`end <= start`", text_28},
    {"W-ZERO-SPAN", MS_SEV_WARNING, "`start == end` with a scheduler (division by zero)", text_29},
    {"W-POLY-EVEN", MS_SEV_WARNING, "polynomial_decay with an even exponent", text_30},
    {"W-SCHED-RANGE", MS_SEV_WARNING, "a scheduler leaving [0, 1] in [start, end]", text_31},
    {"W-CALC-RAISES", MS_SEV_WARNING, "a `calc(...)` expression that raises when evaluated",
     text_32},
    {"W-CALC-PARENS", MS_SEV_WARNING, "parentheses inside `calc(...)`, which upstream refuses",
     text_33},
    {"W-UPDATE-IGNORED", MS_SEV_WARNING, "`update` set on a modifier that ignores it", text_34},
    {"W-START-NEVER", MS_SEV_WARNING, "`start > 0` on a modifier whose events carry index 0",
     text_35},
    {"W-STAGES-FLAT", MS_SEV_WARNING, "several stages flattened into one modifier list", text_36},
    {"W-ONESHOT-TRAINING", MS_SEV_WARNING, "a training-driven modifier in a one-shot recipe",
     text_37},
    {"W-TRAINING-CALIB", MS_SEV_WARNING, "a calibration-driven modifier in a training recipe",
     text_38},
};

size_t ms_code_count(void)
{
    return sizeof codes / sizeof codes[0];
}

const ms_code_info *ms_code_at(size_t i)
{
    return i < ms_code_count() ? &codes[i] : NULL;
}

const ms_code_info *ms_code_find(const char *code)
{
    for (size_t i = 0; i < ms_code_count(); i++)
        if (!strcmp(codes[i].code, code))
            return &codes[i];
    return NULL;
}

const char *ms_code_nearest(const char *code)
{
    char upper[129];
    size_t n = strlen(code);
    if (n >= sizeof upper)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        upper[i] = (char)(code[i] >= 'a' && code[i] <= 'z' ? code[i] - 'a' + 'A' : code[i]);
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < ms_code_count(); i++) {
        size_t d = ms_edit_distance(upper, codes[i].code);
        if (d < best_d) {
            best_d = d;
            best = codes[i].code;
        }
    }
    return best && best_d <= (n > 9 ? n / 3 : 3) ? best : NULL;
}
