"""Is a method's gain over DPO larger than the noise? The paired difference behind the paper's Table 1 claims
(not in the paper or the official code: an added check).

The paper compares single runs (one seed, Table 1). At the tiny scale single runs differ by less than their
noise, so each of Table 1's bridged/BMC rows is also compared with DPO as a *paired* difference: the same
test questions and the same seeds (seed ``s`` of the method against seed ``s`` of DPO: the same preference
data order) give per-question differences ``c_method - c_dpo`` in {-1, 0, 1}. The statistic is the
difference of the setup average (the unweighted mean over the setup's test sets, as the table's "Avg"),
in accuracy points.

Its 95% interval comes from a two-level (hierarchical) paired bootstrap: each resample draws the seeds with
replacement and, independently, the questions of each test set with replacement (stratified by test set),
and recomputes the statistic on the same draw for both methods. The interval is the 2.5-97.5 percentile
range of 10,000 resamples; the random numbers are seeded, so the same inputs give the same bytes. With few
seeds the seed level of the bootstrap is coarse; the seeds and questions behind each interval are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RESAMPLES = 10_000
LEVEL = 0.95
SEED = 0


@dataclass(frozen=True)
class PairedDifference:
    """``method`` minus ``reference`` on one setup's average accuracy, in points, with its interval."""

    method: str
    reference: str
    setup: str
    diff: float
    low: float
    high: float
    seeds: int
    questions: int

    @property
    def significant(self) -> bool:
        """The interval excludes 0."""
        return self.low > 0 or self.high < 0


def correctness(predictions: list[dict], test_sets: list[str], path: str = "<predictions>") -> dict[str, np.ndarray]:
    """Per test set, the 0/1 correctness of each prediction, in file order (the test file's order)."""
    out: dict[str, list[int]] = {name: [] for name in test_sets}
    for row, p in enumerate(predictions, start=1):
        if p.get("test_set") not in out:
            raise ValueError(f"{path}, row {row}, field 'test_set': {p.get('test_set')!r} is not one of {test_sets}")
        out[p["test_set"]].append(int(bool(p["correct"])))
    return {name: np.asarray(values, dtype=np.int8) for name, values in out.items()}


def _stack(runs: list[dict[str, np.ndarray]], name: str, what: str) -> np.ndarray:
    lengths = {len(r[name]) for r in runs}
    if len(lengths) != 1:
        raise ValueError(f"{what}: test set {name!r} has a different number of questions across seeds {sorted(lengths)}")
    return np.stack([r[name] for r in runs]).astype(np.float64)


def paired_difference(method: list[dict[str, np.ndarray]], reference: list[dict[str, np.ndarray]],
                      method_name: str = "method", reference_name: str = "DPO", setup: str = "",
                      resamples: int = RESAMPLES, level: float = LEVEL, seed: int = SEED) -> PairedDifference:
    """The paired difference of the setup average between two methods. ``method`` and ``reference`` hold one
    entry per seed (in the same seed order), each ``{test set: 0/1 correctness per question}``
    (:func:`correctness`)."""
    if not method or len(method) != len(reference):
        raise ValueError(f"{method_name} vs {reference_name}: need the same seeds on both sides "
                         f"({len(method)} and {len(reference)} runs)")
    names = list(method[0])
    if any(list(r) != names for r in [*method, *reference]):
        raise ValueError(f"{method_name} vs {reference_name}: the runs do not share the test sets {names}")
    rng = np.random.default_rng(seed)
    n_seeds = len(method)
    # seed draws: how often each seed is drawn in each resample (B x S), shared by all test sets
    seed_counts = rng.multinomial(n_seeds, [1 / n_seeds] * n_seeds, size=resamples) / n_seeds
    point, boot = 0.0, np.zeros(resamples)
    for name in names:
        mine, theirs = _stack(method, name, method_name), _stack(reference, name, reference_name)
        if mine.shape != theirs.shape:
            raise ValueError(f"{method_name} vs {reference_name}: test set {name!r} has a different number of "
                             f"questions ({mine.shape[1]} and {theirs.shape[1]}): not the same test file")
        diff = mine - theirs  # S x Q
        if diff.shape[1] == 0:
            raise ValueError(f"{method_name} vs {reference_name}: test set {name!r} has no questions")
        n_q = diff.shape[1]
        point += diff.mean()
        q_counts = rng.multinomial(n_q, [1 / n_q] * n_q, size=resamples) / n_q  # B x Q
        boot += np.einsum("bs,sq,bq->b", seed_counts, diff, q_counts, optimize=True)
    point, boot = 100 * point / len(names), 100 * boot / len(names)
    tail = (1 - level) / 2
    low, high = np.quantile(boot, [tail, 1 - tail])
    questions = sum(len(method[0][n]) for n in names)
    return PairedDifference(method_name, reference_name, setup, float(point), float(low), float(high), n_seeds,
                            questions)
