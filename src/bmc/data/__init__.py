"""The data stage (rules/data.smk, rules/paper_data.smk, rules/resources.smk; the paper's experimental setup): the
synthetic tasks and pretraining corpus, the paper's test sets (official ``eval/QA`` and ``eval/math`` files) and SFT
sets, pinned source files and the NLTK stopword list.

Modules: ``synthetic`` (the tiny study's tasks and corpus), ``converters`` (hub rows to official test records),
``test_sets`` (the test-set registry, loading, writing, a task's test split), ``training_data`` (the paper's SFT
sets and preference pairs), ``sources`` (pinned files), ``stopwords`` (NLTK's list).
"""
