"""BMCDPOTrainer against the official DPO-BMC trainer (YJiangcm/BMC @ 958d49e, ``scripts/dpo_bmc_trainer.py``).

The fixture (``tests/fixtures/official_bmc/``, made by ``tests/fixtures/label_official_bmc.py`` in a separate
virtual environment with the official pins) holds batches of pairs as token ids, a tokenizer, a reference model
and a policy that differs from it, and per pair what the official trainer computed: its marks, its BMC-weighted
sequence log-probs of policy and reference, and its loss. Here the same batches go through our collator and
trainer; marks must be equal token for token, log-probs and losses equal to 1e-5.

Loss types: DPO-BMC (``sigmoid``) at delta 0, 1, 3; the official ``ipo``, ``orpo``, ``r_dpo``, ``tdpo``, ``figa``
branches at delta 3, each with the settings that give the official formula (``OFFICIAL``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer

from bmc.training.masks import diff_masks, stopword_token_ids
from bmc.training.trainer import BMCConfig, BMCDPOTrainer

FIXTURE = Path(__file__).parent / "fixtures" / "official_bmc"
CASES = json.loads((FIXTURE / "cases.json").read_text())
LABELS = [json.loads(line) for line in (FIXTURE / "labels.jsonl").read_text().splitlines()]
BETA = CASES["beta"]
STOPWORDS = (FIXTURE / "stopwords.txt").read_text().split()
TOL = 1e-5  # absolute; relative 1e-6 where a value is large (IPO's losses are about 100 at beta 0.05)


def close(value, expected):
    return pytest.approx(expected, abs=TOL, rel=1e-6) == value

# our loss_type and settings for each official branch (the official formula, docs/fidelity.md)
OFFICIAL = {
    "sigmoid": ("sigmoid", {}),
    "ipo": ("ipo", {}),
    "orpo": ("orpo", {"orpo_lambda": BETA, "orpo_nll": "completion"}),
    "r_dpo": ("rdpo", {"rdpo_alpha": BETA}),
    "tdpo": ("tdpo", {"tdpo_alpha": 0.5}),
    "figa": ("figa", {"figa_alpha": 1.0, "figa_beta": 0.5}),
}
LABELLED = sorted({(line["loss_type"], line["delta"]) for line in LABELS})


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(FIXTURE / "tokenizer")


@pytest.fixture(scope="module")
def models():
    return (AutoModelForCausalLM.from_pretrained(FIXTURE / "policy", dtype=torch.float32).eval(),
            AutoModelForCausalLM.from_pretrained(FIXTURE / "reference", dtype=torch.float32).eval())


def official_labels(loss_type, delta):
    return {line["batch"]: line["pairs"] for line in LABELS if line["loss_type"] == loss_type
            and line["delta"] == delta}


def trainer_for(tmp_path, tokenizer, models, loss_type, delta, **kw):
    ours, settings = OFFICIAL[loss_type]
    policy, ref = models
    if ours == "figa":
        delta = 0.0  # the official figa branch ignores dpo_bmc_delta; FIGA has no BMC variant here
    args = BMCConfig(output_dir=str(tmp_path), beta=BETA, loss_type=ours, bmc_delta=delta, bmc_stopwords=STOPWORDS,
                     per_device_train_batch_size=4, report_to="none", use_cpu=True, bf16=False, max_length=1024,
                     save_strategy="no", **settings, **kw)
    dummy = Dataset.from_list([{"prompt": "Question: a", "chosen": " b", "rejected": " c"}])
    return BMCDPOTrainer(policy, ref_model=ref, args=args, train_dataset=dummy, processing_class=tokenizer)


def recording(trainer):
    """Record the BMC-weighted per-token log-probs of each hooked forward, by role."""
    seen = {}
    weight = trainer._weight_log_probs

    def hook(module, args, kwargs, output):
        pending = trainer._pending
        role = pending.roles[0] if pending is not None and pending.roles else None
        output = weight(module, args, kwargs, output)
        if role is not None and kwargs.get("fused_lm_head"):
            seen[role] = output.log_probs.detach()
        return output

    trainer._weight_log_probs = hook
    return seen


def completion_marks(batch, k, n, pair):
    """The batch's marks over the completion tokens of pair k (chosen row k, rejected row n + k)."""
    p = len(pair["prompt_ids"])
    chosen = batch["bmc_mask"][k, p:p + len(pair["chosen_ids"])]
    rejected = batch["bmc_mask"][n + k, p:p + len(pair["rejected_ids"])]
    return chosen.int().tolist(), rejected.int().tolist()


def sequence_logps(per_token, batch, loss_type):
    """Sums over completion tokens as the official concatenated_forward returns them (ipo/orpo: per token)."""
    shift_c = batch["completion_mask"][:, 1:].float()
    sums = (per_token[:, -shift_c.shape[1]:] * shift_c).sum(1)
    return sums / shift_c.sum(1) if loss_type in ("ipo", "orpo") else sums


def per_pair_losses(loss_type, pol, ref, n):
    """Per-pair losses from our per-pair sequence log-probs (DPO and IPO are TRL's; mean = the trainer's loss)."""
    logits = (pol[:n] - pol[n:]) - (ref[:n] - ref[n:])
    if loss_type == "sigmoid":
        return -F.logsigmoid(BETA * logits)
    if loss_type == "ipo":
        return (logits - 1 / (2 * BETA)) ** 2
    return None


