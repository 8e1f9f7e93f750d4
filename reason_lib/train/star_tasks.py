"""The STaR loop (`reason_lib.train.star`) wired to its tasks: multiple choice in English and
Yoruba (experiment B), with SFT on correct rationales or DPO on (correct, incorrect) pairs; and
GSM8K with pause LMs (experiment A), STaR or constant textual reward conditioning."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from transformers import set_seed

from reason_lib import distributed
from reason_lib.answers import extract_choice, extract_gsm8k
from reason_lib.data.gsm8k import gsm8k_prompt
from reason_lib.data.mmlu import mc_prompt
from reason_lib.data.pauses import pause_augment, strip_pauses
from reason_lib.evaluate import evaluate_choice, evaluate_pause_gsm8k
from reason_lib.experiments.pause_star.params import REWARD_TAGS, conditioning_prefix, parse_variant
from reason_lib.fields import memory
from reason_lib.generate import grouped, pause_generate, render_prompts, sample_groups
from reason_lib.models.delta import save_delta
from reason_lib.models.load import lora_config
from reason_lib.models.pause_lm import PauseLM
from reason_lib.train.dpo import dpo, dpo_rows
from reason_lib.train.pause import train_pause_lm
from reason_lib.train.sft import conversation_rows, sft
from reason_lib.train.star import correct_rows, loops_to_test, preference_pairs, ranked, star

def judged_in(languages, params, eval_langs) -> list[str]:
    """Of `languages` (in their order), those a run is validated and tested in: every one, or
    with `other_language` off only its evaluation language(s) `eval_langs`, the ones the claims
    read."""
    return [lg for lg in languages if params.other_language or lg in eval_langs]


def parse_run(name: str) -> dict:
    """'english' / 'yoruba' / 'translate_en_yo' (+ '_dpo') -> train and eval language, strategy."""
    strategy = "dpo" if name.endswith("_dpo") else "star"
    base = name.removesuffix("_dpo")
    langs = {"english": ("en", "en"), "yoruba": ("yo", "yo"),
             "translate_en_yo": ("en", "yo"), "translate_yo_en": ("yo", "en")}
    if base not in langs:
        raise ValueError(f"STaR-MMLU run {name!r}: expected one of {sorted(langs)} (+ '_dpo')")
    train, evaluate = langs[base]
    kind = "translate" if train != evaluate else base
    return {"name": name, "train_lang": train, "eval_lang": evaluate, "strategy": strategy,
            "run_type": kind}


class MultipleChoiceSTaR:
    """STaR (or DPO) on multiple choice as `star` asks of a task: `sample`, `is_correct`,
    `finetune`, `validate`, `save`; `run()` runs it from a fresh copy of the start model.
    `twins`: runs that train exactly these models (the same training language and strategy, e.g.
    translate_en_yo beside english) but are judged in another language: each loop is validated in
    theirs too, and `twin(result, name)` gives their result from this run's.

    `data` = {split: {"en": rows, "yo": rows}} (or English alone); `load_model_fn()` loads the
    start model. With LoRA, a loop's model is the previous loop's plus the adapters trained in it
    (merged in memory): its checkpoint keeps those adapters alone (`models.delta`), not a merged
    copy."""

    def __init__(self, name: str, params, data: dict, load_model_fn, tokenizer, output_dir,
                 run=None, progress: bool = True, twins: tuple[str, ...] = (),
                 firsts: dict | None = None):
        self.name, self.params, self.data, self.tokenizer = name, params, data, tokenizer
        self.load_model_fn, self.output_dir, self.run_, self.progress = \
            load_model_fn, Path(output_dir), run, progress
        self.spec = parse_run(name)
        self.twins = {t: parse_run(t) for t in twins}
        if any(t["train_lang"] != self.spec["train_lang"] or t["strategy"] != self.spec["strategy"]
               for t in self.twins.values()):
            raise ValueError(f"STaR-MMLU run {name!r}: twins {list(twins)} must train as it does "
                             f"({self.spec['train_lang']}, {self.spec['strategy']})")
        self.eval_langs = {self.spec["eval_lang"], *(t["eval_lang"] for t in self.twins.values())}
        self.lang = self.spec["train_lang"]
        self.gen = dict(max_new_tokens=params.max_new_tokens, batch_size=params.eval_batch_size,
                        progress=progress)
        self.epochs = params.single_batch_epochs if params.single_batch else params.epochs
        self.peft = lora_config(params.lora_r, 2 * params.lora_r) if params.lora else None
        # a sampling call holds prompts x k sequences: sample_batch_size counts sequences
        k = params.samples_per_question
        self.prompts_per_call = max(1, params.sample_batch_size // k) \
            if params.sample_batch_size else params.eval_batch_size
        self.trained_adapters: dict[int, list] = {}
        self.start_source = None
        # what every run of the same start, seed and training language computes alike before it
        # trains (`firsts`: shared by `star_mmlu_runs`' runs): the start model's validation
        # (loop 0) and its rollouts (loop 1, drawn under loop 1's seed); None: computed alone
        self.firsts = firsts
        self.calls = {"validate": 0, "sample": 0}
        self.fresh = False  # `run` sets it: no loop of this run is on disk yet

    def _first(self, call: str, key: tuple, compute):
        """`compute()` on the first `call` of a fresh run, or the result an earlier run of
        `firsts` left under `key` with torch's generator state after it (what sampling draws
        from; what is drawn next, e.g. new LoRA weights, follows on as it would have): identical,
        since both start from the same model under the same seed. Later calls, and resumed runs,
        compute."""
        self.calls[call] += 1
        if self.firsts is None or self.calls[call] > 1 or not self.fresh:
            return compute()
        key = (call, self.spec["train_lang"], *key)
        if key in self.firsts:
            result, (cpu, cuda) = self.firsts[key]
            torch.set_rng_state(cpu)
            if cuda:
                torch.cuda.set_rng_state_all(cuda)
            return copy.deepcopy(result)
        result = compute()
        self.firsts[key] = (copy.deepcopy(result), (torch.get_rng_state(), torch.cuda.get_rng_state_all()
                                                    if torch.cuda.is_available() else None))
        return result

    def sample(self, model, rows):
        return self._first("sample", (), lambda: self._sample(model, rows))

    def _sample(self, model, rows):
        return sample_groups(model, self.tokenizer, [mc_prompt(r, self.lang) for r in rows],
                             self.params.samples_per_question, temperature=self.params.temperature,
                             desc=f"{self.name}: rollouts",
                             **{**self.gen, "batch_size": self.prompts_per_call})

    def is_correct(self, row, reply) -> bool:
        return extract_choice(reply) == row["Answer"]

    def finetune(self, model, rows, samples, flags, loop):
        p, lang = self.params, self.lang
        if p.restart_each_loop:
            model = self.load_model_fn()
        out = self.output_dir / f"train-{loop}"
        adapters = self.trained_adapters.setdefault(loop, [])
        kept = correct_rows(rows, samples, flags, p.one_per_question, seed=p.seed + loop)
        common = dict(batch_size=p.batch_size, max_length=p.max_length, seed=p.seed,
                      run=self.run_, peft_config=self.peft, bf16=p.dtype == "bfloat16",
                      log_prefix=f"{self.name}/loop{loop}/", **memory(p))
        if (self.spec["strategy"] == "star" or p.dpo_sft_first) and kept:
            model, _ = sft(model, self.tokenizer, conversation_rows(
                [mc_prompt(r, lang) for r, _ in kept], [c for _, c in kept]), out / "sft",
                epochs=self.epochs, learning_rate=p.learning_rate, save_strategy="no",
                warmup_ratio=p.warmup_ratio, disable_tqdm=not self.progress, **common)
            model = _merged(model, p.lora, out / "sft-adapter", adapters)
        if self.spec["strategy"] == "dpo":
            pairs = preference_pairs(rows, samples, flags, seed=p.seed + loop)
            if pairs:
                model, _ = dpo(model, self.tokenizer,
                               dpo_rows([mc_prompt(r, lang) for r, _, _ in pairs],
                                        [c for _, c, _ in pairs], [x for _, _, x in pairs]),
                               out / "dpo", beta=p.dpo_beta, epochs=self.epochs,
                               learning_rate=p.dpo_learning_rate,
                               warmup_steps=p.warmup_ratio, disable_tqdm=not self.progress,
                               **common)
                model = _merged(model, p.lora, out / "dpo-adapter", adapters)
        return model

    def save(self, model, tokenizer, folder, loop):
        if self.params.lora:
            parent = self.start_source if loop == 1 or self.params.restart_each_loop \
                else folder.parent / f"loop-{loop - 1}"
            save_delta(folder, parent, self.trained_adapters.pop(loop, []))
        else:
            model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    def validate(self, model) -> dict:
        val = self.data["validation"]
        return self._first("validate", tuple(self.languages(val)),
                           lambda: self._validate(model, val))

    def _validate(self, model, val: dict) -> dict:
        out, records = {}, []
        for lg in self.languages(val):
            summary, recs = evaluate_choice(model, self.tokenizer, val[lg], lg, **self.gen)
            out[lg] = summary["accuracy"]
            records += [{"lang": lg, **r} for r in recs]
        out["accuracy"] = out[self.spec["eval_lang"]]["value"]
        return {**out, "records": records}

    def languages(self, split: dict) -> list[str]:
        """The languages of `split` a loop is validated in (`judged_in`; twins': theirs too)."""
        return judged_in(split, self.params, self.eval_langs)

    def run(self) -> dict:
        """{"spec", "history" (per loop: validation accuracy in each language), "best_loop",
        "model", ...`star`'s result}."""
        start = self.load_model_fn()
        self.start_source = start.name_or_path
        self.fresh = not any(self.output_dir.glob("loop-*/metrics.json"))  # else star resumes
        result = star(start, self.tokenizer, self.data["train"][self.lang], sample=self.sample,
                      is_correct=self.is_correct, finetune=self.finetune, validate=self.validate,
                      output_dir=self.output_dir, outer_loops=self.params.outer_loops,
                      load=self.load_model_fn, reload_start=self.load_model_fn, save=self.save,
                      run=self.run_, log_prefix=f"{self.name}/", resume=True,
                      progress=self.progress, seed=self.params.seed,
                      tested=self.params.tested_best,
                      also_ranked_by=tuple(sorted(self.eval_langs - {self.spec["eval_lang"]})))
        return {"spec": self.spec, **result}

    def twin(self, result: dict, name: str) -> dict:
        """The result of twin run `name` from this run's `result` (the same loops and models):
        its history with its own evaluation language's validation accuracy, which picks its best
        loop and tested loops as `star` would have had it run alone; its model is not loaded
        ("model": None; `load(best_loop)` loads it)."""
        lang = self.twins[name]["eval_lang"]
        history = [{**h, "validation_accuracy": h["validation"][lang]["value"]}
                   for h in result["history"]]
        return {"spec": self.twins[name], "history": history,
                "best_loop": ranked(history)[0]["loop"],
                "tested_loops": loops_to_test(history, self.params.tested_best),
                "load": result["load"],
                "model": None}


def star_mmlu_run(name: str, params, data: dict, load_model_fn, tokenizer, output_dir, run=None,
                  progress: bool = True) -> dict:
    """One STaR (or DPO) run on multiple choice from a fresh copy of the start model
    (`MultipleChoiceSTaR`)."""
    return MultipleChoiceSTaR(name, params, data, load_model_fn, tokenizer, output_dir, run,
                              progress).run()


def twin_groups(names: list[str]) -> list[list[str]]:
    """`names` grouped by what a run trains (training language and strategy), in order of first
    appearance: english and translate_en_yo train the same models (they differ only in the
    language that judges them), so one STaR run serves both."""
    groups: dict[tuple, list[str]] = {}
    for name in names:
        spec = parse_run(name)
        groups.setdefault((spec["train_lang"], spec["strategy"]), []).append(name)
    return list(groups.values())


def star_mmlu_runs(params, data: dict, load_model_fn, tokenizer, checkpoints, run=None,
                   progress: bool = True):
    """(name, result) for every run of `params.runs`, one STaR run per group of twins
    (`twin_groups`), each from a fresh copy of the start model at `params.seed`; its checkpoints
    go to `checkpoints/<first name of the group>`, which each result names under "trained_with".
    A twin's result equals the one it gets alone (the same seed, rows and training; greedy
    validation draws nothing), with "model" None (its best loop: `load(best_loop)`). Runs that
    train in the same language (yoruba and yoruba_dpo) share their start model's validation and
    first rollouts (`MultipleChoiceSTaR.firsts`): the second's equal what it would draw alone.
    Lazy: the caller's result (and its model) is dropped before the next one is made."""
    firsts: dict = {}
    for first, *others in twin_groups(params.runs):
        set_seed(params.seed)
        task = MultipleChoiceSTaR(first, params, data, load_model_fn, tokenizer,
                                  Path(checkpoints) / first, run, progress, twins=tuple(others),
                                  firsts=firsts)
        result = task.run()
        model = result.pop("model")
        yield first, {**result, "model": model, "trained_with": first}
        del model
        for name in others:
            yield name, {**task.twin(result, name), "trained_with": first}


def overfit_check(accuracies: dict[str, float], target: float) -> dict:
    """The verdict of sanity mode (`single_batch`: train and test on one batch): every run must
    fit the batch it trained on. {"runs": {name: {accuracy, passed}}, "target", "passed"}."""
    runs_ = {name: {"accuracy": acc, "passed": acc >= target} for name, acc in accuracies.items()}
    return {"runs": runs_, "target": target, "passed": all(r["passed"] for r in runs_.values())}


def _merged(model, lora: bool, folder, saved: list):
    """A LoRA-trained model with its adapters merged, so the next loop starts from plain weights;
    the adapters are saved to `folder` first (appended to `saved`) for the loop's checkpoint."""
    if not lora:
        return model
    distributed.main_writes(model.save_pretrained, folder)
    saved.append(folder)
    return model.merge_and_unload()


def pause_loader(params, default, pauses: bool):
    """`load(path=None, **kwargs)`: a saved pause LM (`default` unless `path`) with the parts
    `params` flags trainable (LoRA when `params.lora`); without pauses a plain LM fine-tune, the
    pause parts frozen."""
    lora = {"r": params.lora_r, "alpha": 2 * params.lora_r} if params.lora else None

    def load(path=None, **kwargs):
        model = PauseLM.from_pretrained(path or default, dtype=params.dtype, device=params.device,
                                        **kwargs)
        model.set_trainable(params.pause_embedding, params.pause_head, params.lm_head,
                            params.lm_embeddings, lora, use_pauses=pauses)
        return model

    return load


def pause_warmup(params, start_path, pause_id: int, tokenizer, rows: list[dict], pauses: bool,
                 checkpoints, run=None, progress: bool = True) -> Path:
    """Warm a pause LM up from the start model (pause STaR's step 2) into
    `<checkpoints>/warmup-pause` (random pauses in `n_generated_samples_per_datapoint` copies of
    each answer) or `warmup-no_pause` (the plain answers, pause parts frozen), seeded alone so its
    LoRA initialisation does not depend on what ran before. A folder holding a finished warm-up
    is left as it is (a resumed run). Returns the folder."""
    tag = "pause" if pauses else "no_pause"
    path = Path(checkpoints) / f"warmup-{tag}"
    if (path / "pause.safetensors").is_file():
        return path
    set_seed(params.seed)
    model = pause_loader(params, start_path, pauses)(pause_token_id=pause_id)
    if params.warmup_epochs > 0:  # 0: the start model itself (no gold rationale seen here)
        augmented = pause_augment(rows, params.n_random_pauses if pauses else 0,
                                  params.n_generated_samples_per_datapoint if pauses else 1,
                                  n_pauses_per_patterns=params.n_pauses_per_patterns if pauses
                                  else None, seed=params.seed)
        train_pause_lm(model, tokenizer, [{"prompt": gsm8k_prompt(r), "completion": r["answer"]}
                                          for r in augmented],
                       epochs=params.warmup_epochs, batch_size=params.batch_size,
                       learning_rate=params.learning_rate, max_length=params.max_length,
                       seed=params.seed, run=run, log_prefix=f"warmup-{tag}/",
                       progress=progress, **memory(params))
    distributed.main_writes(model.save_pretrained, path, tokenizer)  # once, read by all processes
    return path


def evaluate_pause_variant(model, tokenizer, rows: list[dict], params, method: str, pauses: bool,
                           temperature: float, progress: bool = True) -> tuple[dict, list[dict]]:
    """GSM8K accuracy and pauses of a pause LM decoded as a pause-STaR variant decodes: after its
    method's conditioning prefix, with `params`' generation budget, batch size and pause bound."""
    return evaluate_pause_gsm8k(model, tokenizer, rows, prefix=conditioning_prefix(method),
                                temperature=temperature, max_new_tokens=params.max_new_tokens,
                                batch_size=params.eval_batch_size,
                                max_consecutive_pauses=params.max_consecutive_pauses,
                                allow_pauses=pauses, progress=progress)


class PauseSTaR:
    """STaR or constant textual reward conditioning of a pause LM on GSM8K rows, as `star` asks of
    a task (`sample`, `is_correct`, `finetune`, `validate`); `run()` runs it from the warmed-up
    model (`load_warm(path=None)` loads it, or a checkpointed loop, trainable as configured)."""

    def __init__(self, variant: str, params, rows: list[dict], validation: list[dict], load_warm,
                 tokenizer, output_dir, run=None, progress: bool = True):
        self.variant, self.params, self.rows, self.validation = variant, params, rows, validation
        self.load_warm, self.tokenizer, self.output_dir, self.run_, self.progress = \
            load_warm, tokenizer, output_dir, run, progress
        self.spec = parse_variant(variant)
        self.prefix = conditioning_prefix(self.spec["method"])
        self.decode = dict(max_new_tokens=params.max_new_tokens, batch_size=params.eval_batch_size,
                           max_consecutive_pauses=params.max_consecutive_pauses,
                           allow_pauses=self.spec["pauses"], progress=progress)

    def sample(self, model, rows):
        k = self.params.samples_per_problem
        prompts = [p + self.prefix
                   for p in render_prompts(self.tokenizer, [gsm8k_prompt(r) for r in rows])]
        return grouped(pause_generate(model, self.tokenizer, [p for p in prompts for _ in range(k)],
                                      temperature=self.spec["temperature"],
                                      desc=f"{self.variant}: rollouts", **self.decode), k)

    def is_correct(self, row, reply) -> bool:
        return extract_gsm8k(strip_pauses(reply)) == extract_gsm8k(row["answer"])

    def finetune(self, model, rows, samples, flags, loop):
        p = self.params
        if self.spec["method"] == "star":
            kept = correct_rows(rows, samples, flags)
            data = [{"prompt": gsm8k_prompt(r), "completion": c} for r, c in kept]
        else:  # every reply, tagged with the reward it earned
            data = [{"prompt": gsm8k_prompt(r), "completion": f"{REWARD_TAGS[f]}\n{c}"}
                    for r, replies, fl in zip(rows, samples, flags) for c, f in zip(replies, fl)]
        if data:
            train_pause_lm(model, self.tokenizer, data, epochs=p.epochs, batch_size=p.batch_size,
                           learning_rate=p.learning_rate, max_length=p.max_length,
                           seed=p.seed + loop, run=self.run_,
                           log_prefix=f"{self.variant}/loop{loop}/", progress=self.progress,
                           **memory(p))
        return model

    def validate(self, model) -> dict:
        summary, records = evaluate_pause_variant(
            model, self.tokenizer, self.validation, self.params, self.spec["method"],
            self.spec["pauses"], 0.0 if self.params.greedy_eval else self.spec["temperature"],
            progress=self.progress)
        return {"accuracy": summary["accuracy"]["value"], "proportion": summary["accuracy"],
                "pauses": summary["pauses"], "records": records}

    def run(self) -> dict:
        """{"spec", "history", "best_loop", "model", ...`star`'s result}."""
        result = star(self.load_warm(), self.tokenizer, self.rows, sample=self.sample,
                      is_correct=self.is_correct, finetune=self.finetune, validate=self.validate,
                      output_dir=self.output_dir, outer_loops=self.params.outer_loops,
                      load=self.load_warm, reload_start=self.load_warm, run=self.run_,
                      log_prefix=f"{self.variant}/", resume=True, progress=self.progress,
                      seed=self.params.seed, tested=self.params.tested_best)
        return {"spec": self.spec, **result}


def pause_star_run(variant: str, params, rows: list[dict], validation: list[dict], load_warm,
                   tokenizer, output_dir, run=None, progress: bool = True) -> dict:
    """One STaR / reward-conditioning run of a pause LM (`PauseSTaR`)."""
    return PauseSTaR(variant, params, rows, validation, load_warm, tokenizer, output_dir, run,
                     progress).run()
