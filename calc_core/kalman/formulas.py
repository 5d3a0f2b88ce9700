"""The Sensor Fusion page's formulas in its notation (LaTeX): the turning model, its Jacobian, the EKF and its
consistency tests, next to the code they describe."""

FORMULAS = [
    r"x' = x + v\,\Delta t\,(\cos\theta\, s - \sin\theta\, c), \quad y' = y + v\,\Delta t\,(\sin\theta\, s + \cos\theta\, c)",
    r"\theta' = \theta + \omega\,\Delta t, \quad v' = v, \quad \omega' = \omega, \qquad "
    r"s = \tfrac{\sin a}{a}, \;\; c = \tfrac{1 - \cos a}{a}, \;\; a = \omega\,\Delta t",
    r"\tfrac{\partial x'}{\partial \theta} = -(y' - y), \;\; \tfrac{\partial y'}{\partial \theta} = x' - x, \;\; "
    r"\tfrac{\partial x'}{\partial \omega} = v\,\Delta t^2 (\cos\theta\, s' - \sin\theta\, c'), \;\; "
    r"\tfrac{\partial y'}{\partial \omega} = v\,\Delta t^2 (\sin\theta\, s' + \cos\theta\, c'), \;\; "
    r"\tfrac{\partial \theta'}{\partial \omega} = \Delta t",
    r"\textbf{predict:}\;\; \hat x^- = f(\hat x, \Delta t), \;\; P^- = F P F^\top + Q, \quad F = \partial f / \partial x",
    r"\textbf{update:}\;\; \nu = z - H \hat x^-, \;\; S = H P^- H^\top + R, \;\; K = P^- H^\top S^{-1}",
    r"\hat x = \hat x^- + K \nu, \quad P = (I - K H)\, P^- (I - K H)^\top + K R K^\top",
    r"\text{NEES}_k = (x_k - \hat x_k)^\top P_k^{-1} (x_k - \hat x_k), \quad \text{NIS}_k = \nu_k^\top S_k^{-1} \nu_k",
]
CONSISTENCY = (
    r"**NEES** $(x_k - \hat x_k)^\top P_k^{-1} (x_k - \hat x_k)$ needs the truth (a simulation); **NIS** "
    r"$\nu_k^\top S_k^{-1} \nu_k$ needs only the innovations $\nu_k = z_k - H\hat x_k^-$, so a real car can "
    "compute it. For a consistent filter they follow χ² laws with means n (the state size) and 2. A mean above "
    "its shaded 95% band: **overconfident** (P too small); below: **underconfident** (P too large).")
