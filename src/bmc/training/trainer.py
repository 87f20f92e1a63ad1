"""DPO-BMC on TRL 1.16's ``DPOTrainer``: the Modeling phase of the paper (Eq. 4-6), as a small extension.

What BMC changes is only the per-token log-probabilities that enter the sequence log-probability: a token
marked as different (see :mod:`bmc.training.masks`) has its log-probability multiplied by

    w = 1 + min(exp(-logp.detach()), delta)        (= 1 + min(sg(1/p), delta), paper Eq. 5/6)

and unmarked tokens keep weight 1, for the chosen and the rejected response alike. ``delta = 0`` gives
plain DPO. The reference model's terms are weighted too; by default with the reference model's *own*
probabilities, as the official code does (its weighting runs inside ``concatenated_forward``, which is
called for both models); ``reference_weights="policy"`` uses the policy's weights instead (paper Eq. 4).

How it extends TRL, without copying its code:

1. The marks. By default (``bmc_mask_scope="per_batch"``) they are the official trainer's: ``difflib`` on the
   padded concatenated rows of the batch (padding, ``autojunk`` and the official stopword rule included), but
   computed once per batch in :class:`DataCollatorForBMCPreference` (DataLoader workers can do it off the
   training step) instead of in every policy and reference forward. ``"per_forward"`` computes the same marks
   inside every forward, as the official code does (kept to measure what that costs); ``"per_pair"`` computes
   them once per pair on the unpadded rows at dataset preparation (``_prepare_dataset`` adds two columns), which
   differs from the official marks where padding or a row of 200 tokens and more triggers ``autojunk``.
2. The collator returns the marks as a ``bmc_mask`` tensor aligned with ``completion_mask``.
3. ``_compute_loss`` / ``compute_ref_log_probs`` take ``bmc_mask`` out of the batch (it must not reach
   ``model(**kwargs)``) and a forward hook on the policy and the reference model reweights
   ``outputs.log_probs`` of TRL's fused LM head. For TRL's losses (``sigmoid`` = DPO, ``ipo``) TRL then sums
   and applies its loss unchanged; the losses TRL's DPOTrainer lacks (:mod:`bmc.training.losses`: R-DPO, SimPO,
   ORPO, TDPO, FIGA) run through :meth:`BMCDPOTrainer._custom_loss` on the same marks, so their BMC variants
   (Table 5) get the same weights.
4. With ``precompute_ref_log_probs`` the reference pass batches the pairs differently from training, so its
   batches' marks are not the training batch's. Where the marks depend on the batch (``per_batch``,
   ``per_forward``) and delta > 0, the precomputation stores the reference's *per-token* log-probs of the
   completion tokens, and each training step weights them with the training batch's marks and the reference's
   own probabilities: the same sums as a reference forward in the step (tested against the official trainer).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from datasets import concatenate_datasets
from trl import DPOConfig, DPOTrainer
from trl.trainer.dpo_trainer import DataCollatorForPreference

from bmc.settings import ORPO_NLL
from bmc.training import losses as L
from bmc.training.masks import (
    MASK_ALGORITHMS,
    MASK_SCOPES,
    STOPWORD_RULES,
    add_diff_masks,
    batch_masks,
    stopword_token_ids,
)

REFERENCE_WEIGHTS = ("reference", "policy")
_REFERENCE_LOGPS: dict = {}  # (pairs fingerprint, reference model hash) -> precomputed reference log-prob columns
_NON_MODEL_KEYS = {"completion_mask", "ref_chosen_logps", "ref_rejected_logps"}
_TOKEN_REF_COLUMNS = ("ref_chosen_token_logps", "ref_rejected_token_logps")


@dataclass
class BMCConfig(DPOConfig):
    r"""[`~trl.DPOConfig`] with the parameters of DPO-BMC and of the losses TRL's DPOTrainer lacks.

    > Parameters of the BMC weighting

    bmc_delta (`float`, defaults to `0.0`):
        Upper clamp delta of the confidence weight ``1 + min(1/p, delta)`` of tokens marked as different.
        ``0`` gives plain DPO; ``1`` gives fixed weight 2 (paper Sec. 5.1).
    bmc_reference_weights (`str`, defaults to `"reference"`):
        ``"reference"``: the reference model weighted by its own probabilities (official code);
        ``"policy"``: by the policy's weights (paper Eq. 4).
    bmc_stopwords (`list[str]`), bmc_stopword_rule (`str`, `"official"` or `"robust"`):
        Words never marked, and how they map to token ids (see :func:`bmc.training.masks.stopword_token_ids`).
    bmc_mask_algorithm (`str`, defaults to `"difflib"`):
        ``"difflib"`` opcodes (official code) or ``"levenshtein"`` alignment (paper text).
    bmc_mask_scope (`str`, defaults to `"per_batch"`):
        ``"per_batch"``: the official marks (the padded batch), computed once per batch in the collator;
        ``"per_forward"``: the same, recomputed in every policy and reference forward (the official code's cost);
        ``"per_pair"``: once per pair on the unpadded rows at dataset preparation (an approximation).

    > Parameters of the losses in :mod:`bmc.training.losses` (``loss_type`` = rdpo, simpo, orpo, tdpo, figa)

    rdpo_alpha, simpo_gamma, orpo_lambda, tdpo_alpha, figa_alpha, figa_beta (`float`):
        R-DPO's length coefficient; SimPO's margin; ORPO's odds-ratio weight; TDPO2's KL coefficient;
        FIGA's weights on the differing tokens of y_w and y_l. ``beta`` is the β of DPO, IPO (τ), R-DPO,
        SimPO and TDPO. The official trainer's formulas: ``rdpo_alpha = beta``, ``orpo_lambda = beta``,
        ``tdpo_alpha = 0.5``, ``figa_alpha = 1``, ``figa_beta = 0.5``.
    orpo_nll (`str`, defaults to `"completion"`):
        ORPO's NLL term over the chosen response (official BMC trainer) or ``"full"`` prompt + response (TRL's
        ``ORPOTrainer``).
    """

    bmc_delta: float = field(default=0.0, metadata={"help": "Clamp delta of the BMC token weight (0 = DPO)."})
    bmc_reference_weights: str = field(
        default="reference",
        metadata={"help": "Weights of the reference terms: 'reference' (official code) or 'policy' (Eq. 4)."},
    )
    bmc_stopwords: list[str] = field(default_factory=list, metadata={"help": "Words never marked as different."})
    bmc_stopword_rule: str = field(default="official", metadata={"help": "'official' or 'robust'."})
    bmc_mask_algorithm: str = field(default="difflib", metadata={"help": "'difflib' or 'levenshtein'."})
    bmc_mask_scope: str = field(default="per_batch",
                                metadata={"help": "'per_batch' (official marks, in the collator), 'per_forward' or "
                                                  "'per_pair'."})
    rdpo_alpha: float = field(default=0.1, metadata={"help": "R-DPO length-regulariser coefficient alpha."})
    simpo_gamma: float = field(default=0.5, metadata={"help": "SimPO target reward margin gamma."})
    orpo_lambda: float = field(default=0.1, metadata={"help": "ORPO odds-ratio weight lambda."})
    orpo_nll: str = field(default="completion", metadata={"help": "ORPO's NLL tokens: 'completion' or 'full'."})
    tdpo_alpha: float = field(default=0.5, metadata={"help": "TDPO2 coefficient alpha."})
    figa_alpha: float = field(default=1.0, metadata={"help": "FIGA weight on differing tokens of y_w."})
    figa_beta: float = field(default=0.5, metadata={"help": "FIGA weight on differing tokens of y_l."})

    def __post_init__(self):
        loss_types = [self.loss_type] if isinstance(self.loss_type, str) else list(self.loss_type)
        for name, value, allowed in (("bmc_reference_weights", self.bmc_reference_weights, REFERENCE_WEIGHTS),
                                     ("bmc_stopword_rule", self.bmc_stopword_rule, STOPWORD_RULES),
                                     ("bmc_mask_algorithm", self.bmc_mask_algorithm, MASK_ALGORITHMS),
                                     ("bmc_mask_scope", self.bmc_mask_scope, MASK_SCOPES),
                                     ("orpo_nll", self.orpo_nll, ORPO_NLL)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if self.bmc_delta < 0:
            raise ValueError(f"bmc_delta must be >= 0, got {self.bmc_delta}")
        if self.bmc_reference_weights == "policy" and self.precompute_ref_log_probs:
            raise ValueError("bmc_reference_weights='policy' needs the policy's probabilities at each step, so it "
                             "cannot be combined with precompute_ref_log_probs=True")
        custom = [t for t in loss_types if t in L.CUSTOM_LOSSES]
        if custom and len(loss_types) > 1:
            raise ValueError(f"loss_type {custom[0]!r} cannot be combined with other loss types")
        if custom:
            spec = L.CUSTOM_LOSSES[custom[0]]
            if not spec.bmc and self.bmc_delta > 0:
                raise ValueError(f"loss_type {custom[0]!r} has no BMC variant: set bmc_delta to 0")
            if spec.needs_logits and self.precompute_ref_log_probs:
                raise ValueError(f"loss_type {custom[0]!r} needs the reference model's full distributions: "
                                 "precompute_ref_log_probs is not possible")
        super().__post_init__()


def content_fingerprint(dataset, settings: dict) -> str:
    """A hash of a dataset's Arrow buffers and of ``settings``: the same rows and settings give the same value."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=repr).encode())
    for name in dataset.column_names:
        digest.update(name.encode())
        for chunk in dataset.data.column(name).chunks:
            for buffer in chunk.buffers():
                if buffer is not None:
                    digest.update(memoryview(buffer))
    return digest.hexdigest()[:32]


