#include "codes.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "text.h"

/* The paragraphs README.md shows for the recipe codes (one per code, or one
 * for a few codes that go together); tests/recipe/readme_codes.py checks
 * README against them. */
static const char explain_e_io[] =
    "Input that is not a recipe text file ends the check of that file with exit status 2: "
    "`validate missing.yaml` gives `missing.yaml: error E-IO: cannot open: No such file "
    "or directory`, `validate samples/` `samples/: error E-IO: is a directory: give the "
    "path of a file in it`; a 10 MB file gives E-SIZE; a file with a NUL byte gives `E-BINARY` at "
    "the byte's line and column; a Latin-1 `é` gives `E-ENCODING: byte 0xe9 is not valid "
    "UTF-8` at its position, because upstream opens recipes as UTF-8 text.";

static const char explain_e_empty[] =
    "An empty file, or one with only comments, loads as `None` upstream and "
    "`Recipe.from_dict(None)` fails; modsim says `the recipe is empty`.";

static const char explain_e_frontmatter[] =
    "`card.md` without `---` lines: upstream raises \"Could not extract YAML front "
    "matter\"; modsim points at line 1 and asks for the two `---` lines.";

static const char explain_e_yaml[] =
    "A key indented one space short gives `E-YAML: YAML syntax: did not find expected key "
    "while parsing a block mapping` at the offending column. A tab in a line's indentation, "
    "where libyaml says only `found character that cannot start any token`, gives `E-YAML: "
    "YAML syntax: a tab indents this line: YAML indents with spaces` at the tab's line and "
    "column (a tab elsewhere that YAML refuses: `a tab where YAML expects a value or a "
    "key`). In `recipe.json`, `\"scheme\": "
    "W4A16` gives `E-JSON: 'W4A16' must be quoted`, since `json.loads` refuses it. "
    "libyaml would read a `.json` file with `// 4-bit weights` on a line of its own, "
    "`'W4A16'` or `\"ignore\": [\"lm_head\"],` before `}` as YAML flow style, so modsim "
    "checks the JSON syntax first, as `json.loads` does: `comments are not JSON`, "
    "`single-quoted strings are not JSON` and `trailing comma before '}'` (at the comma) "
    "point at the offending character, as do numbers such as `01` or `1.`, control "
    "characters and bad escapes in strings, and a missing `,` or `:`. NaN and Infinity "
    "are accepted, as `json.loads` accepts them. Two `scheme:` keys in one modifier give "
    "`E-DUPKEY` at the second one, with the line of the first in the hint (PyYAML would "
    "silently keep the last). `? [a, b]` as a key gives `E-KEY`.";

static const char explain_e_yaml_tag[] =
    "`yaml.safe_load` has no constructor for a local tag, so `- !GMPruningModifier` (a "
    "SparseML-era recipe), `!int 3` or `!!python/tuple [1]` fail upstream with \"could not "
    "determine a constructor for the tag\"; modsim gives E-YAML-TAG at the tag, and for "
    "a tag ending in `Modifier` the hint suggests `modsim migrate`. The standard tags are "
    "read as safe_load reads them: `!!str 3` is the string \"3\", `!!int \"3\"` the "
    "integer 3, `!!float 3` the number 3.0, `!!bool \"Yes\"` true, `!!null x` null; "
    "`!!map` and `!!seq` only check the kind (`!!str {a: 1}` is E-YAML-TAG). `!!binary`, "
    "`!!timestamp`, `!!set`, `!!omap` and `!!pairs` are refused: they make Python "
    "values no recipe field takes. Merge keys are no tag: `<<: *base` and `<<: [*a, *b]` "
    "are applied as PyYAML applies them (a key written in the map wins over a merged "
    "one, and in a list an earlier map wins over a later one), and a key both merged "
    "and written is not an `E-DUPKEY`.";

static const char explain_e_depth[] =
    "Three hundred nested `[` give E-DEPTH; anchors that each alias the previous one ten "
    "times (\"billion laughs\") give E-ALIAS before anything expands. A recursive alias "
    "(`a: &x [*x]`) is an E-YAML error: the alias refers to no anchor defined before it.";

static const char explain_e_layout[] =
    "A recipe that is a list (`- quant_stage`) is not a map of stages.";

static const char explain_e_type_unknown[] =
    "`GPTQModifer:` in a group gives `unknown modifier type 'GPTQModifer' in "
    "quant_stage.quant_modifiers` and the hint `did you mean 'GPTQModifier'?` followed by "
    "the valid types.";

static const char explain_e_field_unknown[] =
    "`dampening_fraction: 0.01` under GPTQModifier gives `unknown field "
    "'dampening_fraction' in GPTQModifier`, hint `did you mean 'dampening_frac'?` and the "
    "list of GPTQModifier's fields: upstream's pydantic models forbid extras. So does "
    "compressed-tensors (0.17, `extra=\"forbid\"` on QuantizationArgs and "
    "QuantizationScheme): `bits: 8` inside `weights:` gives `unknown field 'bits' in "
    "...weights` with the valid keys. A name upstream renamed or removed says what "
    "became of it instead (from the one table in `src/recipe/renames.c`): `percdamp: "
    "0.05` gives `unknown field 'percdamp' in GPTQModifier: percdamp was renamed "
    "dampening_frac in llm-compressor 0.1.0`, hint `write 'dampening_frac:' instead; "
    "'modsim migrate' rewrites it`; `sequential_update` says it was removed in 0.8.0, "
    "and an old type (`vLLMQuantizationModifier`) gives E-TYPE-UNKNOWN naming its new "
    "name.";

