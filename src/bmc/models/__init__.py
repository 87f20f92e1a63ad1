"""The base model stage (rules/base_model.smk; the paper's policy models): the workflow's tokenizer and
pretrained base model, hub models linked from the cache, and generation from any of them (transformers or
vLLM), which sampling, bridging and evaluation share.

Modules: ``tokenizer``, ``pretrain``, ``hub_models``, ``generation``.
"""
