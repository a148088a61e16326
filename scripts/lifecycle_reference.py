#!/usr/bin/env python3
"""An independent model of llm-compressor's modifier lifecycle, used to write
the expected traces of tests/scenarios (scripts/lifecycle_reference.py
SCENARIO.yaml > SCENARIO.jsonl).

It restates, in plain Python, the rules of upstream's core/events/event.py,
modifiers/modifier.py, core/lifecycle.py, the calibration-driven modifiers'
on_event/on_finalize and pruning/helpers.py schedulers (revision 715e1166c^),
so modsim's C engine is checked against a second implementation rather than
against its own output. Needs PyYAML (Debian: python3-yaml).

With `upstream: "0.13"` in the scenario (or --upstream 0.13 after the path,
which wins, as in `modsim trace`) it follows revision ab1ba3eff instead:
calibration_start/calibration_end, the base update_event running
on_calibration_start / on_sequential_epoch_end / on_calibration_end for every
modifier (modifiers/modifier.py:136-150), and the calibration modifiers'
0.13 on_finalize (their on_end is the base no-op there).
"""
import json
import math
import os
import re
import sys

import yaml

ORDER = ["batch_start", "loss_calculated", "optim_pre_step", "optim_post_step", "batch_end"]
EVENTS = ORDER + ["calibration_epoch_start", "sequential_epoch_end", "calibration_epoch_end",
                  "initialize", "finalize"]
# 0.13 renamed the calibration events (core/events/event.py:52-54 at ab1ba3eff)
RENAMED_013 = {"calibration_epoch_start": "calibration_start",
               "calibration_epoch_end": "calibration_end"}
CALIBRATION = {"QuantizationModifier", "GPTQModifier", "SparseGPTModifier",
               "WandaPruningModifier", "SmoothQuantModifier", "LogarithmicEqualizationModifier",
               "AWQModifier", "QuIPModifier", "SpinQuantModifier", "AutoRoundModifier",
               "IMatrixGatherer"}
# the QuantizationMixin types: resolve_quantization_config at initialize
MIXIN = {"QuantizationModifier", "GPTQModifier", "AutoRoundModifier"}
# 0.13: the types whose own on_finalize still "ends" them (the base no-op
# on_end); QuIP, SpinQuant and AutoRound keep the base on_finalize
FINALIZE_ENDS_013 = {"GPTQModifier", "SparseGPTModifier", "WandaPruningModifier",
                     "SmoothQuantModifier", "LogarithmicEqualizationModifier", "AWQModifier"}
TRAINING = {"ConstantPruningModifier", "MagnitudePruningModifier", "OutputDistillationModifier"}
# 0.13: the classes whose on_sequential_epoch_end drops the `modules` parameter
# of the base signature (sgpt_base.py:176, smoothquant/base.py:152,
# awq/base.py:249); others take it, so calling without it is a TypeError
NO_MODULES_013 = {"REAPPruningModifier", "SparseGPTModifier", "WandaPruningModifier",
                  "SmoothQuantModifier",
                  "LogarithmicEqualizationModifier", "AWQModifier"}
# and which class's function the TypeError names (the qualname Python prints)
SEQUENTIAL_OWNER_013 = {"GPTQModifier": "GPTQModifier", "AutoRoundModifier": "AutoRoundModifier",
                        "QuantizationModifier": "QuantizationModifier"}


class Raise(Exception):
    def __init__(self, kind, modifier, message):
        super().__init__(message)
        self.kind, self.modifier, self.message = kind, modifier, message


class Event:
    def __init__(self, type_, global_step=0, steps_per_epoch=None, kwargs=None):
        self.type_, self.global_step, self.steps_per_epoch = type_, global_step, steps_per_epoch
        self.kwargs = kwargs or {}  # what the call passes on (modules=...)

    @property
    def current_index(self):
        if self.steps_per_epoch is None:
            return self.global_step
        return self.global_step / float(self.steps_per_epoch)


