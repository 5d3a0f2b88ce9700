"""The Attention page's formulas in its notation (LaTeX): scaled dot-product attention, the softmax and its
Jacobian, and the backward pass, next to the code they describe."""

FORMULAS = [
    r"S = c\,QK^\top,\qquad c = \frac{1}{\sqrt{d_k}\,T}",
    r"P = \operatorname{softmax}(S)\ \text{row by row},\qquad O = PV",
    r"s_i = \frac{e^{z_i - m}}{\sum_j e^{z_j - m}},\quad m = \max_j z_j",
    r"\frac{\partial s_i}{\partial z_j} = s_i(\delta_{ij} - s_j) \iff J = \operatorname{diag}(s) - s s^\top",
    r"L = \tfrac12 \lVert O - Y \rVert^2,\qquad dO = O - Y",
    r"dV = P^\top dO,\qquad dP = dO\,V^\top",
    r"dS = P \odot \big(dP - \operatorname{rowsum}(dP \odot P)\big)",
    r"dQ = c\; dS\, K,\qquad dK = c\; dS^\top Q",
]