def _longest_completion(dataset) -> int:
    """The most completion tokens of any chosen or rejected response of a tokenized dataset."""
    import pyarrow.compute as pc

    lengths = [pc.max(pc.list_value_length(dataset.data.column(c))).as_py() or 0
               for c in ("chosen_ids", "rejected_ids")]
    return max(lengths)


def bmc_token_weights(logps: torch.Tensor, mask: torch.Tensor, delta: float) -> torch.Tensor:
    """``1 + mask * min(exp(-logps), delta)``, with no gradient through the weight."""
    return 1.0 + mask * torch.clamp(torch.exp(-logps.detach()), max=delta)


def _align(examples, chosen_key: str, rejected_key: str, collator: DataCollatorForPreference,
           dtype=torch.float32) -> torch.Tensor:
    """Per-completion-token values of each example, laid out like the batch's ``input_ids``: passed through
    TRL's own collator as if they were token ids (prompt positions and padding 0), so they are truncated and
    padded exactly like the sequences they describe."""
    as_ids = [{"prompt_ids": [0.0] * len(e["prompt_ids"]),  # floats: TRL's pad takes the first row's dtype
               "chosen_ids": [float(v) for v in e[chosen_key][:len(e["chosen_ids"])]],
               "rejected_ids": [float(v) for v in e[rejected_key][:len(e["rejected_ids"])]]} for e in examples]
    return collator.torch_call(as_ids)["input_ids"].to(dtype)