def scheduler(name, start, end, update, init, final, args):
    args = dict(args or {})

    def per_complete(ev):
        return (ev.current_index - start) / (end - start)

    if name == "linear":
        return lambda ev: init + (final - init) * per_complete(ev)
    if name in ("cubic", "polynomial_decay"):
        exponent = 3 if name == "cubic" else args.get("exponent", 2)
        return lambda ev: init + (final - init) * (pow(per_complete(ev) - 1, exponent) + 1)
    if name == "polynomial":
        exponent = args.get("exponent", 2)
        return lambda ev: init + (final - init) * per_complete(ev) ** exponent
    if name == "multi_step":
        steps = sorted(args.get("steps", []), key=lambda x: x[0])

        def multi(ev):
            current = init
            for index, sparsity in steps:
                if ev.current_index >= index:
                    current = sparsity
            return current
        return multi
    if name.startswith("calc(") and name.endswith(")"):
        match = re.search(r"calc\(([^()]*)\)", name)
        if not match:
            raise ValueError(f"invalid calc string {name}")
        expr = match.group(1)
        return lambda ev: eval(expr, {"math": math}, {
            "start": start, "end": end, "update": update, "init_sparsity": init,
            "final_sparsity": final, **args, "index": ev.current_index})
    raise ValueError(f"Unknown scheduler type: {name}")


def mask_structure_error(name):
    """mask_factory.py create_mask_creator at 715e1166c~1 (:47-57): an equal
    pattern's creator, else a re.match-ing one inside try/except (a creator
    that raises is skipped), else ValueError."""
    if name in ("unstructured", "channel", "filter"):
        return None
    if name.startswith("block_"):
        try:
            [int(d) for d in name[len("block_"):].split(",")]
            return None
        except ValueError:
            pass
    return f"Invalid mask_structure: {name}"


def resolve_error(type_, a):
    """What QuantizationMixin.resolve_quantization_config raises (mixin.py:319,
    :378; gptq/base.py:148 at 715e1166c~1), or None."""
    if a.get("scheme") is not None and a.get("config_groups") is not None:
        return "Please specify either `scheme` or `config_groups`"
    if a.get("observer") is not None and any(a.get(k) is not None for k in (
            "weight_observer", "input_observer", "output_observer")):
        return ("Cannot specify both individual observer parameters (weight_observer, "
                "input_observer, output_observer) and observer dict. Please use either "
                "individual parameters or the observer dict.")
    if type_ == "GPTQModifier" and a.get("actorder") is not None:
        mine = str(a["actorder"]).lower()
        for group in (a.get("config_groups") or {}).values():
            theirs = ((group or {}).get("weights") or {}).get("actorder")
            if theirs is not None and str(theirs).lower() != mine:
                return ("Cannot resolve activation ordering when both `GPTQModifier.actorder` "
                        "and `QuantizationScheme.actorder` are provided and differ "
                        f"({mine}, {str(theirs).lower()}). Either unset "
                        "`GPTQModifier.actorder` or remove `actorder` from config groups.")
    return None


def has_quant_config(args):
    targets = args.get("targets", ["Linear"])
    if isinstance(targets, str):  # pydantic reads a string as one target
        targets = [targets]
    return not (args.get("config_groups") is None and targets == ["Linear"]
                and args.get("ignore", []) == [] and args.get("scheme") is None
                and args.get("kv_cache_scheme") is None)


class World:
    quant_schemes = 0
    calibration_data = True  # oneshot was given a dataset (state.data.calib)


