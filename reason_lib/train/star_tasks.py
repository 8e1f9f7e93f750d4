"""The STaR loop (`reason_lib.train.star`) wired to its tasks: multiple choice in English and
Yoruba (experiment B), with SFT on correct rationales or DPO on (correct, incorrect) pairs; and
GSM8K with pause LMs (experiment A), STaR or constant textual reward conditioning."""

from __future__ import annotations

from pathlib import Path

from transformers import set_seed

from reason_lib import distributed
from reason_lib.answers import extract_choice, extract_gsm8k
from reason_lib.config import REWARD_TAGS, conditioning_prefix, memory, parse_variant
from reason_lib.data.gsm8k import gsm8k_prompt
from reason_lib.data.mmlu import mc_prompt
from reason_lib.data.pauses import pause_augment, strip_pauses
from reason_lib.evaluate import evaluate_choice, evaluate_pause_gsm8k
from reason_lib.generate import grouped, pause_generate, render_prompts, sample_groups
from reason_lib.models.delta import save_delta
from reason_lib.models.load import lora_config
from reason_lib.models.pause_lm import PauseLM
from reason_lib.train.dpo import dpo, dpo_rows
from reason_lib.train.pause import train_pause_lm
from reason_lib.train.sft import conversation_rows, sft
from reason_lib.train.star import correct_rows, preference_pairs, star

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


