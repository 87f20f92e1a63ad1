"""The evaluation stage (rules/evaluation.smk; paper Table 1; official ``eval/QA`` and
``eval/math/eval/{parser,grader,evaluate}.py``): greedy predictions on the test sets and their scoring, QA with
the official "The answer is" rule and math with the official harness.

Modules: ``evaluate`` (predictions and score files), ``answers`` (scoring per prompt style), ``scoring`` (QA's
rule, math re-exported), ``math_parser`` and ``math_grader`` (the official harness's parser and grader).
"""