class Modifier:
    def __init__(self, position, type_, args, out, world, upstream="0.12"):
        self.position, self.type, self.args, self.out, self.world = position, type_, args, out, world
        self.v013 = upstream == "0.13"
        f = lambda k: None if args.get(k) is None else float(args[k])
        self.start, self.end, self.update = f("start"), f("end"), f("update")
        self.initialized_ = self.started_ = self.ended_ = self.finalized_ = False
        self.sparsity = None
        self.call = 0

    def hook(self, name, ev):
        self.out.append({"call": self.call, "modifier": self.position, "hook": name,
                         "event": ev.type_ if ev else None,
                         "index": ev.current_index if ev else None})

    def raise_(self, kind, message):
        raise Raise(kind, self.position, message)

    # -- hooks, per type --
    def on_initialize(self):
        self.hook("on_initialize", None)
        t, a = self.type, self.args
        if t == "MagnitudePruningModifier":
            if a.get("apply_globally"):
                self.raise_("NotImplementedError", "global pruning not implemented yet for PyTorch")
            try:
                self.schedule = scheduler(a.get("update_scheduler", "cubic"), self.start, self.end,
                                          self.update, float(a["init_sparsity"]),
                                          float(a["final_sparsity"]), a.get("scheduler_args"))
            except ValueError as e:
                self.raise_("ValueError", str(e))
            error = mask_structure_error(a.get("mask_structure", "unstructured"))
            if error:
                self.raise_("ValueError", error)
        if t == "QuantizationModifier" and not has_quant_config(a):
            self.raise_("ValueError",
                        "QuantizationModifier requires that quantization fields be specified")
        if t in MIXIN and has_quant_config(a):
            error = resolve_error(t, a)
            if error:
                self.raise_("ValueError", error)
            self.world.quant_schemes += 1
        if t in ("SmoothQuantModifier", "LogarithmicEqualizationModifier"):
            if self.end and self.end != -1:
                self.raise_("ValueError", f"{t} can only be applied during one-shot.  Expected "
                            f"end to be None or -1, got {self.end}")
            if self.start and self.start != -1:
                self.raise_("ValueError", f"{t} can only be applied during one-shot. Expected "
                            f"start to be None or -1, got {self.end}")
            if not self.world.calibration_data:  # smoothquant/base.py:133
                self.raise_("ValueError", f"{t} requires a calibration dataset to be provided")
        return True

    def run_schedule(self, ev):
        try:
            self.sparsity = self.schedule(ev)
        except ZeroDivisionError as e:
            self.raise_("ZeroDivisionError", str(e))
        except TypeError as e:
            self.raise_("TypeError", str(e))
        except NameError as e:
            self.raise_("NameError", str(e))

    def on_start(self, ev):
        self.hook("on_start", ev)
        if self.type == "MagnitudePruningModifier":
            self.run_schedule(ev)
        if self.type in CALIBRATION and not self.v013:
            self.started_ = True
            if self.type == "GPTQModifier" and self.world.quant_schemes == 0:
                self.raise_("ValueError", "GPTQModifier was unable to find any modules to "
                            "quantize. Please check quantization `config_groups` and `targets` "
                            "in recipe")

    def on_update(self, ev):
        self.hook("on_update", ev)
        if self.type == "MagnitudePruningModifier" and ev.type_ == "batch_start":
            self.run_schedule(ev)

    def on_end(self, ev):
        self.hook("on_end", ev)
        if self.type in CALIBRATION and not self.v013:
            self.ended_ = True

    def on_event(self, ev):
        self.hook("on_event", ev)
        if self.type in CALIBRATION and not self.v013:
            if ev.type_ == "calibration_epoch_start" and not self.started_:
                self.on_start(None)
            if ev.type_ == "calibration_epoch_end" and not self.ended_:
                self.on_end(None)

    # -- 0.13 only --
    def on_calibration_start(self, ev):
        self.hook("on_calibration_start", ev)
        # gptq/base.py:234-238: raised before the base marks it started
        if self.type == "GPTQModifier" and self.world.quant_schemes == 0:
            self.raise_("ValueError", "GPTQModifier was unable to find any modules to "
                        "quantize. Please check quantization `config_groups` and `targets` "
                        "in recipe")

    def on_sequential_epoch_end(self, ev):
        if "modules" not in ev.kwargs and self.type not in NO_MODULES_013:
            owner = SEQUENTIAL_OWNER_013.get(self.type, "Modifier")
            # Python refuses the call itself: the hook never runs
            self.raise_("TypeError", f"{owner}.on_sequential_epoch_end() missing 1 required "
                        "positional argument: 'modules'")
        self.hook("on_sequential_epoch_end", ev)

    def on_calibration_end(self, ev):
        self.hook("on_calibration_end", ev)

    def on_finalize(self):
        self.hook("on_finalize", None)
        if self.v013:
            # QuantizationModifier has no on_finalize at 0.13 (the base returns
            # True); the others still call on_end, now the base no-op
            if self.type in FINALIZE_ENDS_013 and not self.ended_:
                self.on_end(None)
            return True
        if self.type in CALIBRATION:
            if not self.ended_:
                self.on_end(None)
            if self.type == "QuantizationModifier":
                return None
        return True

    # -- the base class --
    def should_start(self, ev):
        if self.start is None:
            return False
        current = ev.current_index
        return self.start <= current and (self.end is None or current < self.end)

    def should_end(self, ev):
        return self.end is not None and ev.current_index >= self.end

    def initialize(self):
        if self.initialized_:
            self.raise_("RuntimeError",
                        "Cannot initialize a modifier that has already been initialized")
        if self.finalized_:
            self.raise_("RuntimeError",
                        "Cannot initialize a modifier that has already been finalized")
        self.initialized_ = self.on_initialize()
        fake = Event("batch_start", global_step=0)
        if self.should_start(fake):
            self.on_start(fake)
            self.started_ = True

    def finalize(self):
        if self.finalized_:
            self.raise_("RuntimeError", "cannot finalize a modifier twice")
        if not self.initialized_:
            self.raise_("RuntimeError", "cannot finalize an uninitialized modifier")
        self.finalized_ = self.on_finalize()

    def update_event(self, ev):
        if not self.initialized_:
            self.raise_("RuntimeError", "Cannot update an uninitialized modifier")
        if self.finalized_:
            self.raise_("RuntimeError", "Cannot update a finalized modifier")
        self.on_event(ev)
        if self.v013:
            if ev.type_ == "calibration_start":
                self.on_calibration_start(ev)
                self.started_ = True
                return
            if ev.type_ == "sequential_epoch_end":
                self.on_sequential_epoch_end(ev)
                return
            if ev.type_ == "calibration_end":
                self.on_calibration_end(ev)
                self.ended_ = True
                return
        if ev.type_ == "batch_start" and not self.started_ and self.should_start(ev):
            self.on_start(ev)
            self.started_ = True
            self.on_update(ev)
            return
        if ev.type_ == "batch_end" and not self.ended_ and self.should_end(ev):
            self.on_end(ev)
            self.ended_ = True
            self.on_update(ev)
            return
        if self.started_ and not self.ended_:
            self.on_update(ev)

    def state(self):
        s = {"modifier": self.position, "initialized": bool(self.initialized_),
             "started": bool(self.started_), "ended": bool(self.ended_),
             "finalized": bool(self.finalized_)}
        if self.type == "MagnitudePruningModifier":
            s["sparsity"] = self.sparsity
        return s


