"""The data stage (rules/data.smk, rules/paper_data.smk, rules/resources.smk; the paper's experimental setup): the
synthetic tasks and pretraining corpus, the paper's test sets (official ``eval/QA`` and ``eval/math`` files) and SFT
sets, pinned source files and the NLTK stopword list.
"""