def star_mmlu_run(name: str, params, data: dict, load_model_fn, tokenizer, output_dir, run=None,
                  progress: bool = True) -> dict:
    """One STaR (or DPO) run on multiple choice from a fresh copy of the start model.

    `data` = {split: {"en": rows, "yo": rows}} (or English alone); `load_model_fn()` loads the start
    model. Returns {"spec", "history" (per loop: validation accuracy in each language),
    "best_loop", "model"}.
    """
    spec = parse_run(name)
    lang = spec["train_lang"]
    rows = data["train"][lang]
    gen = dict(max_new_tokens=params.max_new_tokens, batch_size=params.eval_batch_size,
               progress=progress)
    epochs = params.single_batch_epochs if params.single_batch else params.epochs
    peft = lora_config(params.lora_r, 2 * params.lora_r) if params.lora else None

    k = params.samples_per_question
    # a sampling call holds prompts x k sequences: sample_batch_size counts sequences
    prompts_per_call = max(1, params.sample_batch_size // k) if params.sample_batch_size \
        else params.eval_batch_size

    def sample(model, rows_):
        return sample_groups(model, tokenizer, [mc_prompt(r, lang) for r in rows_], k,
                             temperature=params.temperature, desc=f"{name}: rollouts",
                             **{**gen, "batch_size": prompts_per_call})

    def is_correct(row, reply):
        return extract_choice(reply) == row["Answer"]

    # with LoRA, a loop's model is the previous loop's plus the adapters trained in it (merged in
    # memory): its checkpoint keeps those adapters alone (`models.delta`), not a merged copy
    trained_adapters: dict[int, list] = {}

    def finetune(model, rows_, samples, flags, loop):
        if params.restart_each_loop:
            model = load_model_fn()
        out = output_dir / f"train-{loop}"
        adapters = trained_adapters.setdefault(loop, [])
        kept = correct_rows(rows_, samples, flags, params.one_per_question, seed=params.seed + loop)
        common = dict(batch_size=params.batch_size, max_length=params.max_length,
                      seed=params.seed, run=run, peft_config=peft,
                      bf16=params.dtype == "bfloat16", log_prefix=f"{name}/loop{loop}/",
                      **memory(params))
        if spec["strategy"] == "star" or params.dpo_sft_first:
            if kept:
                model, _ = sft(model, tokenizer, conversation_rows(
                    [mc_prompt(r, lang) for r, _ in kept], [c for _, c in kept]), out / "sft",
                    epochs=epochs, learning_rate=params.learning_rate, save_strategy="no",
                    warmup_ratio=params.warmup_ratio, disable_tqdm=not progress, **common)
                model = _merged(model, params.lora, out / "sft-adapter", adapters)
        if spec["strategy"] == "dpo":
            pairs = preference_pairs(rows_, samples, flags, seed=params.seed + loop)
            if pairs:
                model, _ = dpo(model, tokenizer, dpo_rows([mc_prompt(r, lang) for r, _, _ in pairs],
                                                          [c for _, c, _ in pairs],
                                                          [x for _, _, x in pairs]),
                               out / "dpo", beta=params.dpo_beta, epochs=epochs,
                               learning_rate=params.dpo_learning_rate,
                               warmup_steps=params.warmup_ratio, disable_tqdm=not progress,
                               **common)
                model = _merged(model, params.lora, out / "dpo-adapter", adapters)
        return model

    start = load_model_fn()
    start_source = start.name_or_path

    def save(model, tokenizer_, folder, loop):
        if params.lora:
            parent = start_source if loop == 1 or params.restart_each_loop \
                else folder.parent / f"loop-{loop - 1}"
            save_delta(folder, parent, trained_adapters.pop(loop, []))
        else:
            model.save_pretrained(folder)
        tokenizer_.save_pretrained(folder)

    val = data["validation"]

    def validate(model):
        out, records = {}, []
        for lg in val:  # every language the data has
            summary, recs = evaluate_choice(model, tokenizer, val[lg], lg, **gen)
            out[lg] = summary["accuracy"]
            records += [{"lang": lg, **r} for r in recs]
        out["accuracy"] = out[spec["eval_lang"]]["value"]
        return {**out, "records": records}

    result = star(start, tokenizer, rows, sample=sample, is_correct=is_correct,
                  finetune=finetune, validate=validate, output_dir=output_dir,
                  outer_loops=params.outer_loops, load=load_model_fn, reload_start=load_model_fn,
                  save=save, run=run, log_prefix=f"{name}/", resume=True, progress=progress,
                  seed=params.seed)
    return {"spec": spec, **result}


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
    augmented = pause_augment(rows, params.n_random_pauses if pauses else 0,
                              params.n_generated_samples_per_datapoint if pauses else 1,
                              n_pauses_per_patterns=params.n_pauses_per_patterns if pauses else None,
                              seed=params.seed)
    train_pause_lm(model, tokenizer, [{"prompt": gsm8k_prompt(r), "completion": r["answer"]}
                                      for r in augmented],
                   epochs=params.warmup_epochs, batch_size=params.batch_size,
                   learning_rate=params.learning_rate, max_length=params.max_length,
                   seed=params.seed, run=run, log_prefix=f"warmup-{tag}/", progress=progress,
                   **memory(params))
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


def pause_star_run(variant: str, params, rows: list[dict], validation: list[dict], load_warm,
                   tokenizer, output_dir, run=None, progress: bool = True) -> dict:
    """One STaR / reward-conditioning run of a pause LM on GSM8K rows from its warmed-up model
    (`load_warm(path=None)` loads it, or a checkpointed loop, trainable as configured).
    Returns {"spec", "history", "best_loop", "model"}."""
    spec = parse_variant(variant)
    prefix = conditioning_prefix(spec["method"])
    decode = dict(max_new_tokens=params.max_new_tokens, batch_size=params.eval_batch_size,
                  max_consecutive_pauses=params.max_consecutive_pauses,
                  allow_pauses=spec["pauses"], progress=progress)

    k = params.samples_per_problem

    def sample(model, rows_):
        prompts = [p + prefix for p in render_prompts(tokenizer, [gsm8k_prompt(r) for r in rows_])]
        return grouped(pause_generate(model, tokenizer, [p for p in prompts for _ in range(k)],
                                      temperature=spec["temperature"],
                                      desc=f"{variant}: rollouts", **decode), k)

    def is_correct(row, reply):
        return extract_gsm8k(strip_pauses(reply)) == extract_gsm8k(row["answer"])

    def finetune(model, rows_, samples, flags, loop):
        if spec["method"] == "star":
            kept = correct_rows(rows_, samples, flags)
            data = [{"prompt": gsm8k_prompt(r), "completion": c} for r, c in kept]
        else:  # every reply, tagged with the reward it earned
            data = [{"prompt": gsm8k_prompt(r), "completion": f"{REWARD_TAGS[f]}\n{c}"}
                    for r, replies, fl in zip(rows_, samples, flags) for c, f in zip(replies, fl)]
        if data:
            train_pause_lm(model, tokenizer, data, epochs=params.epochs,
                           batch_size=params.batch_size, learning_rate=params.learning_rate,
                           max_length=params.max_length, seed=params.seed + loop, run=run,
                           log_prefix=f"{variant}/loop{loop}/", progress=progress,
                           **memory(params))
        return model

    def validate(model):
        summary, records = evaluate_pause_variant(
            model, tokenizer, validation, params, spec["method"], spec["pauses"],
            0.0 if params.greedy_eval else spec["temperature"], progress=progress)
        return {"accuracy": summary["accuracy"]["value"], "proportion": summary["accuracy"],
                "pauses": summary["pauses"], "records": records}

    result = star(load_warm(), tokenizer, rows, sample=sample, is_correct=is_correct,
                  finetune=finetune, validate=validate, output_dir=output_dir,
                  outer_loops=params.outer_loops, load=load_warm, reload_start=load_warm, run=run,
                  log_prefix=f"{variant}/", resume=True, progress=progress, seed=params.seed)
    return {"spec": spec, **result}