def enum_text(name):
    return "EventType." + name.upper()


class Lifecycle:
    def __init__(self, modifiers):
        self.modifiers = modifiers
        self.initialized_ = self.finalized = False
        self.last = "batch_end"

    def initialize(self):
        if self.initialized_:
            return
        for m in self.modifiers:
            m.initialize()
        self.initialized_ = True

    def finalize(self):
        if not self.initialized_:
            raise Raise("ValueError", None, "Cannot finalize before initializing")
        if self.finalized:
            raise Raise("ValueError", None, "Cannot finalize more than once")
        for m in self.modifiers:
            m.finalize()
        self.finalized = True

    def validate_order(self, type_):
        if type_ not in ORDER:
            return True
        valid = (self.last != "batch_start" if type_ == "batch_start"
                 else ORDER.index(self.last) <= ORDER.index(type_))
        if valid:
            self.last = type_
        return valid

    def event(self, ev, loss, only=None):
        """`only`: the independent pipeline sets recipe.modifiers = [modifier]
        around a pass (pipelines/independent/pipeline.py at 715e1166c~1)."""
        if not self.initialized_:
            raise Raise("ValueError", None, "Cannot invoke event before initializing")
        if self.finalized:
            raise Raise("ValueError", None, "Cannot invoke event after finalizing")
        if ev.type_ in ("initialize", "finalize"):
            raise Raise("ValueError", None, f"Cannot invoke {enum_text(ev.type_)} event. "
                        "Use the corresponding method instead.")
        last = self.last
        if not self.validate_order(ev.type_):
            order = ", ".join(f"<{enum_text(o)}: '{o}'>" for o in ORDER)
            raise Raise("ValueError", None, f"Lifecycle events must appear following order: "
                        f"[{order}]. Instead, {enum_text(last)} was called before "
                        f"{enum_text(ev.type_)}")
        if ev.type_ == "loss_calculated" and loss is None:
            raise Raise("ValueError", None, "Loss must be provided for loss calculated event")
        for m in self.modifiers if only is None else [self.modifiers[only]]:
            m.update_event(ev)


