"""Built-in variant ``text_native``: tokens through a neural semantic encoder, importance-gated
plasticity and the "internal recurrent chat" (``chat_steps`` re-reads of the synaptic state).

u = tanh(W_sem E[token] + b_sem); the rest is the SSMN cell; the read-out gives next-token logits
(its own matrix, or the embedding table itself with ``tied=True``). Default rule: ``importance``.
"""
from ssmn_rl.hookspec import hookimpl
from ssmn_rl.variants import ModelVariant

VARIANT = ModelVariant(
    name="text_native", token_input=True,
    defaults={"plastic_ratio": 0.2, "rule": "importance", "embed_dim": 32},
    doc="Token model: embedding + intent projection, importance-gated plasticity, internal chat.")


@hookimpl
def ssmn_rl_register_variants():
    return [VARIANT]