static const char explain_e_misplaced[] =
    "`group_0:` written directly under QuantizationModifier (the `config_groups:` level "
    "forgotten) gives `'group_0' is not allowed in QuantizationModifier: it belongs under "
    "config_groups` with the hint to indent it under `config_groups:`.";

static const char explain_e_type[] =
    "`block_size: \"12.5\"` gives `GPTQModifier.block_size must be integer, not string "
    "'12.5'` (pydantic converts only whole numbers for an int field); `group_size: \"128\"` "
    "in quantization arguments is refused with the hint `remove the quotes`, since "
    "compressed-tensors' validator compares the string with -1 before pydantic converts "
    "it. `mask_structure: 2:4` unquoted is read by YAML 1.1 as the base-60 integer 124 "
    "(upstream then fails), so modsim says `must be string, not integer 2:4` and hints "
    "`quote it`. A modifier with null arguments (`QuantizationModifier:` and nothing "
    "after it) gives `has null arguments`: upstream's `Recipe.from_dict` calls "
    "`mod_args.get` and raises AttributeError (recipe.py:190 at 0.12); write `{}`.";

static const char explain_e_enum[] =
    "`scheme: W4A61` gives `'W4A61' is not one of the allowed values`, hint `did you mean "
    "'W4A16'?` and the presets; `type: integer` in quantization arguments suggests `int`; "
    "`strategy: grop` suggests `group`.";

static const char explain_e_pattern[] =
    "SparseGPT's `mask_structure: \"2/4\"` does not match `N:M`; the hint gives examples "
    "(`0:0, 2:4`).";

static const char explain_e_bounds[] =
    "`sparsity: 1.5` gives `SparseGPTModifier.sparsity must be at most 1, not 1.5`; "
    "`block_size: 0` must be at least 1; a mapping pair with three items breaks "
    "`maxItems`.";

static const char explain_e_required[] =
    "MagnitudePruningModifier without `final_sparsity` gives `MagnitudePruningModifier is "
    "missing the required field 'final_sparsity'` at the modifier's key, with the field's "
    "description in the hint.";

static const char explain_e_awq_order[] =
    "An AWQModifier after the QuantizationModifier, or alone, is refused by upstream's "
    "recipe validator; modsim points at the AWQModifier and asks for a "
    "QuantizationModifier or GPTQModifier after it.";

static const char explain_e_calc[] =
    "`update_scheduler: \"calc(init_sparsity + final_sparsity * * index / end)\"` gives "
    "`calc: unexpected character at '*' (column 34)` at the file column of that `*`. "
    "Expressions are parsed by modsim's own evaluator, never executed.";

static const char explain_e_quant_args[] =
    "compressed-tensors' `QuantizationArgs` validator (`quant_args.py` "
    "`validate_model_after`) refuses the recipe when the modifier is built. `weights: "
    "{strategy: group}` gives `strategy group needs a positive group_size` (hint `add "
    "'group_size: 128'`) at the strategy; the other rules, each at the offending field: "
    "`group_size` > 0 with a strategy other than group or tensor_group; `group_size: 0` "
    "without a strategy; `strategy: token` without `dynamic: true`; `strategy: block` "
    "without `block_structure`, and `block_structure` without `strategy: block`; "
    "`actorder: group` (also `dynamic`, `true`) unless the strategy is group or "
    "tensor_group (`weight`/`static` go with any strategy); `dynamic: true` with channel, "
    "block or attn_head; `dynamic: local` other than with tensor_group; `type: float` "
    "with `num_bits` other than 4 or 8 and no `zp_dtype`. Without `strategy`, modsim "
    "infers it as upstream does (group for `group_size` > 0, channel for -1, else tensor) "
    "and says so. Arguments are checked in `config_groups` and `kv_cache_scheme`.";

static const char explain_e_quant_scheme[] =
    "compressed-tensors' `QuantizationScheme` validator: `input_activations: {strategy: "
    "channel}` gives `strategy channel is not supported for activation quantization "
    "(NotImplementedError)` (input activations take token, tensor, group, tensor_group or "
    "attn_head), and `actorder` on `input_activations` or `output_activations` gives "
    "`actorder applies to weights only`.";

static const char explain_e_scheme_conflict[] =
    "`scheme: W8A8` and `config_groups:` on one QuantizationModifier: upstream's "
    "`resolve_quantization_config` raises \"Please specify either `scheme` or "
    "`config_groups`\" (there is no precedence) when it resolves the config, before any "
    "calibration. modsim points at the later of the two keys and gives the line of the "
    "other; `config_groups: {}` counts, `null` does not.";

static const char explain_e_observer_conflict[] =
    "`observer: {weights: mse}` with `weight_observer: minmax` (or `input_observer`, "
    "`output_observer`): upstream raises \"Cannot specify both individual observer "
    "parameters ... and observer dict\" when it applies observers, although its docstring "
    "says the map takes precedence. Use one form.";

