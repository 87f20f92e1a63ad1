"""The typed settings of every stage (the paper's hyper-parameters and the official scripts' arguments), and the
few constants their checks need: standard library only.

The workflow imports :mod:`bmc.config` (which builds these from the study config) while it parses, in every
``snakemake`` start-up (dry runs, table rebuilds, each cluster job). So this module must not import torch,
transformers, trl, datasets or anything that does (``tests/test_light_imports.py`` keeps it so). The heavy
modules import their settings from here and re-export them: ``bmc.training.preference.PreferenceSettings``,
``bmc.training.sft.SFTSettings`` etc. still work.
"""

from __future__ import annotations

from dataclasses import dataclass, field


# ------------------------------------------------------------------------------------- data (bmc.data)
@dataclass(frozen=True)
class TaskSizes:
    """Sizes of a synthetic task's splits (bmc.data.synthetic)."""

    train: int
    test: int


# The paper setup ("QA" or "Math", config tasks.<t>.paper_setup) of each test set of bmc.data.test_sets.TEST_SETS
# (the registry itself holds converters; tests/test_layout.py checks that the two agree).
TEST_SET_SETUPS = {
    "ecqa": "QA", "qasc": "QA", "openbookqa": "QA", "arc_easy": "QA", "strategyqa": "QA",
    "gsm8k": "Math", "math500": "Math", "math_full": "Math", "mawps": "Math", "tabmwp": "Math",
}

# The splits of each released bridged set of bmc.data.training_data.SOURCES (kind "released_pairs"; config
# tasks.<t>.released_pairs; tests/test_layout.py checks that the two agree).
RELEASED_SPLITS = {"qa_dpo_bmc": ("train",), "math_dpo_bmc": ("train",), "ultrafeedback_dpo_bmc": ("train", "test")}


# ------------------------------------------------------------------------------- generation (bmc.models.generation)
@dataclass
class DecodingSettings:
    max_new_tokens: int = 64
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    num_samples: int = 1
    seed: int = 0
    stop_token_ids: tuple[int, ...] = ()  # token ids that end a completion besides the tokenizer's EOS


@dataclass
class VLLMSettings:
    model: str
    tensor_parallel_size: int = 1
    dtype: str = "auto"
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.9


# ----------------------------------------------------------------------------- base model (bmc.models.pretrain)
@dataclass
class ModelShape:
    hidden_size: int = 128
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 512
    max_position_embeddings: int = 512


@dataclass
class PretrainSettings:
    steps: int = 600
    batch_size: int = 16
    block_size: int = 128
    learning_rate: float = 2e-3
    weight_decay: float = 0.1
    warmup_ratio: float = 0.05
    min_lr_rate: float = 0.1
    seed: int = 0
    precision: str = "fp32"


# ------------------------------------------------------------------------------------------- SFT (bmc.training.sft)
@dataclass
class SFTSettings:
    epochs: float = 3.0
    batch_size: int = 16              # per device (process)
    gradient_accumulation_steps: int = 1
    global_batch_size: int | None = None  # set: accumulation = global / (batch_size x processes)
    learning_rate: float = 1e-3
    warmup_ratio: float = 0.1
    scheduler: str = "cosine"
    max_length: int = 256
    completion_only_loss: bool = True
    seed: int = 42
    precision: str = "fp32"


# ---------------------------------------------------------------------------------- sampling (bmc.sampling.losing)
@dataclass
class SamplingSettings:
    temperature: float = 0.7
    top_p: float = 1.0
    num_samples: int = 2
    max_new_tokens: int = 64
    seed: int = 0
    questions: int | None = None  # the first N training questions are sampled (None: all); the rest give no pair


# -------------------------------------------------------------------------------- bridging (bmc.bridging.bridge)
@dataclass
class BridgeSettings:
    direction: str = "edit_losing_with_reference"
    fraction: float = 1.0
    seed: int = 0
    max_length_ratio: float = 3.0  # drop an edit longer than this many times the response it edits (tokens)
    answer_check: bool = True      # tasks with answers: ỹ_w must be right, ỹ_l must be wrong


# ---------------------------------------------------------------------------------- editors (bmc.bridging.editors)
DIRECTIONS = (
    "edit_losing_with_reference",         # paper: y_l -> ỹ_w using y_w; train on (ỹ_w, y_l)
    "edit_losing_without_reference",      # Table 3: y_l -> ỹ_w alone;   train on (ỹ_w, y_l)
    "degrade_winning_with_reference",     # Table 3: y_w -> ỹ_l using y_l; train on (y_w, ỹ_l)
    "degrade_winning_without_reference",  # Table 3: y_w -> ỹ_l alone;   train on (y_w, ỹ_l)
)