@pytest.mark.parametrize("scope", ["per_batch", "per_forward"])
@pytest.mark.parametrize("loss_type,delta", LABELLED)
def test_trainer_equals_the_official_trainer(tmp_path, tokenizer, models, loss_type, delta, scope):
    trainer = trainer_for(tmp_path, tokenizer, models, loss_type, delta, bmc_mask_scope=scope)
    labels = official_labels(loss_type, delta)
    seen = recording(trainer)
    for case in CASES["cases"]:
        official = labels[case["batch"]]
        pairs, n = case["pairs"], len(case["pairs"])
        batch = trainer.data_collator(pairs)
        with torch.no_grad():
            loss = trainer.compute_loss(trainer.model, batch).item()
        where = f"{loss_type} delta {delta} batch {case['batch']} ({case['tag']})"
        assert close(loss, sum(p["loss"] for p in official) / n), where
        if scope == "per_batch":  # the collator's marks, token for token
            for k, (pair, off) in enumerate(zip(pairs, official)):
                assert completion_marks(batch, k, n, pair) == (off["chosen_marks"], off["rejected_marks"]), \
                    f"{where} pair {k}"
        if loss_type in ("tdpo", "figa"):  # their log-probs do not come from the fused head
            continue
        pol = sequence_logps(seen["policy"], batch, loss_type)
        ref = sequence_logps(seen["reference"], batch, loss_type) if "reference" in seen else None
        for k, off in enumerate(official):
            assert close(pol[k].item(), off["policy_chosen_logps"]), f"{where} pair {k}"
            assert close(pol[n + k].item(), off["policy_rejected_logps"]), f"{where} pair {k}"
            if ref is not None:
                assert close(ref[k].item(), off["reference_chosen_logps"]), f"{where} pair {k}"
                assert close(ref[n + k].item(), off["reference_rejected_logps"]), f"{where} pair {k}"
        mine = per_pair_losses(loss_type, pol, ref, n) if ref is not None else None
        if mine is not None:
            for k, off in enumerate(official):
                assert close(mine[k].item(), off["loss"]), f"{where} pair {k}"


@pytest.mark.parametrize("loss_type,delta", [("sigmoid", 3.0), ("ipo", 3.0), ("r_dpo", 3.0)])
def test_precomputed_reference_equals_the_official_trainer(tmp_path, tokenizer, models, loss_type, delta):
    """The reference pass batches every pair alone (other padding, so other official marks on the long rows);
    the step weights the stored per-token reference log-probs with the training batch's marks."""
    trainer = trainer_for(tmp_path, tokenizer, models, loss_type, delta, precompute_ref_log_probs=True,
                          precompute_ref_batch_size=1)
    rows = [dict(p, batch=c["batch"]) for c in CASES["cases"] for p in c["pairs"]]
    columns = {k: [r[k] for r in rows] for k in ("prompt_ids", "chosen_ids", "rejected_ids")}
    dataset = trainer._precompute_ref_logps(Dataset.from_dict(columns), "fixture", 1)
    assert "ref_chosen_token_logps" in dataset.column_names
    labels = official_labels(loss_type, delta)
    start = 0
    for case in CASES["cases"]:
        n = len(case["pairs"])
        batch = trainer.data_collator([dataset[i] for i in range(start, start + n)])
        start += n
        with torch.no_grad():
            loss = trainer.compute_loss(trainer.model, batch).item()
        official = sum(p["loss"] for p in labels[case["batch"]]) / n
        assert close(loss, official), f"batch {case['batch']} ({case['tag']})"


def test_stopword_ids_are_the_official_ones(tokenizer):
    """The official expression (dpo_bmc_trainer.py lines 80 and 1392), evaluated here on the fixture's tokenizer."""
    words = set(STOPWORDS)
    words.update([w.capitalize() for w in list(words) if len(w) > 1])
    official = {tokenizer.convert_tokens_to_ids(tokenizer.tokenize(w))[0] for w in words
                if len(tokenizer.tokenize(w)) == 1}
    ours = stopword_token_ids(tokenizer, STOPWORDS, "official")
    assert ours == official
    assert tokenizer.convert_tokens_to_ids("▁I") not in ours and tokenizer.convert_tokens_to_ids("▁i") in ours


def test_per_pair_marks_differ_from_the_official_ones_on_long_rows(tokenizer):
    """The per_pair scope (unpadded rows) is not the official computation: on the fixture's chains of thought of
    200 tokens and more, and on a short chain padded by a long one, difflib's autojunk marks other tokens."""
    stop = stopword_token_ids(tokenizer, STOPWORDS, "official")
    labels = official_labels("sigmoid", 3.0)
    differing = {}
    for case in CASES["cases"]:
        for k, (pair, off) in enumerate(zip(case["pairs"], labels[case["batch"]])):
            chosen, rejected = diff_masks(pair["prompt_ids"], pair["chosen_ids"], pair["rejected_ids"], stop)
            d = sum(a != b for a, b in zip(chosen, off["chosen_marks"]))
            d += sum(a != b for a, b in zip(rejected, off["rejected_marks"]))
            if d:
                differing[(case["batch"], k)] = (case["tag"], d)
    assert differing and all(tag.startswith("chain") for tag, _ in differing.values()), differing