@dataclass
class DataCollatorForBMCPreference(DataCollatorForPreference):
    """TRL's preference collator plus a float ``bmc_mask`` shaped and aligned like ``completion_mask``.

    ``bmc_mask_scope``: ``"per_batch"`` computes the official marks here, from the padded batch (once per batch;
    in DataLoader workers when ``dataloader_num_workers`` > 0); ``"per_pair"`` lays out the examples' own
    ``chosen_bmc_mask``/``rejected_bmc_mask`` columns; ``"per_forward"`` adds no marks (the trainer computes them
    in every forward). Precomputed per-token reference log-probs (``ref_chosen_token_logps``/
    ``ref_rejected_token_logps``) come out as ``ref_token_logps``, aligned the same way.
    """

    bmc_mask_scope: str = "per_batch"
    stopword_ids: frozenset[int] = frozenset()
    mask_algorithm: str = "difflib"

    def _value_collator(self) -> DataCollatorForPreference:
        return DataCollatorForPreference(pad_token_id=0, max_length=self.max_length,
                                         truncation_mode=self.truncation_mode,
                                         pad_to_multiple_of=self.pad_to_multiple_of)

    def torch_call(self, examples):
        batch = super().torch_call(examples)
        completion = batch["completion_mask"]
        if self.bmc_mask_scope == "per_batch":
            batch["bmc_mask"] = batch_masks(batch["input_ids"], completion, self.stopword_ids, self.mask_algorithm)
        elif self.bmc_mask_scope == "per_pair":
            mask = _align(examples, "chosen_bmc_mask", "rejected_bmc_mask", self._value_collator())
            if mask.shape != completion.shape:
                raise RuntimeError(f"bmc_mask {tuple(mask.shape)} does not match completion_mask "
                                   f"{tuple(completion.shape)}")
            batch["bmc_mask"] = mask * completion
        elif self.bmc_mask_scope != "per_forward":
            raise ValueError(f"bmc_mask_scope must be one of {MASK_SCOPES}, got {self.bmc_mask_scope!r}")
        if _TOKEN_REF_COLUMNS[0] in examples[0]:
            batch["ref_token_logps"] = _align(examples, *_TOKEN_REF_COLUMNS, self._value_collator()) * completion
        return batch