static const char explain_e_actorder_conflict[] =
    "`GPTQModifier: {actorder: group}` with a config group whose `weights` set `actorder: "
    "weight`: GPTQ's `resolve_actorder` raises \"Cannot resolve activation ordering when "
    "both `GPTQModifier.actorder` and `QuantizationScheme.actorder` are provided and "
    "differ\". Only a value written in the recipe counts (the default `static` yields to "
    "the scheme's), `actorder: null` included, and only for weights whose strategy is "
    "tensor, channel, group, tensor_group or block. Upstream compares the words, so "
    "`static` and `weight` conflict although they are aliases.";

static const char explain_e_owl[] =
    "`SparseGPTModifier: {sparsity: 0.5, sparsity_profile: owl, owl_m: 5}` gives "
    "`SparseGPTModifier sets OWL partly, without owl_lmbda` at the first OWL field: "
    "SparsityModifierBase's validator needs `sparsity_profile: owl` (any case), `owl_m` "
    "and `owl_lmbda` together or none of them. The same holds for WandaPruningModifier.";

static const char explain_e_type_removed[] =
    "`OutputDistillationModifier:` gives `OutputDistillationModifier was removed from "
    "llm-compressor: upstream raises ValueError \"No modifier of type "
    "'OutputDistillationModifier' found.\"` at the type (`x-removed` in the schema; "
    "`ModifierFactory.create`, factory.py:133 at 0.12). Its fields are not checked further. "
    "`modsim trace` and the TUI refuse it too.";

static const char explain_e_type_version[] =
    "`REAPPruningModifier:` gives `REAPPruningModifier exists from llm-compressor 0.13 (use "
    "--upstream 0.13)`: modsim checks against 0.12 unless told otherwise, and 0.12's factory "
    "has no such type. `IMatrixGatherer` exists at 0.12 and is gone at 0.13. The schema marks "
    "these with `x-since` and `x-until`.";

static const char explain_e_group_arg[] =
    "`ConstantPruningModifier: {group: custom, ...}`: upstream's `Recipe.from_dict` passes "
    "`group=` and then every argument to `ModifierFactory.create` (recipe.py:190-196 at "
    "0.12), so a `group` argument raises `TypeError: ModifierFactory.create() got multiple "
    "values for keyword argument 'group'`. The group is the name of the `*_modifiers` key; "
    "`modsim export` never writes a `group` argument.";

static const char explain_e_stage[] =
    "`modsim validate --stage quant` on a recipe whose stages are `sparsity_stage` and "
    "`finetune_stage`: upstream keeps the top-level keys that start with the name, so nothing "
    "is left to run. The hint names the stages there are.";

static const char explain_e_not_supported[] =
    "`QuIPModifier: {randomize: true}` (or `learnable`, also on SpinQuantModifier): the "
    "field's validator raises `NotImplementedError: randomize is not supported right now` "
    "(quip/base.py:93, spinquant/base.py:119 at 0.12), which pydantic does not turn into a "
    "validation error, so the recipe does not load. The validator sees the raw value: any "
    "truthy value raises, the quoted string `\"false\"` too.";

static const char explain_e_initialize[] =
    "The recipe loads upstream, but the modifier raises when the run initializes or starts "
    "it, before any calibration: `modsim validate` reports it as an error, while `modsim "
    "trace` and the TUI load the recipe (printing it as a note) and the simulated modifier "
    "raises the same exception at the same hook. The messages are upstream's (0.12): "
    "QuantizationModifier without a scheme, `config_groups`, `kv_cache_scheme`, `ignore` or "
    "targets other than `Linear` (a string counts as the one-item list) raises "
    "`QuantizationModifier requires that quantization fields be specified` at initialize "
    "(quantization/base.py:61); GPTQModifier without a config and no quantization modifier "
    "before it raises `GPTQModifier was unable to find any modules to quantize` at start "
    "(gptq/base.py:231); MagnitudePruningModifier's `apply_globally: true` raises "
    "`NotImplementedError: global pruning not implemented yet for PyTorch` "
    "(magnitude/base.py:52), an unknown `update_scheduler` raises `Unknown scheduler type: "
    "NAME` (pruning/helpers.py:69) and a `mask_structure` other than `unstructured`, "
    "`channel`, `filter` or `block_N` raises `Invalid mask_structure: NAME` "
    "(mask_factory.py:60); AWQModifier's `duo_scaling` (true by default) with tensor-strategy "
    "weights in a later quantization modifier (the FP8 preset) raises `duo_scaling is only "
    "supported with per-channel quantization strategies` at start (awq/base.py:233); this one "
    "the simulation does not raise yet, as it does not track weight strategies. "
    "E-SCHEME-CONFLICT, E-OBSERVER-CONFLICT and E-ACTORDER-CONFLICT are raised at initialize "
    "in the same way.";

static const char explain_e_no_modifiers[] =
    "`modsim export recipe.yaml --stage quant` where the `quant_stage` has no modifiers, or a "
    "recipe without any: an empty export is a mistake, so it is refused (exit 1) instead of "
    "writing a file with no modifiers. A `--stage` that matches no stage at all is E-STAGE.";

