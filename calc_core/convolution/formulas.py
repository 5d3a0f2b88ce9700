"""The Convolution page's formulas in its notation (LaTeX), next to the code they describe."""

LAYER = [
    r"y_{ij} = \sum_{m,n} \tilde x_{is+m,\,js+n}\; w_{mn}, \qquad H_{\mathrm{out}} = \Big\lfloor \tfrac{H + 2p - k_h}{s} \Big\rfloor + 1",
    r"\frac{\partial L}{\partial w_{mn}} = \sum_{i,j} G_{ij}\, \tilde x_{is+m,\,js+n} \qquad (\tilde x \star G)",
    r"\frac{\partial L}{\partial \tilde x_{ab}} = \sum_{i,j} G_{ij}\, w_{a-is,\,b-js} = \big((G{\uparrow}s) * w\big)_{ab}",
    r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial \tilde x}\big[\,p : p+H,\; p : p+W\,\big]",
]
LOSS_LATEX = {"energy": r"L = \tfrac12\lVert y\rVert^2 \;\Rightarrow\; G = y",
              "random": r"L = \textstyle\sum_{ij} y_{ij} R_{ij},\ R \sim \mathcal N(0,1) \;\Rightarrow\; G = R",
              "sum": r"L = \textstyle\sum_{ij} y_{ij} \;\Rightarrow\; G = \mathbf 1"}
UPDATE_RULE = [r"L(w) = \tfrac12\lVert \tilde x \star w - y^\star\rVert^2, \quad r = A w - y^\star, \quad \nabla L(w) = A^\top r",
               r"w_{t+1} = w_t - \eta\,\nabla L(w_t), \quad \text{converges} \iff \eta < 2/\lambda_{\max}(A^\top A)"]
BACKWARD_NOTES = ("⋆ is cross-correlation (the forward pass), ∗ true convolution (w turned by 180°): the input gradient "
                  "flips w exactly once. G↑s puts s − 1 zeros between the entries of G. Each y_ij is linear in its "
                  "window, so the chain rule sends G_ij·w_mn back to the pixel x̃ at (is+m, js+n), and G_ij times that "
                  "pixel to w_mn.")


def backward(loss: str) -> list[str]:
    """The forward pass, G = ∂L/∂y for ``loss``, then the two gradients of the layer."""
    return LAYER[:1] + [r"G = \frac{\partial L}{\partial y}:\quad " + LOSS_LATEX[loss]] + LAYER[1:]