class _Pending:
    """What the forward hook needs for the forwards of one loss computation."""

    def __init__(self, mask: torch.Tensor | None, completion_mask: torch.Tensor, roles: list[str]):
        self.mask = mask  # (B, T) aligned with input_ids, from the collator (None: per_forward scope)
        self.completion_mask = completion_mask
        self.roles = roles  # forwards still expected, in order: "policy", "reference"
        self.policy_weights: torch.Tensor | None = None
        self.raw: dict[str, torch.Tensor] = {}     # unweighted per-token log-probs, by role
        self.marked: dict[str, torch.Tensor] = {}  # the (shifted) mask each forward used, by role


class BMCDPOTrainer(DPOTrainer):
    """[`~trl.DPOTrainer`] with DPO-BMC's confidence-weighted difference tokens. Takes a [`BMCConfig`]."""

    _tag_names = ["trl", "dpo", "dpo-bmc"]

    def __init__(self, model, ref_model=None, args: BMCConfig | None = None, data_collator=None,
                 train_dataset=None, eval_dataset=None, processing_class=None, **kwargs):
        if not isinstance(args, BMCConfig):
            raise TypeError(f"BMCDPOTrainer needs a BMCConfig, got {type(args).__name__}")
        self._pending: _Pending | None = None
        self._hooked: set[int] = set()
        tok = getattr(processing_class, "tokenizer", processing_class)
        if tok is None:
            raise ValueError("BMCDPOTrainer needs processing_class (the tokenizer)")
        self._bmc_tokenizer = tok
        self._stopword_ids = stopword_token_ids(tok, args.bmc_stopwords, args.bmc_stopword_rule)
        loss_types = [args.loss_type] if isinstance(args.loss_type, str) else list(args.loss_type)
        uses_reference = all(t not in L.CUSTOM_LOSSES or L.CUSTOM_LOSSES[t].needs_reference for t in loss_types)
        # precomputed reference terms that must be weighted with each training batch's marks (step 4 above)
        self._token_reference = (args.precompute_ref_log_probs and args.bmc_mask_scope != "per_pair"
                                 and args.bmc_delta > 0 and uses_reference)
        if self._token_reference and args.max_length is None:
            raise ValueError("precompute_ref_log_probs with batch-dependent BMC marks needs max_length")
        if data_collator is None:
            # as DPOTrainer does when it builds its own collator: fall back to EOS, mirrored onto the model
            pad = args.pad_token or tok.pad_token or tok.eos_token
            tok.pad_token = pad
            if hasattr(model, "config"):
                model.config.get_text_config().pad_token_id = tok.pad_token_id
            data_collator = DataCollatorForBMCPreference(
                pad_token_id=tok.convert_tokens_to_ids(pad), max_length=args.max_length,
                truncation_mode=args.truncation_mode, pad_to_multiple_of=args.pad_to_multiple_of,
                bmc_mask_scope=args.bmc_mask_scope, stopword_ids=self._stopword_ids,
                mask_algorithm=args.bmc_mask_algorithm,
            )
        super().__init__(model, ref_model=ref_model, args=args, data_collator=data_collator,
                         train_dataset=train_dataset, eval_dataset=eval_dataset,
                         processing_class=processing_class, **kwargs)

    # -- 1. masks once per pair (per_pair scope); a content fingerprint ------------------------------------------
    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        if self._is_vision_dataset:
            raise NotImplementedError("DPO-BMC difference masks are implemented for text datasets only")
        dataset = super()._prepare_dataset(dataset, processing_class, args, dataset_name)
        fn_kwargs = {"stopword_ids": sorted(self._stopword_ids), "algorithm": args.bmc_mask_algorithm,
                     "delta": args.bmc_delta, "reference_weights": args.bmc_reference_weights,
                     "scope": args.bmc_mask_scope, "max_length": args.max_length}
        # The fingerprint is the content of the tokenized pairs and the BMC settings (delta and the reference
        # weighting included): TRL keys its cache of precomputed reference log-probs on it, so trainers of one
        # process on the same pairs and settings (the seeds of a job) compute them once, and never share them
        # across BMC settings. (TRL's own tokenization fingerprint is random: its map hashes the tokenizer.)
        fingerprint = content_fingerprint(dataset, fn_kwargs)
        if args.bmc_mask_scope != "per_pair":  # the marks come from the collator: only the fingerprint changes
            return dataset.map(lambda batch: {}, batched=True, new_fingerprint=fingerprint)
        return dataset.map(add_diff_masks, fn_kwargs=fn_kwargs, num_proc=args.dataset_num_proc,
                           desc=f"BMC difference masks for {dataset_name}", new_fingerprint=fingerprint)

    # -- 2. precomputed reference log-probs ---------------------------------------------------------------------
    def _precompute_ref_logps(self, dataset, name, batch_size):
        """TRL's precomputation, memoised for the process: trainers on the same pairs, BMC settings and reference
        weights (the seeds of one job) compute the reference log-probs once. TRL keys its own cache file on the
        same fingerprint, but names it at random for in-memory datasets, so it is never found again.

        With batch-dependent marks (step 4 of the module docstring) :meth:`compute_ref_log_probs` returns the
        per-token log-probs of the completion tokens (left-aligned, zero-padded to the longest completion), which
        TRL gathers and stores in place of the sums; they are renamed ``ref_{chosen,rejected}_token_logps``."""
        names = list(_TOKEN_REF_COLUMNS) if self._token_reference else ["ref_chosen_logps", "ref_rejected_logps"]
        if self.accelerator.num_processes > 1 and not dataset.cache_files:
            dataset = self._shared_on_disk(dataset)
        key = f"{dataset._fingerprint}:{self._precompute_model_hash}"
        if key in _REFERENCE_LOGPS:
            return concatenate_datasets([dataset, _REFERENCE_LOGPS[key]], axis=1)
        if self._token_reference:
            self._completion_width = _longest_completion(dataset)
        dataset = super()._precompute_ref_logps(dataset, name, batch_size)
        if self._token_reference:
            dataset = dataset.rename_columns(dict(zip(["ref_chosen_logps", "ref_rejected_logps"], names)))
        _REFERENCE_LOGPS[key] = dataset.select_columns(names)
        return dataset

    def _shared_on_disk(self, dataset):
        """The dataset saved once (main process) into a folder every process of the job reads: TRL's precompute
        writes its cache file beside the dataset's files, and an in-memory dataset has a temporary folder of its own
        in each process, where the others cannot find the file. The folder lies in the main process's
        ``output_dir`` (the job's scratch or checkpoint folder), so it goes with it whether the job ends, fails or
        is resumed."""
        import tempfile

        from accelerate.utils import broadcast_object_list
        from datasets import load_from_disk

        path = [None]
        if self.accelerator.is_main_process:
            Path(self.args.output_dir).mkdir(parents=True, exist_ok=True)
            path[0] = tempfile.mkdtemp(prefix="shared-dataset-", dir=self.args.output_dir)
            dataset.save_to_disk(path[0])
        broadcast_object_list(path, from_process=0)
        self.accelerator.wait_for_everyone()
        return load_from_disk(path[0])

    def compute_ref_log_probs(self, model, inputs):
        with self._bmc_forwards(inputs, ["reference"]) as (inputs, pending):
            sums = super().compute_ref_log_probs(model, inputs)
            if not self._token_reference:
                return sums
            # the reference's unweighted log-prob of each completion token, left-aligned per row
            shift_c = inputs["completion_mask"][:, 1:].bool()
            raw = pending.raw["reference"][:, -shift_c.shape[1]:]
            width = max(self._completion_width, int(shift_c.sum(1).max()))
            out = raw.new_zeros(raw.shape[0], width)
            rows, cols = shift_c.nonzero(as_tuple=True)
            out[rows, (shift_c.cumsum(1) - 1)[rows, cols]] = raw[rows, cols]
            return out.chunk(2, dim=0)

    def _reference_from_tokens(self, inputs, mask: torch.Tensor):
        """The precomputed reference terms, weighted with this batch's marks and the reference's own probabilities
        (as a reference forward in this step would weight them)."""
        token_logps = inputs.pop("ref_token_logps")[:, 1:]  # aligned with labels[:, 1:], like the fused head's
        shift_c = inputs["completion_mask"][:, 1:].to(token_logps.dtype)
        weights = bmc_token_weights(token_logps, mask[:, 1:].to(token_logps), self.args.bmc_delta)
        sums = (token_logps * weights * shift_c).sum(dim=1)
        inputs["ref_chosen_logps"], inputs["ref_rejected_logps"] = sums.chunk(2, dim=0)

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        for col in ("chosen_bmc_mask", "rejected_bmc_mask", *_TOKEN_REF_COLUMNS):
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

    def _forward_mask(self, kwargs, pending: _Pending) -> torch.Tensor:
        """The mask of this forward, aligned with ``input_ids`` (B, T)."""
        if self.args.bmc_mask_scope != "per_forward":
            return pending.mask
        # the official code's cost: stopword ids and difflib on the padded batch, in every forward
        stop_ids = stopword_token_ids(self._bmc_tokenizer, self.args.bmc_stopwords, self.args.bmc_stopword_rule)
        return batch_masks(kwargs["input_ids"], pending.completion_mask, stop_ids, self.args.bmc_mask_algorithm)

    def _weight_log_probs(self, module, args, kwargs, output):
        pending = self._pending
        if pending is None or not kwargs.get("fused_lm_head"):
            return output
        if not pending.roles:
            raise RuntimeError("BMC: a log-prob forward that no loss computation expects (TRL changed?)")
        role = pending.roles.pop(0)
        lp = output.log_probs
        mask = self._forward_mask(kwargs, pending)[:, 1:].to(lp.device, lp.dtype)  # aligned with labels[:, 1:]
        if mask.shape[1] < lp.shape[1]:  # prompt-learning PEFT prepends virtual tokens
            mask = F.pad(mask, (lp.shape[1] - mask.shape[1], 0))
        pending.raw[role] = lp
        pending.marked[role] = mask
        if role == "reference" and self.args.bmc_reference_weights == "policy":
            weights = pending.policy_weights
        else:
            weights = bmc_token_weights(lp, mask, self.args.bmc_delta)
        if role == "policy":
            pending.policy_weights = weights.detach()
        output.log_probs = lp * weights
        return output

    @contextlib.contextmanager
    def _bmc_forwards(self, inputs, roles):
        self._ensure_hooks()
        inputs = dict(inputs)
        mask = inputs.pop("bmc_mask", None)
        if mask is None and self.args.bmc_mask_scope != "per_forward":
            raise KeyError("batch has no 'bmc_mask': use DataCollatorForBMCPreference")
        if "ref_token_logps" in inputs:
            if mask is None:  # per_forward: the step's marks, computed once more for the precomputed terms
                mask = self._forward_mask(inputs, _Pending(None, inputs["completion_mask"], []))
            self._reference_from_tokens(inputs, mask)
        self._pending = pending = _Pending(mask, inputs["completion_mask"], roles)
        try:
            yield inputs, pending
        finally:
            self._pending = None
        if pending.roles:  # a forward bypassed the hook: training would silently be plain DPO
            raise RuntimeError(f"BMC weights were not applied to the {pending.roles} forward(s): the forward hook "
                               "is not on the module the trainer calls")

    def _log_marked_fraction(self, mode, mask, completion_mask):
        marked = mask.sum() / completion_mask.sum().clamp(min=1)
        self._metrics[mode]["bmc/marked_fraction"].append(self.accelerator.gather_for_metrics(marked).mean().item())

    def _compute_loss(self, model, inputs, return_outputs):
        mode = "train" if self.model.training else "eval"
        loss_type = self.loss_types[0]
        if loss_type in L.CUSTOM_LOSSES:
            spec = L.CUSTOM_LOSSES[loss_type]
            roles = [] if spec.needs_logits else ["policy"]
            if spec.needs_reference and not spec.needs_logits and not self.precompute_ref_logps:
                roles.append("reference")
            with self._bmc_forwards(inputs, roles) as (inputs, pending):
                loss = self._custom_loss(model, inputs, pending, loss_type, spec, mode)
            if return_outputs:
                with torch.no_grad():
                    outputs = model(**{k: v for k, v in inputs.items() if k not in _NON_MODEL_KEYS})
                return loss, outputs
            return loss
        roles = ["policy"] if self.precompute_ref_logps else ["policy", "reference"]
        with self._bmc_forwards(inputs, roles) as (inputs, pending):
            result = super()._compute_loss(model, inputs, return_outputs)
            if "policy" in pending.marked:  # else the context's check reports the bypassed hook
                shift_c = inputs["completion_mask"][:, 1:].to(torch.float32)
                self._log_marked_fraction(mode, pending.marked["policy"][:, -shift_c.shape[1]:] * shift_c, shift_c)
            return result

    # -- losses TRL's DPOTrainer does not have -----------------------------------------------------------------
    def _custom_loss(self, model, inputs, pending: _Pending, loss_type: str, spec: L.LossSpec, mode: str):
        a = self.args
        ids, completion = inputs["input_ids"], inputs["completion_mask"]
        model_kwargs = {k: v for k, v in inputs.items() if k not in _NON_MODEL_KEYS}
        model_kwargs["use_cache"] = False
        shift_c = completion[:, 1:].to(torch.float32)
        n = ids.shape[0] // 2
        lengths = shift_c.sum(dim=1)
        metrics = self._metrics[mode]

        if spec.needs_logits:  # TDPO: full next-token distributions of policy and reference
            if self.ref_model is None:
                raise ValueError(f"loss_type {loss_type!r} needs a reference model")
            logp_all = torch.log_softmax(model(**model_kwargs).logits[:, :-1].float(), dim=-1)
            with torch.no_grad():
                ref_logp_all = torch.log_softmax(self.ref_model(**model_kwargs).logits[:, :-1].float(), dim=-1)
            target = ids[:, 1:, None]
            lp, ref_lp = logp_all.gather(-1, target).squeeze(-1), ref_logp_all.gather(-1, target).squeeze(-1)
            # BMC weights (TDPO-BMC; the official trainer weights TDPO's log-probs as every other loss's)
            marked = self._forward_mask(inputs, pending)[:, 1:].to(lp)
            weights = bmc_token_weights(lp, marked, a.bmc_delta)
            ref_weights = (weights.detach() if a.bmc_reference_weights == "policy"
                           else bmc_token_weights(ref_lp, marked, a.bmc_delta))
            self._log_marked_fraction(mode, marked * shift_c, shift_c)
            logratios = ((lp * weights - ref_lp * ref_weights) * shift_c).sum(1)
            kl = (ref_logp_all.exp() * (ref_logp_all - logp_all)).sum(-1)  # KL(π_ref ‖ π_θ) per position
            seq_kl = (kl * shift_c).sum(1)
            losses = L.tdpo_loss(logratios[:n], logratios[n:], seq_kl[:n], seq_kl[n:], self.beta, a.tdpo_alpha)
            metrics["kl/chosen"].append(self.accelerator.gather_for_metrics(seq_kl[:n].mean().detach()).mean().item())
            metrics["kl/rejected"].append(self.accelerator.gather_for_metrics(seq_kl[n:].mean().detach()).mean().item())
            self._log_rewards(mode, self.beta * logratios[:n].detach(), self.beta * logratios[n:].detach())
            return losses.mean()

        label_mask = inputs["attention_mask"] if loss_type == "orpo" and a.orpo_nll == "full" else completion
        labels = ids.masked_fill(label_mask == 0, -100)
        out = model(**model_kwargs, labels=labels, fused_lm_head=True)
        lp = out.log_probs[:, -shift_c.shape[1]:]  # BMC-weighted by the hook
        seq = (lp * shift_c).sum(dim=1)
        raw = pending.raw["policy"][:, -shift_c.shape[1]:]
        marked = pending.marked["policy"][:, -shift_c.shape[1]:]
        self._log_marked_fraction(mode, marked * shift_c, shift_c)
        metrics["logps/chosen"].append(self.accelerator.gather_for_metrics(seq[:n].detach()).mean().item())
        metrics["logps/rejected"].append(self.accelerator.gather_for_metrics(seq[n:].detach()).mean().item())

        if loss_type == "rdpo":
            if self.precompute_ref_logps:
                ref_c, ref_r = inputs["ref_chosen_logps"], inputs["ref_rejected_logps"]
            else:
                ref_c, ref_r = DPOTrainer.compute_ref_log_probs(
                    self, self.ref_model if self.ref_model is not None else self.model, inputs)
            lr_c, lr_r = seq[:n] - ref_c, seq[n:] - ref_r
            losses = L.rdpo_loss(lr_c, lr_r, lengths[:n], lengths[n:], self.beta, a.rdpo_alpha)
            self._log_rewards(mode, self.beta * lr_c.detach(), self.beta * lr_r.detach())
        elif loss_type == "simpo":
            avg = seq / lengths.clamp(min=1)
            losses = L.simpo_loss(avg[:n], avg[n:], self.beta, a.simpo_gamma)
            self._log_rewards(mode, self.beta * avg[:n].detach(), self.beta * avg[n:].detach())
        elif loss_type == "orpo":
            avg = seq / lengths.clamp(min=1)
            shift_all = (labels[:, 1:] != -100).to(torch.float32)
            nll = -(raw[:n] * shift_all[:n]).sum() / shift_all[:n].sum().clamp(min=1)
            losses = L.orpo_loss(avg[:n], avg[n:], nll, a.orpo_lambda)
            metrics["nll_loss"].append(self.accelerator.gather_for_metrics(nll.detach()).mean().item())
            self._log_rewards(mode, a.orpo_lambda * avg[:n].detach(), a.orpo_lambda * avg[n:].detach())
        elif loss_type == "figa":
            diff = (raw * marked * shift_c).sum(dim=1)
            losses = L.figa_loss(diff[:n], diff[n:], a.figa_alpha, a.figa_beta)
        else:  # pragma: no cover - CUSTOM_LOSSES and this dispatch are kept in step
            raise ValueError(f"no implementation for loss_type {loss_type!r}")
        return losses.mean()

    def _log_rewards(self, mode, chosen, rejected):
        m = self._metrics[mode]
        gather = self.accelerator.gather_for_metrics
        m["rewards/chosen"].append(gather(chosen).mean().item())
        m["rewards/rejected"].append(gather(rejected).mean().item())
        m["rewards/margins"].append(gather(chosen - rejected).mean().item())
        m["rewards/accuracies"].append(gather((chosen > rejected).float()).mean().item())
