"""The Policy Gradient page's formulas in its notation (LaTeX): the objective, the estimator in both forms,
the baseline, the update and the policy network's log-probability gradient, next to the code they describe."""

FORMULAS = [
    r"J(\theta) = \mathbb{E}_{\tau \sim \pi_\theta}[G_0], \qquad G_t = r_t + \gamma\, G_{t+1}",
    r"\text{log-derivative trick:}\quad \nabla_\theta \pi_\theta = \pi_\theta\, \nabla_\theta \log \pi_\theta",
    r"\nabla_\theta J = \mathbb{E}_\tau\Big[\sum_t \gamma^t\, \nabla_\theta \log \pi_\theta(a_t|s_t)\,"
    r"\big(G_t - b(s_t)\big)\Big]",
    r"\text{usual form: } \mathbb{E}_\tau\Big[\sum_t \nabla_\theta \log \pi_\theta(a_t|s_t)\,\big(G_t - b(s_t)\big)"
    r"\Big] \neq \nabla_\theta J \text{ for } \gamma < 1",
    r"\mathbb{E}_{a \sim \pi}\big[\nabla \log \pi(a|s)\, b(s)\big] = b(s)\, \nabla \textstyle\sum_a \pi(a|s) = 0",
    r"\hat g = \frac{1}{M} \sum_{i=1}^{M} \sum_t w_t\, \nabla_\theta \log \pi_\theta(a_t|s_t), \quad "
    r"w_t = A_t \text{ or } \gamma^t A_t, \quad M = \text{episodes per update}",
    r"\theta \leftarrow \theta + \eta\, \hat g \quad \text{(SGD; Adam rescales } \hat g\text{)}",
    r"h = \tanh(s W_1 + b_1), \quad z = h W_2 + b_2, \quad \log \pi(a|s) = z_a - \log \textstyle\sum_b e^{z_b}",
    r"\frac{\partial \log \pi(a|s)}{\partial z} = e_a - \pi(\cdot|s), \qquad "
    r"\frac{\partial \log \pi}{\partial W_2} = h^\top (e_a - \pi)",
    r"\frac{\partial \log \pi}{\partial W_1} = s^\top \big[(e_a - \pi) W_2^\top \odot (1 - h^2)\big]",
]