static const char explain_w_ignored_key[] =
    "`version: 1.0` at the top, or `quant_modifier:` (no `s`) in a stage, loads nothing "
    "and raises nothing upstream: `Recipe.from_dict` only reads `*_stage` maps and their "
    "`*_modifiers` maps. modsim names the key and what upstream reads instead.";

static const char explain_w_internal_field[] =
    "`initialized_: true` under ConstantPruningModifier gives `'initialized_' sets "
    "internal state of ConstantPruningModifier: upstream accepts it; true makes "
    "initialize raise RuntimeError (already initialized) ...`, hint `remove "
    "'initialized_:'`. Upstream's Modifier declares `initialized_`, `started_`, `ended_` "
    "and `finalized_` as ordinary pydantic fields (only a leading `_` is private), so "
    "`extra=\"forbid\"` lets them through; `started_: true` makes batch events skip "
    "on_start yet run on_update, `ended_: true` keeps batch_end from ending the modifier, "
    "and `false` is overwritten by the lifecycle. `modsim trace` starts the modifier in "
    "the state the recipe sets, as upstream does. Other names ending in `_` stay "
    "E-FIELD-UNKNOWN.";

static const char explain_w_quoted_number[] =
    "`block_size: \"128\"` under GPTQModifier gives `quoted number '128' is read as 128 by "
    "upstream (pydantic converts it)`, hint `write it unquoted: 128`. pydantic's lax mode "
    "turns a numeric string into an int (`\"128\"`, `\" 128 \"`, `\"1_000\"`, `\"128.0\"`; not "
    "`\"12.5\"`) or a float (also `\"1e-3\"`, `\"inf\"`), so upstream loads the recipe; modsim "
    "checks the converted value (`sparsity: \"1.5\"` is also E-BOUNDS) and the lifecycle "
    "uses it (`start: \"1\"` starts at 1 in `modsim trace`).";

static const char explain_w_lax_bool[] =
    "`offload_hessians: \"yes\"` gives `string 'yes' is read as true by upstream`, hint "
    "`write true`. pydantic reads `0/1` and the strings `true, false, yes, no, on, off, "
    "y, n, t, f, 1, 0` (any case) as booleans; a YAML-quoted `\"yes\"` or an unquoted `y` "
    "is a string to PyYAML, so only pydantic's conversion makes it work.";

static const char explain_w_deprecated[] =
    "LogarithmicEqualizationModifier is an alias of `SmoothQuantModifier` with "
    "`algorithm: log_equalization`; MagnitudePruning's `leave_enabled` and SparseGPT's "
    "`sequential_update` are forced to fixed values. The hint says what to use instead.";

static const char explain_w_end_neg[] =
    "`end: -1` on ConstantPruningModifier: sparseml read -1 as \"until training ends\", but "
    "upstream's `should_start` needs `index < end`, so the modifier never starts. Leave "
    "`end` out instead.";

static const char explain_w_end_before_start[] =
    "`start: 0, end: 0` on a training-driven modifier: with `end <= start` there is no "
    "index at which it starts.";

static const char explain_w_zero_span[] =
    "MagnitudePruningModifier with `start: 0, end: 0` and a linear scheduler: upstream "
    "computes `(index - start) / (end - start)` and raises ZeroDivisionError at the first "
    "batch.";

static const char explain_w_poly_even[] =
    "`update_scheduler: polynomial_decay` with exponent 2 (also the default): `init + "
    "(final - init) * ((p - 1)^2 + 1)` starts at `2*final - init` and falls to `final`, "
    "instead of rising from `init`. Cubic (exponent 3) does what is meant.";

static const char explain_w_sched_range[] =
    "The schedule is evaluated as upstream evaluates it at 201 points of [start, end]; "
    "`calc(init_sparsity + index / end)` with `init_sparsity: 0.5` reaches 1.005 at index "
    "5.05, a sparsity no mask can have.";

static const char explain_w_calc_raises[] =
    "`calc(final_sparsity * index / steps)` without `steps` in `scheduler_args` raises "
    "`NameError: name 'steps' is not defined` at the first batch; division by zero and "
    "`math.sqrt` of a negative number are found the same way.";

static const char explain_w_calc_parens[] =
    "Upstream extracts the expression with the regex `calc\\(([^()]*)\\)`, so "
    "`calc(init_sparsity + (final_sparsity - init_sparsity) * index / end)` raises "
    "\"invalid calc string\" at initialize — and no `math.*` call can be used at all. "
    "Expand the expression without parentheses.";

static const char explain_w_update_ignored[] =
    "`update: 1.0` on GPTQModifier changes nothing: only a MagnitudePruningModifier whose "
    "`calc(...)` scheduler uses the variable `update` reads it.";

static const char explain_w_start_never[] =
    "`start: 2.0` on ConstantPruningModifier: upstream's lifecycle builds every event as "
    "`Event(type_=...)`, in oneshot() and in a training loop calling LifecycleCallbacks "
    "alike, so the index is always 0, `start <= index` never holds and the modifier never "
    "starts. `start: 0` starts it at initialize. A training-driven modifier with no `start` "
    "never starts either (`should_start` is false without one). Not reported when the "
    "intended index is on (`--index intended`), which upstream does not run.";