@dataclass(frozen=True)
class EditorDecoding:
    """Decoding of a prompted editor (bmc.bridging.editors.prompted)."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 1024
    seed: int | None = 0


@dataclass
class OpenAISettings:
    """An OpenAI-compatible endpoint as editor (bmc.bridging.editors.openai_http)."""

    model: str
    base_url: str = "https://api.openai.com/v1"
    api_key_env: str | None = "OPENAI_API_KEY"  # None: the endpoint needs no key (a local server)
    concurrency: int = 8
    max_retries: int = 6
    timeout_s: float = 120.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0


@dataclass
class TransformersSettings:
    """A transformers model as editor, in the job (bmc.bridging.editors.hf_backend)."""

    model: str
    batch_size: int = 16
    chat_template: bool = True  # wrap the prompt as a user turn of the model's chat template, if it has one


# ------------------------------------------------------------------------------- losses (bmc.training.losses)
@dataclass(frozen=True)
class LossSpec:
    needs_reference: bool = False  # reference model log-probs
    needs_logits: bool = False      # full next-token distributions (not the fused head)
    bmc: bool = True                # a BMC variant exists (Table 5)


CUSTOM_LOSSES = {
    "rdpo": LossSpec(needs_reference=True),
    "simpo": LossSpec(),
    "orpo": LossSpec(),
    "tdpo": LossSpec(needs_reference=True, needs_logits=True),
    "figa": LossSpec(bmc=False),
}

# --------------------------------------------------------------------------------- masks (bmc.training.masks)
STOPWORD_RULES = ("official", "robust")
MASK_ALGORITHMS = ("difflib", "levenshtein")
# per_batch: the official marks (padded batch), computed once per batch in the data collator (default);
# per_forward: the same marks recomputed in every policy and reference forward, as the official code does;
# per_pair: once per pair on the unpadded rows at dataset preparation (an approximation)
MASK_SCOPES = ("per_batch", "per_forward", "per_pair")
ORPO_NLL = ("completion", "full")  # ORPO's NLL on the chosen response (official BMC) or on prompt + response (TRL)


# ------------------------------------------------------------------------- edit-distance splits (bmc.analysis.splits)
UNITS = ("token", "character")


# ---------------------------------------------------------------------- preference training (bmc.training.preference)
PAIR_SOURCES = ("original", "bridged")
LOSSES = ("sigmoid", "ipo", "kto", *CUSTOM_LOSSES)


@dataclass
class MethodSpec:
    """One method of the grid: its loss, which chosen/rejected responses, and whether BMC weights are on."""

    label: str
    pairs: str          # "original" (y_w, y_l) or "bridged" (the bridged set's pair)
    bmc_weights: bool   # False: delta = 0
    loss: str = "sigmoid"

    def __post_init__(self):
        if self.pairs not in PAIR_SOURCES:
            raise ValueError(f"method {self.label!r}: pairs must be one of {PAIR_SOURCES}, got {self.pairs!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"method {self.label!r}: loss must be one of {LOSSES}, got {self.loss!r}")
        if self.bmc_weights and (self.loss == "kto" or (self.loss in CUSTOM_LOSSES
                                                         and not CUSTOM_LOSSES[self.loss].bmc)):
            raise ValueError(f"method {self.label!r}: loss {self.loss!r} has no BMC variant (bmc_weights: false)")


@dataclass
class PreferenceSettings:
    beta: float = 0.05            # DPO β; IPO τ; R-DPO, SimPO, TDPO, KTO β
    delta: float = 3.0            # BMC clamp (used when the method has BMC weights)
    learning_rate: float = 5e-6
    epochs: float = 1.0
    batch_size: int = 8           # per device (process)
    gradient_accumulation_steps: int = 1
    global_batch_size: int | None = None  # set: accumulation = global / (batch_size x processes); paper 128
    max_length: int = 256
    warmup_ratio: float = 0.1
    scheduler: str = "cosine"
    reference_weights: str = "reference"
    stopwords: list[str] = field(default_factory=list)
    stopword_rule: str = "official"
    mask_algorithm: str = "difflib"
    mask_scope: str = "per_batch"
    precompute_ref_log_probs: bool = False
    long_prompts: str = "error"   # a prompt that fills max_length: "error" (file, row, field) or "drop" (counted)
    rdpo_alpha: float = 0.1
    simpo_gamma: float = 0.5
    orpo_lambda: float = 0.1
    orpo_nll: str = "completion"
    tdpo_alpha: float = 0.5
    figa_alpha: float = 1.0
    figa_beta: float = 0.5
    kto_desirable_weight: float = 1.0
    kto_undesirable_weight: float = 1.0
    seed: int = 42
    precision: str = "fp32"
    kl_every_steps: int = 0       # KL(π_ref ‖ π_θ) on held-out chosen responses every N steps (0: off; analysis.rewards)

    def __post_init__(self):
        if self.mask_algorithm not in MASK_ALGORITHMS or self.mask_scope not in MASK_SCOPES:
            raise ValueError(f"mask_algorithm must be one of {MASK_ALGORITHMS} and mask_scope one of {MASK_SCOPES}")
        if self.orpo_nll not in ORPO_NLL:
            raise ValueError(f"orpo_nll must be one of {ORPO_NLL}, got {self.orpo_nll!r}")
        if self.long_prompts not in ("error", "drop"):
            raise ValueError(f"long_prompts must be 'error' or 'drop', got {self.long_prompts!r}")
