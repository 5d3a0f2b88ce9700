"""The Recommendations page's formulas in its notation (LaTeX): the model, the per-rating loss, its gradients
and the SGD update, next to the code they describe."""

FORMULAS = [
    r"\hat r_{ui} = \mu + b_u + b_i + p_u^\top q_i, \qquad e_{ui} = r_{ui} - \hat r_{ui}",
    r"\ell_{ui} = \tfrac12 \big[e_{ui}^2 + \lambda\,(b_u^2 + b_i^2 + \lVert p_u\rVert^2 + \lVert q_i\rVert^2)\big]",
    r"\frac{\partial \ell_{ui}}{\partial b_u} = -e_{ui} + \lambda b_u, \qquad "
    r"\frac{\partial \ell_{ui}}{\partial b_i} = -e_{ui} + \lambda b_i",
    r"\frac{\partial \ell_{ui}}{\partial p_u} = -e_{ui}\, q_i + \lambda p_u, \qquad "
    r"\frac{\partial \ell_{ui}}{\partial q_i} = -e_{ui}\, p_u + \lambda q_i",
    r"\theta \leftarrow \theta - \eta\, \nabla \ell_{ui}:\quad b_u \leftarrow b_u + \eta\,(e_{ui} - \lambda b_u), \quad "
    r"b_i \leftarrow b_i + \eta\,(e_{ui} - \lambda b_i),",
    r"p_u \leftarrow p_u + \eta\,(e_{ui}\, q_i - \lambda p_u),",
    r"q_i \leftarrow q_i + \eta\,(e_{ui}\, p_u^{\text{old}} - \lambda q_i)",
    r"\text{one step (}\lambda\text{ aside): } e'_{ui} \approx \big(1 - \eta\,(2 + \lVert p_u\rVert^2 + \lVert q_i\rVert^2)\big)\, e_{ui}",
]
