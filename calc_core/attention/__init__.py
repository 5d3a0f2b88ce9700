"""Attention: scaled dot-product attention, the softmax Jacobian and backprop through attention
(``core``), the seeded problem the page shows (``problem``), its gradient check (``checks``), the
√d_k sweep (``sweep``) and the page's entry module (``lab``)."""

from calc_core.attention.core import (attention_backward, causal_mask, logit_factor, scaled_dot_product_attention,
                                      softmax, softmax_backward, softmax_jacobian)

__all__ = ["attention_backward", "causal_mask", "logit_factor", "scaled_dot_product_attention", "softmax",
           "softmax_backward", "softmax_jacobian"]