def load_modifiers(recipe, out, world, upstream):
    mods = []
    for stage_key, stage in recipe.items():
        if not (stage_key.endswith("_stage") and isinstance(stage, dict)):
            continue
        for group_key, group in stage.items():
            if not (group_key.endswith("_modifiers") and isinstance(group, dict)):
                continue
            for type_, args in group.items():
                mods.append(Modifier(len(mods), type_, args or {}, out, world, upstream))
    return mods


def main(path, chosen=None):
    with open(path) as f:
        sc = yaml.safe_load(f)
    profile = chosen or str(sc.get("upstream") or "0.12")
    if "recipe_file" in sc:
        with open(os.path.join(os.path.dirname(path), sc["recipe_file"])) as f:
            recipe = yaml.safe_load(f)
    else:
        recipe = yaml.safe_load(sc["recipe"])
    upstream = sc.get("index", "step") == "upstream"
    spe = (sc.get("clock") or {}).get("steps_per_epoch")
    out = []
    world = World()
    world.calibration_data = sc.get("calibration_data", True) is not False
    mods = load_modifiers(recipe, out, world, profile)
    lc = Lifecycle(mods)

    def make_event(call):
        kwargs = {"modules": call.get("modules", [])} if "modules" in call or "layer" in call else {}
        if upstream:
            return Event(call["event"], kwargs=kwargs)
        return Event(call["event"], global_step=call.get("global_step") or 0, steps_per_epoch=spe,
                     kwargs=kwargs)

    for i, call in enumerate(sc.get("calls") or []):
        for m in mods:
            m.call = i
        try:
            if call == "initialize":
                lc.initialize()
            elif call == "finalize":
                lc.finalize()
            elif "modifier" in call:
                m = mods[call["modifier"]]
                {"initialize": lambda: m.initialize(), "finalize": lambda: m.finalize(),
                 "update_event": lambda: m.update_event(make_event(call))}[call["call"]]()
            else:
                lc.event(make_event(call), call.get("loss"), call.get("only"))
        except Raise as r:
            out.append({"call": i, "error": r.kind, "modifier": r.modifier, "message": r.message})
        out.append({"call": i, "state": [m.state() for m in mods]})
    for record in out:
        print(json.dumps(record))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--upstream":
        main(sys.argv[1], sys.argv[3])
    else:
        main(sys.argv[1])