static const char explain_w_stages_flat[] =
    "A recipe with `sparsity_stage` and `quant_stage`, loaded without a stage filter, "
    "becomes one modifier list: oneshot() initializes every modifier of every stage at "
    "once, the independent pipeline gives each modifier its own calibration pass in recipe "
    "order, and finalize finalizes them all at once. Stages do not run one after another "
    "(no stage is initialized or finalized on its own). Select a stage (`--stage`, upstream "
    "`oneshot(..., stage=...)`) or merge them deliberately.";

static const char explain_w_oneshot_training[] =
    "ConstantPruningModifier with `start: 0, end: 2` run by oneshot(): initialize's start "
    "event (index 0) starts it, but oneshot() sends no batch events (only calibration "
    "events, in the modifier's own pass), so it never ends. Upstream has no training "
    "entrypoint since 0.10 (commit 9cb1c6d8d): a training run is a loop of your own calling "
    "LifecycleCallbacks.";

static const char explain_w_training_calib[] =
    "SmoothQuantModifier run by a training loop (`--training`): a loop calling "
    "LifecycleCallbacks sends no calibration events, so the calibration modifier never "
    "starts and finalize ends it without having calibrated (at 0.13 finalize does not even "
    "end it: its `on_end` is the base class's no-op). Reported only for a training-loop run; "
    "oneshot() gives it its own calibration pass.";

static const char explain_w_end_never[] =
    "`start: 0, end: 3` on ConstantPruningModifier run by a training loop calling "
    "LifecycleCallbacks: initialize starts it, but every event upstream builds has index "
    "0, so `index >= end` never holds and only finalize stops it. Not reported when the "
    "intended index is on.";

static const char explain_w_calib_marks[] =
    "ConstantPruningModifier run by oneshot() with `--upstream 0.13`: llm-compressor 0.13's "
    "base `update_event` marks every modifier started at `calibration_start` and ended at "
    "`calibration_end` (calling `on_calibration_start` / `on_calibration_end`, no-ops for the "
    "pruning modifiers), so the trace shows it started and ended, yet its `on_start` (which "
    "applies the masks) and `on_end` never run; with `start: 0` initialize runs `on_start` "
    "and only the end is skipped.";

static const char explain_e_validation[] =
    "A QuantizationModifier with both `scheme` and `config_groups` (or both the `observer` "
    "map and `*_observer` fields), checked with `--upstream 0.13`: llm-compressor 0.13's "
    "model validator `_set_requires_calibration_data` resolves the quantization config when "
    "the recipe loads (unless `requires_calibration_data: true` or a `kv_cache_scheme` "
    "decides first), so the conflict is a pydantic ValidationError at load and every "
    "command refuses the recipe; at 0.12 the same conflict raises at initialize "
    "(E-SCHEME-CONFLICT, E-OBSERVER-CONFLICT).";

