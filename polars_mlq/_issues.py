"""Finding label issues: confident learning on K one-vs-rest problems, all classes at once.

Column k of a multi-label dataset is the binary question "is class k present?". Its given label is
``y = [k in the row's labels]``, its prediction ``p = pred_probs[:, k]`` and its two-column
probability matrix ``Q = [1 - p, p]`` (column 0: absent, column 1: present; ``1 - p`` is computed in
the dtype of ``p``). Every filter of cleanlab's ``multilabel_classification.filter`` treats the K
columns independently, so each step below is one array operation over an (n, K) or (K, 2, 2) array
instead of a loop over classes:

1. thresholds ``t_c``: the mean of ``Q[:, c]`` over the rows whose given label is c (2 when there
   are none, then at least 2e-6);
2. the confident joint ``C[y, g]``: a row counts under its given label y and its confident guess g,
   the column of Q that reaches its threshold (minus 1e-6), the larger one if both do;
3. calibration of C to the label counts, and the prune counts: how many rows to flag per label;
4. flagging: within the rows of one given label, the rows with the smallest key (the self
   confidence, or the negated margin), then only the rows where the model disagrees with the label.

Exactness. The flags equal cleanlab's. Thresholds are numpy means over the same contiguous
values, or, for the large "absent" groups of float64 data, cheap estimates with a rigorous error
bound that are replaced by the exact mean wherever a probability falls inside the bound
(``BinaryThresholds``). Counts are integers. Wherever cleanlab takes "the m smallest" with
``np.argsort`` we either prove the set cannot depend on the order of ties or call ``np.argsort`` on
the very array cleanlab sorts (``_smallest``).

Speed. Every test cleanlab applies to a row of Q is monotone in p (``1 - p`` rounds monotonically),
so each is equivalent to comparing p itself with a boundary found once per class by bisection over
the floats (``_largest_true``); no (n, K) array of ``1 - p`` is ever built. Only the rows where the
model disagrees with the label can end up flagged (step 4), and they are few, so the selection
works on that candidate set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from polars_mlq._columns import Batch
from polars_mlq._per_class import per_class_scores
from polars_mlq._thresholds import FLOOR
# moved to the statistics core; re-exported here while the old engine is retired
from polars_mlq.core.binary import _UNIT as _UNIT
from polars_mlq.core.binary import SLACK as SLACK
from polars_mlq.core.binary import TINY as TINY
from polars_mlq.core.binary import Boundaries as Boundaries
from polars_mlq.core.binary import boundaries as boundaries
from polars_mlq.core.binary import guess_bounds as guess_bounds
from polars_mlq.core.binary import _absent_reach as _absent_reach
from polars_mlq.core.binary import _columnwise as _columnwise
from polars_mlq.core.binary import _count as _count
from polars_mlq.core.binary import _key as _key
from polars_mlq.core.binary import _largest_true as _largest_true
from polars_mlq.core.calibration import PruneCounts as PruneCounts
from polars_mlq.core.calibration import calibrate as calibrate
from polars_mlq.core.calibration import prune_counts as prune_counts
from polars_mlq.core.calibration import prune_nums as prune_nums
from polars_mlq.core.calibration import round_rows as round_rows
from polars_mlq.core.options import FILTERS as FILTERS
from polars_mlq.core.options import LOW_FILTERS as LOW_FILTERS
from polars_mlq.core.options import PRUNE_FILTERS as PRUNE_FILTERS
from polars_mlq.core.options import RANK_ALPHA as RANK_ALPHA
from polars_mlq.core.options import FilterBy as FilterBy
from polars_mlq.core.options import IssueOptions as IssueOptions
from polars_mlq.core.options import parse_issue_options as parse_issue_options
from polars_mlq.core.problems import Problems as Problems
from polars_mlq.core.problems import problems as problems
from polars_mlq.core.problems import sub_problems as sub_problems
from polars_mlq.core.thresholds import finish_thresholds as finish_thresholds

# --------------------------------------------------------------------------- options








# --------------------------------------------------------------------------- the K problems










# --------------------------------------------------------------------------- boundaries on p










# --------------------------------------------------------------------------- thresholds


def _segment_means(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """np.mean of each segment values[starts[k]:starts[k+1]] (NaN where empty), as float64."""
    out = np.full(starts.size - 1, np.nan)
    for k in np.flatnonzero(np.diff(starts)).tolist():
        out[k] = np.mean(values[starts[k] : starts[k + 1]])
    return out




class BinaryThresholds:
    """Per class, the thresholds [t_absent, t_present] exactly as cleanlab computes them.

    ``values`` (K, 2) float64 holds their values; ``wide`` (K,) marks classes whose thresholds are
    float64 although pred_probs are float32 (an empty group's constant 2 promotes them); ``cuts``
    are ``values - 1e-6``, computed in each class's dtype: a probability reaches its threshold when
    it is >= the cut.

    The present thresholds are means over the few labelled entries and always exact. The absent
    ones average nearly the whole column; for float64 we first take them from column sums, which
    are cheap but may differ from numpy's mean of the masked column in the last bits. Such a cut is
    then only known to lie in [``low``, ``high``] (a rigorous rounding-error bound). That decides
    every comparison except for a probability inside the interval; ``resolve`` computes the exact
    mean of the classes where there is one (rare). ``exact()`` resolves every class.
    """

    def __init__(self, pb: Problems, *, exact: bool = False) -> None:
        self._pb = pb
        k = pb.num_classes
        self._mean_present = _segment_means(pb.lab_p, pb.lab_starts)
        self.values = np.empty((k, 2))
        self.cuts = np.empty((k, 2))
        self.wide = np.zeros(k, dtype=bool)
        self.low = np.empty(k)
        self.high = np.empty(k)
        self.resolved = np.zeros(k, dtype=bool)
        n_absent = pb.counts[:, 0]
        if exact or pb.dtype != np.float64:
            absent_values = pb.complement(pb.probs.T[~pb.given.T])  # class-major: column by column
            starts = np.zeros(k + 1, dtype=np.int64)
            np.cumsum(n_absent, out=starts[1:])
            self._set(np.arange(k), _segment_means(absent_values, starts))
            return
        # float64: sum of (1 - p) over the unlabelled rows = their count - their sum of p
        total = pb.probs.sum(axis=0)
        labelled = np.bincount(pb.lab_cls, weights=pb.lab_p, minlength=k)
        with np.errstate(divide="ignore", invalid="ignore"):
            estimate = np.where(n_absent > 0, (n_absent - (total - labelled)) / n_absent, np.nan)
            # a sum of m terms in any order errs by at most about m u sum|x|: each of the sums
            # involved (ours, and numpy's over the masked column) stays within that of the exact
            # mean, and so within 8 (n + 2) u (sum p + count) / count of each other
            slack = 8.0 * (pb.n + 2) * _UNIT * (total + n_absent) / n_absent + 8.0 * _UNIT
        self._set(np.arange(k), estimate)
        unsure = n_absent > 0
        self.resolved = ~unsure
        self.low[unsure] = np.maximum(estimate[unsure] - slack[unsure], FLOOR) - SLACK
        self.high[unsure] = np.maximum(estimate[unsure] + slack[unsure], FLOOR) - SLACK

    def _set(self, classes: np.ndarray, mean_absent: np.ndarray) -> None:
        """Finish the thresholds of ``classes`` from their group means (NaN for an empty group)."""
        values, cuts, wide = finish_thresholds(self._pb.dtype, mean_absent, self._mean_present[classes])
        self.values[classes] = values
        self.cuts[classes] = cuts
        self.wide[classes] = wide
        self.low[classes] = cuts[:, 0]
        self.high[classes] = cuts[:, 0]
        self.resolved[classes] = True

    def resolve(self, classes: np.ndarray) -> None:
        """Compute the exact absent threshold of ``classes`` (indices or a (K,) mask)."""
        classes = np.flatnonzero(classes) if classes.dtype == bool else classes
        classes = classes[~self.resolved[classes]]
        if classes.size == 0:
            return
        pb = self._pb
        means = [np.mean(pb.complement(pb.probs[~pb.given[:, c], c])) for c in classes.tolist()]
        self._set(classes, np.array(means, dtype=np.float64))

    def exact(self) -> BinaryThresholds:
        if not self.resolved.all():
            self.resolve(~self.resolved)
        return self

    def unsure(self, absent: np.ndarray, cls: np.ndarray) -> np.ndarray:
        """Classes where some ``absent`` probability (1 - p, of class ``cls``) lies between the
        bounds of its cut, so that its comparison with the exact cut is not yet decided."""
        inside = (absent >= self.low[cls]) & (absent < self.high[cls])
        return np.unique(cls[inside])


# --------------------------------------------------------------------------- confident joint







def confident_joint(pb: Problems, thr: BinaryThresholds) -> np.ndarray:
    """(K, 2, 2) int64 counts [given label][confident guess], diagonal at least 1.

    A row's guess is "present" if p reaches its cut and either 1 - p does not or p > 1 - p; it is
    "absent" if 1 - p reaches its cut otherwise; rows where neither reaches are not counted.
    """
    k, dtype = pb.num_classes, pb.dtype
    reach1 = _columnwise(np.greater_equal, pb.probs, thr.cuts[:, 1])
    limit = _absent_reach(dtype, thr.high)  # 1 - p >= cut exactly when p <= limit
    reach0 = _columnwise(np.less_equal, pb.probs, limit)
    n_reach0 = _count(reach0)
    if not thr.resolved.all():
        # a cut known only to lie in [low, high]: settled unless some p falls in between
        loose = _absent_reach(dtype, thr.low)
        unsure = (loose != limit) & ~thr.resolved
        if unsure.any():
            unsure &= _count(_columnwise(np.less_equal, pb.probs, loose)) != n_reach0
        if unsure.any():
            thr.resolve(unsure)
            limit[unsure] = _absent_reach(dtype, thr.cuts[unsure, 0])
            reach0[:, unsure] = pb.probs[:, unsure] <= limit[unsure]
            n_reach0 = _count(reach0)
    n_reach1 = _count(reach1)
    # both reach: the larger probability wins, ties to absent; only possible if limit >= cut
    n_both = np.zeros(k, dtype=np.int64)
    n_both_to1 = np.zeros(k, dtype=np.int64)
    overlap = np.flatnonzero(limit >= thr.cuts[:, 1])
    if overlap.size:
        both = reach0[:, overlap] & reach1[:, overlap]
        n_both[overlap] = np.count_nonzero(both, axis=0)
        to1 = both & (pb.probs[:, overlap] > boundaries(dtype).absent_wins)
        n_both_to1[overlap] = np.count_nonzero(to1, axis=0)
    guess1_all = n_reach1 - n_both + n_both_to1
    guess0_all = n_reach0 - n_both_to1

    p = pb.lab_p
    a = pb.complement(p)
    r1 = p >= thr.cuts[pb.lab_cls, 1]
    r0 = a >= thr.high[pb.lab_cls]  # settled above: no p lies between the bounds
    g1 = r1 & (~r0 | (p > a))
    g0 = r0 & ~g1
    guess1_lab = np.bincount(pb.lab_cls[g1], minlength=k)
    guess0_lab = np.bincount(pb.lab_cls[g0], minlength=k)

    joint = np.empty((k, 2, 2), dtype=np.int64)
    joint[:, 0, 0] = guess0_all - guess0_lab
    joint[:, 0, 1] = guess1_all - guess1_lab
    joint[:, 1, 0] = guess0_lab
    joint[:, 1, 1] = guess1_lab
    joint[:, [0, 1], [0, 1]] = np.maximum(joint[:, [0, 1], [0, 1]], 1)
    return joint












# --------------------------------------------------------------------------- candidates & flags


@dataclass(frozen=True)
class Candidates:
    """The entries (row, class) of one given label c where the model disagrees with it, which is
    cleanlab's last check on every flag: for c = 1 (labelled) p + 1e-6 <= 1 - p, for c = 0
    (unlabelled) p > (1 - p) + 1e-6. Every flag of every filter lies among them. They are sorted by
    class, then row; ``starts`` (K + 1,) delimits the classes.
    """

    label: int
    rows: np.ndarray
    cls: np.ndarray
    p: np.ndarray
    a: np.ndarray  # 1 - p
    starts: np.ndarray

    def keys(self, by: str) -> np.ndarray:
        return _key(by, self.label, self.p, self.a)




def _key_floor(pb: Problems, label: int, by: str) -> float:
    """The smallest key any row of the subset that agrees with its label can have.

    Such rows have p > ``extra`` (labelled) or p <= ``missing`` (unlabelled), and every key is
    monotone in p, so the key of the first such p bounds them. Candidates' keys are at most it.
    """
    bounds = boundaries(pb.dtype)
    if label == 1:
        p = np.nextafter(pb.dtype.type(bounds.extra), pb.dtype.type(2))
    else:
        p = pb.dtype.type(bounds.missing)
    p_arr = np.array([p], dtype=pb.dtype)
    return float(_key(by, label, p_arr, pb.complement(p_arr))[0])


def _with_starts(label: int, rows: np.ndarray, cls: np.ndarray, p: np.ndarray, a: np.ndarray, k: int) -> Candidates:
    starts = np.zeros(k + 1, dtype=np.int64)
    np.cumsum(np.bincount(cls, minlength=k), out=starts[1:])
    return Candidates(label, rows, cls, p, a, starts)


def candidates(pb: Problems) -> tuple[Candidates, Candidates]:
    """(unlabelled, labelled) candidates."""
    k = pb.num_classes
    bounds = boundaries(pb.dtype)
    p = pb.lab_p
    hit = p <= bounds.extra
    labelled = _with_starts(1, pb.lab_rows[hit], pb.lab_cls[hit], p[hit], pb.complement(p[hit]), k)

    disagree = pb.probs > bounds.missing
    disagree &= ~pb.given
    flat = np.flatnonzero(disagree)  # row-major
    if flat.size * 8 > disagree.size:  # many: read them out column by column
        cls, rows = np.divmod(np.flatnonzero(np.ascontiguousarray(disagree.T)), max(pb.n, 1))
        p = pb.probs[rows, cls]
    else:  # few: gather in row order, then a stable (radix) sort by class
        p = pb.probs.reshape(-1)[flat] if pb.probs.flags.c_contiguous else pb.probs[np.divmod(flat, k)]
        rows, cls = np.divmod(flat, k)
        order = np.argsort(cls.astype(np.uint16) if k <= 1 << 16 else cls, kind="stable")
        rows, cls, p = rows[order], cls[order], p[order]
    unlabelled = _with_starts(0, rows, cls, p, pb.complement(p), k)
    return unlabelled, labelled


def _smallest(pb: Problems, cand: Candidates, by: str, num: np.ndarray) -> np.ndarray:
    """Which candidates are among the ``num[k]`` rows with the smallest key in their subset.

    The subset of class k is all its rows with the candidates' given label; cleanlab flags the
    first ``num[k]`` of ``np.argsort(keys)`` over that subset. Candidates' keys are at most
    ``_key_floor`` and the other rows' keys at least it, so the choice is decided by the
    candidates' sorted keys, unless equal keys straddle the cut; then we sort that class's subset
    exactly as cleanlab does.
    """
    chosen = np.zeros(cand.rows.size, dtype=bool)
    if cand.rows.size == 0:
        return chosen
    size = np.diff(cand.starts)
    subset = pb.counts[:, cand.label]
    keys = cand.keys(by)
    chosen = (num >= size)[cand.cls]  # the cut falls after all candidates: take them all
    exact: list[int] = []

    # the cut falls after the candidates but a non-candidate might share the largest key
    after = np.flatnonzero((num >= size) & (num < subset) & (size > 0))
    if after.size:
        nonempty = np.flatnonzero(size > 0)
        largest = np.empty(size.size, dtype=keys.dtype)
        largest[nonempty] = np.maximum.reduceat(keys, cand.starts[nonempty])  # per class max
        largest = largest[after]
        floor = _key_floor(pb, cand.label, by)
        for c in after[largest >= floor].tolist():
            if _splits_largest(pb, cand, by, c, int(num[c])):
                exact.append(c)

    # the cut falls inside the candidates: the num smallest, unless the cut splits equal keys
    for c in np.flatnonzero((num > 0) & (num < size)).tolist():
        lo, hi, m = cand.starts[c], cand.starts[c + 1], int(num[c])
        segment = keys[lo:hi]
        below = segment <= np.partition(segment, m - 1)[m - 1]
        if np.count_nonzero(below) == m:
            chosen[lo:hi] = below
        else:
            exact.append(c)

    for c in exact:
        lo, hi = cand.starts[c], cand.starts[c + 1]
        chosen[lo:hi] = _exact_choice(pb, cand, by, c, int(num[c]))
    return chosen


def _subset_keys(pb: Problems, label: int, by: str, c: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows of class c's subset (given label ``label``), ascending, and their keys."""
    rows = pb.column_subset(c, label)
    p = pb.probs[rows, c]
    return rows, _key(by, label, p, pb.complement(p))


def _splits_largest(pb: Problems, cand: Candidates, by: str, c: int, num: int) -> bool:
    """Whether non-candidates share class c's largest candidate key and the cut at ``num``
    separates rows with that key (it needs two different p with the same key: rare)."""
    largest = cand.keys(by)[cand.starts[c] : cand.starts[c + 1]].max()
    _, keys = _subset_keys(pb, cand.label, by, c)
    return int(np.count_nonzero(keys <= largest)) > num


def _exact_choice(pb: Problems, cand: Candidates, by: str, c: int, num: int) -> np.ndarray:
    """Class c's candidates among the first ``num`` of np.argsort over its whole subset."""
    rows, keys = _subset_keys(pb, cand.label, by, c)
    chosen = rows[np.argsort(keys)[:num]]
    return np.isin(cand.rows[cand.starts[c] : cand.starts[c + 1]], chosen)




def _prune_flags(pb: Problems, cand: Candidates, counts: PruneCounts, options: IssueOptions) -> np.ndarray:
    keep = np.ones(cand.rows.size, dtype=bool)
    for by, num in prune_nums(pb.counts[:, cand.label], counts, options, cand.label).items():
        keep &= _smallest(pb, cand, by, num)
    return keep


def _confident_flags(cand: Candidates, thr: BinaryThresholds) -> np.ndarray:
    """Candidates off the diagonal of the confident joint: their confident guess is the other
    label."""
    unsure = thr.unsure(cand.a, cand.cls)
    if unsure.size:
        thr.resolve(unsure)
    r1 = cand.p >= thr.cuts[cand.cls, 1]
    r0 = cand.a >= thr.high[cand.cls]  # outside [low, high) every cut in between decides alike
    guess1 = r1 & (~r0 | (cand.p > cand.a))
    if cand.label == 1:
        return r0 & ~guess1
    return guess1


def candidate_flags(pb: Problems, options: IssueOptions) -> tuple[tuple[Candidates, Candidates], list[np.ndarray]]:
    """The candidates of both given labels (unlabelled, labelled) and which of them are flagged
    (every filter but the ``low_*`` ones)."""
    pair = candidates(pb)
    filter_by = options.filter_by
    if filter_by == "predicted_neq_given":  # the candidates are exactly argmax(Q) != y, checked
        return pair, [np.ones(c.rows.size, dtype=bool) for c in pair]
    if filter_by == "confident_learning":
        thr = BinaryThresholds(pb)
        return pair, [_confident_flags(c, thr) for c in pair]
    if options.confident_joint is not None:
        calibrated = options.confident_joint
    else:
        calibrated = calibrate(confident_joint(pb, BinaryThresholds(pb)), pb.counts)
    counts = prune_counts(calibrated, pb.counts, options)
    return pair, [_prune_flags(pb, c, counts, options) for c in pair]


def flagged_entries(pb: Problems, options: IssueOptions) -> tuple[np.ndarray, np.ndarray]:
    """(rows, classes) of the flagged entries (every filter but the ``low_*`` ones)."""
    if pb.n == 0 or pb.num_classes == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    pair, flags = candidate_flags(pb, options)
    rows = np.concatenate([c.rows[f] for c, f in zip(pair, flags, strict=True)])
    cls = np.concatenate([c.cls[f] for c, f in zip(pair, flags, strict=True)])
    return rows, cls


# --------------------------------------------------------------------------- scores for ranking


def binary_scores(pb: Problems, method: str, adjust: bool, rows: np.ndarray | None = None) -> np.ndarray:
    """(len(rows), K) float64 per-class scores of ``rows`` (all rows if None), as the binary
    scorers give them; with ``adjust`` the thresholds come from all rows of ``pb``.

    The adjusted scores are computed in the thresholds' dtype (float32 for float32 input unless a
    group is empty), with each row divided by its own sum, so that they sort as cleanlab's do.
    """
    probs = pb.probs if rows is None else pb.probs[rows]
    given = pb.given if rows is None else pb.given[rows]
    out = np.empty(probs.shape, dtype=np.float64)
    if not adjust:
        per_class_scores(np.ascontiguousarray(probs), np.flatnonzero(given), method, None, out)
        return out
    thr = BinaryThresholds(pb, exact=True)
    absent = pb.complement(probs)
    for wide in (False, True):
        cols = np.flatnonzero(thr.wide == wide)
        if cols.size == 0:
            continue
        dtype = np.float64 if wide else probs.dtype
        t = thr.values[cols].astype(dtype)
        shift = np.maximum(t[:, 0], t[:, 1])
        q0 = absent[:, cols].astype(dtype) - t[:, 0]
        q1 = probs[:, cols].astype(dtype) - t[:, 1]
        q0 += shift
        q1 += shift
        total = q0 + q1
        q0 /= total
        q1 /= total
        g = given[:, cols]
        mine = np.where(g, q1, q0)
        if method == "normalized_margin":
            mine = ((mine - np.where(g, q0, q1)) + 1) / 2
        out[:, cols] = mine
    return out


def ema(scores: np.ndarray, alpha: float = RANK_ALPHA) -> np.ndarray:
    """Exponential moving average of each row from its largest score down to its smallest, in
    the same operation order as cleanlab (so near-ties sort alike)."""
    ordered = np.sort(scores, axis=1)
    n, k = ordered.shape
    if k == 0:
        return np.zeros(n)
    result = ordered[:, k - 1].copy()
    rest = 1.0 - alpha
    for j in range(k - 2, -1, -1):
        result = alpha * ordered[:, j] + rest * result
    return result


def row_scores(pb: Problems, method: str, adjust: bool, rows: np.ndarray | None = None) -> np.ndarray:
    """Aggregated (EMA, alpha 0.8) scores of ``rows``."""
    return ema(binary_scores(pb, method, adjust, rows))


# --------------------------------------------------------------------------- entry points


def find_issues(batch: Batch, options: IssueOptions) -> np.ndarray:
    """Row mask (n,) of the batch's scored rows, or their ranked indices if ``rank_by`` is set.

    A row is flagged if any class of it is; ranked rows are ordered by their aggregated score
    (rank_by, EMA 0.8), worst first.
    """
    pb = problems(batch)
    if options.filter_by in LOW_FILTERS:
        return _low_score_issues(pb, options)
    rows, _ = flagged_entries(pb, options)
    if options.rank_by is None:
        mask = np.zeros(pb.n, dtype=bool)
        mask[rows] = True
        return mask
    flagged = np.unique(rows)
    if flagged.size == 0:
        return flagged
    return flagged[np.argsort(row_scores(pb, options.rank_by, options.rank_adjust, flagged))]


def _low_score_issues(pb: Problems, options: IssueOptions) -> np.ndarray:
    """The rows with the lowest default score (self confidence, EMA 0.8), as many as confident
    learning flags; ranked by ``rank_by`` scores computed on those rows alone."""
    ranked = options.rank_by is not None
    if pb.n == 0 or pb.num_classes == 0:
        return np.zeros(0, dtype=np.int64) if ranked else np.zeros(pb.n, dtype=bool)
    rows, _ = flagged_entries(pb, IssueOptions(filter_by="confident_learning"))
    count = np.unique(rows).size
    chosen = np.argsort(row_scores(pb, "self_confidence", False))[:count]
    if not ranked:
        mask = np.zeros(pb.n, dtype=bool)
        mask[chosen] = True
        return mask
    if chosen.size == 0:
        return chosen.astype(np.int64)
    chosen = np.sort(chosen)
    assert options.rank_by is not None
    scores = row_scores(sub_problems(pb, chosen), options.rank_by, options.rank_adjust)
    return chosen[np.argsort(scores)].astype(np.int64)


def find_issues_per_class(batch: Batch, options: IssueOptions) -> np.ndarray:
    """(n, K) bool mask of the flagged entries."""
    return _per_class_mask(problems(batch), options)


def _per_class_mask(pb: Problems, options: IssueOptions) -> np.ndarray:
    if options.filter_by in LOW_FILTERS:
        return _low_score_per_class(pb, options.filter_by)
    mask = np.zeros(pb.probs.shape, dtype=bool)
    rows, cls = flagged_entries(pb, options)
    mask[rows, cls] = True
    return mask


def _low_score_per_class(pb: Problems, filter_by: str) -> np.ndarray:
    """Per class, the rows with the lowest binary score (self confidence or normalized margin),
    as many as confident learning flags in that class."""
    mask = np.zeros(pb.probs.shape, dtype=bool)
    if pb.n == 0 or pb.num_classes == 0:
        return mask
    _, cls = flagged_entries(pb, IssueOptions(filter_by="confident_learning"))
    count = np.bincount(cls, minlength=pb.num_classes)
    method = "self_confidence" if filter_by == "low_self_confidence" else "normalized_margin"
    scores = binary_scores(pb, method, False)
    for k in np.flatnonzero(count).tolist():
        mask[np.argsort(scores[:, k])[: count[k]], k] = True
    return mask


def ranked_per_class(batch: Batch, options: IssueOptions) -> list[np.ndarray]:
    """Per class, its flagged rows ordered by their binary score for that class (worst first)."""
    assert options.rank_by is not None
    pb = problems(batch)
    mask = _per_class_mask(pb, options)
    scores = binary_scores(pb, options.rank_by, options.rank_adjust)
    out = []
    for k in range(pb.num_classes):
        idx = np.flatnonzero(mask[:, k])
        out.append(idx[np.argsort(scores[idx, k])].astype(np.int64))
    return out
