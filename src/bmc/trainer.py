"""DPO-BMC on TRL 1.16's ``DPOTrainer``: the Modeling phase of the paper (Eq. 4-6), as a small extension.

What BMC changes is only the per-token log-probabilities that enter the sequence log-probability: a token
marked as different (see :mod:`bmc.masks`) has its log-probability multiplied by

    w = 1 + min(exp(-logp.detach()), delta)        (= 1 + min(sg(1/p), delta), paper Eq. 5/6)

and unmarked tokens keep weight 1, for the chosen and the rejected response alike. ``delta = 0`` gives
plain DPO. The reference model's terms are weighted too; by default with the reference model's *own*
probabilities, as the official code does (its weighting runs inside ``concatenated_forward``, which is
called for both models); ``reference_weights="policy"`` uses the policy's weights instead (paper Eq. 4).

How it extends TRL, without copying its code:

1. ``_prepare_dataset`` runs TRL's tokenization, then one more ``map`` that stores the difference masks
   (computed once per pair, never in the training step).
2. :class:`DataCollatorForBMCPreference` pads and truncates the masks with TRL's own collator logic into a
   ``bmc_mask`` tensor aligned with ``completion_mask``.
3. ``_compute_loss`` / ``compute_ref_log_probs`` take ``bmc_mask`` out of the batch (it must not reach
   ``model(**kwargs)``) and a forward hook on the policy and the reference model reweights
   ``outputs.log_probs`` of TRL's fused LM head. TRL then sums them as usual, so every TRL loss type,
   ``precompute_ref_log_probs`` and the PEFT reference path see BMC log-probabilities.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch
from trl import DPOConfig, DPOTrainer
from trl.trainer.dpo_trainer import DataCollatorForPreference

from bmc.masks import STOPWORD_RULES, add_diff_masks, stopword_token_ids

REFERENCE_WEIGHTS = ("reference", "policy")


@dataclass
class BMCConfig(DPOConfig):
    r"""[`~trl.DPOConfig`] with the parameters of DPO-BMC.

    > Parameters of the BMC weighting

    bmc_delta (`float`, defaults to `0.0`):
        Upper clamp delta of the confidence weight ``1 + min(1/p, delta)`` of tokens marked as different.
        ``0`` gives plain DPO; ``1`` gives fixed weight 2 (paper Sec. 5.1).
    bmc_reference_weights (`str`, defaults to `"reference"`):
        How the reference model's log-probabilities are weighted: ``"reference"`` with its own
        probabilities (official code), ``"policy"`` with the policy's weights (paper Eq. 4).
    bmc_stopwords (`list[str]`, defaults to `[]`):
        Words whose tokens are never marked as different.
    bmc_stopword_rule (`str`, defaults to `"official"`):
        ``"official"`` keeps a stopword only if it encodes to one token; ``"robust"`` also adds the
        space-prefixed forms (see :func:`bmc.masks.stopword_token_ids`).
    """

    bmc_delta: float = field(default=0.0, metadata={"help": "Clamp delta of the BMC token weight (0 = DPO)."})
    bmc_reference_weights: str = field(
        default="reference",
        metadata={"help": "Weights of the reference terms: 'reference' (official code) or 'policy' (Eq. 4)."},
    )
    bmc_stopwords: list[str] = field(default_factory=list, metadata={"help": "Words never marked as different."})
    bmc_stopword_rule: str = field(default="official", metadata={"help": "'official' or 'robust'."})

    def __post_init__(self):
        if self.bmc_delta < 0:
            raise ValueError(f"bmc_delta must be >= 0, got {self.bmc_delta}")
        if self.bmc_reference_weights not in REFERENCE_WEIGHTS:
            raise ValueError(f"bmc_reference_weights must be one of {REFERENCE_WEIGHTS}, "
                             f"got {self.bmc_reference_weights!r}")
        if self.bmc_stopword_rule not in STOPWORD_RULES:
            raise ValueError(f"bmc_stopword_rule must be one of {STOPWORD_RULES}, got {self.bmc_stopword_rule!r}")
        if self.bmc_reference_weights == "policy" and self.precompute_ref_log_probs:
            raise ValueError("bmc_reference_weights='policy' needs the policy's probabilities at each step, so it "
                             "cannot be combined with precompute_ref_log_probs=True")
        super().__post_init__()


def bmc_token_weights(logps: torch.Tensor, mask: torch.Tensor, delta: float) -> torch.Tensor:
    """``1 + mask * min(exp(-logps), delta)``, with no gradient through the weight."""
    return 1.0 + mask * torch.clamp(torch.exp(-logps.detach()), max=delta)


@dataclass
class DataCollatorForBMCPreference(DataCollatorForPreference):
    """TRL's preference collator plus a float ``bmc_mask`` shaped and aligned like ``completion_mask``.

    The masks go through TRL's own collator (as if they were token ids, padded with 0), so they are
    truncated and padded exactly like the sequences they describe.
    """

    def torch_call(self, examples):
        batch = super().torch_call(examples)
        mask_collator = DataCollatorForPreference(
            pad_token_id=0, max_length=self.max_length, truncation_mode=self.truncation_mode,
            pad_to_multiple_of=self.pad_to_multiple_of,
        )
        as_ids = [{"prompt_ids": [0] * len(e["prompt_ids"]), "chosen_ids": e["chosen_bmc_mask"],
                   "rejected_ids": e["rejected_bmc_mask"]} for e in examples]
        mask = mask_collator.torch_call(as_ids)["input_ids"].to(torch.float32)
        if mask.shape != batch["completion_mask"].shape:
            raise RuntimeError(f"bmc_mask {tuple(mask.shape)} does not match completion_mask "
                               f"{tuple(batch['completion_mask'].shape)}")
        batch["bmc_mask"] = mask * batch["completion_mask"]
        return batch


class _Pending:
    """What the forward hook needs for the forwards of one loss computation."""

    def __init__(self, mask: torch.Tensor, roles: list[str]):
        self.mask = mask  # (B, T) aligned with input_ids
        self.roles = roles  # forwards still expected, in order: "policy", "reference"
        self.policy_weights: torch.Tensor | None = None


class BMCDPOTrainer(DPOTrainer):
    """[`~trl.DPOTrainer`] with DPO-BMC's confidence-weighted difference tokens. Takes a [`BMCConfig`]."""

    _tag_names = ["trl", "dpo", "dpo-bmc"]

    def __init__(self, model, ref_model=None, args: BMCConfig | None = None, data_collator=None,
                 train_dataset=None, eval_dataset=None, processing_class=None, **kwargs):
        if not isinstance(args, BMCConfig):
            raise TypeError(f"BMCDPOTrainer needs a BMCConfig, got {type(args).__name__}")
        self._pending: _Pending | None = None
        self._hooked: set[int] = set()
        if data_collator is None:
            tok = getattr(processing_class, "tokenizer", processing_class)
            if tok is None:
                raise ValueError("BMCDPOTrainer needs processing_class (the tokenizer)")
            # as DPOTrainer does when it builds its own collator: fall back to EOS, mirrored onto the model
            pad = args.pad_token or tok.pad_token or tok.eos_token
            tok.pad_token = pad
            if hasattr(model, "config"):
                model.config.get_text_config().pad_token_id = tok.pad_token_id
            data_collator = DataCollatorForBMCPreference(
                pad_token_id=tok.convert_tokens_to_ids(pad), max_length=args.max_length,
                truncation_mode=args.truncation_mode, pad_to_multiple_of=args.pad_to_multiple_of,
            )
        super().__init__(model, ref_model=ref_model, args=args, data_collator=data_collator,
                         train_dataset=train_dataset, eval_dataset=eval_dataset,
                         processing_class=processing_class, **kwargs)

    # -- 1. masks, once per pair ------------------------------------------------------------------------------
    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        if self._is_vision_dataset:
            raise NotImplementedError("DPO-BMC difference masks are implemented for text datasets only")
        dataset = super()._prepare_dataset(dataset, processing_class, args, dataset_name)
        tok = getattr(processing_class, "tokenizer", processing_class)
        stop_ids = sorted(stopword_token_ids(tok, args.bmc_stopwords, args.bmc_stopword_rule))
        map_kwargs = {"num_proc": args.dataset_num_proc, "desc": f"BMC difference masks for {dataset_name}"}
        # delta and the reference weighting enter the fingerprint, so a cache of precomputed reference
        # log-probs (keyed on it) is never reused across BMC settings
        return dataset.map(
            add_diff_masks,
            fn_kwargs={"stopword_ids": stop_ids, "delta": args.bmc_delta,
                       "reference_weights": args.bmc_reference_weights},
            **map_kwargs,
        )

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        for col in ("chosen_bmc_mask", "rejected_bmc_mask"):
            if col not in self._signature_columns:
                self._signature_columns.append(col)

    # -- 3. weighting in the forward pass ----------------------------------------------------------------------
    def _ensure_hooks(self):
        for module in (self.model, self.ref_model, getattr(self, "_precompute_engine", None)):
            if module is None:
                continue
            target = self.accelerator.unwrap_model(module)
            if id(target) not in self._hooked:
                target.register_forward_hook(self._weight_log_probs, with_kwargs=True)
                self._hooked.add(id(target))

    def _weight_log_probs(self, module, args, kwargs, output):
        pending = self._pending
        if pending is None or not kwargs.get("fused_lm_head"):
            return output
        if not pending.roles:
            raise RuntimeError("BMC: a log-prob forward that no loss computation expects (TRL changed?)")
        role = pending.roles.pop(0)
        lp = output.log_probs
        mask = pending.mask[:, 1:].to(lp.device, lp.dtype)  # aligned with labels[:, 1:], like TRL's logps
        if mask.shape[1] < lp.shape[1]:  # prompt-learning PEFT prepends virtual tokens
            mask = torch.nn.functional.pad(mask, (lp.shape[1] - mask.shape[1], 0))
        delta = self.args.bmc_delta
        if role == "reference" and self.args.bmc_reference_weights == "policy":
            weights = pending.policy_weights
        else:
            weights = bmc_token_weights(lp, mask, delta)
        if role == "policy":
            pending.policy_weights = weights.detach()
        output.log_probs = lp * weights
        return output

    @contextlib.contextmanager
    def _bmc_forwards(self, inputs, roles):
        self._ensure_hooks()
        inputs = dict(inputs)
        mask = inputs.pop("bmc_mask", None)
        if mask is None:
            raise KeyError("batch has no 'bmc_mask': use DataCollatorForBMCPreference")
        self._pending = pending = _Pending(mask, roles)
        try:
            yield inputs, mask
        finally:
            self._pending = None
        if pending.roles:  # a forward bypassed the hook: training would silently be plain DPO
            raise RuntimeError(f"BMC weights were not applied to the {pending.roles} forward(s): the forward hook "
                               "is not on the module the trainer calls")

    def _compute_loss(self, model, inputs, return_outputs):
        roles = ["policy"] if self.precompute_ref_logps else ["policy", "reference"]
        with self._bmc_forwards(inputs, roles) as (inputs, mask):
            mode = "train" if self.model.training else "eval"
            marked = mask.sum() / inputs["completion_mask"].sum().clamp(min=1)
            self._metrics[mode]["bmc/marked_fraction"].append(self.accelerator.gather_for_metrics(marked).mean().item())
            return super()._compute_loss(model, inputs, return_outputs)

    def compute_ref_log_probs(self, model, inputs):
        with self._bmc_forwards(inputs, ["reference"]) as (inputs, _):
            return super().compute_ref_log_probs(model, inputs)