static const ms_code_info codes[] = {
    {"E-IO", MS_SEV_ERROR, "recipe", "the file cannot be opened or read", explain_e_io},
    {"E-SIZE", MS_SEV_ERROR, "recipe", "the file is larger than 8 MiB", explain_e_io},
    {"E-BINARY", MS_SEV_ERROR, "recipe", "the file holds NUL bytes", explain_e_io},
    {"E-ENCODING", MS_SEV_ERROR, "recipe", "the file is not UTF-8", explain_e_io},
    {"E-EMPTY", MS_SEV_ERROR, "recipe", "the recipe is empty (or only comments)", explain_e_empty},
    {"E-FRONTMATTER", MS_SEV_ERROR, "recipe", "a Markdown recipe card without front matter",
     explain_e_frontmatter},
    {"E-YAML", MS_SEV_ERROR, "recipe", "YAML syntax error", explain_e_yaml},
    {"E-JSON", MS_SEV_ERROR, "recipe", "a `.json` recipe that `json.loads` refuses",
     explain_e_yaml},
    {"E-DUPKEY", MS_SEV_ERROR, "recipe", "a key appears twice in one map", explain_e_yaml},
    {"E-KEY", MS_SEV_ERROR, "recipe", "a map key that is a map or a sequence", explain_e_yaml},
    {"E-YAML-TAG", MS_SEV_ERROR, "recipe", "a YAML tag `yaml.safe_load` does not read",
     explain_e_yaml_tag},
    {"E-DEPTH", MS_SEV_ERROR, "recipe", "nesting deeper than 256 levels", explain_e_depth},
    {"E-ALIAS", MS_SEV_ERROR, "recipe", "aliases expanding past a million nodes", explain_e_depth},
    {"E-LAYOUT", MS_SEV_ERROR, "recipe", "the recipe is not a map", explain_e_layout},
    {"E-TYPE-UNKNOWN", MS_SEV_ERROR, "recipe", "unknown modifier type", explain_e_type_unknown},
    {"E-FIELD-UNKNOWN", MS_SEV_ERROR, "recipe", "unknown field of a modifier",
     explain_e_field_unknown},
    {"E-MISPLACED", MS_SEV_ERROR, "recipe", "a config group (`group_0`) outside `config_groups`",
     explain_e_misplaced},
    {"E-TYPE", MS_SEV_ERROR, "recipe", "a value of the wrong type", explain_e_type},
    {"E-ENUM", MS_SEV_ERROR, "recipe", "a value that is not one of the allowed ones",
     explain_e_enum},
    {"E-PATTERN", MS_SEV_ERROR, "recipe", "a string of the wrong form", explain_e_pattern},
    {"E-BOUNDS", MS_SEV_ERROR, "recipe", "a number or a list length out of bounds",
     explain_e_bounds},
    {"E-REQUIRED", MS_SEV_ERROR, "recipe", "a required field is missing", explain_e_required},
    {"E-AWQ-ORDER", MS_SEV_ERROR, "recipe", "AWQModifier with no quantization modifier after it",
     explain_e_awq_order},
    {"E-CALC", MS_SEV_ERROR, "recipe", "a `calc(...)` expression that does not parse",
     explain_e_calc},
    {"E-QUANT-ARGS", MS_SEV_ERROR, "recipe",
     "quantization arguments compressed-tensors refuses together", explain_e_quant_args},
    {"E-QUANT-SCHEME", MS_SEV_ERROR, "recipe", "activation arguments a quantization scheme refuses",
     explain_e_quant_scheme},
    {"E-SCHEME-CONFLICT", MS_SEV_ERROR, "recipe",
     "both `scheme` and `config_groups` on one modifier", explain_e_scheme_conflict},
    {"E-OBSERVER-CONFLICT", MS_SEV_ERROR, "recipe",
     "both the `observer` map and `*_observer` fields", explain_e_observer_conflict},
    {"E-ACTORDER-CONFLICT", MS_SEV_ERROR, "recipe",
     "GPTQModifier's `actorder` differs from a config group's", explain_e_actorder_conflict},
    {"E-VALIDATION", MS_SEV_ERROR, "recipe",
     "a conflict 0.13's validators refuse as the recipe loads", explain_e_validation},
    {"E-OWL", MS_SEV_ERROR, "recipe", "some but not all of SparseGPT's/Wanda's OWL settings",
     explain_e_owl},
    {"E-TYPE-REMOVED", MS_SEV_ERROR, "recipe", "a modifier type upstream removed",
     explain_e_type_removed},
    {"E-TYPE-VERSION", MS_SEV_ERROR, "recipe",
     "a modifier type the checked llm-compressor release does not have", explain_e_type_version},
    {"E-GROUP-ARG", MS_SEV_ERROR, "recipe", "a `group:` argument inside a modifier",
     explain_e_group_arg},
    {"E-STAGE", MS_SEV_ERROR, "recipe", "`--stage NAME` matches no stage of the recipe",
     explain_e_stage},
    {"E-NOT-SUPPORTED", MS_SEV_ERROR, "recipe",
     "a QuIP or SpinQuant option upstream refuses as not implemented", explain_e_not_supported},
    {"E-INITIALIZE", MS_SEV_ERROR, "recipe",
     "upstream loads the recipe, then a modifier raises before calibrating", explain_e_initialize},
    {"E-NO-MODIFIERS", MS_SEV_ERROR, "recipe",
     "`modsim export` of a recipe or stage with no modifiers", explain_e_no_modifiers},
    {"W-IGNORED-KEY", MS_SEV_WARNING, "recipe",
     "a key upstream skips silently (not `*_stage` / `*_modifiers`)", explain_w_ignored_key},
    {"W-INTERNAL-FIELD", MS_SEV_WARNING, "recipe",
     "`initialized_`, `started_`, `ended_` or `finalized_` set in a recipe",
     explain_w_internal_field},
    {"W-QUOTED-NUMBER", MS_SEV_WARNING, "recipe", "a quoted number, which pydantic converts",
     explain_w_quoted_number},
    {"W-LAX-BOOL", MS_SEV_WARNING, "recipe",
     "a string or 0/1 for a boolean, which pydantic converts", explain_w_lax_bool},
    {"W-DEPRECATED", MS_SEV_WARNING, "recipe", "a deprecated modifier type or field",
     explain_w_deprecated},
    {"W-END-NEG", MS_SEV_WARNING, "recipe", "`end: -1`, which never starts the modifier",
     explain_w_end_neg},
    {"W-END-BEFORE-START", MS_SEV_WARNING, "recipe", "`end <= start`", explain_w_end_before_start},
    {"W-ZERO-SPAN", MS_SEV_WARNING, "recipe", "`start == end` with a scheduler (division by zero)",
     explain_w_zero_span},
    {"W-POLY-EVEN", MS_SEV_WARNING, "recipe", "polynomial_decay with an even exponent",
     explain_w_poly_even},
    {"W-SCHED-RANGE", MS_SEV_WARNING, "recipe", "a scheduler leaving [0, 1] in [start, end]",
     explain_w_sched_range},
    {"W-CALC-RAISES", MS_SEV_WARNING, "recipe",
     "a `calc(...)` expression that raises when evaluated", explain_w_calc_raises},
    {"W-CALC-PARENS", MS_SEV_WARNING, "recipe",
     "parentheses inside `calc(...)`, which upstream refuses", explain_w_calc_parens},
    {"W-UPDATE-IGNORED", MS_SEV_WARNING, "recipe", "`update` set on a modifier that ignores it",
     explain_w_update_ignored},
    {"W-START-NEVER", MS_SEV_WARNING, "recipe",
     "`start > 0` (or no start) on a modifier whose events carry index 0", explain_w_start_never},
    {"W-STAGES-FLAT", MS_SEV_WARNING, "recipe", "several stages flattened into one modifier list",
     explain_w_stages_flat},
    {"W-ONESHOT-TRAINING", MS_SEV_WARNING, "recipe",
     "a training-driven modifier run by oneshot(), which never ends it",
     explain_w_oneshot_training},
    {"W-TRAINING-CALIB", MS_SEV_WARNING, "recipe",
     "a calibration-driven modifier run by a training loop, which never starts it",
     explain_w_training_calib},
    {"W-CALIB-MARKS", MS_SEV_WARNING, "recipe",
     "a training-driven modifier 0.13's calibration events flag without running its start or "
     "end",
     explain_w_calib_marks},
    {"W-END-NEVER", MS_SEV_WARNING, "recipe",
     "`end > 0` on a modifier whose events carry index 0 (a training loop)", explain_w_end_never},
    {"E-LOAD", MS_SEV_ERROR, "any",
     "a file that could not be loaded, for a reason without a code of its own", NULL},
    {"E-NOMEM", MS_SEV_ERROR, "any", "out of memory", NULL},
    {"E-SCHEMA", MS_SEV_ERROR, "modsim",
     "the compiled-in recipe schema is broken (a bug in modsim)", NULL},
    {"E-SCENARIO", MS_SEV_ERROR, "scenario",
     "a scenario file that does not follow the scenario format", NULL},
    {"E-SIM", MS_SEV_ERROR, "scenario", "a call names a modifier the recipe does not have", NULL},
    {"E-PIPELINE", MS_SEV_ERROR, "session", "a clock or pipeline setting out of its range", NULL},
    {"E-HISTORY", MS_SEV_ERROR, "history",
     "a history file that cannot be used (not a history, unwritable, locked, full)", NULL},
    {"E-HISTORY-NEWER", MS_SEV_ERROR, "history", "a history file from a newer modsim's schema",
     NULL},
    {"E-HISTORY-RUN", MS_SEV_ERROR, "history", "a run id the history does not have", NULL},
    {"E-FIELD", MS_SEV_ERROR, "draft", "an edit names no field, or a value that is not YAML", NULL},
    {"E-INDEX", MS_SEV_ERROR, "draft", "an edit names a modifier the draft does not have", NULL},
    {"E-MOVE", MS_SEV_ERROR, "draft", "a modifier moved past the first or last place", NULL},
    {"E-UNDO", MS_SEV_ERROR, "draft", "nothing to undo or redo", NULL},
    {"E-MODEL-SPEC", MS_SEV_ERROR, "model",
     "a model spec YAML with a missing, unknown or out-of-range field", NULL},
    {"E-WEIGHTS", MS_SEV_ERROR, "model", "a weights file whose tensors do not match the model",
     NULL},
    {"E-FORWARD", MS_SEV_ERROR, "model",
     "a decoder layer run out of order in a calibration forward pass", NULL},
    {"E-TOKENS", MS_SEV_ERROR, "model", "an empty token batch", NULL},
    {"E-TARGET", MS_SEV_ERROR, "model",
     "a target or ignore pattern modsim cannot match (a regex POSIX cannot express)", NULL},
    {"W-TARGET-UNMATCHED", MS_SEV_WARNING, "model", "a target or ignore that matches no module",
     NULL},
    {"E-SAFETENSORS", MS_SEV_ERROR, "model",
     "a safetensors file that is malformed, or a dtype modsim cannot convert", NULL},
    {"E-KERNEL-USAGE", MS_SEV_ERROR, "kernel",
     "modsim kernel called without what it needs (--in, --out, an op)", NULL},
    {"E-KERNEL-OP", MS_SEV_ERROR, "kernel", "an unknown kernel op", NULL},
    {"E-KERNEL-OPTION", MS_SEV_ERROR, "kernel",
     "an unknown option, or one that does not apply to the op", NULL},
    {"E-KERNEL-OPTIONS", MS_SEV_ERROR, "kernel", "options that do not go together", NULL},
    {"E-KERNEL-VALUE", MS_SEV_ERROR, "kernel", "an option value that is not valid", NULL},
    {"E-KERNEL-SHAPE", MS_SEV_ERROR, "kernel", "a tensor whose shape the op's settings do not fit",
     NULL},
    {"E-KERNEL-CALIB", MS_SEV_ERROR, "kernel",
     "calibration inputs missing, empty or of the wrong shape", NULL},
    {"E-KERNEL-NO-TENSORS", MS_SEV_ERROR, "kernel", "no 2-D float tensor in the file matches",
     NULL},
    {"E-POOL", MS_SEV_ERROR, "kernel", "more worker threads than the pool allows", NULL},
    {"E-NONFINITE", MS_SEV_ERROR, "kernel", "a NaN or infinity in a kernel's input", NULL},
    {"E-NOT-SPD", MS_SEV_ERROR, "kernel",
     "a Hessian that is not positive definite (Cholesky failed)", NULL},
    {"E-SINGULAR", MS_SEV_ERROR, "kernel", "a triangular matrix with a zero on its diagonal", NULL},
    {"E-SELECT-K", MS_SEV_ERROR, "kernel", "a rank outside the scores (top-k selection)", NULL},
    {"E-SPARSITY", MS_SEV_ERROR, "kernel", "a sparsity outside [0, 1]", NULL},
    {"E-PRUNE-NM", MS_SEV_ERROR, "kernel", "an N:M structure that does not fit the columns", NULL},
    {"E-PRUNE-STRUCTURE", MS_SEV_ERROR, "kernel", "an unknown mask structure", NULL},
    {"E-QUANT-BITS", MS_SEV_ERROR, "kernel", "a bit width the code type does not support", NULL},
    {"E-QUANT-TYPE", MS_SEV_ERROR, "kernel", "an unknown quantization type", NULL},
    {"E-QUANT-STRATEGY", MS_SEV_ERROR, "kernel", "an unknown quantization strategy", NULL},
    {"E-QUANT-GROUP", MS_SEV_ERROR, "kernel", "a group size that does not divide the columns",
     NULL},
    {"E-QUANT-BLOCK", MS_SEV_ERROR, "kernel", "a block structure with a zero side", NULL},
    {"E-GPTQ-STRATEGY", MS_SEV_ERROR, "kernel", "a quantization strategy GPTQ does not support",
     NULL},
    {"E-GPTQ-ACTORDER", MS_SEV_ERROR, "kernel", "actorder group without the group strategy", NULL},
    {"E-GPTQ-BLOCK", MS_SEV_ERROR, "kernel", "a GPTQ block size that is not positive", NULL},
    {"E-GPTQ-DAMP", MS_SEV_ERROR, "kernel", "a negative GPTQ dampening fraction", NULL},
    {"E-SGPT-BLOCK", MS_SEV_ERROR, "kernel", "a SparseGPT block size that is not positive", NULL},
    {"E-SGPT-DAMP", MS_SEV_ERROR, "kernel", "a negative SparseGPT dampening fraction", NULL},
    {"E-HESSIAN-SAMPLES", MS_SEV_ERROR, "kernel", "a Hessian batch with no samples", NULL},
    {"E-WANDA-SAMPLES", MS_SEV_ERROR, "kernel", "a Wanda batch with no samples", NULL},
    {"E-WANDA-SHAPE", MS_SEV_ERROR, "kernel", "weights and Wanda statistics of different widths",
     NULL},
    {"E-SQ-ALPHA", MS_SEV_ERROR, "kernel", "a SmoothQuant strength outside [0, 1]", NULL},
    {"E-SQ-SCALE", MS_SEV_ERROR, "kernel", "a SmoothQuant scale that is not positive", NULL},
    {"E-SQ-SHAPE", MS_SEV_ERROR, "kernel", "SmoothQuant balance layers of different widths", NULL},
    {"E-RUN-LAYERS", MS_SEV_ERROR, "run", "a --layers that differs from the model's", NULL},
    {"E-WORLD-SCHEME", MS_SEV_ERROR, "run",
     "a quantization scheme the model-backed world does not apply", NULL},
    {"E-WORLD", MS_SEV_ERROR, "run", "a kernel or forward pass failing during a run", NULL},
    {"E-WORLD-SPARSITY", MS_SEV_ERROR, "run",
     "SparseGPT/Wanda layer sparsities (a list, OWL) that do not fit the target layers", NULL},
    {"E-WORLD-AWQ", MS_SEV_ERROR, "run",
     "AWQ mappings or options the model-backed world cannot resolve or upstream refuses", NULL},
    {"E-WORLD-STOPPED", MS_SEV_ERROR, "tui", "a model's step cancelled (Esc) before it ended",
     NULL},
    {"E-WORLD-RESTORE", MS_SEV_ERROR, "tui", "a step back to a call the snapshots never recorded",
     NULL},
    {"E-CALIB-TOKENS", MS_SEV_ERROR, "run",
     "a calibration token file that is not ids of the model's vocabulary", NULL},
    {"E-RUN-MODEL", MS_SEV_ERROR, "trace", "a model option without a model", NULL},
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
    char upper[64];
    size_t n = 0;
    for (; code[n] && n + 1 < sizeof upper; n++)
        upper[n] = (char)(code[n] >= 'a' && code[n] <= 'z' ? code[n] - 'a' + 'A' : code[n]);
    upper[n] = '\0';
    const char *best = NULL;
    size_t best_distance = SIZE_MAX;
    for (size_t i = 0; i < ms_code_count(); i++) {
        size_t d = ms_edit_distance(upper, codes[i].code);
        if (d < best_distance) {
            best_distance = d;
            best = codes[i].code;
        }
    }
    return best;
}

ms_diag *ms_report_at(ms_report *r, const char *code, const ms_node *at, const char *fmt, ...)
{
    if (code != r->last_code) {
        r->last_code = code;
        r->last_info = ms_code_find(code);
    }
    const ms_code_info *info = r->last_info;
    va_list ap;
    va_start(ap, fmt);
    ms_diag *d = ms_diag_list_addv(r->out, info ? info->severity : MS_SEV_ERROR, code, r->file,
                                   at ? at->line : 0, at ? at->col : 0, fmt, ap);
    va_end(ap);
    if (!d && r->st == MS_OK)
        r->st = MS_ERR_NOMEM;
    return d;
}
